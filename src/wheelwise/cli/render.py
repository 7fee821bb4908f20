"""Terminal output: consoles, colours (``NO_COLOR`` respected), errors and JSON."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape

from ..errors import WheelwiseError

__all__ = ["console", "print_error", "print_json"]

#: Version of every ``--json`` document's shape; bumped on incompatible change.
JSON_SCHEMA = 2


def console(stream: TextIO | None = None) -> Console:
    """A rich console on *stream*; no colour when NO_COLOR is set or not a terminal."""
    target = stream or sys.stdout
    no_color = "NO_COLOR" in os.environ
    return Console(file=target, no_color=no_color, highlight=False, soft_wrap=True)


def print_error(error: WheelwiseError, stream: TextIO | None = None) -> None:
    err = console(stream or sys.stderr)
    err.print(f"[bold red]error[/]: {escape(error.message)}")
    if error.hint:
        err.print(f"[bold cyan]hint[/]: {escape(error.hint)}")


def print_json(document: dict[str, Any], stream: TextIO | None = None) -> None:
    """One JSON document on stdout and nothing else."""
    out = stream or sys.stdout
    json.dump({"schema": JSON_SCHEMA, **document}, out, indent=2, sort_keys=False)
    out.write("\n")

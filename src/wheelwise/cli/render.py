"""Terminal output: consoles (colour, width, encoding), errors and JSON.

One process renders with one style, set once by :func:`configure` from ``--color``, ``-q`` and
``-v``. A console on a terminal takes the terminal's width; anywhere else (a pipe, a file, CI) tables
are as wide as their content, so names are never cut. A stream that cannot encode wheelwise's marks
(``✓ ✗ →``; a cp1252 console, ``PYTHONIOENCODING=ascii``) gets ASCII stand-ins instead of a crash.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape

from ..errors import WheelwiseError

__all__ = ["Style", "configure", "console", "print_error", "print_json", "style"]

#: Version of every ``--json`` document's shape; bumped on incompatible change.
JSON_SCHEMA = 2

#: Width of a console that is not a terminal: wide enough that no table is ever cut.
UNBOUNDED_WIDTH = 100_000

#: ASCII stand-ins for the marks wheelwise prints, for streams that cannot encode them.
ASCII_MARKS = str.maketrans(
    {"✓": "+", "✗": "x", "◐": "~", "•": "*", "→": "->", "≥": ">=", "≤": "<=", "–": "-", "—": "-",
     "…": "...", "█": "#", "×": "x"}
)


@dataclasses.dataclass
class Style:
    """How this process renders: ``color`` is ``auto``, ``always`` or ``never``."""

    color: str = "auto"
    quiet: bool = False
    verbose: bool = False


_STYLE = Style()


def configure(color: str = "auto", quiet: bool = False, verbose: bool = False) -> None:
    """Set the one style of this process (the CLI calls it once, after parsing)."""
    global _STYLE
    _STYLE = Style(color=color, quiet=quiet, verbose=verbose)


def style() -> Style:
    return _STYLE


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def can_encode(stream: TextIO, text: str = "✓✗◐•→≥█") -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


class AsciiStream(io.TextIOBase):
    """A text stream that writes wheelwise's marks as ASCII and any other character the
    underlying stream cannot encode as ``?``."""

    def __init__(self, raw: TextIO) -> None:
        super().__init__()
        self.raw = raw
        self._encoding = getattr(raw, "encoding", None) or "ascii"

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding

    def write(self, text: str) -> int:
        safe = text.translate(ASCII_MARKS).encode(self._encoding, "replace").decode(self._encoding)
        self.raw.write(safe)
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return _isatty(self.raw)

    def fileno(self) -> int:
        return self.raw.fileno()


def safe_stream(stream: TextIO) -> TextIO:
    """*stream*, or an :class:`AsciiStream` over it when it cannot encode the marks."""
    return stream if can_encode(stream) else AsciiStream(stream)  # type: ignore[return-value]


def console(stream: TextIO | None = None) -> Console:
    """A rich console on *stream* (stdout) in this process's style.

    Colour: ``--color never`` or ``NO_COLOR`` turn it off, ``--color always`` or ``FORCE_COLOR`` turn
    it on even when the stream is not a terminal; otherwise only a terminal gets colour.
    """
    target = stream or sys.stdout
    terminal = _isatty(target)
    color = _STYLE.color
    if color == "auto":
        if os.environ.get("NO_COLOR"):
            color = "never"
        elif os.environ.get("FORCE_COLOR"):
            color = "always"
    return Console(
        file=safe_stream(target),
        no_color=color == "never",
        color_system=None if color == "never" else "auto",
        force_terminal=True if color == "always" else None if terminal else False,
        width=None if terminal else UNBOUNDED_WIDTH,
        highlight=False,
        soft_wrap=True,
    )


def error_document(error: WheelwiseError) -> dict[str, Any]:
    """The JSON form of an error: the same fields as the text message, and the exit code."""
    return {
        "error": {
            "kind": error.reference,
            "message": error.message,
            "hint": error.hint,
            "exit_code": error.exit_code,
        }
    }


def print_error(error: WheelwiseError, stream: TextIO | None = None) -> None:
    err = console(stream or sys.stderr)
    err.print(f"[bold red]error[/]: {escape(error.message)}")
    if error.hint:
        err.print(f"[bold cyan]hint[/]: {escape(error.hint)}")


def json_text(document: dict[str, Any]) -> str:
    """One ``--json`` document, with its schema version first."""
    return json.dumps({"schema": JSON_SCHEMA, **document}, indent=2, sort_keys=False) + "\n"


def print_json(document: dict[str, Any], stream: TextIO | None = None) -> None:
    """One JSON document on stdout and nothing else."""
    (stream or sys.stdout).write(json_text(document))

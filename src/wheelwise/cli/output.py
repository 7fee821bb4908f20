"""Where a report goes and in which form: ``--format``, ``--json``, ``-o``, ``--fail-on``; and the
options every command shares (``-q``, ``-v``, ``--color``)."""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ..errors import BadInputError

__all__ = ["FORMATS", "add_common_options", "add_output_options", "destination", "output_format", "wants_json"]

FORMATS = ("text", "json", "markdown", "github", "html")


def add_common_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output style")
    loudness = group.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="only the answer: no details, no progress")
    loudness.add_argument("-v", "--verbose", action="store_true", help="also say what is read, from where, and cache use")
    group.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                       help="colour: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces it), always or never")


def add_output_options(parser: argparse.ArgumentParser, formats: Sequence[str] = FORMATS) -> None:
    group = parser.add_argument_group("report")
    group.add_argument("--format", choices=formats, default=None,
                       help="text (default), " + ", ".join(f for f in formats if f != "text"))
    group.add_argument("--json", action="store_true", help="the same as --format json")
    group.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")


def output_format(args: argparse.Namespace) -> str:
    chosen = getattr(args, "format", None)
    if getattr(args, "json", False):
        if chosen not in (None, "json"):
            raise BadInputError(f"--json and --format {chosen} ask for two formats", hint="give one of them")
        return "json"
    return str(chosen or "text")


def wants_json(argv: Sequence[str]) -> bool:
    """Whether a command line asks for JSON (read before parsing, for errors in parsing itself)."""
    for i, arg in enumerate(argv):
        if arg == "--json" or arg == "--format=json" or (arg == "--format" and argv[i + 1 : i + 2] == ["json"]):
            return True
    return False


@contextmanager
def destination(args: argparse.Namespace) -> Iterator[TextIO]:
    """The stream a report is written to: stdout, or (``-o FILE``) a buffer that replaces FILE
    whole once the report is complete, so a failed run never leaves half a report."""
    path = getattr(args, "output", None)
    if not path or path == "-":
        yield sys.stdout
        return
    buffer = io.StringIO()
    yield buffer
    write_atomically(Path(path), buffer.getvalue())


def write_atomically(path: Path, text: str) -> None:
    """Replace *path* with *text* (UTF-8) in one step; a clear error when it cannot be written."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise BadInputError(f"cannot write {path}: {exc.strerror or exc}",
                            hint="give -o a path in a folder that exists and that you can write") from exc

"""``wheelwise explain [FILE|-]``: a pasted error turned into cause, fix and source."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape

from ..errors import BadInputError, WheelwiseError
from ..explain import (
    MAX_TEXT,
    Host,
    LogText,
    Match,
    find,
    host_context,
    log_host,
    read_stream,
    select,
)
from ..facts import collect, load_facts
from ..knowledge import load
from .render import console, print_json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "explain",
        help="turn a pasted error or log into its cause and fix",
        description="Read a pip log, traceback or shell output and say what went wrong, why, and how to fix it.",
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE", help="the log to read ('-' or nothing: standard input)")
    parser.add_argument("--python", metavar="PATH", help="add what this interpreter's machine shows (default: the active Python)")
    parser.add_argument("--facts", metavar="FILE", help="add what facts collected with 'wheelwise doctor --collect' show")
    parser.add_argument("--no-host", action="store_true", help="do not look at this machine")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.set_defaults(run=run)


def read_log(name: str) -> LogText:
    """The log's last :data:`MAX_TEXT` bytes, with the line number they start at."""
    if name == "-":
        if sys.stdin.isatty():
            sys.stderr.write("paste the error, then Ctrl-D (Ctrl-Z Enter on Windows):\n")
        return read_stream(sys.stdin.buffer)
    try:
        with Path(name).open("rb") as stream:
            return read_stream(stream)
    except OSError as exc:
        raise BadInputError(f"cannot read {name}: {exc.strerror}", hint="give a log file, or '-' to read standard input") from exc


def run(args: argparse.Namespace) -> int:
    log = read_log(args.file)
    found = find(log.text, load().signatures, first_line=log.first_line)
    facts = None
    if found and not args.no_host:
        try:
            facts = load_facts(args.facts) if args.facts else collect(args.python, light=True)
        except WheelwiseError:
            if args.facts or args.python:
                raise
            facts = None  # no usable local Python: explain without the host's view
    host = log_host(log.text).merged(Host.from_facts(facts))
    matches = [dataclasses.replace(m, context=host_context(m.signature, facts)) for m in select(found, host)]
    if args.json:
        print_json({"matched": bool(matches), "read": _read_note(log), "host": dataclasses.asdict(host), "matches": [m.to_dict() for m in matches]})
    else:
        render(matches, log)
    return 0 if matches else 1


def _read_note(log: LogText) -> dict[str, Any]:
    return {"bytes": log.size, "skipped_bytes": log.skipped, "first_line": log.first_line}


def render(matches: list[Match], log: LogText) -> None:
    out = console()
    if log.skipped:
        out.print(
            f"[yellow]note:[/] the log is {log.size / 2**20:.1f} MB; explain read its last {MAX_TEXT // 2**20} MB, from line {log.first_line} on"
        )
    if not matches:
        out.print("[yellow]no known error found in this text[/]")
        out.print("hint: run [bold]wheelwise doctor[/] to examine this machine's setup")
        return
    for number, match in enumerate(matches, start=1):
        sig = match.signature
        label = "" if sig.severity == "error" else f" [dim]({sig.severity})[/]"
        out.print(f"[bold]{number}. {escape(match.title)}[/]{label}  [dim](line {match.line}, {sig.id})[/]")
        out.print(f"   [dim]> {escape(match.excerpt)}[/]")
        out.print(f"   why: {escape(match.cause)}")
        out.print(f"   fix: {escape(match.fix)}")
        for command in sig.commands:
            out.print(f"        [bold]{escape(command)}[/]")
        for line in match.context:
            out.print(f"   {escape(line)}")
        out.print(f"   [dim]source: {escape(', '.join(sig.sources))} (verified {sig.verified})[/]")
        if number < len(matches):
            out.print()

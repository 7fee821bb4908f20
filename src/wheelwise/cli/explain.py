"""``wheelwise explain [FILE|-]``: a pasted error turned into cause, fix and source."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from rich.markup import escape

from ..errors import BadInputError, WheelwiseError
from ..explain import Match, explain, host_context
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


def read_log(name: str) -> str:
    if name == "-":
        if sys.stdin.isatty():
            sys.stderr.write("paste the error, then Ctrl-D (Ctrl-Z Enter on Windows):\n")
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BadInputError(f"cannot read {name}: {exc.strerror}", hint="give a log file, or '-' to read standard input") from exc


def run(args: argparse.Namespace) -> int:
    text = read_log(args.file)
    matches = explain(text, load().signatures)
    facts = None
    if matches and not args.no_host:
        try:
            facts = load_facts(args.facts) if args.facts else collect(args.python, light=True)
        except WheelwiseError:
            if args.facts or args.python:
                raise
            facts = None  # no usable local Python: explain without the host's view
    matches = [dataclasses.replace(m, context=host_context(m.signature, facts)) for m in matches]
    if args.json:
        print_json({"matched": bool(matches), "matches": [m.to_dict() for m in matches]})
    else:
        render(matches)
    return 0 if matches else 1


def render(matches: list[Match]) -> None:
    out = console()
    if not matches:
        out.print("[yellow]no known error found in this text[/]")
        out.print("hint: run [bold]wheelwise doctor[/] to examine this machine's setup")
        return
    for number, match in enumerate(matches, start=1):
        sig = match.signature
        out.print(f"[bold]{number}. {escape(sig.title)}[/]  [dim](line {match.line}, {sig.id})[/]")
        out.print(f"   [dim]> {escape(match.excerpt)}[/]")
        out.print(f"   why: {escape(sig.cause)}")
        out.print(f"   fix: {escape(sig.fix)}")
        for command in sig.commands:
            out.print(f"        [bold]{escape(command)}[/]")
        for line in match.context:
            out.print(f"   {escape(line)}")
        out.print(f"   [dim]source: {escape(', '.join(sig.sources))} (verified {sig.verified})[/]")
        if number < len(matches):
            out.print()

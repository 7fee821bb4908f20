"""``wheelwise doctor``: what is wrong with this machine's Python setup, and the fix."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from rich.markup import escape

from .. import api
from ..doctor import NewestRelease, Report, Status, newest_releases, statuses
from ..errors import BadInputError
from ..facts import HostFacts, collect, load_facts
from ..target import host_target_from, parse_target
from .github import append_summary, workflow_command
from .html import doctor_html
from .markdown import doctor_markdown
from .options import add_index_options, open_index
from .output import add_output_options, destination, output_format
from .progress import progress
from .render import console, print_json

__all__ = ["register"]

_MARKS = {Status.OK: "[green]✓[/]", Status.INFO: "[cyan]i[/]", Status.WARN: "[yellow]![/]", Status.FAIL: "[bold red]✗[/]"}
_TITLES = {
    "machine": "Machine",
    "python": "Python interpreter",
    "environment": "Environment",
    "pip": "pip",
    "extensions": "Compiled extension modules",
    "frameworks": "ML frameworks",
    "accelerators": "Accelerators",
    "distributions": "Installed distributions",
}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "doctor",
        help="diagnose a Python's ML setup, with a fix for every problem",
        description="Examine an interpreter and its machine (architecture, Rosetta, pip, extension modules, "
        "framework pairs, accelerators, broken requirements) and say what to fix.",
    )
    parser.add_argument("--python", metavar="PATH", help="the interpreter to examine (default: the active venv's, else python3 on PATH)")
    parser.add_argument("--facts", metavar="FILE", help="analyse facts collected elsewhere with --collect ('-' reads stdin)")
    parser.add_argument("--collect", action="store_true", help="print the probe's facts as JSON and stop")
    parser.add_argument(
        "--newest", action="store_true",
        help="read the newest tensorflow/torch/jax releases' Requires-Python and wheels from the index "
        "(implied by -i/-f) instead of wheelwise's dated table",
    )
    add_index_options(parser)
    add_output_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.facts and (args.python or args.collect):
        raise BadInputError("--facts analyses saved facts; it cannot be combined with --python or --collect")
    if args.facts:
        data = load_facts(args.facts)
    else:
        with progress(f"examining {args.python or 'this Python'}"):
            data = collect(args.python)
    if args.collect:
        json.dump(data, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    form = output_format(args)
    report = api.doctor(facts=data, newest=_newest(args, data))
    with destination(args) as out:
        if form == "json":
            print_json(report.to_dict(), out)
        elif form == "markdown":
            out.write(doctor_markdown(report, _TITLES))
        elif form == "html":
            out.write(doctor_html(report, _TITLES))
        else:
            render(report, out)
    if form == "github":
        for finding in report.findings:
            if finding.status in (Status.FAIL, Status.WARN):
                kind = "error" if finding.status is Status.FAIL else "warning"
                message = "\n".join([*finding.details, *(f"fix: {c}" for c in finding.fix)])
                sys.stdout.write(workflow_command(kind, message or finding.title, f"wheelwise doctor: {finding.title}") + "\n")
        append_summary(doctor_markdown(report, _TITLES))
    return 1 if report.failed else 0


def _newest(args: argparse.Namespace, data: dict[str, Any]) -> dict[str, NewestRelease] | None:
    """What the index says of the newest framework releases for this Python, when asked."""
    if not (args.newest or args.index_url or args.find_links):
        return None
    facts = HostFacts(data)
    python = facts.python_version
    if facts.platform is None or python is None:
        return None
    if args.facts:  # saved facts: the standard target of their platform (its oldest OS)
        target = parse_target(facts.platform, (python.major, python.minor))
    else:  # this interpreter: its own tags, so its own glibc, macOS or musl
        target = host_target_from(collect(args.python, light=True, target=True, accelerators=False))
    with open_index(args) as index:
        return newest_releases(index, target)


def render(report: Report, stream: TextIO | None = None) -> None:
    out = console(stream)
    out.print(f"wheelwise doctor: {escape(report.python)}\n")
    for category, findings in report.by_category():
        worst = statuses(findings)
        out.print(f"[{_MARKS[worst]}] [bold]{_TITLES[category]}[/]")
        for finding in findings:
            out.print(f"    {_MARKS[finding.status]} {escape(finding.title)}")
            if finding.status is Status.OK:
                continue
            for line in finding.details:
                out.print(f"        {escape(line)}")
            for i, command in enumerate(finding.fix):
                out.print(f"        {'fix: ' if i == 0 else '     '}[bold]{escape(command)}[/]")
            for source in finding.sources[:2]:
                out.print(f"        [dim]source: {escape(source)}[/]")
    counts = report.counts()
    problems = counts["fail"] + counts["warn"]
    summary = f"{counts['fail']} failing, {counts['warn']} warning(s), {counts['ok']} ok, {counts['info']} note(s)"
    out.print(f"\n{'[bold red]✗[/]' if counts['fail'] else '[green]•[/]'} {'No issues found.' if not problems else summary}")

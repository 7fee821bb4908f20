"""``wheelwise show REQ``: what the index offers for one requirement."""

from __future__ import annotations

import argparse
from collections import defaultdict

from rich.markup import escape

from ..api import matrix
from ..check import target_dict
from ..errors import BadInputError
from ..show import FileChoice, ProjectSummary, choose_for, summarize
from ..target import Target
from .options import add_index_options, open_index
from .progress import progress
from .render import console, print_json
from .words import reason_words

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "show",
        help="versions, files and dependencies of a project on the index",
        description="Show the newest version of a project that matches REQ, its files and dependencies.",
    )
    parser.add_argument("requirement", metavar="REQ", help='a requirement, e.g. "tensorflow-metal<1.2"')
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("-t", "--target", "--python-platform", "--platform", dest="target", metavar="TARGET",
                        help="also say which file of that version this target takes, and why not the others")
    parser.add_argument("-p", "--python-version", metavar="X.Y", help="the target's CPython (3.12, 3.14t)")
    parser.add_argument("--python", metavar="PATH", help="the interpreter 'host' means (default: this one)")
    add_index_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    wants_target = args.target or args.python_version or args.python
    target = None
    if wants_target:
        targets = matrix([args.target or "host"], [args.python_version] if args.python_version else [], args.python)
        if len(targets) != 1:
            raise BadInputError("show takes one target and one Python", hint="e.g. -t linux-x86_64 -p 3.12")
        target = targets[0]
    with progress(f"reading {args.requirement}") as state, open_index(args, progress=state.hook) as index:
        summary = summarize(index, args.requirement)
        choices = choose_for(index, summary, target, args.requirement) if target else []
        stats = index.fetcher.stats
    if args.json:
        doc: dict[str, object] = {"project": summary.to_dict(), "requests": stats.total_requests(), "bytes": stats.total_bytes()}
        if target is not None:
            doc["target"] = {**target_dict(target), "files": [c.to_dict() for c in choices]}
        print_json(doc)
    else:
        render(summary, stats.total_requests(), stats.total_bytes())
        if target is not None and summary.version:
            render_choices(target, choices)
    taken = any(c.why == "taken" for c in choices)
    return 0 if summary.version and (target is None or taken) else 1


def _not_taken(why: str, target: Target, needs: str | None) -> str:
    """Why one file is not taken, in words."""
    words = {
        "ranked-lower": "installs, but a better-ranked file is taken",
        "variant-not-chosen": "a variant the target supports, ranked below the one taken (PEP 825)",
        "variant": "a variant for properties the target does not have (PEP 825)",
        "plain-not-chosen": "a plain wheel: a variant-aware installer takes the variant; one without variant support takes this",
        "sdist": "an sdist: a wheel is taken instead",
        "python": f"built for another Python (the target is CPython {target.python_label})",
        "abi": f"built for another ABI (the target's is {target.abi})",
        "platform": f"built for another OS or architecture (the target is {target.machine})",
        "requires-python": f"its Requires-Python excludes Python {target.python_str}",
        "yanked": "yanked",
    }
    return words.get(why) or reason_words(why, target, needs)


def render_choices(target: Target, choices: list[FileChoice]) -> None:
    out = console()
    out.print(f"  on [bold]{escape(target.label)}[/]:")
    if not any(c.why == "taken" for c in choices):
        out.print("    [red]✗ no file of this version installs there[/]")
    for choice in choices:
        if choice.why == "taken":
            rank = f" (tag rank {choice.rank})" if choice.rank is not None else ""
            out.print(f"    [green]takes[/] {escape(choice.filename)}{rank}")
            continue
        why = _not_taken(choice.why, target, choice.needs)
        out.print(f"    not {escape(choice.filename)}: {escape(why)}")


def _tag_summary(summary: ProjectSummary) -> list[str]:
    by_platform: dict[str, set[str]] = defaultdict(set)
    sdists = []
    for f in summary.files:
        if not f.is_wheel:
            sdists.append(f.filename)
            continue
        for tag in f.tags:
            by_platform[tag.platform].add(tag.interpreter)
    lines = [f"{plat}: {', '.join(sorted(pys))}" for plat, pys in sorted(by_platform.items())]
    return lines + [f"sdist: {name}" for name in sdists]


def render(summary: ProjectSummary, requests: int, nbytes: int) -> None:
    out = console()
    if not summary.versions:
        out.print(f"[bold red]✗[/] {escape(summary.name)} is not on any configured index")
        return
    if summary.version is None:
        out.print(f"[bold red]✗[/] no version of {escape(summary.name)} matches {escape(summary.requirement)}")
        out.print(f"  versions on the index: {', '.join(summary.versions[:15])}")
        return
    out.print(f"[bold]{escape(summary.name)} {summary.version}[/]  ({len(summary.versions)} versions on the index)")
    out.print(f"  newest versions: {', '.join(summary.versions[:8])}")
    out.print(f"  Requires-Python: {summary.requires_python or 'any'}")
    deps = summary.requires_dist or ("none",)
    out.print("  Requires-Dist:")
    for dep in deps:
        out.print(f"    {escape(dep)}")
    if summary.provides_extra:
        out.print(f"  extras: {', '.join(summary.provides_extra)}")
    out.print(f"  files ({len(summary.files)}):")
    for line in _tag_summary(summary):
        out.print(f"    {escape(line)}")
    out.print(
        f"  [dim]metadata of {escape(summary.metadata_from or '')} read by {summary.metadata_how}; "
        f"{requests} requests, {nbytes / 1024:.1f} KiB[/]"
    )

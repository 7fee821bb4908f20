"""``wheelwise show REQ``: what the index offers for one requirement."""

from __future__ import annotations

import argparse
from collections import defaultdict

from rich.markup import escape

from ..show import ProjectSummary, summarize
from .options import add_index_options, open_index
from .progress import progress
from .render import console, print_json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "show",
        help="versions, files and dependencies of a project on the index",
        description="Show the newest version of a project that matches REQ, its files and dependencies.",
    )
    parser.add_argument("requirement", metavar="REQ", help='a requirement, e.g. "tensorflow-metal<1.2"')
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    add_index_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    with progress(f"reading {args.requirement}") as state, open_index(args, progress=state.hook) as index:
        summary = summarize(index, args.requirement)
        stats = index.fetcher.stats
    if args.json:
        print_json({"project": summary.to_dict(), "requests": stats.total_requests(), "bytes": stats.total_bytes()})
    else:
        render(summary, stats.total_requests(), stats.total_bytes())
    return 0 if summary.version else 1


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

"""``wheelwise check``: will these requirements install on these targets; if not, why."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rich.markup import escape
from rich.table import Table

from .. import api
from ..api import matrix
from ..check import Cell, CheckReport
from ..errors import BadInputError
from ..index.settings import PipChoices, load_pip_settings
from ..index.urls import redact
from ..requirements import (
    RequirementSet,
    parse_requirement_line,
    read_groups,
    read_project,
    read_requirements,
)
from ..resolve.model import DEFAULT_MAX_ROUNDS
from ..selection import Selection
from ..target import PRESETS, Target
from .cache import open_cache
from .options import add_choice_options, add_index_options, index_settings, pip_choices
from .output import add_output_options, destination, output_format, write_atomically
from .progress import progress
from .render import console, print_json, style
from .words import (
    Span,
    cell_lines,
    constraints_words,
    layout_of,
    matrix_span,
    reason_words,
    summary_span,
    verdict_span,
)

if TYPE_CHECKING:
    from ..index.repository import PackageIndex

__all__ = ["reason_words", "register", "render_report"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "check",
        help="will requirements install on a target and Python; if not, what blocks them",
        description=(
            "Resolve the requirements for each target and Python (a matrix when -t/-p repeat), as pip would "
            "there; say ok (wheels only), build (needs sdists built) or blocked, name the root blockers, "
            "and where the same requirements would install."
        ),
    )
    parser.add_argument("requirements", metavar="REQ", nargs="*", help='requirements, e.g. "tensorflow>=2.16"')
    parser.add_argument("-r", "--requirement", metavar="FILE", action="append", default=[], help="a requirements file (repeatable)")
    parser.add_argument("--project", metavar="DIR", help="the [project] dependencies of DIR/pyproject.toml")
    parser.add_argument("--extra", metavar="NAME", action="append", default=[], help="with --project: an optional-dependencies group")
    parser.add_argument("--group", metavar="NAME", action="append", default=[],
                        help="a PEP 735 dependency group of --project's (else ./) pyproject.toml; [PATH:]NAME as pip")
    parser.add_argument(
        "-t", "--target", "--python-platform", "--platform", metavar="TARGET", action="append", default=[],
        dest="target",
        help="host (default), " + ", ".join(PRESETS) + ", linux-x86_64-musl, linux-aarch64-musl; a version after @ "
        "(macos-arm64@14, linux-x86_64@2.31); properties after + (+cuda=12.8+sm=90, +x86_64=v3, +metal); "
        "uv's --python-platform values and pip's --platform tags work too",
    )
    parser.add_argument("-p", "--python-version", metavar="X.Y", action="append", default=[],
                        help="CPython version (repeatable), X.Yt for free-threaded; 'all' = every supported one; "
                        "default: the target's")
    parser.add_argument("--python", metavar="PATH", help="the interpreter whose tags 'host' means (default: this one)")
    parser.add_argument("--no-knowledge", action="store_true",
                        help="ignore wheelwise's cited knowledge: compatibility rules, successors, accelerator fit")
    parser.add_argument("--no-nearest", action="store_true", help="do not look for where blocked requirements would install")
    parser.add_argument("--fail-on", choices=FAIL_ON, default="blocked",
                        help="exit 1 when a cell is blocked (default), also when one needs a build, or also on a warning")
    parser.add_argument("--show-pins", action="store_true", help="list every pin of each installable cell")
    parser.add_argument("--write-pins", metavar="DIR",
                        help="write each installable cell's pins to DIR/<cell>.txt, with hashes, for pip -r")
    parser.add_argument("--no-memo", action="store_true",
                        help="compute the answer even when an identical check's answer is remembered and still holds")
    parser.add_argument("--max-rounds", metavar="N", type=_positive, default=DEFAULT_MAX_ROUNDS,
                        help=f"resolver rounds per cell before it gives up (default {DEFAULT_MAX_ROUNDS})")
    add_index_options(parser)
    add_choice_options(parser)
    add_output_options(parser)
    parser.set_defaults(run=run)


#: ``--fail-on`` levels, each including the ones before it
FAIL_ON = ("blocked", "build", "warning")


def failed(report: CheckReport, level: str) -> bool:
    """Whether *report* fails CI at ``--fail-on`` *level*."""
    if not report.all_install:
        return True
    if level in ("build", "warning") and any(c.verdict == "build" for c in report.cells):
        return True
    return level == "warning" and any(c.all_warnings or c.newer_sdists for c in report.cells)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def gather(args: argparse.Namespace, choices: PipChoices | None = None) -> RequirementSet:
    """Everything asked for, from the command line, files, a project and pip's ``constraint``."""
    wanted = RequirementSet()
    wanted.requirements += [parse_requirement_line(text) for text in args.requirements]
    for path in args.requirement:
        wanted.extend(read_requirements(path))
    origins = {s.value: s.origin for s in choices.settings if s.name == "constraint"} if choices else {}
    for path in choices.constraints if choices else args.constraint:
        try:
            wanted.extend(read_requirements(path, constraint=True))
        except BadInputError as exc:
            origin = next((o for value, o in origins.items() if path in value.split() or value == path), None)
            if exc.source is None and origin and origin != "command line":
                raise BadInputError(f"{exc.message} (a constraints file named by {origin})", hint=exc.hint) from exc
            raise
    if args.project:
        wanted.extend(read_project(args.project, args.extra, args.group))
    elif args.extra:
        raise BadInputError("--extra needs --project", hint="e.g. --project . --extra gpu")
    elif args.group:
        wanted.extend(read_groups(args.group))
    if not wanted.requirements:
        raise BadInputError(
            "no requirements to check",
            hint="give requirements (wheelwise check tensorflow), -r FILE or --project DIR",
        )
    return wanted


def targets(args: argparse.Namespace) -> list[Target]:
    """The matrix: every -t with every -p (defaults: host, and the host's Python)."""
    return matrix(args.target, args.python_version, args.python)


def selection(choices: PipChoices, wanted: RequirementSet) -> Selection:
    """pip's order: configuration, then flags (in *choices*), then the files' own options."""
    chosen = choices.selection.with_formats(wanted.formats)
    for name, hashes in wanted.hashes.items():
        chosen = chosen.with_hashes(name, hashes)
    return dataclasses.replace(chosen, prefer_binary=chosen.prefer_binary or wanted.prefer_binary,
                               require_hashes=chosen.require_hashes or wanted.require_hashes)


def run(args: argparse.Namespace) -> int:
    form = output_format(args)
    choices = pip_choices(args)
    wanted = gather(args, choices)
    for warning in wanted.warnings:
        console(sys.stderr).print(f"[yellow]warning[/]: {escape(warning)}")
    cells = targets(args)
    settings = load_pip_settings().override(
        index_url=wanted.index_url,
        extra_index_urls=wanted.extra_index_urls,
        find_links=wanted.find_links,
        no_index=True if wanted.no_index else None,
    )
    label = f"checking {len(cells)} cell{'s' if len(cells) != 1 else ''}"
    opened: list[PackageIndex] = []
    with progress(label) as state:
        report = api.check(wanted.requirements, cells, constraints=wanted.constraints,
                           settings=index_settings(args, settings), cache=open_cache(), offline=args.offline,
                           refresh=args.refresh, progress=state.hook, memo=not args.no_memo, opened=opened.append,
                           knowledge=not args.no_knowledge, nearest=not args.no_nearest, max_rounds=args.max_rounds,
                           selection=selection(choices, wanted), python_bounds=wanted.requires_python)
    if style().verbose:
        if opened:
            _fetch_summary(opened[0])
        else:
            console(sys.stderr).print("[dim]answered from the memo of an identical earlier check "
                                      "(every page it read is unchanged); --no-memo or --refresh computes it again[/]")
    if args.write_pins:
        for path in write_pins(report, Path(args.write_pins)):
            console(sys.stderr).print(f"wrote {escape(str(path))}")
    with destination(args) as out:
        if form == "json":
            print_json(report.to_dict() | {"input_warnings": list(wanted.warnings)}, out)
        elif form == "markdown":
            # each report format's imports when it is asked for
            from .markdown import check_markdown

            out.write(check_markdown(report, pins=args.show_pins))
        elif form == "html":
            from .html import check_html

            out.write(check_html(report, pins=args.show_pins))
        else:
            render_report(report, out, pins=args.show_pins)
    if form == "github":
        from .github import append_summary, workflow_commands
        from .markdown import check_markdown

        for command in workflow_commands(report):
            sys.stdout.write(command + "\n")
        append_summary(check_markdown(report, pins=args.show_pins))
    return 1 if failed(report, args.fail_on) else 0


def _fetch_summary(index: PackageIndex) -> None:
    """``-v``: where packages came from, and how each metadata file was obtained."""
    err = console(sys.stderr)
    for url in index.index_urls():
        err.print(f"[dim]index: {escape(redact(url))}[/]")
    for link in index.settings.find_links:
        err.print(f"[dim]find-links: {escape(redact(link))}[/]")
    err.print(f"[dim]cache: {escape(str(index.cache.path or 'in memory'))}[/]")
    ways = ", ".join(f"{n} {way}" for way, n in sorted(index.metadata_ways.items()))
    stats = index.fetcher.stats
    err.print(f"[dim]metadata: {escape(ways or 'none read')}; {stats.total_requests()} requests, "
              f"{stats.total_bytes() / 1e6:.1f} MB received[/]")


def cell_file_name(cell: Cell) -> str:
    """A file name for a cell: ``macos-arm64-14-py3.11``."""
    name = cell.target.label.replace(" / ", "-py").replace("@", "-").replace(" ", "-")
    return "".join(c if c.isalnum() or c in "-._" else "-" for c in name)


def write_pins(report: CheckReport, directory: Path) -> list[Path]:
    """Each installable cell's pins as a requirements file with hashes, named by cell."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"cannot make {directory}: {exc.strerror or exc}") from exc
    written = []
    for cell in report.cells:
        if not cell.installs:
            continue
        lines = [f"# wheelwise check --write-pins: {cell.target.label} ({cell.verdict})"]
        for name in sorted(cell.pins):
            candidate = cell.pins[name]
            line = f"{name}=={candidate.version}"
            digest = candidate.file.hashes.get("sha256") if candidate.file is not None else None
            if digest:
                line += f" \\\n    --hash=sha256:{digest}"
            lines.append(line)
        path = directory / f"{cell_file_name(cell)}.txt"
        write_atomically(path, "\n".join(lines) + "\n")
        written.append(path)
    return written


# -- rendering ---------------------------------------------------------------

_RICH = {"bold": "bold", "ok": "green", "build": "yellow", "blocked": "red", "warn": "yellow", "dim": "dim"}


def markup(spans: Iterable[Span]) -> str:
    """Styled spans as rich markup."""
    return "".join(f"[{_RICH[style]}]{escape(text)}[/]" if style else escape(text) for style, text in spans)


def render_report(report: CheckReport, stream: TextIO | None = None, *, pins: bool = False) -> None:
    out = console(stream)
    layout = layout_of(report)
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("target", no_wrap=True)
    for label in layout.columns:
        table.add_column(label, no_wrap=True)
    for place, cells in layout.rows:
        table.add_row(escape(place), *(markup([matrix_span(cell)]) if cell else "" for cell in cells))
    out.print(table)
    if not style().quiet:
        requested = {r.name for r in report.requirements}
        for cell in report.cells:
            out.print()
            out.print(f"[bold]{escape(cell.target.label)}[/]: {markup([verdict_span(cell.verdict)])}")
            for line in cell_lines(cell, requested, report.nearest_searched, pins=pins):
                out.print("  " + "  " * line.depth + markup(line.spans))
    out.print()
    out.print(markup([summary_span(report)]))
    if report.constraints:
        out.print(markup([("dim", constraints_words(report))]))

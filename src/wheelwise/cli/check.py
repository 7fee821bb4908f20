"""``wheelwise check``: will these requirements install on these targets; if not, why."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..check import Blocker, Cell, CheckReport, VariantChoice, check
from ..errors import BadInputError
from ..index import load_pip_settings
from ..index.repository import ProgressHook
from ..knowledge import load_constraints
from ..requirements import RequirementSet, parse_requirement_line, read_project, read_requirements
from ..resolve import DEFAULT_MAX_ROUNDS
from ..target import PRESETS, Target, host_target, parse_pythons, parse_target, with_properties
from .options import add_index_options, open_index
from .render import console, print_json
from .words import reason_words

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
    parser.add_argument("-c", "--constraint", metavar="FILE", action="append", default=[], help="a constraints file (repeatable)")
    parser.add_argument("--project", metavar="DIR", help="the [project] dependencies of DIR/pyproject.toml")
    parser.add_argument("--extra", metavar="NAME", action="append", default=[], help="with --project: an optional-dependencies group")
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
    parser.add_argument("--no-knowledge", action="store_true", help="ignore wheelwise's cited compatibility rules")
    parser.add_argument("--no-nearest", action="store_true", help="do not look for where blocked requirements would install")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--max-rounds", metavar="N", type=_positive, default=DEFAULT_MAX_ROUNDS,
                        help=f"resolver rounds per cell before it gives up (default {DEFAULT_MAX_ROUNDS})")
    add_index_options(parser)
    parser.set_defaults(run=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def gather(args: argparse.Namespace) -> RequirementSet:
    """Everything asked for, from the command line, files and a project."""
    wanted = RequirementSet()
    wanted.requirements += [parse_requirement_line(text) for text in args.requirements]
    for path in args.requirement:
        wanted.extend(read_requirements(path))
    for path in args.constraint:
        wanted.extend(read_requirements(path, constraint=True))
    if args.project:
        wanted.requirements += read_project(args.project, args.extra)
    elif args.extra:
        raise BadInputError("--extra needs --project", hint="e.g. --project . --extra gpu")
    if not wanted.requirements:
        raise BadInputError(
            "no requirements to check",
            hint="give requirements (wheelwise check tensorflow), -r FILE or --project DIR",
        )
    return wanted


def targets(args: argparse.Namespace) -> list[Target]:
    """The matrix: every -t with every -p (defaults: host, and the host's Python)."""
    pythons: list[tuple[tuple[int, int], bool]] = []
    for text in args.python_version:
        pythons += [p for p in parse_pythons(text) if p not in pythons]
    names = args.target or ["host"]
    wants_host = any(_is_host(n) for n in names)
    # the interpreter is only run when its tags or (given by --python) its version are needed
    host = host_target(args.python) if wants_host or (not pythons and args.python) else None
    default = (host.python, host.free_threaded) if host else ((sys.version_info[0], sys.version_info[1]), False)
    cells: list[Target] = []
    for name in names:
        if _is_host(name):
            assert host is not None
            here = with_properties(host, name.strip().split("+")[1:])
            cells += [here.with_python(p, ft) for p, ft in pythons] if pythons else [here]
        else:
            cells += [parse_target(name, python, ft) for python, ft in pythons or [default]]
    return list(dict.fromkeys(cells))


def _is_host(name: str) -> bool:
    return name.strip().lower().partition("+")[0] == "host"


def run(args: argparse.Namespace) -> int:
    wanted = gather(args)
    cells = targets(args)
    settings = load_pip_settings().override(
        index_url=wanted.index_url,
        extra_index_urls=wanted.extra_index_urls,
        find_links=wanted.find_links,
        no_index=True if wanted.no_index else None,
    )
    rules = () if args.no_knowledge else load_constraints()
    with _progress(len(cells)) as hook, open_index(args, progress=hook, settings=settings) as index:
        report = check(index, cells, wanted.requirements, wanted.constraints, rules,
                       nearest=not args.no_nearest, max_rounds=args.max_rounds)
    if args.json:
        print_json(report.to_dict())
    else:
        render_report(report)
    return 0 if report.all_install else 1


@contextmanager
def _progress(cells: int) -> Iterator[ProgressHook | None]:
    """A transient status line on stderr (only on a terminal): pages and metadata fetched."""
    if not sys.stderr.isatty():
        yield None
        return
    err = console(sys.stderr)
    counts = {"page": 0, "metadata": 0}
    lock = threading.Lock()
    label = f"checking {cells} cell{'s' if cells != 1 else ''}"
    with err.status(label) as status:

        def hook(kind: str, name: str) -> None:
            with lock:
                counts[kind] = counts.get(kind, 0) + 1
                status.update(f"{label}: {counts['page']} pages, {counts['metadata']} metadata files read ({escape(name)})")

        yield hook


# -- rendering ---------------------------------------------------------------

_MARK = {"ok": "[green]✓ ok[/]", "build": "[yellow]◐ build[/]", "blocked": "[red]✗ blocked[/]", "unknown": "[magenta]? unknown[/]"}


def _mark(cell: Cell) -> str:
    if cell.installs and any(v.differs for v in cell.variants):
        # both installers side by side: the variant taken, and what one without variant support takes
        shown = ", ".join(f"{v.name} {v.variant or 'plain'} · legacy: {'plain' if v.legacy_file else 'none'}"
                          for v in cell.variants if v.differs)
        return f"{_MARK[cell.verdict]} [cyan]{escape(shown)}[/]"
    if cell.verdict == "blocked" and cell.blockers:
        names = list(dict.fromkeys(b.project for b in cell.blockers if b.project))
        shown = ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
        return f"[red]✗ {escape(shown)}[/]"
    return _MARK[cell.verdict]


#: versions of a requested project named in one line before "and N more"
SHOWN_VERSIONS = 6


def _blocker_lines(blocker: Blocker, target: Target) -> list[str]:
    by_version = blocker.reason in ("invalid-metadata", "requires-python")
    subject = blocker.requirement if by_version and blocker.requirement else blocker.project or blocker.requirement
    if blocker.reason == "limit":
        return [escape(blocker.detail)]
    if blocker.reason in ("conflict", "forbidden") and not blocker.chain:
        lines = [f"conflict on [bold]{escape(blocker.project)}[/]: {escape(blocker.requirement)}"]
    else:
        needs = blocker.needs if blocker.reason == "os-too-old" else None
        lines = [f"[bold]{escape(subject)}[/] {reason_words(blocker.reason, target, needs)}"]
        if blocker.available and blocker.reason not in ("not-found", "forbidden", "invalid-metadata"):
            has = "it has" if blocker.reason == "no-version" else "it has wheels for"
            lines[0] += f"; {has} {escape(blocker.available)}"
    if len(blocker.chain) > 1:
        lines.append("needed by " + " → ".join(escape(c) for c in blocker.chain))
    if blocker.versions and blocker.chain:
        shown = list(blocker.versions[:SHOWN_VERSIONS])
        more = len(blocker.versions) - len(shown)
        text = ", ".join(escape(v) for v in shown) + (f" and {more} more" if more > 0 else "")
        lines.append(f"blocks {text} of {escape(blocker.chain[0].split(' ')[0])}")
    if blocker.detail:
        lines.append(escape(blocker.detail))
    return lines


def render_report(report: CheckReport, stream: TextIO | None = None) -> None:
    out = console(stream)
    pythons = sorted({(c.target.python, c.target.free_threaded) for c in report.cells})
    places = list(dict.fromkeys(c.target.place for c in report.cells))
    by_place = {(c.target.place, (c.target.python, c.target.free_threaded)): c for c in report.cells}
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("target")
    for python, free_threaded in pythons:
        table.add_column(f"{python[0]}.{python[1]}{'t' if free_threaded else ''}")
    for place in places:
        row = [escape(place)]
        for column in pythons:
            cell = by_place.get((place, column))
            row.append(_mark(cell) if cell else "")
        table.add_row(*row)
    out.print(table)
    requested = {r.name for r in report.requirements}
    for cell in report.cells:
        out.print()
        _render_cell(out, cell, requested, report.nearest_searched)
    failing = sum(1 for c in report.cells if not c.installs)
    total = len(report.cells)
    out.print()
    if failing:
        out.print(f"[red]{failing} of {total} cell{'s' if total != 1 else ''} cannot install[/]")
    else:
        out.print(f"[green]all {total} cell{'s' if total != 1 else ''} install[/]")


def _render_cell(out: Console, cell: Cell, requested: set[str], nearest_searched: bool) -> None:
    printer = out.print
    printer(f"[bold]{escape(cell.target.label)}[/]: {_MARK[cell.verdict]}")
    if cell.pins:
        names = [n for n in cell.pins if n in requested]
        shown = ", ".join(f"{n} {cell.pins[n].version}" for n in names)
        others = len(cell.pins) - len(names)
        printer(f"  pins {escape(shown)}" + (f" (+{others} dependencies)" if others else ""))
    for warning in cell.warnings:
        printer(f"  [yellow]warning[/]: {escape(warning)} (pip warns the same; nothing of it is installed)")
    for name, version in cell.newer_sdists:
        printer(f"  note: plain pip would build {escape(name)} {escape(version)} from its sdist; these pins take the "
                "newest wheel (as pip --prefer-binary does)")
    for choice in cell.variants:
        _render_variant(printer, choice)
    for item in cell.build:
        kind = "native code: needs a compiler and headers" if item.native else "pure Python" if item.native is False else "contents unknown"
        if item.binaries:
            kind = f"not pure Python: ships prebuilt binaries for {', '.join(item.binaries)}"
        deps = "" if item.dependencies_known else "; its dependencies are known only after building it"
        printer(f"  builds {escape(item.filename)} ({kind}{deps})")
    cited = " ".join(b.detail for b in cell.blockers)
    for rule in cell.knowledge:
        if rule.sources[0] in cited:
            continue
        printer(f"  knowledge: {escape(rule.summary)}; applied {escape(rule.describe_effect())}")
        printer(f"    source: {escape(rule.sources[0])} (verified {escape(rule.verified)})")
    for blocker in cell.blockers:
        lines = _blocker_lines(blocker, cell.target)
        printer(f"  [red]•[/] {lines[0]}")
        for line in lines[1:]:
            printer(f"    {line}")
    if cell.not_examined:
        printer(f"  not examined further: {escape(', '.join(cell.not_examined))} (the above blocks this cell by itself)")
    if cell.verdict == "blocked" and nearest_searched:
        if cell.nearest:
            where = ", ".join(
                f"{escape(n.target.label)} ({n.verdict}{', under Rosetta 2' if n.rosetta else ''})" for n in cell.nearest
            )
            printer(f"  [green]would install on[/]: {where}")
        else:
            printer("  no nearby Python or standard target installs it either")


def _render_variant(printer: Callable[..., None], choice: VariantChoice) -> None:
    """One pin with variant wheels: the variant taken and why, and a legacy installer's file when it differs."""
    which = f"variant {choice.variant}" if choice.variant else "no variant fits; a plain wheel"
    props = f" ({', '.join(choice.properties)})" if choice.properties else ""
    printer(f"  {escape(choice.name)} {escape(choice.version)}: {escape(which + props)}")
    if choice.differs:
        legacy = choice.legacy_file or "no plain wheel (variant wheels only): it cannot install this version"
        printer(f"    a variant-aware installer takes {escape(choice.file or '-')}; one without variant support: {escape(legacy)}")

"""The words of a report: why a requirement does not install, and what a cell says; written once here."""

from __future__ import annotations

import dataclasses

from ..check import Blocker, BuildItem, Cell, CheckReport, Successor, VariantChoice
from ..target import Target

__all__ = [
    "Line", "Matrix", "Span", "blocker_lines", "cell_lines", "column_label", "column_of", "layout_of", "matrix_span", "os_words", "place_of",
    "reason_words", "successor_lines", "summary_span", "verdict_span",
]


def os_words(target: Target, version: str | None = None) -> str:
    """``glibc 2.28``, ``musl 1.2`` or ``macOS 14`` for a target (or for *version* on its OS)."""
    if version is None:
        if target.os_version is None:
            return target.machine
        major, minor = target.os_version
        version = f"{major}" if target.os == "macos" and minor == 0 else f"{major}.{minor}"
    elif target.os == "macos" and version.endswith(".0"):
        version = version[:-2]
    kind = "macOS" if target.os == "macos" else "musl" if target.libc == "musl" else "glibc"
    return f"{kind} {version}"


def reason_words(reason: str, target: Target, needs: str | None = None) -> str:
    """One clause: why the blocker does not install on *target*."""
    py = f"CPython {target.python_str}"
    if reason == "os-too-old":
        floor = os_words(target, needs) if needs else "a newer OS"
        return f"needs {floor} or newer on {target.machine} (the target has {os_words(target)})"
    words = {
        "platform": f"has no wheel for {target.machine}",
        "python": f"has no wheel for {py} on {target.machine}",
        "abi": f"has no wheel for the {py} ABI on {target.machine}",
        "requires-python": f"does not support Python {target.python_str} (Requires-Python)",
        "variant": "has only variant wheels (PEP 825) here, none for this machine's properties"
        + (f" ({target.properties.suffix})" if target.properties else " (the target names none: add +cuda=, +sm=, +x86_64=)"),
        "yanked": "has only yanked releases in the required range",
        "sdist-only": "has only sdists",
        "no-binary": "has only wheels, and --no-binary refuses them",
        "hash-mismatch": "has no file matching the --hash given for it (pip refuses a file whose hash differs)",
        "not-found": "is not on any configured index",
        "no-version": "has no release in the required range",
        "invalid-metadata": "has metadata pip cannot read",
        "forbidden": "must not be installed with this combination (knowledge rule)",
        "conflict": "is required in ways no single version satisfies",
        "limit": "could not be decided: the resolver reached its round limit",
    }
    return words.get(reason, reason)


# -- the words of a check report, shared by every output format -------------------------------
#
# A report is written once here as lines of styled spans; the text, Markdown, GitHub and HTML
# renderers only map the styles (``bold``, ``ok``, ``build``, ``blocked``, ``warn``, ``dim``) to
# their own markup. No format words a blocker differently from another.

Span = tuple[str, str]
"""``(style, text)``: style is ``""`` or one of the names above."""


@dataclasses.dataclass(frozen=True)
class Line:
    """One line of a cell's story: *depth* 0 is an item, 1 a detail under the item above."""

    spans: tuple[Span, ...]
    depth: int = 0
    kind: str = ""


VERDICT_MARKS = {"ok": "✓ ok", "build": "◐ build", "blocked": "✗ blocked", "unknown": "? unknown"}
VERDICT_STYLES = {"ok": "ok", "build": "build", "blocked": "blocked", "unknown": "warn"}

#: versions of a requested project named in one line before "and N more"
SHOWN_VERSIONS = 6


def verdict_span(verdict: str) -> Span:
    return (VERDICT_STYLES[verdict], VERDICT_MARKS[verdict])


def matrix_span(cell: Cell) -> Span:
    """A matrix cell: the verdict, or for a blocked cell the first blockers' names; with wheel
    variants, both installers side by side (``✓ ok torch cu128 · legacy: plain``)."""
    if cell.installs and any(v.differs for v in cell.variants):
        shown = ", ".join(f"{v.name} {v.variant or 'plain'} · legacy: {'plain' if v.legacy_file else 'none'}"
                          for v in cell.variants if v.differs)
        return (VERDICT_STYLES[cell.verdict], f"{VERDICT_MARKS[cell.verdict]} {shown}")
    if cell.verdict == "blocked" and cell.blockers:
        names = list(dict.fromkeys(b.project for b in cell.blockers if b.project))
        shown = ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
        return ("blocked", f"✗ {shown}")
    return verdict_span(cell.verdict)


def blocker_lines(blocker: Blocker, target: Target) -> list[tuple[Span, ...]]:
    """A blocker: its first line (subject in bold, then why), then chain, versions and detail."""
    by_version = blocker.reason in ("invalid-metadata", "requires-python")
    subject = blocker.requirement if by_version and blocker.requirement else blocker.project or blocker.requirement
    if blocker.reason == "limit":
        return [(("", blocker.detail),)]
    if blocker.reason in ("conflict", "forbidden") and not blocker.chain:
        lines: list[tuple[Span, ...]] = [(("", "conflict on "), ("bold", blocker.project), ("", f": {blocker.requirement}"))]
    else:
        needs = blocker.needs if blocker.reason == "os-too-old" else None
        why = reason_words(blocker.reason, target, needs)
        if blocker.available and blocker.reason not in ("not-found", "forbidden", "invalid-metadata", "sdist-only"):
            has = "it has" if blocker.reason == "no-version" else "it has wheels for"
            why += f"; {has} {blocker.available}"
        lines = [(("bold", subject), ("", f" {why}"))]
    if len(blocker.chain) > 1:
        lines.append((("", "needed by " + " → ".join(blocker.chain)),))
    if blocker.versions and blocker.chain:
        shown = list(blocker.versions[:SHOWN_VERSIONS])
        more = len(blocker.versions) - len(shown)
        text = ", ".join(shown) + (f" and {more} more" if more > 0 else "")
        lines.append((("", f"blocks {text} of {blocker.chain[0].split(' ')[0]}"),))
    if blocker.detail:
        lines.append((("", blocker.detail),))
    return lines


def _variant_lines(choice: VariantChoice) -> list[Line]:
    """A pin with variant wheels: the variant taken and why, and a legacy installer's file when it differs."""
    which = f"variant {choice.variant}" if choice.variant else "no variant fits; a plain wheel"
    props = f" ({', '.join(choice.properties)})" if choice.properties else ""
    lines = [Line((("", f"{choice.name} {choice.version}: {which}{props}"),), kind="variant")]
    if choice.differs:
        legacy = choice.legacy_file or "no plain wheel (variant wheels only): it cannot install this version"
        lines.append(Line((("", f"a variant-aware installer takes {choice.file or '-'}; one without variant support: {legacy}"),),
                          depth=1, kind="variant-legacy"))
    return lines


def _build_words(item: BuildItem) -> str:
    kind = "native code: needs a compiler and headers" if item.native else "pure Python" if item.native is False else "contents unknown"
    if item.binaries:
        kind = f"not pure Python: ships prebuilt binaries for {', '.join(item.binaries)}"
    deps = "" if item.dependencies_known else "; its dependencies are known only after building it"
    return f"builds {item.filename} ({kind}{deps})"


def successor_lines(successor: Successor) -> list[Line]:
    """A blocked request's successor: what it is, how it fares here on its own, and the source."""
    pinned = f" ({successor.name} {successor.version})" if successor.version else ""
    words = {
        "ok": ("ok", f"installs here{pinned}"),
        "build": ("build", f"installs here with sdists built{pinned}"),
        "blocked": ("blocked", "is blocked here too"),
        "unknown": ("warn", "could not be decided here"),
    }[successor.verdict]
    rule = successor.replacement
    return [
        Line((("", "replacement: "), ("bold", successor.name), ("", f" succeeds {successor.replaces} and, on its own, "), words),
             kind="replacement"),
        Line((("", rule.summary),), depth=1, kind="replacement-detail"),
        Line((("dim", f"source: {rule.sources[0]} (verified {rule.verified})"),), depth=1, kind="source"),
    ]


def cell_lines(cell: Cell, requested: set[str], nearest_searched: bool, *, pins: bool = False) -> list[Line]:
    """Everything said about one cell after its heading, in order.

    :param pins: list every pin (``--show-pins``), not only the requested projects'.
    """
    lines: list[Line] = []
    if cell.pins:
        names = [n for n in cell.pins if n in requested]
        shown = ", ".join(f"{n} {cell.pins[n].version}" for n in names)
        others = len(cell.pins) - len(names)
        extra = f" (+{others} {'dependency' if others == 1 else 'dependencies'})" if others and not pins else ""
        text = f"pins {shown}{extra}"
        lines.append(Line((("", text),), kind="pins"))
        if pins:
            for name in sorted(cell.pins):
                candidate = cell.pins[name]
                file = f"  ({candidate.file.filename})" if candidate.file is not None else ""
                lines.append(Line((("", f"{name}=={candidate.version}{file}"),), depth=1, kind="pin"))
    for warning in cell.warnings:
        lines.append(Line((("warn", "warning"), ("", f": {warning} (pip warns the same; nothing of it is installed)")), kind="warning"))
    for warning in cell.refusals:
        lines.append(Line((("warn", "warning"), ("", f": {warning}")), kind="warning"))
    for unmet in cell.unmet:
        need = unmet.rule
        lines.append(Line((("warn", "warning"), ("", f": {unmet.name} {unmet.version} is resolved without {need.project}, "
                                                    f"and no metadata asks for it: {need.summary}; add {need.project} "
                                                    "to the requirements")), kind="warning"))
        lines.append(Line((("dim", f"source: {need.sources[0]} (verified {need.verified})"),), depth=1, kind="source"))
    for text in cell.accelerator_fit:
        lines.append(Line((("warn", "accelerator"), ("", f": {text}")), kind="accelerator"))
    for name, version in cell.newer_sdists:
        lines.append(Line((("", f"note: plain pip would build {name} {version} from its sdist; these pins take the "
                                "newest wheel (as pip --prefer-binary does)"),), kind="note"))
    for held in cell.held:
        where = f" ({held.source})" if held.source else ""
        lines.append(Line((("", f"note: {held.name} {held.version} is held back by the constraint {held.constraint}{where}; "
                                f"the index has {held.name} {held.newer} for this target"),), kind="note"))
    for choice in cell.variants:
        lines += _variant_lines(choice)
    for item in cell.build:
        lines.append(Line((("", _build_words(item)),), kind="build"))
    cited = " ".join(b.detail for b in cell.blockers)
    for rule in cell.knowledge:
        if rule.sources[0] in cited:
            continue
        lines.append(Line((("", f"knowledge: {rule.summary}; applied {rule.effect(cell.version_of(rule.when.name))}"),), kind="knowledge"))
        lines.append(Line((("dim", f"source: {rule.sources[0]} (verified {rule.verified})"),), depth=1, kind="source"))
    for blocker in cell.blockers:
        first, *more = blocker_lines(blocker, cell.target)
        lines.append(Line((("blocked", "• "), *first), kind="blocker"))
        lines += [Line(spans, depth=1, kind="blocker-detail") for spans in more]
    if cell.not_examined:
        lines.append(Line((("", f"not examined further: {', '.join(cell.not_examined)} (the above blocks this cell by itself)"),),
                          kind="note"))
    for successor in cell.replacements:
        lines += successor_lines(successor)
    if cell.verdict == "blocked" and nearest_searched:
        if cell.nearest:
            where = ", ".join(f"{n.target.label} ({n.verdict}{', under Rosetta 2' if n.rosetta else ''})" for n in cell.nearest)
            lines.append(Line((("ok", "would install on"), ("", f": {where}")), kind="nearest"))
        else:
            lines.append(Line((("", "no nearby Python or standard target installs it either"),), kind="nearest"))
    return lines


def summary_span(report: CheckReport) -> Span:
    failing = sum(1 for c in report.cells if not c.installs)
    total = len(report.cells)
    plural = "s" if total != 1 else ""
    if failing:
        return ("blocked", f"{failing} of {total} cell{plural} cannot install")
    return ("ok", f"all {total} cell{plural} install")


def constraints_words(report: CheckReport) -> str:
    """The constraints every cell was resolved under, each with where it was written (pip's
    ``constraint`` setting among them: pins older than plain uv's then have a reason in view)."""
    shown = ", ".join(f"{c} ({c.where})" for c in report.constraints)
    return f"under the constraints {shown}"


def place_of(cell: Cell) -> str:
    """The matrix row of a cell: its target label without the Python."""
    return cell.target.place


def column_of(cell: Cell) -> tuple[tuple[int, int], bool]:
    """The matrix column of a cell: its Python, free-threaded or not (3.14 and 3.14t apart)."""
    return cell.target.python, cell.target.free_threaded


def column_label(column: tuple[tuple[int, int], bool]) -> str:
    """``3.12``, ``3.14t``."""
    (major, minor), free_threaded = column
    return f"{major}.{minor}{'t' if free_threaded else ''}"


@dataclasses.dataclass(frozen=True)
class Matrix:
    """A report's cells laid out once for every format: a row per place, a column per Python."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, tuple[Cell | None, ...]], ...]


def layout_of(report: CheckReport) -> Matrix:
    columns = sorted({column_of(c) for c in report.cells})
    places = list(dict.fromkeys(place_of(c) for c in report.cells))
    at = {(place_of(c), column_of(c)): c for c in report.cells}
    return Matrix(
        tuple(column_label(c) for c in columns),
        tuple((place, tuple(at.get((place, c)) for c in columns)) for place in places),
    )

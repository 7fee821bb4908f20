"""Reports as GitHub-flavoured Markdown: a matrix table, then each cell's story.

The words come from :mod:`.words` (the same as the terminal's); only the markup differs. Text from
the index or the user is escaped, so a project name cannot inject Markdown or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..check import CheckReport
from ..doctor import Report, Status, statuses
from .words import (
    Span,
    cell_lines,
    constraints_words,
    layout_of,
    matrix_span,
    summary_span,
    verdict_span,
)

__all__ = ["check_markdown", "doctor_markdown", "verify_markdown"]

#: GitHub renders these in place of the terminal's coloured marks
_EMOJI = {"✓": "✅", "✗": "❌", "◐": "🟡", "?": "❔"}
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def escape(text: str) -> str:
    """*text* as literal Markdown (inline)."""
    return _SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def _mark(text: str) -> str:
    head, _, rest = text.partition(" ")
    return f"{_EMOJI.get(head, escape(head))} {escape(rest)}" if rest else escape(text)


def spans(parts: Iterable[Span]) -> str:
    out = []
    for style, text in parts:
        if style == "bold":
            out.append(f"**{escape(text)}**")
        elif style in ("ok", "build", "blocked", "warn") and text[:1] in _EMOJI:
            out.append(_mark(text))
        elif style == "dim":
            out.append(f"<sub>{escape(text)}</sub>")
        else:
            out.append(escape(text.replace("• ", "")) if style == "blocked" else escape(text))
    return "".join(out)


def check_markdown(report: CheckReport, *, pins: bool = False) -> str:
    layout = layout_of(report)
    lines = ["## wheelwise check", ""]
    asked = ", ".join(str(r) for r in report.requirements)
    lines += [f"Requirements: {escape(asked)}" + ("" if report.knowledge_used else " (no knowledge rules)"), ""]
    lines.append("| target | " + " | ".join(layout.columns) + " |")
    lines.append("|---|" + "---|" * len(layout.columns))
    for place, cells in layout.rows:
        row = [escape(place), *(spans([matrix_span(cell)]) if cell else "" for cell in cells)]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    requested = {r.name for r in report.requirements}
    for cell in report.cells:
        lines.append(f"### {escape(cell.target.label)}: {spans([verdict_span(cell.verdict)])}")
        lines.append("")
        for line in cell_lines(cell, requested, report.nearest_searched, pins=pins):
            lines.append("  " * line.depth + "- " + spans(line.spans))
        lines.append("")
    lines.append(f"**{spans([summary_span(report)])}**")
    if report.constraints:
        lines += ["", spans([("", constraints_words(report))])]
    return "\n".join(lines) + "\n"


_DOCTOR_EMOJI = {Status.OK: "✅", Status.INFO: "ℹ️", Status.WARN: "⚠️", Status.FAIL: "❌"}


def doctor_markdown(report: Report, titles: dict[str, str]) -> str:
    lines = ["## wheelwise doctor", "", f"Python: {escape(report.python)}", ""]
    for category, findings in report.by_category():
        lines += [f"### {_DOCTOR_EMOJI[statuses(findings)]} {escape(titles.get(category, category))}", ""]
        for finding in findings:
            lines.append(f"- {_DOCTOR_EMOJI[finding.status]} {escape(finding.title)}")
            if finding.status is Status.OK:
                continue
            lines += [f"  - {escape(d)}" for d in finding.details]
            if finding.fix:
                lines += ["  - fix:", "", "    ```sh", *(f"    {c}" for c in finding.fix), "    ```", ""]
            lines += [f"  - source: <{s}>" for s in finding.sources[:2]]
        lines.append("")
    counts = report.counts()
    lines.append(f"**{counts['fail']} failing, {counts['warn']} warning(s), {counts['ok']} ok, {counts['info']} note(s)**")
    return "\n".join(lines) + "\n"


def verify_markdown(doc: dict[str, Any], problems: list[str]) -> str:
    lines = ["## wheelwise verify", "", f"Python: {escape(str(doc.get('python')))} ({escape(str(doc.get('version')))})", ""]
    rows = []
    for fw in doc.get("frameworks") or []:
        if fw.get("error"):
            lines.append(f"- ❌ **{escape(fw['framework'])}**: {escape(str(fw['error']))}")
            continue
        placement = fw.get("placement") or {}
        placed = "✅" if placement.get("ok") else "—" if fw.get("accelerator") is None else "❌"
        lines.append(f"- **{escape(fw['framework'])} {escape(str(fw['version']))}**: accelerator "
                     f"{escape(str(fw.get('accelerator') or 'none'))}, placement {placed}")
        for kind, result in (fw.get("benchmark") or {}).items():
            if isinstance(result, dict):
                rows.append(f"| {escape(fw['framework'])} | {escape(kind)} | {result['gflops']:.1f} | {result['size']} |")
    if rows:
        lines += ["", "| framework | device | GFLOP/s | matrix |", "|---|---|---:|---:|", *rows]
    lines.append("")
    lines += [f"- ❌ {escape(p)}" for p in problems] or ["**✅ verified**"]
    return "\n".join(lines) + "\n"

"""Reports as one self-contained HTML file: inline style and script, nothing loaded from anywhere.

check: the matrix coloured by verdict; each cell links to its story (blockers, chain, what exists,
nearest working), which opens when its matrix cell is clicked. doctor: findings by category.
verify: each benchmark as a bar chart. Every text from outside is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

from .. import __version__
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

__all__ = ["check_html", "doctor_html", "verify_html"]

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table.matrix{border-collapse:collapse;margin:1rem 0}
table.matrix th,table.matrix td{border:1px solid #d0d7de;padding:.35rem .7rem;text-align:left;white-space:nowrap}
td.ok{background:#dafbe1}td.build{background:#fff8c5}td.blocked{background:#ffebe9}td.unknown{background:#fbefff}
td a{color:inherit;text-decoration:none;display:block}
details{border:1px solid #d0d7de;border-radius:6px;margin:.5rem 0;padding:.3rem .8rem}
details[open]{background:#f6f8fa}summary{cursor:pointer;font-weight:600}
ul{margin:.3rem 0}.dim{color:#57606a;font-size:.9em}
.s-ok{color:#1a7f37}.s-build{color:#9a6700}.s-blocked{color:#cf222e}.s-warn{color:#9a6700}
.bar{background:#0969da;height:1rem;display:inline-block;vertical-align:middle;margin-right:.5rem}
footer{margin-top:2rem;color:#57606a;font-size:.85em}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
"""

#: opens the story of the cell a matrix link points at (no network, no libraries)
_SCRIPT = """
function openTarget(){var e=document.getElementById(location.hash.slice(1));if(e&&e.tagName==="DETAILS"){e.open=true;}}
window.addEventListener("hashchange",openTarget);openTarget();
"""


def _page(title: str, body: Iterable[str]) -> str:
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # a policy that forbids every load from anywhere: the report is one file
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        *body,
        f"<footer>wheelwise {html.escape(__version__)}</footer>",
        f"<script>{_SCRIPT}</script>",
        "</body></html>",
        "",
    ])


def spans(parts: Iterable[Span]) -> str:
    out = []
    for style, text in parts:
        if style == "blocked" and text == "• ":
            continue
        if style == "bold":
            out.append(f"<strong>{html.escape(text)}</strong>")
        elif style:
            out.append(f'<span class="s-{style}">{html.escape(text)}</span>')
        else:
            out.append(html.escape(text))
    return "".join(out)


def check_html(report: CheckReport, *, pins: bool = False) -> str:
    layout = layout_of(report)
    index = {id(c): i for i, c in enumerate(report.cells)}
    body = ["<h1>wheelwise check</h1>",
            f"<p>Requirements: <code>{html.escape(', '.join(str(r) for r in report.requirements))}</code></p>",
            '<table class="matrix"><thead><tr><th>target</th>'
            + "".join(f"<th>{label}</th>" for label in layout.columns) + "</tr></thead><tbody>"]
    for place, cells in layout.rows:
        row = [f"<th>{html.escape(place)}</th>"]
        for cell in cells:
            if cell is None:
                row.append("<td></td>")
                continue
            _, text = matrix_span(cell)
            row.append(f'<td class="{cell.verdict}" data-cell="{html.escape(cell.target.label)}">'
                       f'<a href="#cell-{index[id(cell)]}">{html.escape(text)}</a></td>')
        body.append("<tr>" + "".join(row) + "</tr>")
    body.append("</tbody></table>")
    style, words = summary_span(report)
    body.append(f'<p class="s-{style}"><strong>{html.escape(words)}</strong></p>')
    if report.constraints:
        body.append(f"<p>{html.escape(constraints_words(report))}</p>")
    requested = {r.name for r in report.requirements}
    body.append("<h2>Cells</h2>")
    for cell in report.cells:
        opened = "" if cell.installs else " open"
        body.append(f'<details id="cell-{index[id(cell)]}" class="cell {cell.verdict}"{opened}>'
                    f"<summary>{html.escape(cell.target.label)}: {spans([verdict_span(cell.verdict)])}</summary>")
        body.append(_nested(cell_lines(cell, requested, report.nearest_searched, pins=pins)))
        body.append("</details>")
    return _page("wheelwise check", body)


def _nested(lines: Iterable[Any]) -> str:
    """Lines of depth 0 and 1 as a list with sub-lists."""
    out = ["<ul>"]
    open_item = False
    sub = False
    for line in lines:
        if line.depth == 0:
            if sub:
                out.append("</ul>")
                sub = False
            if open_item:
                out.append("</li>")
            out.append(f'<li class="{line.kind}">{spans(line.spans)}')
            open_item = True
        else:
            if not sub:
                out.append("<ul>")
                sub = True
            out.append(f'<li class="{line.kind}">{spans(line.spans)}</li>')
    if sub:
        out.append("</ul>")
    if open_item:
        out.append("</li>")
    out.append("</ul>")
    return "".join(out)


_STATUS_CLASS = {Status.OK: "ok", Status.INFO: "dim", Status.WARN: "warn", Status.FAIL: "blocked"}
_STATUS_MARK = {Status.OK: "✓", Status.INFO: "i", Status.WARN: "!", Status.FAIL: "✗"}


def doctor_html(report: Report, titles: dict[str, str]) -> str:
    body = ["<h1>wheelwise doctor</h1>", f"<p>Python: <code>{html.escape(report.python)}</code></p>"]
    for category, findings in report.by_category():
        worst = statuses(findings)
        body.append(f'<details class="category"{" open" if worst in (Status.WARN, Status.FAIL) else ""}>'
                    f'<summary><span class="s-{_STATUS_CLASS[worst]}">{_STATUS_MARK[worst]}</span> '
                    f"{html.escape(titles.get(category, category))}</summary><ul>")
        for finding in findings:
            body.append(f'<li><span class="s-{_STATUS_CLASS[finding.status]}">{_STATUS_MARK[finding.status]}</span> '
                        f"{html.escape(finding.title)}")
            if finding.status is not Status.OK:
                body.append("<ul>" + "".join(f"<li>{html.escape(d)}</li>" for d in finding.details))
                if finding.fix:
                    body.append("<li>fix: <pre>" + html.escape("\n".join(finding.fix)) + "</pre></li>")
                body.append("".join(f'<li class="dim">source: {html.escape(s)}</li>' for s in finding.sources[:2]) + "</ul>")
            body.append("</li>")
        body.append("</ul></details>")
    counts = report.counts()
    body.append(f"<p><strong>{counts['fail']} failing, {counts['warn']} warning(s), {counts['ok']} ok, "
                f"{counts['info']} note(s)</strong></p>")
    return _page("wheelwise doctor", body)


def verify_html(doc: dict[str, Any], problems: list[str]) -> str:
    body = ["<h1>wheelwise verify</h1>",
            f"<p>Python: <code>{html.escape(str(doc.get('python')))}</code> ({html.escape(str(doc.get('version')))})</p>"]
    for fw in doc.get("frameworks") or []:
        name = html.escape(str(fw.get("framework")))
        if fw.get("error"):
            body.append(f'<h2>{name}</h2><p class="s-blocked">{html.escape(str(fw["error"]))}</p>')
            continue
        body.append(f"<h2>{name} {html.escape(str(fw.get('version')))}</h2>")
        placement = fw.get("placement") or {}
        body.append(f"<p>accelerator: {html.escape(str(fw.get('accelerator') or 'none'))}; placement: "
                    f"{'ran on ' + html.escape(str(placement.get('ran_on'))) if placement else 'not tested'}</p>")
        rows = [(k, v) for k, v in (fw.get("benchmark") or {}).items() if isinstance(v, dict)]
        top = max((float(v["gflops"]) for _, v in rows), default=0.0)
        if rows:
            body.append('<table class="bench">')
            for kind, result in rows:
                width = max(1, round(300 * float(result["gflops"]) / top)) if top > 0 else 1
                body.append(f"<tr><th>{html.escape(kind)}</th><td><span class=\"bar\" style=\"width:{width}px\"></span>"
                            f"{float(result['gflops']):.1f} GFLOP/s</td></tr>")
            body.append("</table>")
    body += [f'<p class="s-blocked">✗ {html.escape(p)}</p>' for p in problems] or ['<p class="s-ok">✓ verified</p>']
    return _page("wheelwise verify", body)

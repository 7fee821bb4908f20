"""GitHub Actions output: workflow-command annotations, and the Markdown report in the job summary.

``--format github`` prints the usual text report (the log people read), one ``::error`` per
blocker of a cell that cannot install and one ``::warning`` per cell that needs a build or has a
warning — placed on the requirements-file line that asked for the project when there is one — and
appends the Markdown report to ``$GITHUB_STEP_SUMMARY`` when that is set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ..check import CheckReport
from ..errors import BadInputError
from .words import blocker_lines

__all__ = ["append_summary", "workflow_command", "workflow_commands"]


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(kind: str, message: str, title: str, where: tuple[str, int | None] | None = None) -> str:
    """One ``::error``/``::warning`` workflow command, its message and properties escaped."""
    props = [f"title={_property(title)}"]
    if where is not None:
        props.insert(0, f"file={_property(where[0])}")
        if where[1] is not None:
            props.insert(1, f"line={where[1]}")
    return f"::{kind} {','.join(props)}::{_data(message)}"


def workflow_commands(report: CheckReport) -> Iterator[str]:
    """The workflow commands for *report*, one per line."""
    asked: dict[str, tuple[str, int | None]] = {}
    for requirement in report.requirements:
        if requirement.line is not None and requirement.name not in asked:
            asked[requirement.name] = (requirement.source, requirement.line)
    for cell in report.cells:
        title = f"wheelwise check: {cell.target.label}"
        for blocker in cell.blockers:
            lines = blocker_lines(blocker, cell.target)
            message = "\n".join("".join(text for _, text in line) for line in lines)
            root = blocker.chain[0].split(" ")[0] if blocker.chain else blocker.project
            yield workflow_command("error", message, f"{title}: {cell.verdict}", asked.get(root))
        if cell.verdict == "unknown" and not cell.blockers:
            yield workflow_command("error", "the resolver could not decide", title, None)
        for item in cell.build:
            yield workflow_command("warning", f"needs {item.filename} built from source", title, asked.get(item.filename.split("-")[0]))
        for warning in cell.all_warnings:
            yield workflow_command("warning", warning, title, None)


def append_summary(markdown: str, environ: os._Environ[str] | dict[str, str] = os.environ) -> Path | None:
    """Append *markdown* to the job summary file, if this runs in GitHub Actions."""
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return None
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown + "\n")
    except OSError as exc:
        raise BadInputError(f"cannot append to GITHUB_STEP_SUMMARY ({path}): {exc.strerror or exc}") from exc
    return Path(path)

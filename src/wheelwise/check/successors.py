"""Successors: a blocked requested project that knowledge says was replaced, and how its successor fares.

When a cell is blocked and one of the requested projects the failure involves has a
successor in ``replacements.toml`` (tflite-model-maker → mediapipe-model-maker), the
successor alone is resolved on the same target through the same
:class:`~wheelwise.check.Checker` (its pages and metadata are shared with every other
cell), so the report can say "use this instead, and it installs here" — or that it is
blocked here too.  One extra resolution per successor and cell, nothing more: no
nearest-working search for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from ..knowledge import Replacement
from ..requirements import parse_requirement_line
from ..resolve import Req, Resolution

if TYPE_CHECKING:
    from . import Blocker, Cell, Checker

__all__ = ["Successor", "blocked_requests", "successors"]


@dataclasses.dataclass(frozen=True)
class Successor:
    """*replaces* has a successor, *name*; on the cell's target it is *verdict* on its own.

    :param verdict: ``ok``, ``build``, ``blocked`` or ``unknown``, as for a cell.
    :param version: the successor's pinned version when it installs.
    """

    replaces: str
    name: str
    verdict: str
    version: str | None
    replacement: Replacement

    @property
    def installs(self) -> bool:
        return self.verdict in ("ok", "build")

    def to_dict(self) -> dict[str, Any]:
        rule = self.replacement
        return {
            "replaces": self.replaces,
            "name": self.name,
            "verdict": self.verdict,
            "version": self.version,
            "id": rule.id,
            "summary": rule.summary,
            "source": rule.sources[0],
            "sources": list(rule.sources),
            "verified": rule.verified,
        }


def blocked_requests(roots: Sequence[Req], blockers: Sequence[Blocker], not_examined: Sequence[str]) -> list[Req]:
    """The requested projects a failure blocks: a blocker's own project, or the head of its chain."""
    heads = set()
    for blocker in blockers:
        if blocker.project:
            heads.add(canonicalize_name(blocker.project))
        if blocker.chain:
            heads.add(canonicalize_name(blocker.chain[0].split(" ")[0].split("[")[0]))
    return [r for r in roots if r.name in heads and r.key not in not_examined]


def _applies(rule: Replacement, root: Req) -> bool:
    """Whether the releases *root* asks for meet the releases the replacement is about."""
    if not rule.releases:
        return True
    return not root.specifier.to_range().is_disjoint(rule.releases.to_range())


def successors(checker: Checker, cell: Cell, roots: Sequence[Req], replacements: Sequence[Replacement]) -> list[Successor]:
    """The successors of *cell*'s blocked requests, each with its own verdict on the cell's target."""
    found: list[Successor] = []
    seen: set[str] = set()
    for root in blocked_requests(roots, cell.blockers, cell.not_examined):
        for rule in replacements:
            if rule.old != root.name or rule.new in seen or not _applies(rule, root):
                continue
            seen.add(rule.new)
            request = parse_requirement_line(rule.new, "replacements.toml")
            verdict, outcome = checker.verdict(cell.target, [request])
            version = None
            if isinstance(outcome, Resolution) and rule.new in outcome.pins:
                version = str(outcome.pins[rule.new].version)
            found.append(Successor(root.key, rule.new, verdict, version, rule))
    return found

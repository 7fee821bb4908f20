"""Nearest working: the closest cells where the same requirements do install.

Tried in this order: the same machine with the newer OS or glibc a blocker's
files need (``linux-aarch64@2.34``, ``macos-arm64@15``); then other Pythons of
the same target and other standard targets, nearest Python first.  A cell is
resolved only when every blocker has a usable file there (a cheap filter over
the files already read), and at most :data:`MAX_NEAREST` are resolved.  An
Intel macOS answer to an Apple-silicon question is marked: it means running
under Rosetta 2.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..compat import Reason
from ..resolve import parse_requirement
from ..resolve.finder import admitted_by
from ..target import PRESETS, SUPPORTED_PYTHONS, Target

if TYPE_CHECKING:
    from . import Blocker, Cell, Checker

__all__ = ["MAX_NEAREST", "NEAREST_SHOWN", "Nearby", "nearest_working"]

#: Pythons looked at (older ones are end of life, and said so).
NEAREST_PYTHONS = tuple((3, m) for m in range(8, SUPPORTED_PYTHONS[-1][1] + 1))
#: cells resolved at most while looking, and how many are reported
MAX_NEAREST = 8
NEAREST_SHOWN = 3


@dataclasses.dataclass(frozen=True)
class Nearby:
    """A cell where it installs; *rosetta* when that is Intel macOS for an Apple-silicon question."""

    target: Target
    verdict: str
    rosetta: bool = False

    def to_dict(self) -> dict[str, Any]:
        from . import target_dict

        return {**target_dict(self.target), "verdict": self.verdict, "rosetta": self.rosetta}


def _newer_os(target: Target, blockers: Sequence[Blocker]) -> list[Target]:
    needs = [b.needs for b in blockers if b.reason == Reason.OS_TOO_OLD.slug and b.needs]
    if not needs or target.os_version is None or target.name not in PRESETS:
        return []
    highest = max(tuple(int(p) for p in n.split(".")) for n in needs)
    version = (highest[0], highest[1] if len(highest) > 1 else 0)
    return [dataclasses.replace(target, os_version=version)] if version > target.os_version else []


def _options(target: Target, blockers: Sequence[Blocker]) -> list[Target]:
    places = [target] + [
        Target(name, preset.os, preset.arch, preset.os_version, target.python)
        for name, preset in PRESETS.items()
        if name != target.name
    ]
    # nearest first: by Python distance, this target before others, newer Python before older
    options = sorted(
        (place.with_python(python) for place in places for python in NEAREST_PYTHONS),
        key=lambda t: (abs(t.python[1] - target.python[1]), t.name != target.name, -t.python[1]),
    )
    return _newer_os(target, blockers) + [o for o in options if o != target]


def nearest_working(checker: Checker, cell: Cell) -> list[Nearby]:
    """Other OS versions, Pythons and standard targets where the cell's requirements install."""
    found: list[Nearby] = []
    attempts = 0
    for option in _options(cell.target, cell.blockers):
        if not _might_work(checker, option, cell.blockers):
            continue
        verdict = checker.verdicts.get(option)
        if verdict is None:
            if attempts >= MAX_NEAREST:
                break
            attempts += 1
            verdict = checker.verdict(option)[0]
            checker.verdicts[option] = verdict
        if verdict in ("ok", "build"):
            rosetta = cell.target.os == option.os == "macos" and cell.target.arch == "arm64" and option.arch == "x86_64"
            found.append(Nearby(option, verdict, rosetta))
        if len(found) >= NEAREST_SHOWN:
            break
    return found


def _might_work(checker: Checker, target: Target, blockers: Sequence[Blocker]) -> bool:
    """Cheap filter from the blockers' files alone: each must have something usable there."""
    finder = checker.shared.finder(target, True)
    for blocker in blockers:
        reason = Reason.from_slug(blocker.reason)
        if not blocker.project or reason is None or not reason.about_files:
            continue
        try:
            spec = parse_requirement(blocker.requirement).specifier
        except ValueError:
            continue
        if next(finder.choose(blocker.project, admitted_by(spec)), None) is None:
            return False
    return True

"""Nearest working: the closest cells where the same requirements do install.

Tried in this order: the same machine with the newer OS or glibc a blocker's
files need (``linux-aarch64@2.34``, ``macos-arm64@15``); then other Pythons of
the same target and other standard targets, nearest Python first.  A cell is
resolved only when some version of the request could be free of its blockers
there (a cheap filter over the files already read); at most :data:`MAX_NEAREST`
are resolved, a few at a time in parallel, and taken in order.  An
Intel macOS answer to an Apple-silicon question is marked: it means running
under Rosetta 2.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..compat import Reason, requires_python_ok
from ..resolve import parse_requirement
from ..target import MUSL_PRESETS, PRESETS, SUPPORTED_PYTHONS, Target
from .blockers import to_range

if TYPE_CHECKING:
    from . import Blocker, Cell, Checker

__all__ = ["MAX_NEAREST", "NEAREST_SHOWN", "Nearby", "nearest_working"]

#: Pythons looked at (older ones are end of life, and said so).
NEAREST_PYTHONS = tuple((3, m) for m in range(8, SUPPORTED_PYTHONS[-1][1] + 1))
#: cells resolved at most while looking, and how many are reported
MAX_NEAREST = 8
NEAREST_SHOWN = 3
#: options resolved at once: a few more than are shown, as some that pass the filter still fail
#: (resolutions mostly wait on the index, so those in parallel cost little more than one)
NEAREST_AT_ONCE = NEAREST_SHOWN + 2


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
    if not needs or target.os_version is None or (target.name not in PRESETS and target.name not in MUSL_PRESETS):
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
    """Other OS versions, Pythons and standard targets where the cell's requirements install.

    The options that pass the filter are resolved a few at a time, in parallel (each reads
    its own pages and metadata), and taken in their order: the answer does not depend on
    which finishes first.
    """
    # filtered as they are reached: the search mostly stops after the first few
    options = (o for o in _options(cell.target, cell.blockers) if _might_work(checker, o, cell.blockers, cell.target.python))
    found: list[Nearby] = []
    attempts = 0
    option = next(options, None)
    with concurrent.futures.ThreadPoolExecutor(max_workers=NEAREST_AT_ONCE) as pool:
        while option is not None and len(found) < NEAREST_SHOWN:
            # the next options not resolved yet (cells resolved already cost nothing)
            window: list[Target] = []
            fresh: list[Target] = []
            cached_ok = 0
            # as many unresolved options as could still be needed, and a few in case some fail
            # (never past what is known to suffice: cells already resolved count first)
            while option is not None and (need := NEAREST_SHOWN - len(found) - cached_ok) > 0 \
                    and len(fresh) < need + NEAREST_AT_ONCE - NEAREST_SHOWN:
                if checker.verdicts.get(option) in ("ok", "build"):
                    cached_ok += 1
                if option not in checker.verdicts:
                    if attempts >= MAX_NEAREST:
                        break
                    attempts += 1
                    fresh.append(option)
                window.append(option)
                option = next(options, None)
            if not window:
                break
            list(pool.map(lambda o: _verdict(checker, o), fresh))
            for taken in window:
                verdict = checker.verdicts[taken]
                if verdict in ("ok", "build") and len(found) < NEAREST_SHOWN:
                    rosetta = cell.target.os == taken.os == "macos" and cell.target.arch == "arm64" and taken.arch == "x86_64"
                    found.append(Nearby(taken, verdict, rosetta))
            if attempts >= MAX_NEAREST and option is not None and option not in checker.verdicts:
                break
    return found


def _verdict(checker: Checker, option: Target) -> str:
    """The option's verdict, resolved once however many cells' searches ask for it at once."""
    with checker.lock:
        future = checker.pending.get(option)
        mine = future is None
        if mine:
            future = checker.pending[option] = concurrent.futures.Future()
    assert future is not None
    if mine:
        try:
            verdict = checker.verdicts.get(option) or checker.verdict(option)[0]
        except BaseException as exc:
            future.set_exception(exc)
            raise
        checker.verdicts[option] = verdict
        future.set_result(verdict)
    return str(future.result())


def _might_work(checker: Checker, target: Target, blockers: Sequence[Blocker], python: tuple[int, int]) -> bool:
    """Cheap filter from the blockers' files alone: whether some version of the requested
    project could be free of all its blockers there.

    Each blocker blocks some versions (none named: all of them); a version is free where each
    of its blockers has a usable file, or (Requires-Python) where the Python differs.  A missing
    release, unreadable metadata, a conflict or a rule holds on any target.
    """
    finder = checker.shared.finder(target, True)
    lifted: dict[Blocker, bool] = {}
    for blocker in blockers:
        reason = Reason.from_slug(blocker.reason)
        if reason == Reason.REQUIRES_PYTHON and blocker.needs:  # from a version's metadata
            lifted[blocker] = target.python != python and requires_python_ok(blocker.needs, target)
            continue
        if not blocker.project or reason is None or not reason.about_files:
            # a missing release, unreadable metadata, a conflict, a rule: the same anywhere
            lifted[blocker] = reason == Reason.LIMIT
            continue
        try:
            spec = parse_requirement(blocker.requirement).specifier
        except ValueError:
            lifted[blocker] = True
            continue
        key = (target, blocker.project, blocker.requirement)
        found = checker.usable.get(key)
        if found is None:  # every blocked cell of a matrix asks it of the same options
            found = checker.usable[key] = next(finder.choose(blocker.project, to_range(spec)), None) is not None
        lifted[blocker] = found
    everywhere = [b for b in blockers if not b.versions]
    if not all(lifted[b] for b in everywhere):
        return False
    versions = {v for b in blockers for v in b.versions}
    if not versions:
        return True
    return any(all(lifted[b] for b in blockers if v in b.versions) for v in versions)

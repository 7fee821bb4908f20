"""Wheel verdicts: can this file install on that target, and if not, why.

Pure and data first (as uv's ``IncompatibleTag``): a verdict is
:class:`Compatible` with a rank, or :class:`Incompatible` with a
:class:`Reason`.  Reasons are ordered so that the nearest miss is the largest:
a wheel built for this Python and ABI but another platform is nearer than
one built for another Python.  Words are for the renderers.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Union

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag

from .target import Target

__all__ = [
    "Availability",
    "Compatible",
    "Incompatible",
    "Reason",
    "Verdict",
    "availability",
    "platform_label",
    "requires_python_ok",
    "wheel_verdict",
]


class Reason(enum.IntEnum):
    """Why a wheel does not fit, nearest miss last."""

    PYTHON = 1  #: built for another Python (interpreter tag)
    ABI = 2  #: right Python, another ABI
    PLATFORM = 3  #: right Python and ABI, another OS, architecture or OS version


@dataclasses.dataclass(frozen=True)
class Compatible:
    """Installs; lower *rank* is preferred (pip's tag priority)."""

    rank: int


@dataclasses.dataclass(frozen=True)
class Incompatible:
    """Does not install; *tags* are the wheel's own, for the message."""

    reason: Reason
    tags: tuple[str, ...]


Verdict = Union[Compatible, Incompatible]


@lru_cache(maxsize=256)
def _accepted(target: Target) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    tags = target.tags
    return frozenset(t.interpreter for t in tags), frozenset((t.interpreter, t.abi) for t in tags)


def _reason(tag: Tag, target: Target) -> Reason:
    interpreters, pairs = _accepted(target)
    if tag.interpreter not in interpreters:
        return Reason.PYTHON
    if (tag.interpreter, tag.abi) not in pairs:
        # cp39-cp39 on 3.11 is built for another Python (cp39 is accepted only
        # through abi3); cp311-cp311d on 3.11 is the right Python, another ABI.
        version = re.match(r"cp(\d+)", tag.abi)
        if version and version.group(1) != f"{target.python[0]}{target.python[1]}":
            return Reason.PYTHON
        return Reason.ABI
    return Reason.PLATFORM


def wheel_verdict(tags: Iterable[Tag], target: Target) -> Verdict:
    """The verdict for a wheel with these tags (from its filename) on *target*."""
    return _verdict(tags if isinstance(tags, frozenset) else frozenset(tags), target)


@lru_cache(maxsize=1 << 16)
def _verdict(tags: frozenset[Tag], target: Target) -> Verdict:
    # a matrix asks this for the same few tag sets over thousands of files
    ranks = [target.tag_rank[t] for t in tags if t in target.tag_rank]
    if ranks:
        return Compatible(min(ranks))
    nearest = max((_reason(t, target) for t in tags), default=Reason.PYTHON)
    return Incompatible(nearest, tuple(sorted(str(t) for t in tags)))


@lru_cache(maxsize=4096)
def _specifier(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def requires_python_ok(requires_python: str | None, target: Target) -> bool:
    """Whether a ``Requires-Python`` admits the target's Python.

    An invalid specifier is ignored, as pip ignores it.
    """
    if not requires_python:
        return True
    return _python_ok(requires_python, target.python)


@lru_cache(maxsize=1 << 12)
def _python_ok(requires_python: str, python: tuple[int, int]) -> bool:
    spec = _specifier(requires_python)
    return spec is None or spec.contains(f"{python[0]}.{python[1]}.0", prereleases=True)


@dataclasses.dataclass(frozen=True)
class Availability:
    """What a set of files does have: platforms and Pythons, for "where would it work".

    :param platforms: labels such as ``macOS arm64``, ``Linux x86_64``; ``any`` for pure wheels.
    :param pythons: CPython minor versions with version-specific wheels.
    :param abi3_from: the oldest CPython of abi3 wheels (they serve every newer one).
    :param generic_python: there are ``py3``/``py2.py3`` wheels.
    :param sdist: there is an sdist (installable by building).
    """

    platforms: frozenset[str]
    pythons: tuple[tuple[int, int], ...]
    abi3_from: tuple[int, int] | None
    generic_python: bool
    sdist: bool

    def describe(self) -> str:
        """E.g. ``macOS x86_64 and Linux x86_64, CPython 3.7–3.9``."""
        if not self.platforms:
            return "an sdist only" if self.sdist else "no files"
        plats = sorted(self.platforms - {"any"})
        where = "any platform" if "any" in self.platforms else _join(plats) if plats else "no platform"
        parts = []
        if self.pythons:
            low, high = self.pythons[0], self.pythons[-1]
            parts.append(f"CPython {low[0]}.{low[1]}" + ("" if low == high else f"–{high[0]}.{high[1]}"))
        if self.abi3_from:
            parts.append(f"CPython {self.abi3_from[0]}.{self.abi3_from[1]}+ (abi3)")
        if self.generic_python:
            parts.append("any Python 3")
        text = f"{where}, {' and '.join(parts)}" if parts else where
        return text + "; an sdist" if self.sdist else text


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def platform_label(platform: str) -> set[str]:
    """``macosx_11_0_universal2`` → {``macOS arm64``, ``macOS x86_64``}; ``any`` → {``any``}."""
    if platform == "any":
        return {"any"}
    if platform.startswith("macosx_"):
        arch = platform.split("_", 3)[3]
        archs = {"universal2": ["arm64", "x86_64"], "intel": ["x86_64"], "universal": ["x86_64"]}.get(arch, [arch])
        return {f"macOS {a}" for a in archs}
    if platform.startswith(("manylinux", "musllinux", "linux_")):
        arch = re.sub(r"^(manylinux_\d+_\d+|musllinux_\d+_\d+|manylinux\d+|linux)_", "", platform)
        return {f"Linux {arch}"}
    if platform.startswith("win"):
        return {{"win32": "Windows x86", "win_amd64": "Windows amd64", "win_arm64": "Windows arm64"}.get(platform, platform)}
    return {platform}


def availability(filenames_tags: Iterable[tuple[str, Iterable[Tag]]]) -> Availability:
    """Summarise ``(filename, tags)`` pairs; an sdist has no tags."""
    platforms: set[str] = set()
    pythons: set[tuple[int, int]] = set()
    abi3: set[tuple[int, int]] = set()
    generic = sdist = False
    for filename, tags in filenames_tags:
        tags = list(tags)
        if not filename.endswith(".whl"):
            sdist = True
            continue
        for tag in tags:
            platforms |= platform_label(tag.platform)
            found = re.fullmatch(r"cp(\d)(\d+)", tag.interpreter)
            if tag.abi == "abi3" and found:
                abi3.add((int(found.group(1)), int(found.group(2))))
            elif found:
                pythons.add((int(found.group(1)), int(found.group(2))))
            elif tag.interpreter.startswith("py3") or tag.interpreter == "py2.py3":
                generic = True
    return Availability(frozenset(platforms), tuple(sorted(pythons)), min(abi3) if abi3 else None, generic, sdist)

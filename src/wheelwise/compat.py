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

__all__ = ["Compatible", "Incompatible", "Reason", "Verdict", "requires_python_ok", "wheel_verdict"]


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
    tags = list(tags)
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
    spec = _specifier(requires_python)
    return spec is None or spec.contains(f"{target.python_str}.0", prereleases=True)

"""Version sets for the resolver: packaging's ``VersionRange`` behind nab-resolver's range protocol.

packaging 26.3 gives specifier sets as sets of versions (intersection, union,
complement), which is what PubGrub's terms are; nab-resolver also asks a range
for ``relation(other)`` (subset and disjoint in one call), which packaging
does not have yet.  :class:`Versions` adds it and delegates the rest.  Every
range is built with packaging's default pre-release policy, under which
membership is plain set membership: which pre-releases pip would take is the
finder's business, not the range's.
"""

from __future__ import annotations

import functools
from typing import Any

from nab_resolver.types import RangeRelation
from packaging.ranges import VersionRange
from packaging.specifiers import SpecifierSet
from packaging.version import Version

__all__ = ["Versions", "to_range"]

_RELATIONS = {
    (True, True): RangeRelation.EMPTY,
    (True, False): RangeRelation.SUBSET,
    (False, True): RangeRelation.DISJOINT,
    (False, False): RangeRelation.OVERLAPPING,
}


class Versions:
    """An immutable set of versions (see the module docstring)."""

    __slots__ = ("_hash", "inner")

    def __init__(self, inner: VersionRange) -> None:
        self.inner = inner
        self._hash: int | None = None

    @classmethod
    def empty(cls) -> Versions:
        return _EMPTY

    @classmethod
    def full(cls) -> Versions:
        return _FULL

    @classmethod
    def singleton(cls, version: Version) -> Versions:
        return cls(VersionRange.singleton(version))

    @property
    def is_empty(self) -> bool:
        return self.inner.is_empty

    def __contains__(self, version: object) -> bool:
        return isinstance(version, Version | str) and version in self.inner

    def __and__(self, other: object) -> Versions:
        assert isinstance(other, Versions)
        return Versions(self.inner & other.inner)

    def __or__(self, other: object) -> Versions:
        assert isinstance(other, Versions)
        return Versions(self.inner | other.inner)

    def __invert__(self) -> Versions:
        return Versions(~self.inner)

    def __sub__(self, other: object) -> Versions:
        assert isinstance(other, Versions)
        return Versions(self.inner - other.inner)

    def is_subset(self, other: Versions) -> bool:
        return self.inner.is_subset(other.inner)

    def is_superset(self, other: Versions) -> bool:
        return self.inner.is_superset(other.inner)

    def is_disjoint(self, other: Versions) -> bool:
        return self.inner.is_disjoint(other.inner)

    def relation(self, other: Versions) -> RangeRelation:
        """Disjoint first, then subset only where they meet: unit propagation asks this of every
        term, and a term that excludes hundreds of versions one by one is hundreds of intervals
        (autogluon on Windows: 77% of a resolution's time, a third less this way)."""
        disjoint = (self.inner & other.inner).is_empty
        return _RELATIONS[(self.inner.is_empty if disjoint else self.inner.is_subset(other.inner), disjoint)]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Versions) and self.inner == other.inner

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self.inner)
        return self._hash

    def __repr__(self) -> str:
        return f"Versions({self.inner!s})"

    def __str__(self) -> str:
        spec: Any = self.inner.to_specifier_set()
        return str(self.inner) if spec is None else str(spec) or "*"


_EMPTY = Versions(VersionRange.empty())
_FULL = Versions(VersionRange.full())


@functools.lru_cache(maxsize=1 << 14)
def _range(text: str) -> Versions:
    return Versions(SpecifierSet(text).to_range())


def to_range(specifier: SpecifierSet) -> Versions:
    """The versions a specifier set admits, pre-releases included (the finder filters those)."""
    return _range(str(specifier))

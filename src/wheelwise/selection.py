"""Which files the user lets pip take: ``--only-binary``, ``--no-binary``, ``--prefer-binary``, ``--hash``.

These settings come from pip's configuration, ``PIP_*`` variables, flags and
requirements files alike (see :mod:`wheelwise.index.settings` and
:mod:`wheelwise.requirements`); the resolver's finder obeys them.

Format control is pip's (``pip/_internal/models/format_control.py``): each
``--only-binary``/``--no-binary`` value is a comma-separated list of project
names, ``:all:`` or ``:none:``; ``:all:`` empties both sets and stands for
every project, ``:none:`` empties the set it is given to, a name moves from
the other set to this one.  A project named in ``only-binary`` takes wheels
only, else one named in ``no-binary`` takes sdists only, else ``:all:`` in
``only-binary`` then in ``no-binary`` decides.

Hashes are pip's hash-checking mode: a project whose requirement carries
``--hash`` may use only a file with one of those hashes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from packaging.utils import canonicalize_name

from .errors import BadInputError

__all__ = ["DEFAULT_SELECTION", "HASH_ALGORITHMS", "Selection", "parse_hash"]

#: what pip accepts after ``--hash=`` (``pip/_internal/utils/hashes.py``)
HASH_ALGORITHMS = frozenset({"sha256", "sha384", "sha512"})
_ALL = ":all:"
_NONE = ":none:"


def parse_hash(text: str, *, source: str | None = None, line: int | None = None) -> tuple[str, str]:
    """``sha256:HEX`` as pip reads ``--hash``: the algorithm and the lower-case digest."""
    algorithm, sep, digest = text.partition(":")
    algorithm = algorithm.strip().lower()
    if not sep or algorithm not in HASH_ALGORITHMS or not digest:
        raise BadInputError(
            f"--hash {text!r} is not ALGORITHM:DIGEST with ALGORITHM one of {', '.join(sorted(HASH_ALGORITHMS))}",
            hint="write it as pip does: --hash=sha256:<64 hex digits>",
            source=source,
            line=line,
        )
    digest = digest.strip().lower()
    if any(c not in "0123456789abcdef" for c in digest):
        raise BadInputError(f"--hash {text!r}: the digest is not hexadecimal", source=source, line=line)
    return algorithm, digest


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which files of which projects may be used.

    :param only_binary: project names (canonical) or ``:all:``: wheels only.
    :param no_binary: project names (canonical) or ``:all:``: sdists only.
    :param prefer_binary: take the newest version with a wheel over a newer sdist-only one.
    :param hashes: per project, the ``(algorithm, digest)`` pairs a file must match one of.
    :param require_hashes: ``--require-hashes``: hash-checking mode even where no ``--hash`` is given.
    """

    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()
    prefer_binary: bool = False
    hashes: tuple[tuple[str, frozenset[tuple[str, str]]], ...] = ()
    require_hashes: bool = False

    # -- building -----------------------------------------------------------------------------

    def with_format(self, option: str, value: str) -> Selection:
        """Apply one ``--only-binary`` (*option* ``only-binary``) or ``--no-binary`` value, as pip."""
        if option not in ("only-binary", "no-binary"):
            raise ValueError(option)
        target = set(self.only_binary if option == "only-binary" else self.no_binary)
        other = set(self.no_binary if option == "only-binary" else self.only_binary)
        names = [n.strip() for n in value.split(",") if n.strip()]
        while _ALL in names:
            other.clear()
            target.clear()
            target.add(_ALL)
            del names[: names.index(_ALL) + 1]
            if _NONE not in names:
                names = []
        for name in names:
            if name == _NONE:
                target.clear()
                continue
            canonical = canonicalize_name(name)
            other.discard(canonical)
            target.add(canonical)
        if option == "only-binary":
            return dataclasses.replace(self, only_binary=frozenset(target), no_binary=frozenset(other))
        return dataclasses.replace(self, no_binary=frozenset(target), only_binary=frozenset(other))

    def with_hashes(self, name: str, hashes: Iterable[tuple[str, str]]) -> Selection:
        """Add allowed hashes for a project (pip joins those of every requirement of it)."""
        key = canonicalize_name(name)
        table = dict(self.hashes)
        table[key] = table.get(key, frozenset()) | frozenset(hashes)
        return dataclasses.replace(self, hashes=tuple(sorted(table.items())))

    def with_formats(self, options: Iterable[tuple[str, str]]) -> Selection:
        """Apply ``(option, value)`` pairs in the order they were given."""
        selection = self
        for option, value in options:
            selection = selection.with_format(option, value)
        return selection

    # -- asking ------------------------------------------------------------------------------

    def wheels_allowed(self, name: str) -> bool:
        return "binary" in self._formats(name)

    def sdists_allowed(self, name: str) -> bool:
        return "source" in self._formats(name)

    def _formats(self, name: str) -> frozenset[str]:
        if name in self.only_binary:
            return frozenset({"binary"})
        if name in self.no_binary:
            return frozenset({"source"})
        if _ALL in self.only_binary:
            return frozenset({"binary"})
        if _ALL in self.no_binary:
            return frozenset({"source"})
        return frozenset({"binary", "source"})

    @property
    def hash_checking(self) -> bool:
        """pip's hash-checking mode: any requirement carries ``--hash``, or ``--require-hashes``."""
        return bool(self.hashes) or self.require_hashes

    def allowed_hashes(self, name: str) -> frozenset[tuple[str, str]] | None:
        """The hashes a file of *name* must match one of; ``None`` when no ``--hash`` names it."""
        for key, hashes in self.hashes:
            if key == name:
                return hashes
        return None

    def hash_matches(self, name: str, file_hashes: Mapping[str, str]) -> bool | None:
        """Whether a file (with the hashes its index gives) may be used for *name*: ``True``,
        ``False`` (its hash is not among those allowed), or ``None`` (the index gives no hash
        of an algorithm the requirement names: only a download could tell; pip would download)."""
        allowed = self.allowed_hashes(name)
        if allowed is None:
            return True
        known = False
        for algorithm, digest in allowed:
            have = file_hashes.get(algorithm)
            if have is None:
                continue
            known = True
            if have.lower() == digest:
                return True
        return False if known else None

    def describe(self) -> dict[str, object]:
        return {
            "only_binary": sorted(self.only_binary),
            "no_binary": sorted(self.no_binary),
            "prefer_binary": self.prefer_binary,
            "require_hashes": self.require_hashes,
            "hashes": {name: sorted(f"{a}:{d}" for a, d in hashes) for name, hashes in self.hashes},
        }


#: pip's defaults: wheels and sdists of every project, no hashes, newest version first
DEFAULT_SELECTION = Selection()

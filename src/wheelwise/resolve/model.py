"""What resolution works on and what it returns: requirements, candidates, outcomes.

Everything here is a value.  :class:`Resolution` and :class:`Failure` are
frozen and carry no live provider: what a failure *means* (its root causes,
each with a reason from :class:`~wheelwise.compat.Reason`, the requirement
that led to it and the chain from the request) is computed before they are
built.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Container

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..compat import Reason
from ..index.simple import DistFile
from ..knowledge import Constraint
from ..target import Target

__all__ = [
    "DEFAULT_MAX_ROUNDS",
    "INVALID",
    "PYTHON",
    "Candidate",
    "Failure",
    "Held",
    "Limit",
    "Outcome",
    "Req",
    "Resolution",
    "RootCause",
    "Sdists",
    "package_key",
    "parse_requirement",
]

#: resolver rounds (decisions, propagations, conflicts) before giving up with "unknown"
DEFAULT_MAX_ROUNDS = 20_000
#: virtual project standing for the target's Python: a version's Requires-Python read from its
#: metadata is a dependency on it (as uv does), so the failure names it like any other
PYTHON = "<python>"
#: prefix of virtual projects standing for unreadable metadata: a dependency on one fails
INVALID = "<invalid>"


def package_key(name: str, extras: frozenset[str] = frozenset()) -> str:
    """The resolver's identifier: ``name`` or ``name[extra]`` (one virtual project per extra)."""
    return name if not extras else f"{name}[{','.join(sorted(extras))}]"


#: packaging parses marker strings with ast.literal_eval, and CPython 3.11 keeps the AST
#: builder's recursion counter per interpreter, not per thread: parses racing in threads
#: can corrupt it for the rest of the process (gh-106905).  Cells resolve in threads.
_PARSE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=16384)
def parse_requirement(text: str) -> Requirement:
    """Requirement strings repeat across targets and resolutions: parse each once, one at a time."""
    with _PARSE_LOCK:
        return Requirement(text)


@dataclasses.dataclass(frozen=True)
class Req:
    """A requirement as the resolver sees it.

    :param kind: ``root`` (asked for), ``dependency`` or ``constraint`` (-c: narrows only).
    :param text: as written, normalised (``name[extra]>=1``), for messages.
    :param source: where a root or constraint came from (file and line).
    """

    name: str
    extras: frozenset[str]
    specifier: SpecifierSet
    kind: str
    text: str
    source: str | None = None

    def __hash__(self) -> int:
        # The generated hash would hash the SpecifierSet, which packaging recomputes from
        # canonical strings on every call; the text says the same and is hashed once.
        found: int | None = self.__dict__.get("_hash")
        if found is None:
            found = hash((self.name, self.extras, self.kind, self.text, self.source))
            object.__setattr__(self, "_hash", found)
        return found

    @property
    def key(self) -> str:
        found: str | None = self.__dict__.get("_key")
        if found is None:
            found = package_key(self.name, self.extras)
            object.__setattr__(self, "_key", found)
        return found

    def __str__(self) -> str:
        return self.text

    @classmethod
    def from_requirement(cls, req: Requirement, kind: str, source: str | None = None) -> Req:
        extras = frozenset(canonicalize_name(e) for e in req.extras)
        name = canonicalize_name(req.name)
        text = f"{package_key(name, extras)}{req.specifier}"
        return cls(name=name, extras=extras, specifier=req.specifier, kind=kind, text=text, source=source)


@dataclasses.dataclass(frozen=True, eq=False)
class Candidate:
    """One version of a project with the file pip would install on the target."""

    name: str
    version: Version
    extras: frozenset[str] = frozenset()
    file: DistFile | None = None

    @property
    def key(self) -> str:
        return package_key(self.name, self.extras)

    @property
    def needs_build(self) -> bool:
        return self.file is not None and not self.file.is_wheel

    def _id(self) -> tuple[object, ...]:
        return (self.name, self.version, self.extras)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Candidate) and self._id() == other._id()

    def __hash__(self) -> int:
        return hash(self._id())

    def __str__(self) -> str:
        return f"{self.key} {self.version}"


@dataclasses.dataclass(frozen=True)
class RootCause:
    """One reason a resolution failed, read off the resolver's derivation.

    :param project: the project that cannot be installed (for ``requires-python`` and
        ``invalid-metadata``: the version whose metadata says so).
    :param reason: why.
    :param requirement: what was required of it (``tflite-support>=0.4.2``); for a conflict
        the requirements that cannot all hold; for a version's own metadata (Requires-Python,
        unreadable) that version (``numba 0.53``).
    :param chain: from a requested project down to the requirement, e.g.
        ``("tflite-model-maker 0.4.3", "tflite-support>=0.4.2")``.
    :param versions: versions of the requested project that this blocks, newest first.
    :param needs: for ``os-too-old``, the OS or glibc version the files need.
    :param rule: for ``forbidden``, the cited knowledge rule.
    :param detail: what else is worth saying (the Requires-Python, the unreadable field).
    :param requires_python: for ``requires-python``, the specifier that excludes the target.
    """

    project: str
    reason: Reason
    requirement: str
    chain: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    needs: tuple[int, int] | None = None
    rule: Constraint | None = None
    detail: str = ""
    requires_python: str = ""


@dataclasses.dataclass(frozen=True)
class Limit:
    """The resolver stopped at its round limit: no answer, but what it was busy with."""

    rounds: int
    busy: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Held:
    """A pin that a constraint (``-c``, pip's ``constraint``) keeps below a newer release that
    has a file for the target and that the pins' own requirements allow.

    :param constraint: the constraint, normalised; *source*: its file and line.
    """

    name: str
    version: str
    newer: str
    constraint: str
    source: str | None

    def to_dict(self) -> dict[str, str | None]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Resolution:
    """A successful resolution.

    :param unknown_deps: sdists among the pins whose dependencies are unknown without a build.
    :param applied: knowledge rules that shaped the pins.
    :param warnings: what pip would warn about (an extra the chosen version does not define).
    :param newer_sdists: ``(project, version)`` of releases newer than the pin that only
        have an sdist here: plain pip would build them rather than take the wheel.
    :param held: pins a constraint keeps below a newer release that installs here.
    """

    target: Target
    pins: dict[str, Candidate]
    unknown_deps: tuple[str, ...] = ()
    applied: tuple[Constraint, ...] = ()
    warnings: tuple[str, ...] = ()
    newer_sdists: tuple[tuple[str, str], ...] = ()
    held: tuple[Held, ...] = ()

    @property
    def needs_build(self) -> list[Candidate]:
        return [c for c in self.pins.values() if c.needs_build]


@dataclasses.dataclass(frozen=True)
class Failure:
    """A failed resolution: its root causes, or the limit it reached.

    :param involved: every project the derivation mentions (a requested project that it
        does not mention was not examined: the failure holds whatever it is).
    :param missing: the version ranges of each project that the proof found nothing usable in
        (a version skipped for want of a wheel is in one of them if the proof depends on it).
    """

    target: Target
    causes: tuple[RootCause, ...] = ()
    involved: frozenset[str] = frozenset()
    limit: Limit | None = None
    applied: tuple[Constraint, ...] = ()
    #: the ranges the proof found no usable version in, by project
    missing: tuple[tuple[str, Container[Version]], ...] = ()
    #: which projects it could build from sdists (see :data:`Sdists`)
    allow_sdists: bool | frozenset[str] = False


Outcome = Resolution | Failure
#: which projects a resolution may build from sdists: none (False), all (True), or these
Sdists = bool | frozenset[str]

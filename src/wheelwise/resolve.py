"""Resolution for one target: pins as pip would choose them there, or what failed.

resolvelib (pip's resolver) does the search; :class:`TargetProvider` is the
thin provider that answers it for a :class:`~wheelwise.target.Target` and
records every version it drops and why.  It follows pip: newest version first,
the best-ranked wheel of a version, ``Requires-Python`` checked against the
target's Python, markers evaluated in the target's environment, yanked files
ignored unless pinned with ``==``, pre-releases only when asked for or when
nothing else matches, ``-c`` constraints narrow without installing.

Two more kinds of requirement exist besides pip's:

* knowledge constraints (:mod:`wheelwise.knowledge`): when a candidate matches
  a rule's ``when``, the rule narrows (or forbids) another project, as a
  constraint does: only if that project is installed anyway;
* markers of failure (``<python>``, ``<invalid>``) that turn a candidate's bad
  ``Requires-Python`` or unreadable metadata into a recorded, backtrackable
  rejection.

Nothing here prints; the outcome is data (:class:`Resolution`, :class:`Failure`).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import enum
import functools
import itertools
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Union

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from resolvelib import (
    AbstractProvider,
    BaseReporter,
    ResolutionImpossible,
    ResolutionTooDeep,
    Resolver,
)
from resolvelib.structs import RequirementInformation

from .compat import Compatible, Incompatible, Reason, requires_python_ok, wheel_verdict
from .errors import MetadataError
from .index import PackageIndex
from .index.simple import DistFile, version_text
from .knowledge import Constraint
from .requirements import SourcedRequirement
from .target import Target

__all__ = [
    "Candidate",
    "Drop",
    "Empty",
    "Failure",
    "Req",
    "Resolution",
    "Shared",
    "TargetProvider",
    "Why",
    "parse_requirement",
    "resolve",
]

#: candidates per target whose dependencies are read ahead of the resolver (see _speculate)
SPECULATE_MAX = 400
#: versions of one project whose metadata is read in parallel while the resolver refuses them
READ_AHEAD_MAX = 24

PYTHON = "<python>"
INVALID = "<invalid>"


class Why(str, enum.Enum):
    """Why a version of a project cannot be used on a target."""

    PLATFORM = "platform"  #: wheels only for other OSes / architectures / OS versions
    PYTHON = "python"  #: wheels for this platform, but only for other Pythons
    ABI = "abi"  #: right Python, another ABI
    REQUIRES_PYTHON = "requires-python"  #: the files exclude the target's Python
    YANKED = "yanked"  #: every file is yanked and the version is not pinned
    SDIST_ONLY = "sdist-only"  #: only sdists, and wheels were required
    INVALID_METADATA = "invalid-metadata"  #: its metadata cannot be read or parsed


_REASON_WHY = {Reason.PLATFORM: Why.PLATFORM, Reason.PYTHON: Why.PYTHON, Reason.ABI: Why.ABI}


@dataclasses.dataclass(frozen=True)
class Req:
    """A requirement as the resolver sees it.

    :param kind: ``root`` (asked for), ``dependency``, ``constraint`` (-c:
        narrows only), ``knowledge`` (a cited rule: narrows only), or a
        failure marker (``python``, ``invalid``).
    """

    name: str
    extras: frozenset[str]
    specifier: SpecifierSet
    kind: str
    text: str
    forbid: bool = False
    rule: Constraint | None = None
    source: str | None = None

    def __hash__(self) -> int:
        # The generated hash would hash the SpecifierSet, which packaging recomputes from
        # canonical strings on every call; the text says the same and is hashed once.
        found: int | None = self.__dict__.get("_hash")
        if found is None:
            found = hash((self.name, self.extras, self.kind, self.text, self.forbid, self.source))
            object.__setattr__(self, "_hash", found)
        return found

    @property
    def key(self) -> str:
        return _key(self.name, self.extras)

    @property
    def narrows_only(self) -> bool:
        return self.kind in ("constraint", "knowledge")

    def __str__(self) -> str:
        return self.text

    @classmethod
    def from_requirement(cls, req: Requirement, kind: str, source: str | None = None) -> Req:
        return cls(
            name=canonicalize_name(req.name),
            extras=frozenset(canonicalize_name(e) for e in req.extras),
            specifier=req.specifier,
            kind=kind,
            text=_text(req),
            source=source,
        )


#: by id: hashing a SpecifierSet recomputes canonical strings each time (packaging 26);
#: the set is kept in the value so that its id is never reused
_ADMITS: dict[int, tuple[SpecifierSet, dict[Version, bool]]] = {}
_ADMITS_MAX = 1 << 15


def admits(specifier: SpecifierSet, version: Version) -> bool:
    """``specifier.contains(version, prereleases=True)``, remembered: the resolver asks it
    tens of thousands of times for the same few requirement and version pairs."""
    entry = _ADMITS.get(id(specifier))
    if entry is None:
        if len(_ADMITS) >= _ADMITS_MAX:
            _ADMITS.clear()  # a long-lived process (the library) must not keep every set forever
        entry = _ADMITS.setdefault(id(specifier), (specifier, {}))
    known = entry[1]
    found = known.get(version)
    if found is None:
        found = known[version] = specifier.contains(version, prereleases=True)
    return found


def _key(name: str, extras: frozenset[str]) -> str:
    """resolvelib's identifier: ``name`` or ``name[extra,...]``."""
    return name if not extras else f"{name}[{','.join(sorted(extras))}]"


@functools.lru_cache(maxsize=65536)
def _version(text: str) -> Version:
    return Version(text)


#: packaging parses marker strings with ast.literal_eval, and CPython 3.11 keeps the AST
#: builder's recursion counter per interpreter, not per thread: parses racing in threads
#: can corrupt it for the rest of the process (gh-106905).  Cells resolve in threads.
_PARSE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=16384)
def parse_requirement(text: str) -> Requirement:
    """Requirement strings repeat across targets and resolutions: parse each once, one at a time."""
    with _PARSE_LOCK:
        return Requirement(text)


def _text(req: Requirement) -> str:
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return f"{canonicalize_name(req.name)}{extras}{req.specifier}"


@dataclasses.dataclass(frozen=True, eq=False)
class Candidate:
    """One version of a project with the file pip would install on the target.

    ``absent`` is the choice "not installed", offered only when a project is
    named by constraints alone.
    """

    name: str
    version: Version
    extras: frozenset[str] = frozenset()
    file: DistFile | None = None
    absent: bool = False

    @property
    def key(self) -> str:
        return _key(self.name, self.extras)

    @property
    def needs_build(self) -> bool:
        return self.file is not None and not self.file.is_wheel

    def _id(self) -> tuple[object, ...]:
        return (self.name, self.version, self.extras, self.absent)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Candidate) and self._id() == other._id()

    def __hash__(self) -> int:
        return hash(self._id())

    def __str__(self) -> str:
        return f"{self.key} (not installed)" if self.absent else f"{self.key} {self.version}"


@dataclasses.dataclass(frozen=True)
class Drop:
    """A version left out, and why."""

    version: Version
    why: Why


@dataclasses.dataclass(frozen=True)
class Empty:
    """A moment when no candidate was left for a project.

    :param cause: ``target`` (versions in range exist, none usable here),
        ``not-found`` (no such project on any index), ``no-version`` (no
        version in the required range), ``forbidden`` (a knowledge rule),
        ``python`` (Requires-Python), ``invalid`` (unreadable metadata),
        ``conflict`` (each requirement alone has versions, not all together),
        ``exhausted`` (every usable version was tried and failed).
    """

    key: str
    name: str
    cause: str
    requirements: tuple[Req, ...]
    parents: tuple[Candidate | None, ...]
    drops: tuple[Drop, ...] = ()


@dataclasses.dataclass
class Resolution:
    """A successful resolution."""

    target: Target
    pins: dict[str, Candidate]
    #: sdists among the pins (to build), and those whose dependencies are unknown without a build
    unknown_deps: list[str]
    #: knowledge rules that shaped the pins
    applied: list[Constraint]

    @property
    def needs_build(self) -> list[Candidate]:
        return [c for c in self.pins.values() if c.needs_build]


@dataclasses.dataclass
class Failure:
    """A failed resolution, with the provider's records for explaining it."""

    target: Target
    causes: list[tuple[Req, Candidate | None]]
    provider: TargetProvider
    too_deep: bool = False


Outcome = Union[Resolution, Failure]


class _Lazy:
    """Candidates computed newest first, only as far as the resolver reads them.

    Most projects have hundreds of versions and the resolver takes the first
    one or two; judging every file of every version for every target is what
    would cost.  Once the resolver reads past the first (it refused the newest),
    more are computed ahead of it, the further the longer it refuses, and each
    new one is handed to *arrived* (which starts reading its metadata).
    Thread-safe: threads resolving the same target share it.
    """

    def __init__(self, source: Iterator[Candidate], arrived: Callable[[list[Candidate]], None] | None = None) -> None:
        self._source = source
        self._arrived = arrived
        self._lock = threading.Lock()
        self.items: list[Candidate] = []
        self.done = False

    def fill(self, count: int) -> None:
        with self._lock:
            before = len(self.items)
            while len(self.items) < count and not self.done:
                try:
                    self.items.append(next(self._source))
                except StopIteration:
                    self.done = True
            new = self.items[before:]
        if new and self._arrived is not None:
            self._arrived(new)

    def __iter__(self) -> Iterator[Candidate]:
        index = 0
        while True:
            if index >= len(self.items) or (index and index + 1 >= len(self.items) and not self.done):
                # refused index versions already: tf-nightly has hundreds, each refused in turn
                self.fill(index + 1 + min(READ_AHEAD_MAX, 2 * index))
                if index >= len(self.items):
                    return
            yield self.items[index]
            index += 1


@dataclasses.dataclass(frozen=True)
class _Found:
    """What find_matches computed, with the facts to record each time it is reused."""

    candidates: list[Candidate] | _Lazy
    empty: tuple[str, str, str, tuple[Req, ...], tuple[Drop, ...]] | None = None
    rules: tuple[Constraint, ...] = ()


class Shared:
    """Caches that outlive one resolution (one per check run, any number of targets).

    Files grouped by version are the same for every target; picks, dependencies,
    matches and hopeless candidates depend on the target, on whether sdists
    are allowed, and on the constraints and rules, which a run keeps fixed.
    Threads may share it: at worst two compute the same entry.
    """

    def __init__(self) -> None:
        self.files: dict[str, dict[Version, list[DistFile]]] = {}
        self._per: dict[tuple[Target, bool], _PerTarget] = {}
        self._wanted: dict[tuple[str, tuple[int, ...]], tuple[tuple[SpecifierSet, ...], list[Version]]] = {}

    def wanted(self, name: str, specifiers: tuple[SpecifierSet, ...], by_version: Mapping[Version, object]) -> list[Version]:
        """The versions of *name* that every specifier admits, newest first (as pip filters them).

        The same for every target: a matrix asks it once per requirement set, not once per cell.
        """
        key = (name, tuple(map(id, specifiers)))  # by id, as admits(); the value keeps them alive
        found = self._wanted.get(key)
        if found is None:
            spec = SpecifierSet()
            for s in specifiers:
                spec &= s
            found = self._wanted.setdefault(key, (specifiers, list(spec.filter(by_version))))
        return found[1]

    def per(self, target: Target, allow_sdists: bool) -> _PerTarget:
        key = (target, allow_sdists)
        found = self._per.get(key)
        if found is None:
            found = self._per.setdefault(key, _PerTarget())
        return found

    def sdists_could_help(self, target: Target) -> bool:
        """Whether a wheels-only resolution on *target* ever passed over a version that has an sdist.

        When none did, allowing sdists changes no candidate list the resolver has
        read, so a resolution with sdists would take the very same steps.
        """
        return bool(self.per(target, False).sdist_instead)


class _PerTarget:
    def __init__(self) -> None:
        self.picks: dict[tuple[str, Version, bool], DistFile | Why] = {}
        #: versions passed over for want of a wheel although an sdist would do
        self.sdist_instead: set[tuple[str, Version]] = set()
        self.deps: dict[Candidate, tuple[list[Req], bool]] = {}
        self.matches: dict[tuple[object, ...], _Found] = {}
        self.dead: set[Candidate] = set()
        #: why each dead candidate is dead: its hopeless dependencies
        self.dead_why: dict[Candidate, list[Empty]] = {}
        #: candidates whose dependencies are being read ahead of the resolver
        self.speculated: set[Candidate] = set()
        self.lock = threading.Lock()


def _python_candidate(target: Target) -> Candidate:
    return Candidate(PYTHON, Version(f"{target.python_str}.0"))


class TargetProvider(AbstractProvider):  # type: ignore[type-arg]
    """resolvelib provider for one target; records drops, parents and failures."""

    def __init__(
        self,
        index: PackageIndex,
        target: Target,
        *,
        allow_sdists: bool,
        constraints: Sequence[Req] = (),
        rules: Sequence[Constraint] = (),
        roots: Iterable[str] = (),
        shared: Shared | None = None,
    ) -> None:
        self.index = index
        self.target = target
        self.allow_sdists = allow_sdists
        self.constraints: dict[str, list[Req]] = {}
        for c in constraints:
            self.constraints.setdefault(c.name, []).append(c)
        self.rules = list(rules)
        #: projects whose versions trigger a rule: deciding them first lets the rule narrow the others
        self._triggers = {canonicalize_name(rule.when.name) for rule in self.rules}
        self.roots = set(roots)
        self.shared = shared or Shared()
        cached = self.shared.per(target, allow_sdists)
        self._files = self.shared.files
        self._picks = cached.picks
        self._sdist_instead = cached.sdist_instead
        self._deps = cached.deps
        self._matches = cached.matches
        #: candidates with a dependency that nothing on the index satisfies here (whatever else is pinned)
        self.dead = cached.dead
        self._dead_why = cached.dead_why
        self._per_target = cached
        self._seen: set[Candidate] = set()
        self._req_parents: dict[Req, list[Candidate]] = {}
        self.parents: dict[str, list[Candidate]] = {}
        self.empties: list[Empty] = []
        self.unknown_deps: set[str] = set()
        self.rule_hits: dict[str, Constraint] = {}

    # -- files ----------------------------------------------------------

    def files(self, name: str) -> dict[Version, list[DistFile]]:
        """Files of a project by version (newest first)."""
        found = self._files.get(name)
        if found is None:
            page = self.index.project(name)
            by_text: dict[str, list[DistFile]] = {}
            for f in page.files:
                by_text.setdefault(version_text(f.filename), []).append(f)
            grouped: dict[Version, list[DistFile]] = {}
            for text, files in by_text.items():
                try:
                    version = _version(text)
                except InvalidVersion:
                    continue  # the page parser admits only valid names; be safe
                grouped.setdefault(version, []).extend(files)
            found = dict(sorted(grouped.items(), reverse=True))
            self._files[name] = found
        return found

    def pick(self, name: str, version: Version, files: Sequence[DistFile], pinned: bool) -> DistFile | Why:
        """The file pip would install for this version on the target, or why there is none."""
        cache_key = (name, version, pinned)
        if cache_key in self._picks:
            return self._picks[cache_key]
        result = self._pick(files, pinned)
        if isinstance(result, Why) and not self.allow_sdists and any(not f.is_wheel for f in files):
            self._sdist_instead.add((name, version))  # before the pick is shared: see Shared.sdists_could_help
        self._picks[cache_key] = result
        return result

    def _pick(self, files: Sequence[DistFile], pinned: bool) -> DistFile | Why:
        usable = [f for f in files if f.yanked is None or pinned]
        if not usable:
            return Why.YANKED
        fitting = [f for f in usable if requires_python_ok(f.requires_python, self.target)]
        if not fitting:
            return Why.REQUIRES_PYTHON
        best: tuple[int, DistFile] | None = None
        nearest: Reason | None = None
        sdist: DistFile | None = None
        for f in fitting:
            if not f.is_wheel:
                sdist = sdist or f
                continue
            verdict = wheel_verdict(f.tags, self.target)
            if isinstance(verdict, Compatible):
                if best is None or verdict.rank < best[0]:
                    best = (verdict.rank, f)
            elif isinstance(verdict, Incompatible) and (nearest is None or verdict.reason > nearest):
                nearest = verdict.reason
        if best is not None:
            return best[1]
        if sdist is not None and self.allow_sdists:
            return sdist
        if nearest is None:
            return Why.SDIST_ONLY
        return _REASON_WHY[nearest]

    # -- resolvelib interface ---------------------------------------------

    def identify(self, requirement_or_candidate: Req | Candidate) -> str:
        return requirement_or_candidate.key

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Req, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Req, Candidate]],
    ) -> Any:
        infos = list(information[identifier])
        reqs = [i.requirement for i in infos]
        pinned = any(s.operator in ("==", "===") and "*" not in s.version for r in reqs for s in r.specifier)
        marker = identifier.startswith("<")
        root = any(i.parent is None for i in infos)
        cause = any(c.requirement.key == identifier or (c.parent and c.parent.key == identifier) for c in backtrack_causes)
        upper = any(s.operator in ("<", "<=", "~=", "==") for r in reqs for s in r.specifier)
        # Among projects that trigger knowledge rules, the one with fewest releases first: with
        # tensorflow-metal decided, "tensorflow<2.20" applies before any tensorflow is tried, rather
        # than tensorflow 2.21 and 2.20 being read and refused one after the other.
        name = reqs[0].name if reqs else identifier
        trigger = len(self._files.get(name, ())) if name in self._triggers else sys.maxsize
        return (not marker, not cause, not pinned, trigger, not root, not upper, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Req]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> Callable[[], Iterator[Candidate]] | list[Candidate]:
        found = self._found(identifier, list(requirements[identifier]), frozenset(incompatibilities[identifier]))
        for rule in found.rules:
            self.rule_hits[rule.id] = rule
        if found.empty is not None:
            self._empty(*found.empty)
        dead = self.dead
        candidates = found.candidates
        if dead and not any(c not in dead for c in candidates):
            # every candidate is known hopeless: say why here too, as if tried again
            for candidate in candidates:
                self.empties.extend(self._dead_why.get(candidate, []))
            return []
        if isinstance(candidates, _Lazy):
            lazy = candidates
            return lambda: (c for c in lazy if c not in dead)
        return [c for c in candidates if c not in dead]

    def _found(self, identifier: str, reqs: list[Req], bad: frozenset[Candidate]) -> _Found:
        """What find_matches answers, computed once per target (nothing recorded here)."""
        memo = (identifier, tuple(reqs), bad)
        found = self._matches.get(memo)
        if found is None:
            found = self._find_matches(identifier, reqs, bad)
            self._matches[memo] = found
        return found

    def _find_matches(self, identifier: str, reqs: list[Req], bad: frozenset[Candidate]) -> _Found:
        name = reqs[0].name
        if name == PYTHON:
            candidate = _python_candidate(self.target)
            if all(candidate.version in r.specifier for r in reqs) and candidate not in bad:
                return _Found([candidate])
            return _Found([], (identifier, name, "python", tuple(reqs), ()))
        if name == INVALID:
            return _Found([], (identifier, name, "invalid", tuple(reqs), ()))
        extras = reqs[0].extras
        reqs = reqs + [c for c in self.constraints.get(name, []) if c not in reqs]
        real = [r for r in reqs if not r.narrows_only]
        if not real:
            absent = Candidate(name, Version("0"), extras, absent=True)
            return _Found([] if absent in bad else [absent])
        forbidding = [r for r in reqs if r.forbid]
        if forbidding:
            rules = tuple(r.rule for r in forbidding if r.rule)
            return _Found([], (identifier, name, "forbidden", tuple(reqs), ()), rules)
        by_version = self.files(name)
        if not by_version:
            return _Found([], (identifier, name, "not-found", tuple(reqs), ()))
        wanted = self.shared.wanted(name, tuple(r.specifier for r in reqs), by_version)
        if not wanted:
            alone_empty = any(not list(r.specifier.filter(by_version)) for r in reqs if not r.narrows_only)
            cause = "no-version" if alone_empty else "conflict"
            return _Found([], (identifier, name, cause, tuple(reqs), ()), self._knowledge_hits(reqs, by_version))
        pinned = {str(s.version) for r in reqs for s in r.specifier if s.operator in ("==", "===")}
        drops: list[Drop] = []

        def candidates() -> Iterator[Candidate]:
            for version in wanted:
                picked = self.pick(name, version, by_version[version], str(version) in pinned)
                if isinstance(picked, Why):
                    drops.append(Drop(version, picked))
                    continue
                candidate = Candidate(name, version, extras, picked)
                if candidate not in bad:
                    yield candidate

        lazy = _Lazy(candidates(), lambda new: self.index.prefetch(files=[c.file for c in new if c.file is not None]))
        # When the resolver is already backtracking on this project, the next ones will be wanted
        # soon: read their metadata in parallel rather than one after another.
        lazy.fill(min(READ_AHEAD_MAX, 3 * len(bad)) if bad else 1)
        if not lazy.items:
            return _Found([], (identifier, name, "target" if not bad else "exhausted", tuple(reqs), tuple(drops)))
        self._speculate(lazy.items[0])
        return _Found(lazy, None, self._knowledge_hits(reqs, by_version))

    def _knowledge_hits(self, reqs: Sequence[Req], by_version: Mapping[Version, list[DistFile]]) -> tuple[Constraint, ...]:
        """The rules that removed versions which would otherwise have been chosen."""
        hits = []
        for r in reqs:
            if r.kind != "knowledge" or r.rule is None:
                continue
            others = SpecifierSet()
            for o in reqs:
                if o is not r:
                    others &= o.specifier
            if any(v not in r.specifier for v in others.filter(by_version)):
                hits.append(r.rule)
        return tuple(hits)

    def _empty(self, key: str, name: str, cause: str, reqs: Sequence[Req], drops: Sequence[Drop] = ()) -> None:
        parents = tuple(self._parent_of(r) for r in reqs)
        self.empties.append(Empty(key, name, cause, tuple(reqs), parents, tuple(drops)))

    def _parent_of(self, req: Req) -> Candidate | None:
        parents = self._req_parents.get(req)
        return parents[-1] if parents else None

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        if candidate.absent:
            return requirement.narrows_only
        if requirement.forbid:
            return False
        return admits(requirement.specifier, candidate.version)

    def get_dependencies(self, candidate: Candidate) -> list[Req]:
        deps, unknown = self._deps_of(candidate)
        if candidate not in self._seen:
            self._seen.add(candidate)
            for dep in deps:
                self.parents.setdefault(dep.key, []).append(candidate)
                self._req_parents.setdefault(dep, []).append(candidate)
            if unknown:
                self.unknown_deps.add(candidate.name)
            # also records every hopeless dependency in this resolution, for the explanations
            before = len(self.empties)
            if self._hopeless(deps):
                self._dead_why[candidate] = self.empties[before:]
                self.dead.add(candidate)
        return deps

    # -- reading ahead ---------------------------------------------------

    def _speculate(self, candidate: Candidate) -> None:
        """Read ahead of the resolver, as uv does: once a candidate's metadata arrives from the
        network, fetch its dependencies' pages, then their newest candidates' metadata, and so
        on down the tree, so that the network is never waiting for the resolver's turn.

        Only for metadata read over the network (from the cache the resolver is quick
        enough), and at most SPECULATE_MAX candidates per target.
        """
        if candidate.file is None or candidate.absent:
            return
        per = self._per_target
        with per.lock:
            if candidate in per.speculated or len(per.speculated) >= SPECULATE_MAX:
                return
            per.speculated.add(candidate)

        def arrived(future: concurrent.futures.Future[Any]) -> None:
            if future.exception() is None and future.result().how != "cache":
                self.index.spawn(self._speculate_dependencies, candidate)

        self.index.metadata_future(candidate.file).add_done_callback(arrived)

    def _speculate_dependencies(self, candidate: Candidate) -> None:
        wanted = [d for d in self._deps_of(candidate)[0] if not d.narrows_only and not d.name.startswith("<")]
        for future, dep in zip(self.index.page_futures(d.name for d in wanted), wanted):

            def arrived(future: concurrent.futures.Future[Any], dep: Req = dep) -> None:
                if future.exception() is None:
                    self.index.spawn(self._found, dep.key, [dep], frozenset())

            future.add_done_callback(arrived)

    def _deps_of(self, candidate: Candidate) -> tuple[list[Req], bool]:
        """:meth:`_dependencies`, once per candidate and target (nothing recorded here)."""
        found = self._deps.get(candidate)
        if found is None:
            found = self._deps.setdefault(candidate, self._dependencies(candidate))
        return found

    def _dependencies(self, candidate: Candidate) -> tuple[list[Req], bool]:
        """The candidate's requirements here, and whether they are unknown without a build."""
        if candidate.absent or candidate.name == PYTHON or candidate.file is None:
            return [], False
        deps: list[Req] = []
        if candidate.extras:
            # As pip does: name[extra] is name itself (same version) plus the extra's requirements.
            deps.append(Req(candidate.name, frozenset(), SpecifierSet(f"=={candidate.version}"), "dependency",
                            f"{candidate.name}=={candidate.version}"))
        deps += self._rules_for(candidate)
        try:
            fetched = self.index.metadata(candidate.file)
            meta = fetched.metadata
        except (MetadataError, ValueError) as exc:
            return deps + [self._invalid(candidate, f"unreadable metadata: {exc}")], False
        if not requires_python_ok(meta.requires_python, self.target):
            try:
                deps.append(Req(PYTHON, frozenset(), SpecifierSet(meta.requires_python or ""), "python",
                                f"Python{meta.requires_python}"))
            except InvalidSpecifier:
                pass
        if candidate.needs_build and not meta.static_requirements:
            return deps, True
        extras = candidate.extras or frozenset({""})
        for text in meta.requires_dist:
            try:
                req = parse_requirement(text)
            except InvalidRequirement:
                return deps + [self._invalid(candidate, f"invalid requirement {text!r} in its metadata")], False
            if req.marker is not None:
                try:
                    if not any(req.marker.evaluate({**self.target.markers, "extra": e}) for e in extras):
                        continue
                except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
                    continue
            if candidate.extras and req.marker is None:
                continue  # the base candidate brings these
            deps.append(Req.from_requirement(req, "dependency"))
        return deps, False

    def _invalid(self, candidate: Candidate, detail: str) -> Req:
        return Req(INVALID, frozenset({f"{candidate.name}-{candidate.version}"}), SpecifierSet(), "invalid", detail)

    def _rules_for(self, candidate: Candidate) -> list[Req]:
        found = []
        for rule in self.rules:
            if not rule.applies_to(candidate.name, candidate.version):
                continue
            if rule.require is not None:
                req = Req.from_requirement(rule.requirement_for(candidate.version), "knowledge")
                found.append(dataclasses.replace(req, rule=rule))
            elif rule.forbid is not None:
                forbidden = canonicalize_name(rule.forbid)
                found.append(Req(forbidden, frozenset(), SpecifierSet(), "knowledge", f"no {forbidden}", forbid=True, rule=rule))
        return found

    def _hopeless(self, deps: Sequence[Req]) -> bool:
        """Whether some dependency has no usable version here, whatever else is pinned.

        Such a candidate can never be part of a solution; remembering it spares
        resolvelib from trying it again after each backtrack (pip's long
        "backtracking" runs are mostly this).  Every such dependency is
        recorded, not only the first, so that explanations name them all.
        """
        hopeless = False
        real = [d for d in deps if not d.narrows_only]
        # Pages are fetched in parallel and looked at as they arrive, so that each one's first
        # candidate has its metadata requested at once, not after a slower page before it ...
        on_index = [d for d in real if not d.name.startswith("<")]
        arriving: dict[concurrent.futures.Future[Any], list[Req]] = {}
        for future, dep in zip(self.index.page_futures(d.name for d in on_index), on_index):
            arriving.setdefault(future, []).append(dep)
        for future in concurrent.futures.as_completed(arriving):
            for dep in arriving[future]:
                if future.exception() is None:
                    self._found(dep.key, [dep], frozenset())
        # ... then recorded in their own order, so that explanations do not depend on timing.
        for dep in real:
            found = self.find_matches(dep.key, {dep.key: iter([dep])}, {dep.key: iter(())})
            if callable(found):
                found = list(itertools.islice(found(), 1))
            if not found:
                hopeless = True
        return hopeless


def root_requirements(requested: Sequence[SourcedRequirement], target: Target) -> list[Req]:
    """The asked-for requirements whose markers hold on *target*."""
    roots = []
    for entry in requested:
        marker = entry.requirement.marker
        if marker is not None:
            try:
                if not marker.evaluate({**target.markers, "extra": ""}):
                    continue
            except (UndefinedComparison, UndefinedEnvironmentName):
                continue
        roots.append(Req.from_requirement(entry.requirement, "root", source=entry.where))
    return roots


def resolve(
    index: PackageIndex,
    target: Target,
    requested: Sequence[Req],
    *,
    constraints: Sequence[Req] = (),
    rules: Sequence[Constraint] = (),
    allow_sdists: bool = False,
    max_rounds: int = 2000,
    shared: Shared | None = None,
) -> Outcome:
    """Resolve *requested* for *target*: a :class:`Resolution` or a :class:`Failure`."""
    provider = TargetProvider(
        index, target, allow_sdists=allow_sdists, constraints=constraints, rules=rules,
        roots=[r.key for r in requested], shared=shared,
    )
    resolver: Resolver[Req, Candidate, str] = Resolver(provider, BaseReporter())
    try:
        result = resolver.resolve(requested, max_rounds=max_rounds)
    except ResolutionImpossible as exc:
        causes = [(info.requirement, info.parent) for info in exc.causes]
        return Failure(target, causes, provider)
    except ResolutionTooDeep:
        return Failure(target, [], provider, too_deep=True)
    pins: dict[str, Candidate] = {}
    for candidate in result.mapping.values():
        # name[extra] is pinned to the same version as name: one pin per project
        if not candidate.absent and not candidate.name.startswith("<") and candidate.name not in pins:
            pins[candidate.name] = dataclasses.replace(candidate, extras=frozenset())
    applied = []
    for rule in provider.rules:
        hit = rule.id in provider.rule_hits
        trigger = pins.get(canonicalize_name(rule.when.name))
        subject = pins.get(rule.subject)
        shaping = trigger is not None and subject is not None and rule.when.specifier.contains(trigger.version, prereleases=True)
        if hit or shaping:
            applied.append(rule)
    return Resolution(target, dict(sorted(pins.items())), sorted(provider.unknown_deps & set(pins)), applied)

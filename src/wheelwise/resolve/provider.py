"""The provider nab-resolver (PubGrub) asks: versions, dependencies, priorities.

Packages are strings: a project's canonical name, ``name[extra]`` for a
project with extras (it depends on ``name`` at the same version, plus the
extra's requirements), :data:`~.model.PYTHON` for the target's Python and
:data:`~.model.INVALID`-prefixed names for unreadable metadata.  Versions are
:class:`~packaging.version.Version`; ranges are
:class:`~packaging.ranges.VersionRange` built from specifier sets.

Knowledge rules are clauses the provider hands the resolver when it chooses a
version a rule is about: ``{plugin 1.0, core >= 3}`` says the two cannot be
installed together, and, like a ``-c`` constraint, forces nothing to be
installed.

A version whose dependencies the partial solution already rules out is passed
over with its dependency clause (:meth:`Provider._look_ahead`), not decided and
undone by a backjump that takes every later decision with it: on real ML graphs
(grpcio-status down to the one that fits tensorflow's protobuf) that is the
difference between thousands of decisions and a few hundred.

Nothing here records "why" as prose: the resolver's derivation is read by
:mod:`.derivation`, with the side tables kept here (which requirement each
dependency came from, which rule each clause stands for).
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from nab_resolver.resolver import BaseProvider
from nab_resolver.types import Incompatibility, IncompatibilityCause, RangeProtocol, Term
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..index.simple import DistFile
from ..knowledge import Constraint
from ..target import Target
from .dependencies import Dependencies
from .finder import Finder, Miss
from .model import INVALID, PYTHON, Candidate, Req
from .prefetch import BELOW_AHEAD, READ_AHEAD_MAX, Prefetcher
from .ranges import Versions, to_range

__all__ = ["WIDEN_MAX", "Provider", "split_key", "to_range"]

#: neighbouring versions compared on each side when widening a decision (read at once)
WIDEN_MAX = 16

Range = RangeProtocol[Version]


def split_key(key: str) -> tuple[str, frozenset[str]]:
    """``name[a,b]`` → (``name``, {``a``, ``b``})."""
    name, _, rest = key.partition("[")
    return name, frozenset(rest.rstrip("]").split(",")) if rest else frozenset()


def _ranges(found: Dependencies) -> dict[str, Range]:
    """Dependencies as the resolver takes them: one range per package (requirements on one
    package intersected)."""
    ranges: dict[str, Range] = {}
    for dep in found.requires:
        r = to_range(dep.specifier)
        ranges[dep.key] = ranges[dep.key] & r if dep.key in ranges else r
    return ranges


class Provider(BaseProvider[str, Version]):
    """Answers the resolver for one resolution on one target (not shared between resolutions)."""

    def __init__(
        self,
        target: Target,
        finder: Finder,
        dependencies: Callable[[Candidate], Dependencies],
        prefetcher: Prefetcher,
        rules: tuple[Constraint, ...] = (),
    ) -> None:
        self.target = target
        self.finder = finder
        self.dependencies = dependencies
        self.prefetcher = prefetcher
        self.rules = rules
        self._python = Version(f"{target.python_str}.0")
        #: projects whose versions trigger a rule: deciding them first lets the rule narrow the others
        self._triggers = {canonicalize_name(rule.when.name) for rule in rules}
        self.candidates: dict[tuple[str, Version], Candidate] = {}
        #: (package, version) → the requirement behind each of its dependencies
        self.edges: dict[tuple[str, Version], dict[str, Req]] = {}
        #: versions pinned with == somewhere (their yanked files are usable, PEP 592)
        self.pinned: dict[str, set[Version]] = {}
        #: projects some requirement names a pre-release of
        self.prereleases: set[str] = set()
        #: the range the request and the constraints state for a project (see _fallback)
        self.stated: dict[str, Versions] = {}
        #: (project, stated range) → whether pip would fall back to its pre-releases there
        self._fallbacks: dict[tuple[str, Versions], bool] = {}
        self._decisions: Mapping[str, Version] = {}
        #: id of a knowledge clause → its rule (the clause object is kept alive by the resolver)
        self.rule_clauses: dict[int, Constraint] = {}
        self._emitted: set[tuple[str, str, Version]] = set()
        self._pending: list[Incompatibility[str, Version]] = []
        self._taken: dict[str, Version] = {}
        self._refused: dict[str, int] = {}
        self._has: dict[tuple[str, Range], bool] = {}
        self._widened: dict[tuple[str, Version], Range | None] = {}
        self._range_memo: dict[int, tuple[Dependencies, dict[str, Range]]] = {}
        self._noted: set[tuple[str, Version]] = set()
        self._hint: Mapping[str, Range] | None = None
        self.unknown: set[str] = set()
        self.missing_extras: dict[str, tuple[str, ...]] = {}

    # -- what requirements say about selection ---------------------------

    def state(self, req: Req) -> None:
        """A root requirement or a constraint: part of the range pip's specifier for the project
        holds whatever is decided."""
        self.stated[req.name] = self.stated.get(req.name, Versions.full()) & to_range(req.specifier)

    def note(self, req: Req) -> None:
        """Remember what a requirement says beyond its range: ``==`` pins, pre-release opt-in."""
        for spec in req.specifier:
            if spec.operator in ("==", "===") and "*" not in spec.version:
                try:
                    self.pinned.setdefault(req.name, set()).add(Version(spec.version))
                except ValueError:
                    continue
        if req.specifier.prereleases:
            self.prereleases.add(req.name)

    # -- versions --------------------------------------------------------

    def _usable(self, package: str, version_range: Range) -> Iterator[tuple[Version, DistFile]]:
        name, _extras = split_key(package)
        explicit = name in self.prereleases
        for version, file in self.finder.choose(name, version_range, pinned=self.pinned.get(name, ()), prereleases=explicit):
            # without an opt-in, the finder yields pre-releases only after every usable final
            if version.is_prerelease and not explicit and not self._fallback(name):
                return
            yield version, file

    def _fallback(self, name: str) -> bool:
        """Whether pip would take a pre-release of *name*, no requirement naming one: only when
        no final release in the range its requirements state has a usable file here (pip
        filters incompatible files first, then the specifier's pre-release rule applies).

        The range is what the request, the constraints and the decided versions' dependencies
        say of *name*; not the resolver's, which also excludes the final releases it has
        refuted since.  pip's specifier stays as written when a final release fails on its
        dependencies, so pip never falls back to the pre-releases for that: a project whose
        final releases all conflict here is not walked through its nightly builds.
        """
        stated = self.stated.get(name, Versions.full())
        for package, version in self._decisions.items():
            candidate = self.candidates.get((package, version))
            if candidate is None:
                continue
            for dep, wanted in self._ranges(self.dependencies(candidate)).items():
                if dep == name or dep.startswith(f"{name}["):
                    stated = stated & wanted
        key = (name, stated)
        found = self._fallbacks.get(key)
        if found is None:
            found = self._fallbacks[key] = not self._final_installs(name, stated)
        return found

    def _final_installs(self, name: str, stated: Range) -> bool:
        """Whether a final release in *stated* has a file pip could install here: a wheel, or an
        sdist pip would build (a wheels-only resolution does not take it, but pip's pre-release
        rule counts it: a new CPython's release candidate wheel does not win over the last
        final release's sdist)."""
        pinned = self.pinned.get(name, ())
        for version in self.finder.within(name, stated):
            if version.is_prerelease:
                continue
            picked = self.finder.pick(name, version, pinned=version in pinned)
            if not isinstance(picked, Miss) or (name, version) in self.finder.sdist_instead:
                return True
        return False

    def receive_partial_solution_hint(
        self, positive_ranges: Mapping[str, Range], decisions: Mapping[str, Version],
    ) -> None:
        self._hint = positive_ranges
        self._decisions = decisions

    def choose_version(self, package: str, version_range: Range) -> Version | None:
        if package == PYTHON:
            return self._python if self._python in version_range else None
        if package.startswith(INVALID):
            return None
        name, extras = split_key(package)
        usable = self._usable(package, version_range)
        first = self._look_ahead(package, name, extras, usable)
        if first is None:
            return None
        version, file = first
        candidate = Candidate(name, version, extras, file)
        self.candidates[(package, version)] = candidate
        before = self._taken.get(package)
        self._taken[package] = version
        if before is not None and version < before:
            # an older version than last time: the resolver refused that one, and will likely
            # want the next ones soon (more the longer it goes on)
            refused = self._refused[package] = self._refused.get(package, 0) + 1
            ahead = [Candidate(name, v, extras, f) for v, f in itertools.islice(usable, min(READ_AHEAD_MAX, 3 * refused))]
            self.prefetcher.versions(name, ahead)
        self.prefetcher.chosen(candidate)
        if not extras:
            self._rule_clauses(package, version)
        return version

    def _look_ahead(
        self, package: str, name: str, extras: frozenset[str], usable: Iterator[tuple[Version, DistFile]],
    ) -> tuple[Version, DistFile] | None:
        """The newest usable version whose dependencies the partial solution can still meet.

        A version with a dependency outside what the resolver already holds for that project
        would be decided only to be undone by a backjump (every decision since the one it
        conflicts with goes with it); it is passed over here instead, and its dependency
        clause handed to the resolver as it stands, so the proof holds the same facts.
        Versions passed over for one project are one clause: each requires it within its own
        range, so together they require it within the union of theirs.
        """
        hint = self._hint
        passed: dict[str, tuple[list[Version], Range]] = {}
        buffered: collections.deque[tuple[Version, DistFile]] = collections.deque()
        skipped = 0
        found = None
        while True:
            if skipped:  # going down this project's versions: keep the next ones being read
                wanted = min(READ_AHEAD_MAX, 2 + 2 * skipped) - len(buffered)
                more = list(itertools.islice(usable, wanted)) if wanted > 0 else []
                if more:
                    buffered.extend(more)
                    self.prefetcher.versions(name, [Candidate(name, v, extras, f) for v, f in more])
            if buffered:
                version, file = buffered.popleft()
            else:
                item = next(usable, None)
                if item is None:
                    break
                version, file = item
            candidate = Candidate(name, version, extras, file)
            conflict = self._conflict(package, candidate, hint)
            if conflict is None:
                found = (version, file)
                break
            skipped += 1
            other, needed = conflict
            if other in passed:
                versions, union = passed[other]
                passed[other] = ([*versions, version], union | needed)
            else:
                passed[other] = ([version], needed)
        if found is None and skipped:
            # every version in range conflicts: the resolver will likely ask for the next older
            # ones soon (a dependent walking down takes this project's range down with it)
            oldest = min(v for versions, _ in passed.values() for v in versions)
            below = (item for item in self._usable(package, Versions.full()) if item[0] < oldest)
            self.prefetcher.versions(name, [Candidate(name, v, extras, f) for v, f in itertools.islice(below, BELOW_AHEAD)])
        for other, (versions, union) in passed.items():
            held = Versions.empty()
            for version in versions:
                held = held | Versions.singleton(version)
            self._pending.append(Incompatibility(
                [Term(package, held), Term(other, union, positive=False)], cause=IncompatibilityCause.DEPENDENCY,
            ))
        return found

    def _conflict(self, package: str, candidate: Candidate, hint: Mapping[str, Range] | None) -> tuple[str, Range] | None:
        """A dependency of *candidate* (and its range) that the partial solution already rules out."""
        if not hint:
            return None
        found = self.dependencies(candidate)
        if found.unknown or found.problem:
            return None
        for other, wanted in self._ranges(found).items():
            held = hint.get(other)
            if other != package and held is not None and held.is_disjoint(wanted):
                self._record(package, candidate.version, found)
                return other, wanted
        return None

    def has_satisfying_version(self, package: str, version_range: Range) -> bool:
        if package == PYTHON:
            return self._python in version_range
        if package.startswith(INVALID):
            return False
        key = (package, version_range)
        found = self._has.get(key)
        if found is None:
            found = self._has[key] = next(self._usable(package, version_range), None) is not None
        return found

    def _rule_clauses(self, package: str, version: Version) -> None:
        for rule in self.rules:
            if not rule.applies_to(package, version) or (rule.id, package, version) in self._emitted:
                continue
            self._emitted.add((rule.id, package, version))
            exclusion = rule.exclusion(version)
            if exclusion is None:  # a rule resolution leaves alone (check filters them out before)
                continue
            other = exclusion.project
            bad = Versions.full() if exclusion.allowed is None else ~to_range(exclusion.allowed)
            clause: Incompatibility[str, Version] = Incompatibility(
                [Term(package, Versions.singleton(version)), Term(other, bad)],
                cause=IncompatibilityCause.DEPENDENCY,
            )
            self.rule_clauses[id(clause)] = rule
            self._pending.append(clause)

    def consume_pending_clauses(self) -> list[Incompatibility[str, Version]]:
        pending, self._pending = self._pending, []
        return pending

    # -- dependencies ----------------------------------------------------

    def get_dependencies(self, package: str, version: Version) -> Mapping[str, Range]:
        candidate = self.candidates.get((package, version))
        if candidate is None:
            return {}
        found = self.dependencies(candidate)
        if found.unknown:
            self.unknown.add(candidate.name)
        if found.missing_extra:
            self.missing_extras[package] = found.missing_extra
        if (package, version) in self._noted:  # asked again after a backjump: recorded already
            return self._ranges(found)
        self._noted.add((package, version))
        self._record(package, version, found)
        for dep in found.requires:
            self.note(dep)
        self.prefetcher.pages([d.name for d in found.requires if not d.name.startswith("<")])
        return self._ranges(found)

    def _record(self, package: str, version: Version, found: Dependencies) -> None:
        """The requirement behind each dependency of *version* (for the derivation's chains)."""
        if (package, version) in self.edges:
            return
        edges = self.edges.setdefault((package, version), {})
        for dep in found.requires:
            key = dep.key
            if key in edges:
                joined = f"{edges[key].text},{dep.specifier}" if str(dep.specifier) else edges[key].text
                edges[key] = Req(dep.name, dep.extras, edges[key].specifier & dep.specifier, dep.kind, joined)
            else:
                edges[key] = dep

    def widen_decision(self, package: str, version: Version) -> Range | None:
        """The run of neighbouring versions whose dependencies are the same, so that one clause
        stands for all of them rather than one hole per version.

        Only for a project the resolver has refused a version of (it is going down its versions).
        Bounded by the nearest versions that differ, exclusive: every version between those two
        that the index lists was compared, so every version the widened range holds that could
        be chosen has exactly these dependencies.  Neighbours' metadata is read in parallel before
        the walk; the answer depends only on the index, never on what arrived first.
        """
        key = (package, version)
        if key in self._widened:
            return self._widened[key]
        candidate = self.candidates.get(key)
        if candidate is None or package not in self._refused:
            # only where the resolver goes down a project's versions one by one: elsewhere a
            # decision stands alone, and reading its neighbours would cost more than it saves
            return None
        found = self.dependencies(candidate)
        if found.unknown or found.problem:
            return None  # what it depends on is not known: nothing to stand for others
        here = self._ranges(found)
        name, extras = split_key(package)
        versions = list(self.finder.files(name))
        at = versions.index(version)
        # pre-releases bound the run unless this project takes them: one is never chosen then, and
        # reading it would cost a request; left inside unread, a later fall-back to it would be wrong
        finals = not version.is_prerelease and name not in self.prereleases
        newer = self._walk(name, extras, here, versions[max(0, at - WIDEN_MAX):at][::-1], finals)
        older = self._walk(name, extras, here, versions[at + 1:at + 1 + WIDEN_MAX], finals)
        widened: Range | None = None
        if newer or older:
            first, last = at - newer, at + older  # the run, newest to oldest
            above = f"<{versions[first - 1]}" if first > 0 else ""
            below = f">{versions[last + 1]}" if last + 1 < len(versions) else ""
            widened = to_range(SpecifierSet(",".join(b for b in (below, above) if b)))
            widened = widened if version in widened else None
        self._widened[key] = widened
        return widened

    def _walk(self, name: str, extras: frozenset[str], deps: dict[str, Range], versions: list[Version], finals: bool) -> int:
        """How many of *versions* (nearest first) have *deps* too, before the first that differs
        (or, with *finals*, the first pre-release)."""
        if finals:
            versions = list(itertools.takewhile(lambda v: not v.is_prerelease, versions))
        pinned = self.pinned.get(name, ())
        files = [self.finder.pick(name, v, pinned=v in pinned) for v in versions]
        # read them all in parallel: the walk below then waits about one round trip
        self.prefetcher.versions(name, [Candidate(name, v, extras, f) for v, f in zip(versions, files, strict=True)
                                        if not isinstance(f, Miss)])
        for i, (version, picked) in enumerate(zip(versions, files, strict=True)):
            if isinstance(picked, Miss):
                continue  # never chosen here: harmless inside the range
            known = self.dependencies(Candidate(name, version, extras, picked))
            if known.unknown or known.problem or self._ranges(known) != deps:
                return i
        return len(versions)

    def _ranges(self, found: Dependencies) -> dict[str, Range]:
        memo = self._range_memo.get(id(found))
        if memo is None:
            memo = self._range_memo[id(found)] = (found, _ranges(found))  # keeps *found* alive
        return memo[1]

    # -- order -----------------------------------------------------------

    def prioritize(
        self,
        package: str,
        version_range: Range,
        conflict_counts: Mapping[str, int],
        culprit_counts: Mapping[str, int] | None = None,
    ) -> Any:
        """Virtual projects first (they decide at once), then projects with no usable version
        in range (fail fast: the failure is the answer), then those that conflicted most, then
        rule triggers (with tensorflow-metal decided, "tensorflow<2.20" applies before any
        tensorflow is tried), then the rest in the order the resolver met them.

        Nothing here depends on timing (which page arrived first), so the same question gets
        the same search and the same answer every time: a page not here yet is waited for
        (it is being read in parallel with the others since its parent's dependencies were).
        """
        if package.startswith("<"):
            return (0,)
        name, _ = split_key(package)
        versions = self.finder.files(name)
        if not self.has_satisfying_version(package, version_range):
            return (1,)
        trigger = len(versions) if name in self._triggers else 1 << 30
        return (2, -conflict_counts.get(package, 0), trigger)

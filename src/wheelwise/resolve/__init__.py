"""Resolution for one target: pins as pip would choose them there, or the proof that none exist.

nab-resolver (PubGrub) does the search behind a thin seam: :class:`.provider.Provider`
answers it for a :class:`~wheelwise.target.Target` with pip's selection rules
(:mod:`.finder`), dependencies read in the target's environment
(:mod:`.dependencies`) and reading ahead of it (:mod:`.prefetch`).  A failure's
root causes come from the resolver's derivation (:mod:`.derivation`), not from
resolving again.  What leaves this package is frozen data
(:class:`~.model.Resolution`, :class:`~.model.Failure`).

:class:`Shared` holds the memos that outlive one resolution (a check run asks
many): pages by project; per target, the dependencies read (by file) and the
read-ahead; per target and sdist mode, the files chosen.  Each memo is keyed by
everything its entries depend on; constraints and knowledge rules shape only
per-resolution state, so no memo depends on them.

The search is the same every time for the same question: nothing the provider
answers depends on which fetch finished first (see :mod:`.provider`).

Importing this package is cheap: the engine, the finder and the index client are
imported when a resolution is set up, so that a check answered from its memo
(:mod:`wheelwise.check.memo`) never loads them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..index.simple import DistFile
from ..knowledge import Constraint
from ..requirements import SourcedRequirement
from ..selection import DEFAULT_SELECTION, Selection
from ..target import Target
from .model import (
    DEFAULT_MAX_ROUNDS,
    INVALID,
    PYTHON,
    Candidate,
    Failure,
    Held,
    Limit,
    Outcome,
    Req,
    Resolution,
    RootCause,
    Sdists,
    package_key,
    parse_requirement,
)

if TYPE_CHECKING:
    from ..index import PackageIndex
    from .dependencies import Dependencies
    from .finder import Files, Finder, Miss
    from .provider import Provider
    from .ranges import Versions

__all__ = [
    "DEFAULT_MAX_ROUNDS",
    "INVALID",
    "PYTHON",
    "Candidate",
    "Failure",
    "Finder",
    "Held",
    "Limit",
    "Miss",
    "Outcome",
    "Req",
    "Resolution",
    "RootCause",
    "Sdists",
    "Shared",
    "package_key",
    "parse_requirement",
    "resolve",
    "root_requirements",
]



def __getattr__(name: str) -> Any:
    """``Finder`` and ``Miss``, imported when first asked for (see the module's docstring)."""
    if name in ("Finder", "Miss"):
        from . import finder

        return getattr(finder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Target:
    """What is the same for one target whatever is built from sdists: the dependencies read
    (keyed by the file they come from) and the read-ahead (one budget per target)."""

    def __init__(self, index: PackageIndex, files: Files, target: Target, selection: Selection, budget: int) -> None:
        from .finder import Finder
        from .prefetch import Prefetcher

        self.index = index
        self.target = target
        self.selection = selection
        self._deps: dict[tuple[str, Version, str], Dependencies] = {}
        self.prefetcher = Prefetcher(
            index, Finder(files, target, allow_sdists=False, selection=selection), self.dependencies, budget,
        )

    def dependencies(self, candidate: Candidate) -> Dependencies:
        key = (candidate.key, candidate.version, candidate.file.url if candidate.file else "")
        found = self._deps.get(key)
        if found is None:
            from .dependencies import read_dependencies

            found = self._deps.setdefault(key, read_dependencies(self.index, self.target, candidate))
        return found


class _PerTarget:
    """The memos for one target and sdist mode: the files chosen; the rest is the target's."""

    def __init__(self, files: Files, shared: _Target, allow_sdists: Sdists) -> None:
        from .finder import Finder

        self.finder = Finder(files, shared.target, allow_sdists=allow_sdists, selection=shared.selection)
        self.dependencies = shared.dependencies
        self.prefetcher = shared.prefetcher


class Shared:
    """Memos that outlive one resolution (one per check run, any number of targets).

    Threads may share it: at worst two compute the same entry.  The user's
    :class:`~wheelwise.selection.Selection` is fixed for its life, so every memo holds for it.
    """

    def __init__(self, index: PackageIndex, selection: Selection = DEFAULT_SELECTION) -> None:
        from .finder import Files

        self.index = index
        self.selection = selection
        self.files = Files(index)
        self._per: dict[tuple[Target, Sdists], _PerTarget] = {}
        self._targets: dict[Target, _Target] = {}
        self._lock = threading.Lock()
        #: the targets asked about; others (nearest working looks at them) read less ahead, as
        #: several of them resolve at once and share what the index serves
        self.asked: frozenset[Target] | None = None

    def per(self, target: Target, allow_sdists: Sdists) -> _PerTarget:
        key = (target, allow_sdists)
        with self._lock:
            found = self._per.get(key)
            if found is None:
                common = self._targets.get(target)
                if common is None:
                    from .prefetch import SPECULATE_MAX

                    budget = SPECULATE_MAX if self.asked is None or target in self.asked else SPECULATE_MAX // 4
                    common = self._targets[target] = _Target(self.index, self.files, target, self.selection, budget)
                found = self._per[key] = _PerTarget(self.files, common, allow_sdists)
        return found

    def finder(self, target: Target, allow_sdists: Sdists) -> Finder:
        return self.per(target, allow_sdists).finder

    def sdists_needed(self, target: Target, failure: Failure) -> frozenset[str]:
        """Projects the failure's proof passed over a version of for want of a wheel, where an
        sdist would do.

        Allowing sdists for other projects changes no fact the proof rests on: their versions
        were usable or not regardless.  A version skipped for want of a wheel lies in one of
        the ranges the proof found nothing usable in whenever the proof depends on it.
        """
        skipped = self.finder(target, failure.allow_sdists).sdist_instead
        if failure.limit is not None:
            return frozenset(name for name, _ in skipped)
        return frozenset(
            name for name, versions in failure.missing
            if any((name, v) in skipped for v in self.files(name) if v in versions)
        )


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
    shared: Shared,
    target: Target,
    requested: Sequence[Req],
    *,
    constraints: Sequence[Req] = (),
    rules: Sequence[Constraint] = (),
    allow_sdists: Sdists = False,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
) -> Outcome:
    """Resolve *requested* for *target*: a :class:`Resolution` or a :class:`Failure`."""
    from nab_resolver.errors import ResolutionError, ResolutionTerminatedError
    from nab_resolver.resolver import Resolver
    from nab_resolver.types import RootRequirement

    from .derivation import root_causes
    from .provider import Provider
    from .ranges import Versions, to_range

    per = shared.per(target, allow_sdists)
    provider = Provider(target, per.finder, per.dependencies, per.prefetcher, tuple(rules))
    roots: dict[str, Req] = {}
    requirements = []
    for req in requested:
        provider.note(req)
        provider.state(req)
        roots.setdefault(req.key, req)
        requirements.append(RootRequirement(req.key, to_range(req.specifier), origin=req))
    limits: dict[str, Versions] = {}
    for c in constraints:
        provider.note(c)
        provider.state(c)
        limits[c.key] = limits[c.key] & to_range(c.specifier) if c.key in limits else to_range(c.specifier)
    per.prefetcher.pages([r.name for r in requested])
    resolver: Resolver[str, Version] = Resolver(
        provider, max_iterations=max_rounds, range_type=Versions, root_version=Version("0"),
    )
    try:
        solution = resolver.solve(requirements, limits)
    except ResolutionTerminatedError:
        counts = resolver.stats.package_conflict_counts
        busy = tuple(sorted(counts, key=lambda p: -counts[p])[:5])
        return Failure(target, limit=Limit(max_rounds, busy), allow_sdists=allow_sdists)
    except ResolutionError as exc:
        if exc.incompatibility is None:
            return Failure(target, limit=Limit(max_rounds, ()), allow_sdists=allow_sdists)
        causes, involved, missing = root_causes(provider, exc.incompatibility, roots)
        applied = tuple(c.rule for c in causes if c.rule is not None)
        return Failure(target, causes, involved, applied=tuple(dict.fromkeys(applied)), missing=missing,
                       allow_sdists=allow_sdists)
    return _resolution(provider, target, solution.pins, requested, constraints)


def _resolution(
    provider: Provider, target: Target, decided: dict[str, Version], requested: Sequence[Req], constraints: Sequence[Req],
) -> Resolution:
    pins: dict[str, Candidate] = {}
    warnings = []
    for package, version in decided.items():
        if package.startswith("<"):
            continue
        candidate = provider.candidates[(package, version)]
        if not candidate.extras:
            pins[candidate.name] = candidate
        missing = provider.missing_extras.get(package)
        if missing:
            for extra in missing:
                warnings.append(f"{candidate.name} {version} does not provide the extra '{extra}'")
    applied = []
    for rule in provider.rules:
        trigger = pins.get(canonicalize_name(rule.when.name))
        if trigger is None or not rule.applies_to(trigger.name, trigger.version):
            continue
        if rule.subject in pins or any(rule.subject in edges for edges in provider.edges.values()):
            applied.append(rule)
    wanted = _wanted(provider, pins, requested)
    newer = _newer_sdists(provider, pins, wanted)
    held = _held(provider, pins, wanted, constraints)
    unknown = tuple(sorted(provider.unknown & set(pins)))
    return Resolution(target, dict(sorted(pins.items())), unknown, tuple(applied), tuple(warnings), newer, held)


def _wanted(provider: Provider, pins: dict[str, Candidate], requested: Sequence[Req]) -> dict[str, Versions]:
    """The range each pin's project is required in, by the request and the pins' dependencies."""
    from .ranges import to_range

    wanted: dict[str, Versions] = {}

    def need(name: str, specifier: SpecifierSet) -> None:
        wanted[name] = wanted[name] & to_range(specifier) if name in wanted else to_range(specifier)

    for req in requested:
        need(req.name, req.specifier)
    for (package, version), edges in provider.edges.items():
        if pins.get(split := package.partition("[")[0]) is None or pins[split].version != version:
            continue
        for key, req in edges.items():
            need(key.partition("[")[0], req.specifier)
    return wanted


def _held(
    provider: Provider, pins: dict[str, Candidate], wanted: dict[str, Versions], constraints: Sequence[Req],
) -> tuple[Held, ...]:
    """Pins a constraint keeps below the newest release that has a file here and is in range.

    Only the constraint is named: the newer release's own dependencies are not resolved, so
    this says what the constraint excludes, not that the newer release would install.
    """
    from .ranges import Versions, to_range

    found = []
    for constraint in constraints:
        pin = pins.get(constraint.name)
        if pin is None:
            continue
        allowed = wanted.get(constraint.name, Versions.full())
        held_by = to_range(constraint.specifier)
        for version in provider.finder.files(constraint.name):
            if version <= pin.version:
                break
            if (version.is_prerelease and not pin.version.is_prerelease) or version not in allowed or version in held_by:
                continue
            if isinstance(provider.finder.pick(constraint.name, version), DistFile):
                found.append(Held(pin.name, str(pin.version), str(version), constraint.text, constraint.source))
                break
    return tuple(found)


def _newer_sdists(
    provider: Provider, pins: dict[str, Candidate], wanted: dict[str, Versions],
) -> tuple[tuple[str, str], ...]:
    """Releases newer than a wheel pin, in its requirements' range, that only have an sdist here
    (and were passed over for it: projects this resolution could build are not among them).

    Plain pip takes the newest version and builds it; with ``--prefer-binary`` it takes the
    newest wheel, as these pins do, so there is nothing to say.
    """
    if provider.finder.selection.prefer_binary:
        return ()
    from .ranges import Versions

    found = []
    for name, pin in pins.items():
        if pin.file is None or not pin.file.is_wheel:
            continue
        allowed = wanted.get(name, Versions.full())
        for version in provider.finder.files(name):
            if version <= pin.version:
                break
            if version.is_prerelease or version not in allowed:
                continue
            if (name, version) in provider.finder.sdist_instead:
                found.append((name, str(version)))
                break
    return tuple(found)

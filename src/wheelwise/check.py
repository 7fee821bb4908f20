"""Will these requirements install on these targets, and if not, why and where would they.

The library half of ``wheelwise check``.  For each cell (a target and a
Python) it resolves wheels only; if that fails, with sdists allowed; if that
fails too, it explains: for each requested project and its newest few
usable versions, which dependency blocks it, the reason, the chain from the
request down to it, and what that dependency does have files for.  Then it
looks for the nearest cells (other Pythons, other standard targets) where the
same requirements do install.  Every cell shares one :class:`PackageIndex`,
so each page and each metadata file is fetched once per run.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Sequence
from typing import Any

from packaging.requirements import InvalidRequirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from .compat import (
    Compatible,
    Incompatible,
    Reason,
    availability,
    requires_python_ok,
    wheel_verdict,
)
from .index import PackageIndex
from .index.simple import DistFile
from .knowledge import Constraint
from .requirements import SourcedRequirement
from .resolve import (
    INVALID,
    PYTHON,
    Candidate,
    Empty,
    Failure,
    Req,
    Resolution,
    Shared,
    TargetProvider,
    Why,
    parse_requirement,
    resolve,
    root_requirements,
)
from .target import PRESETS, SUPPORTED_PYTHONS, Target

__all__ = ["Blocker", "BuildItem", "Cell", "CheckReport", "check"]

#: Newest usable versions of each requested project that are explained.
NEWEST = 3
#: Pythons looked at for "nearest working" (older ones are end of life, and said so).
NEAREST_PYTHONS = tuple((3, m) for m in range(8, SUPPORTED_PYTHONS[-1][1] + 1))
#: cells resolved at most while looking for nearest working ones, and how many are reported
MAX_NEAREST = 8
NEAREST_SHOWN = 3


@dataclasses.dataclass(frozen=True)
class Blocker:
    """A root cause: *project* cannot be installed to satisfy *requirement*.

    :param reason: a :class:`~wheelwise.resolve.Why` value, or ``not-found``,
        ``no-version`` (no release in the range), ``conflict``, ``forbidden``
        (a knowledge rule) or ``requires-python``.
    :param chain: from the requested project down to the blocker, e.g.
        ``("tflite-model-maker 0.4.3", "tflite-support>=0.4.2")``.
    :param available: what the project has files for, in words.
    :param versions: versions of the requested project that this blocks.
    """

    project: str
    reason: str
    requirement: str
    chain: tuple[str, ...]
    available: str
    versions: tuple[str, ...] = ()
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"chain": list(self.chain), "versions": list(self.versions)}


@dataclasses.dataclass(frozen=True)
class BuildItem:
    """An sdist the cell needs built; *native* tells C/C++/Rust/... sources from pure Python."""

    name: str
    version: str
    filename: str
    native: bool | None
    dependencies_known: bool

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Cell:
    """The answer for one target and Python."""

    target: Target
    verdict: str  #: ``ok``, ``build``, ``blocked`` or ``unknown`` (resolution too deep)
    pins: dict[str, Candidate] = dataclasses.field(default_factory=dict)
    build: list[BuildItem] = dataclasses.field(default_factory=list)
    blockers: list[Blocker] = dataclasses.field(default_factory=list)
    knowledge: list[Constraint] = dataclasses.field(default_factory=list)
    nearest: list[tuple[Target, str]] = dataclasses.field(default_factory=list)
    working_versions: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    #: requested projects not looked into, because another one has no usable release here at all
    not_examined: list[str] = dataclasses.field(default_factory=list)

    @property
    def installs(self) -> bool:
        return self.verdict in ("ok", "build")

    def to_dict(self) -> dict[str, Any]:
        return {
            **target_dict(self.target),
            "verdict": self.verdict,
            "pins": {name: str(c.version) for name, c in self.pins.items()},
            "files": {name: c.file.filename for name, c in self.pins.items() if c.file is not None},
            "needs_build": [b.to_dict() for b in self.build],
            "blockers": [b.to_dict() for b in self.blockers],
            "knowledge": [rule.to_dict() for rule in self.knowledge],
            "not_examined": list(self.not_examined),
            "nearest_working": [{**target_dict(t), "verdict": v} for t, v in self.nearest],
        }


def target_dict(target: Target) -> dict[str, Any]:
    version = None
    if target.os_version is not None:
        version = ".".join(map(str, target.os_version))
    return {"target": target.name, "os_version": version, "python": target.python_str, "label": target.label}


@dataclasses.dataclass
class CheckReport:
    requirements: list[SourcedRequirement]
    constraints: list[SourcedRequirement]
    cells: list[Cell]
    knowledge_used: bool
    #: whether blocked cells were searched for nearest working ones (``--no-nearest``: not)
    nearest_searched: bool = True

    @property
    def all_install(self) -> bool:
        return all(c.installs for c in self.cells)

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": "check",
            "requirements": [str(r) for r in self.requirements],
            "constraints": [str(c) for c in self.constraints],
            "knowledge": self.knowledge_used,
            "cells": [c.to_dict() for c in self.cells],
        }


class Checker:
    """Runs cells over one index; remembers outcomes so that "nearest working" reuses them."""

    def __init__(
        self,
        index: PackageIndex,
        requested: Sequence[SourcedRequirement],
        constraints: Sequence[SourcedRequirement] = (),
        rules: Sequence[Constraint] = (),
        *,
        max_rounds: int = 2000,
    ) -> None:
        self.index = index
        self.requested = list(requested)
        self.constraints = [Req.from_requirement(c.requirement, "constraint", c.where) for c in constraints]
        self.rules = list(rules)
        self.max_rounds = max_rounds
        self._verdicts: dict[Target, str] = {}
        self.shared = Shared()

    def _resolve(self, target: Target, roots: Sequence[Req], *, sdists: bool, rounds: int | None = None) -> Resolution | Failure:
        return resolve(
            self.index, target, roots, constraints=self.constraints, rules=self.rules,
            allow_sdists=sdists, max_rounds=rounds or self.max_rounds, shared=self.shared,
        )

    def _installing(self, target: Target, roots: Sequence[Req]) -> Resolution | Failure:
        """A resolution with wheels, else with sdists (when they could change anything)."""
        outcome = self._resolve(target, roots, sdists=False)
        if isinstance(outcome, Failure) and self.shared.sdists_could_help(target):
            outcome = self._resolve(target, roots, sdists=True)
        return outcome

    def verdict(self, target: Target, rounds: int | None = None) -> tuple[str, Resolution | Failure]:
        """``ok``/``build``/``blocked``/``unknown`` and the outcome behind it."""
        roots = root_requirements(self.requested, target)
        if not roots:
            return "ok", Resolution(target, {}, [], [])
        outcome = self._resolve(target, roots, sdists=False, rounds=rounds)
        if isinstance(outcome, Resolution):
            return "ok", outcome
        wheel_failure = outcome
        if not self.shared.sdists_could_help(target):
            return ("unknown" if outcome.too_deep else "blocked"), outcome
        outcome = self._resolve(target, roots, sdists=True, rounds=rounds)
        if isinstance(outcome, Resolution):
            return "build", outcome
        if outcome.too_deep or wheel_failure.too_deep:
            return "unknown", outcome
        return "blocked", outcome

    def cell(self, target: Target) -> Cell:
        verdict, outcome = self.verdict(target)
        self._verdicts[target] = verdict
        cell = Cell(target, verdict)
        if isinstance(outcome, Resolution):
            cell.pins = outcome.pins
            cell.knowledge = outcome.applied
            cell.build = [self._build_item(c, c.name in outcome.unknown_deps) for c in outcome.needs_build]
            return cell
        if verdict == "blocked":
            roots = root_requirements(self.requested, target)
            cell.blockers, cell.working_versions, cell.not_examined = self._explain(target, roots, outcome)
            cell.knowledge = [r for r in self.rules if r.id in outcome.provider.rule_hits]
        return cell

    def _build_item(self, candidate: Candidate, unknown: bool) -> BuildItem:
        assert candidate.file is not None
        native = self.index.native_sources(candidate.file)
        return BuildItem(candidate.name, str(candidate.version), candidate.file.filename, native, not unknown)

    # -- explanations -------------------------------------------------------

    def _explain(self, target: Target, roots: Sequence[Req], joint: Failure) -> tuple[list[Blocker], dict[str, list[str]], list[str]]:
        """Blockers; versions of requested projects that install alone; requested projects not examined.

        A requested project with no usable release here blocks the cell by itself: the others
        are then not resolved one by one (a whole resolution each) but named as not examined.
        """
        found: dict[tuple[str, str, str], Blocker] = {}
        working: dict[str, list[str]] = {}
        provider = joint.provider
        # the joint failure may come from a wheels-only resolution: judge versions with sdists allowed
        scratch = TargetProvider(self.index, target, allow_sdists=True, shared=self.shared)
        usable = {root.key: self._newest_usable(scratch, root) for root in roots}
        for root in roots:
            if not usable[root.key]:
                blocker = self._root_blocker(provider, root)
                found.setdefault((blocker.project, blocker.reason, blocker.requirement), blocker)
        if found:
            return list(found.values()), {}, [root.key for root in roots if usable[root.key]]
        for root in roots:
            versions = usable[root.key]
            if len(roots) > 1 and isinstance(self._installing(target, [root]), Resolution):
                working.setdefault(root.key, []).append("any")
                continue  # installs on its own: not a root cause by itself
            for version in versions:
                pinned = dataclasses.replace(root, specifier=SpecifierSet(f"=={version}"), text=f"{root.key}=={version}")
                outcome = self._installing(target, [pinned])
                if isinstance(outcome, Resolution):
                    working.setdefault(root.key, []).append(str(version))
                    continue
                label = f"{root.key} {version}"
                for blocker in self._blockers(outcome, pinned, label):
                    key = (blocker.project, blocker.reason, blocker.requirement)
                    old = found.get(key)
                    versions_seen = (old.versions if old else ()) + (str(version),)
                    found[key] = dataclasses.replace(old or blocker, versions=versions_seen)
        if not found:
            found = {("", "conflict", str(i)): b for i, b in enumerate(self._conflicts(joint))}
        else:
            working = {}  # each project has its own blocker: "works alone" says nothing more
        return list(found.values()), working, []

    def _range(self, root: Req) -> SpecifierSet:
        """What a requested project may be: its specifier and any -c constraints on it."""
        spec = root.specifier
        for c in self.constraints:
            if c.name == root.name:
                spec &= c.specifier
        return spec

    def _newest_usable(self, provider: TargetProvider, root: Req) -> list[Version]:
        by_version = provider.files(root.name)
        spec = self._range(root)
        usable = []
        pinned = {str(s.version) for s in spec if s.operator in ("==", "===")}
        for version in spec.filter(by_version):
            if not isinstance(provider.pick(root.name, version, by_version[version], str(version) in pinned), Why):
                usable.append(version)
            if len(usable) == NEWEST:
                break
        return usable

    def _root_blocker(self, provider: TargetProvider, root: Req) -> Blocker:
        by_version = provider.files(root.name)
        if not by_version:
            return Blocker(root.name, "not-found", root.text, (root.text,), "nothing: no index lists it")
        in_range = list(self._range(root).filter(by_version))
        files = [f for v in in_range for f in by_version[v]] or [f for fs in by_version.values() for f in fs]
        reason = target_reason(files, provider.target) if in_range else "no-version"
        return Blocker(root.name, reason, root.text, (root.text,), describe_files(files))

    def _blockers(self, failure: Failure, root: Req, label: str) -> list[Blocker]:
        provider = failure.provider
        hard = [e for e in provider.empties if e.cause in ("target", "not-found", "no-version", "python", "invalid", "forbidden")]
        direct = [e for e in hard if any(p is not None and p.key == root.key for p in e.parents)]
        if direct:
            return [self._from_empty(provider, e, label) for e in _unique(direct)]
        chosen: list[Empty] = []
        for requirement, parent in failure.causes:
            matches = [e for e in hard if e.key == requirement.key]
            if not matches:
                matches = [e for e in hard if any(p is not None and p.key == requirement.key for p in e.parents)]
            chosen += matches
        if chosen:
            return [self._from_empty(provider, e, label) for e in _unique(chosen)]
        if hard:
            return [self._from_empty(provider, e, label) for e in _unique(hard)]
        return self._conflicts(failure)

    def _from_empty(self, provider: TargetProvider, empty: Empty, label: str) -> Blocker:
        req = next((r for r, p in zip(empty.requirements, empty.parents) if p is not None), empty.requirements[0])
        parent = next((p for p in empty.parents if p is not None), None)
        chain = tuple(_chain(provider, parent, label)) + (req.text,)
        if empty.cause == "python":
            py = f"Python {provider.target.python_str}"
            return Blocker(parent.name if parent else "python", "requires-python", f"{parent} needs {req.text}" if parent else req.text,
                           chain[:-1] or chain, "", detail=f"{py} is outside Requires-Python {req.text[len('Python'):]}")
        if empty.cause == "invalid":
            return Blocker(parent.name if parent else req.name, Why.INVALID_METADATA.value, str(parent), chain[:-1] or chain, req.text)
        if empty.cause == "forbidden":
            rules = [r.rule for r in empty.requirements if r.forbid and r.rule]
            detail = "; ".join(f"{r.summary} ({r.sources[0]})" for r in rules)
            return Blocker(empty.name, "forbidden", req.text, chain, "", detail=detail)
        by_version = provider.files(empty.name)
        if not by_version:
            return Blocker(empty.name, "not-found", req.text, chain, "nothing: no index lists it")
        spec = SpecifierSet()
        for r in empty.requirements:
            spec &= r.specifier
        in_range = list(spec.filter(by_version))
        if not in_range:
            newest = ", ".join(str(v) for v in list(by_version)[:5])
            return Blocker(empty.name, "no-version", req.text, chain, f"releases {newest}" + (", ..." if len(by_version) > 5 else ""))
        files = [f for v in in_range for f in by_version[v]]
        return Blocker(empty.name, target_reason(files, provider.target), req.text, chain, describe_files(files))

    def _conflicts(self, failure: Failure) -> list[Blocker]:
        if failure.too_deep:
            return [Blocker("", "too-deep", "", (), "", detail="the resolver gave up after too many backtracking rounds")]
        by_name: dict[str, dict[str, list[str]]] = {}
        rules: dict[str, dict[str, Constraint]] = {}
        for requirement, parent in failure.causes:
            if requirement.name in (PYTHON, INVALID):
                continue
            origins = by_name.setdefault(requirement.name, {}).setdefault(requirement.text, [])
            origin = "requested" if parent is None else f"from {parent}"
            if origin not in origins:
                origins.append(origin)
            if requirement.rule is not None:
                rules.setdefault(requirement.name, {})[requirement.rule.id] = requirement.rule
        blockers = []
        for name, texts in by_name.items():
            said = " vs ".join(f"{text} ({', '.join(origins)})" for text, origins in texts.items())
            cited = list(rules.get(name, {}).values())
            detail = "; ".join(f"knowledge: {r.summary} ({r.sources[0]}, verified {r.verified})" for r in cited)
            files = [f for fs in failure.provider.files(name).values() for f in fs]
            blockers.append(Blocker(name, "forbidden" if cited else "conflict", said, (), describe_files(files),
                                    detail=detail or "no version satisfies all of these at once"))
        return blockers

    # -- nearest working ------------------------------------------------------

    def nearest_working(self, cell: Cell) -> list[tuple[Target, str]]:
        """Other Pythons of the same target, then other standard targets, where it installs."""
        target = cell.target
        presets = [target] + [
            Target(name, preset.os, preset.arch, preset.os_version, target.python)
            for name, preset in PRESETS.items()
            if name != target.name
        ]
        # nearest first: by Python distance, this target before others, newer Python before older
        options = sorted(
            (place.with_python(python) for place in presets for python in NEAREST_PYTHONS),
            key=lambda t: (abs(t.python[1] - target.python[1]), t.name != target.name, -t.python[1]),
        )
        options = [o for o in options if o != target]
        found = []
        attempts = 0
        for option in options:
            if not self._might_work(option, cell.blockers):
                continue
            verdict = self._verdicts.get(option)
            if verdict is None:
                if attempts >= MAX_NEAREST:
                    break
                attempts += 1
                verdict = self.verdict(option, rounds=500)[0]
                self._verdicts[option] = verdict
            if verdict in ("ok", "build"):
                found.append((option, verdict))
            if len(found) >= NEAREST_SHOWN:
                break
        return found

    def _might_work(self, target: Target, blockers: Sequence[Blocker]) -> bool:
        """Cheap filter from the blockers' files alone: each must have something usable there."""
        scratch = TargetProvider(self.index, target, allow_sdists=True, shared=self.shared)
        for blocker in blockers:
            if blocker.reason in ("conflict", "too-deep", "forbidden", "not-found", "invalid-metadata") or not blocker.project:
                continue
            by_version = scratch.files(blocker.project)
            spec = _spec_of(blocker.requirement)
            if not any(not isinstance(scratch.pick(blocker.project, v, by_version[v], False), Why) for v in spec.filter(by_version)):
                return False
        return True


def _spec_of(requirement: str) -> SpecifierSet:
    """The specifier of a blocker's requirement; none when it is prose (requires-python)."""
    try:
        return parse_requirement(requirement).specifier
    except InvalidRequirement:
        return SpecifierSet()


def _unique(empties: Sequence[Empty]) -> list[Empty]:
    seen: dict[tuple[str, str], Empty] = {}
    for e in empties:
        seen.setdefault((e.name, e.cause), e)
    return list(seen.values())


def _chain(provider: TargetProvider, parent: Candidate | None, label: str) -> list[str]:
    chain: list[str] = []
    seen: set[str] = set()
    node = parent
    while node is not None and node.key not in seen:
        seen.add(node.key)
        if node.key in provider.roots:
            chain.insert(0, label if label.startswith(node.key + " ") else f"{node.key} {node.version}")
            break
        chain.insert(0, f"{node.key} {node.version}")
        above = provider.parents.get(node.key, [])
        node = above[-1] if above else None
    if not chain or not chain[0].startswith(label.split(" ")[0] + " "):
        chain.insert(0, label)
    return chain


def target_reason(files: Sequence[DistFile], target: Target) -> str:
    """Why none of *files* installs on *target*, as a person would say it first."""
    usable = [f for f in files if f.yanked is None]
    if files and not usable:
        return Why.YANKED.value
    fitting = [f for f in usable if requires_python_ok(f.requires_python, target)]
    if usable and not fitting:
        return Why.REQUIRES_PYTHON.value
    wheels = [f for f in fitting if f.is_wheel]
    if not wheels:
        return Why.SDIST_ONLY.value if fitting else "no-version"
    platforms = set(target.platforms()) | {"any"}
    here = [f for f in wheels if any(t.platform in platforms for t in f.tags)]
    if not here:
        return Why.PLATFORM.value
    nearest = Reason.PYTHON
    for f in here:
        verdict = wheel_verdict(f.tags, target)
        if isinstance(verdict, Compatible):
            return "conflict"
        if isinstance(verdict, Incompatible):
            nearest = max(nearest, min(verdict.reason, Reason.ABI))
    return Why.ABI.value if nearest == Reason.ABI else Why.PYTHON.value


def describe_files(files: Sequence[DistFile]) -> str:
    return availability((f.filename, f.tags) for f in files).describe()


def check(
    index: PackageIndex,
    targets: Sequence[Target],
    requested: Sequence[SourcedRequirement],
    constraints: Sequence[SourcedRequirement] = (),
    rules: Sequence[Constraint] = (),
    *,
    nearest: bool = True,
    workers: int = 8,
) -> CheckReport:
    """Check every target (each carries its Python) and explain the failing ones."""
    checker = Checker(index, requested, constraints, rules)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets)))) as pool:
        cells = list(pool.map(checker.cell, targets))
        if nearest:
            failing = [c for c in cells if c.verdict == "blocked"]
            for cell, found in zip(failing, pool.map(checker.nearest_working, failing)):
                cell.nearest = found
    return CheckReport(list(requested), list(constraints), cells, bool(rules), nearest)

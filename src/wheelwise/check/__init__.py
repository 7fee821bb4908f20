"""Will these requirements install on these targets, and if not, why and where would they.

The library half of ``wheelwise check``.  For each cell (a target and a
Python) the verdict ladder resolves wheels only; if that fails and some
version was passed over that has an sdist, with sdists allowed.  A failure is
explained from the resolver's own proof (:mod:`.blockers`), and the nearest
cells where the same requirements install are looked for (:mod:`.nearest`).
Every cell shares one :class:`~wheelwise.resolve.Shared`, so each page and
each metadata file is fetched once per run.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import Version

from ..compat import Reason, requires_python_ok
from ..knowledge import Constraint, Needs, Replacement
from ..knowledge import load as load_knowledge
from ..requirements import PythonBound, SourcedRequirement
from ..resolve import (
    DEFAULT_MAX_ROUNDS,
    Candidate,
    Failure,
    Held,
    Outcome,
    Req,
    Resolution,
    RootCause,
    Sdists,
    Shared,
    resolve,
    root_requirements,
)
from ..selection import DEFAULT_SELECTION, Selection
from ..target import Target
from .accelerators import architecture_warnings, cuda_warnings
from .blockers import Blocker, explain
from .nearest import Nearby, nearest_working
from .successors import Successor, successors

if TYPE_CHECKING:
    from ..index import PackageIndex

#: rounds of "allow sdists for the projects the last proof skipped" before allowing them all
SDIST_ROUNDS = 4

__all__ = ["Blocker", "BuildItem", "Cell", "CheckReport", "Checker", "Successor", "VariantChoice", "check", "target_dict"]


@dataclasses.dataclass(frozen=True)
class BuildItem:
    """An sdist the cell needs built.

    :param native: C/C++/Rust/... sources (True), pure Python (False), unknown (None).
    :param binaries: prebuilt binaries it ships (``ELF x86_64`` ...): not pure Python either.
    """

    name: str
    version: str
    filename: str
    native: bool | None
    dependencies_known: bool
    binaries: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"binaries": list(self.binaries)}


@dataclasses.dataclass(frozen=True)
class VariantChoice:
    """A pin whose version has PEP 825 variant wheels for the target: what each kind of installer takes.

    :param variant: the label a variant-aware installer takes (``None``: a plain wheel, as no variant fits).
    :param properties: per feature of that variant, the value the target matched
        (``nvidia :: cuda_version_lower_bound :: 12.8``, ``nvidia :: sm_arch :: 86_real``).
    :param legacy_file: what an installer without variant support takes (``None``: no plain wheel here).
    :param supported: every label the target supports, best first.
    """

    name: str
    version: str
    variant: str | None
    properties: tuple[str, ...]
    file: str | None
    legacy_file: str | None
    supported: tuple[str, ...]

    @property
    def differs(self) -> bool:
        return self.file != self.legacy_file

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"properties": list(self.properties), "supported": list(self.supported)}


@dataclasses.dataclass
class Cell:
    """The answer for one target and Python.

    :param verdict: ``ok`` (wheels only), ``build`` (some sdists built), ``blocked``, or
        ``unknown`` (the resolver reached its round limit: the blockers say where).
    :param warnings: what pip would warn about (an extra the chosen version does not define).
    :param refusals: what pip would refuse to install for the user's own settings (hash-checking).
    :param unmet: pins without the project a cited ``needs`` rule says they need.
    :param newer_sdists: releases newer than a wheel pin that plain pip would build instead.
    :param replacements: a blocked requested project's successor (knowledge), with its own
        verdict on this target.
    """

    target: Target
    verdict: str
    pins: dict[str, Candidate] = dataclasses.field(default_factory=dict)
    build: list[BuildItem] = dataclasses.field(default_factory=list)
    blockers: list[Blocker] = dataclasses.field(default_factory=list)
    knowledge: list[Constraint] = dataclasses.field(default_factory=list)
    nearest: list[Nearby] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    refusals: list[str] = dataclasses.field(default_factory=list)
    unmet: list[Unmet] = dataclasses.field(default_factory=list)
    newer_sdists: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    #: pins a constraint keeps below a newer release that has a file here
    held: list[Held] = dataclasses.field(default_factory=list)
    #: requested projects the failure does not involve (it holds whatever they are)
    not_examined: list[str] = dataclasses.field(default_factory=list)
    replacements: list[Successor] = dataclasses.field(default_factory=list)
    #: pins with PEP 825 variant wheels: the variant-aware and the legacy installer's file
    variants: list[VariantChoice] = dataclasses.field(default_factory=list)
    #: pins built for a newer CUDA than the target's driver (``+cuda``) runs
    accelerator_fit: list[str] = dataclasses.field(default_factory=list)

    @property
    def installs(self) -> bool:
        return self.verdict in ("ok", "build")

    @property
    def all_warnings(self) -> list[str]:
        """Every warning on the cell, as text: pip's own, hash refusals, then unmet needs."""
        return self.warnings + self.refusals + [u.text for u in self.unmet]

    def version_of(self, name: str) -> Version | None:
        pinned = self.pins.get(canonicalize_name(name))
        return pinned.version if pinned is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            **target_dict(self.target),
            "verdict": self.verdict,
            "pins": {name: str(c.version) for name, c in self.pins.items()},
            "files": {name: c.file.filename for name, c in self.pins.items() if c.file is not None},
            "needs_build": [b.to_dict() for b in self.build],
            "blockers": [b.to_dict() for b in self.blockers],
            "knowledge": [rule.to_dict(self.version_of(rule.when.name)) for rule in self.knowledge],
            "warnings": self.all_warnings,
            "unmet_needs": [u.to_dict() for u in self.unmet],
            "newer_sdists": [{"name": n, "version": v} for n, v in self.newer_sdists],
            "held_by_constraints": [h.to_dict() for h in self.held],
            "not_examined": list(self.not_examined),
            "nearest_working": [n.to_dict() for n in self.nearest],
            "replacements": [s.to_dict() for s in self.replacements],
            "variants": [v.to_dict() for v in self.variants],
            "accelerator_fit": list(self.accelerator_fit),
        }


@dataclasses.dataclass(frozen=True)
class Unmet:
    """A pin (*name* *version*) resolved without the project a cited rule says it needs."""

    name: str
    version: Version
    rule: Needs

    @property
    def text(self) -> str:
        return f"{self.name} {self.version} is resolved without {self.rule.project}: {self.rule.summary}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "version": str(self.version), "needs": self.rule.project, "id": self.rule.id,
            "summary": self.rule.summary, "sources": list(self.rule.sources), "verified": self.rule.verified,
        }


def target_dict(target: Target) -> dict[str, Any]:
    version = None
    if target.os_version is not None:
        version = ".".join(map(str, target.os_version))
    return {
        "target": target.name, "os_version": version, "python": target.python_label, "label": target.label,
        "libc": target.libc if target.os == "linux" else None, "free_threaded": target.free_threaded,
        "properties": target.properties.to_dict(), "spelled": target.spelled,
    }


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
    """Runs cells over one index; remembers verdicts so that "nearest working" reuses them."""

    def __init__(
        self,
        index: PackageIndex,
        requested: Sequence[SourcedRequirement],
        constraints: Sequence[SourcedRequirement] = (),
        rules: Sequence[Constraint] = (),
        *,
        replacements: Sequence[Replacement] = (),
        max_rounds: int = DEFAULT_MAX_ROUNDS,
        selection: Selection = DEFAULT_SELECTION,
        python_bounds: Sequence[PythonBound] = (),
        knowledge: bool = True,
    ) -> None:
        self.index = index
        #: wheelwise's cited facts apply (rules are passed in; this also gates the accelerator fit)
        self.knowledge = knowledge
        self.requested = list(requested)
        self.selection = selection
        self.python_bounds = tuple(python_bounds)
        self.constraints = [Req.from_requirement(c.requirement, "constraint", c.where) for c in constraints]
        #: rules resolution applies; ``needs`` rules are checked on the pins (:meth:`cell`)
        self.rules = tuple(rule for rule in rules if rule.narrows_resolution)
        self.needs = tuple(rule for rule in rules if isinstance(rule, Needs))
        #: successors looked up for a blocked requested project (:mod:`.successors`)
        self.replacements = tuple(replacements)
        self.max_rounds = max_rounds
        self.shared = Shared(index, selection)
        self.verdicts: dict[Target, str] = {}
        #: verdicts being worked out for "nearest working" (one resolution per cell, see nearest)
        self.pending: dict[Target, concurrent.futures.Future[str]] = {}
        #: (target, project, requirement) -> whether some version in range installs there, sdists allowed
        self.usable: dict[tuple[Target, str, str], bool] = {}
        self.lock = threading.Lock()

    def resolve(self, target: Target, roots: Sequence[Req], *, sdists: Sdists) -> Outcome:
        return resolve(
            self.shared, target, roots, constraints=self.constraints, rules=self.rules,
            allow_sdists=sdists, max_rounds=self.max_rounds,
        )

    def verdict(self, target: Target, requested: Sequence[SourcedRequirement] | None = None) -> tuple[str, Outcome]:
        """The ladder: ``ok`` with wheels, else ``build`` with sdists, else ``blocked``/``unknown``.

        Sdists are allowed only for the projects a failed proof skipped a version of for want of
        a wheel (nothing else can change its outcome), round after round while new ones turn up,
        and for all projects in the last round; so a blocked cell does not download every sdist
        of its graph.  A retry that reaches the round limit leaves the question open:
        ``unknown``, not the wheels-only ``blocked`` (with those sdists it might well install).

        :param requested: other requirements than the checker's (a successor's, alone).
        """
        if requested is None:  # the project's own Requires-Python bounds the project's request, not a successor's
            excluded = self._python_excluded(target)
            if excluded is not None:
                return "blocked", excluded
        roots = root_requirements(self.requested if requested is None else requested, target)
        if not roots:
            return "ok", Resolution(target, {})
        outcome = self.resolve(target, roots, sdists=False)
        allowed: frozenset[str] = frozenset()
        for attempt in range(SDIST_ROUNDS):
            if isinstance(outcome, Resolution):
                break
            needed = self.shared.sdists_needed(target, outcome)
            if needed <= allowed:
                break
            allowed |= needed
            outcome = self.resolve(target, roots, sdists=True if attempt == SDIST_ROUNDS - 1 else allowed)
        if isinstance(outcome, Resolution):
            return ("build" if outcome.needs_build else "ok"), outcome
        return ("unknown" if outcome.limit is not None else "blocked"), outcome

    def _python_excluded(self, target: Target) -> Failure | None:
        """A project's (or lock's) own Requires-Python that excludes the target's Python: pip
        refuses to install it there whatever its dependencies are."""
        causes = tuple(
            RootCause(bound.owner, Reason.REQUIRES_PYTHON, bound.owner, detail=f"{bound.where}: {bound.specifier}",
                      requires_python=str(bound.specifier))
            for bound in self.python_bounds
            if not requires_python_ok(str(bound.specifier), target)
        )
        return Failure(target, causes) if causes else None

    def _settings_said(self, blocker: Blocker) -> Blocker:
        """A blocker that the user's own format control makes: say so."""
        if blocker.reason == Reason.SDIST_ONLY.slug and not self.selection.sdists_allowed(blocker.project):
            return dataclasses.replace(blocker, detail=blocker.detail or "--only-binary refuses its sdists")
        return blocker

    def _hash_refusals(self, pins: dict[str, Candidate]) -> list[str]:
        """pip's hash-checking mode (any ``--hash``) refuses pins that have none."""
        if not self.selection.hash_checking:
            return []
        bare = [name for name in pins if self.selection.allowed_hashes(name) is None]
        if not bare:
            return []
        why = "--hash is given for some requirements" if self.selection.hashes else "--require-hashes is set"
        return [f"{why}, so pip checks hashes and refuses to install "
                f"{', '.join(bare)}: no --hash for them (pin each with == and add its --hash)"]

    def cell(self, target: Target, *, with_successors: bool = True) -> Cell:
        """The cell's verdict, pins or blockers; *with_successors*: also the successors of its
        blocked requests (:meth:`successors`), else the caller asks for them."""
        verdict, outcome = self.verdict(target)
        self.verdicts[target] = verdict
        cell = Cell(target, verdict)
        if isinstance(outcome, Resolution):
            cell.pins = outcome.pins
            cell.knowledge = list(outcome.applied)
            cell.warnings = list(outcome.warnings)
            cell.refusals = self._hash_refusals(outcome.pins)
            cell.newer_sdists = list(outcome.newer_sdists)
            cell.held = list(outcome.held)
            cell.build = [self._build_item(c, c.name in outcome.unknown_deps) for c in outcome.needs_build]
            cell.variants = self._variants(target, outcome)
            if self.knowledge and (target.properties.cuda is not None or target.properties.sm is not None):
                knowledge = load_knowledge()
                cell.accelerator_fit = (cuda_warnings(outcome.pins, target, knowledge)
                                        + architecture_warnings(outcome.pins, target, knowledge))
            self._needs(cell)
            return cell
        assert isinstance(outcome, Failure)
        roots = root_requirements(self.requested, target)
        cell.blockers = [self._settings_said(b) for b in explain(self.shared, target, roots, outcome)]
        cell.knowledge = list(outcome.applied)
        if outcome.limit is None:
            cell.not_examined = [r.key for r in roots if r.name not in outcome.involved]
        if with_successors:
            cell.replacements = self.successors(cell)
        return cell

    def successors(self, cell: Cell) -> list[Successor]:
        """For a blocked cell, the successors (knowledge) of its blocked requests, each resolved
        alone on the cell's target."""
        if cell.verdict != "blocked" or not self.replacements:
            return []
        return successors(self, cell, root_requirements(self.requested, cell.target), self.replacements)

    def _variants(self, target: Target, resolution: Resolution) -> list[VariantChoice]:
        finder = self.shared.finder(target, False)
        found = []
        for name, candidate in resolution.pins.items():
            if candidate.file is None or not candidate.file.is_wheel:
                continue
            pick = finder.legacy_and_variants(name, candidate.version)
            if pick is None:
                continue
            label = pick.file.variant if pick.file else None
            meta = self.index.variants(name, candidate.version) if label else None
            found.append(VariantChoice(
                name, str(candidate.version), label, tuple(meta.matched(label, target.properties)) if meta and label else (),
                pick.file.filename if pick.file else None, pick.legacy.filename if pick.legacy else None,
                pick.supported,
            ))
        return found

    def _needs(self, cell: Cell) -> None:
        """A pinned project without the one a cited rule says it needs is a warning on the cell
        (not knowledge applied: nothing in the pins follows from it)."""
        for rule in self.needs:
            for name, candidate in cell.pins.items():
                if rule.applies_to(name, candidate.version) and rule.subject not in cell.pins:
                    cell.unmet.append(Unmet(name, candidate.version, rule))

    def _build_item(self, candidate: Candidate, unknown: bool) -> BuildItem:
        assert candidate.file is not None
        native = self.index.native_sources(candidate.file)
        binaries = self.index.sdist_binaries(candidate.file)
        return BuildItem(candidate.name, str(candidate.version), candidate.file.filename, native, not unknown, binaries)


def check(
    index: PackageIndex,
    targets: Sequence[Target],
    requested: Sequence[SourcedRequirement],
    constraints: Sequence[SourcedRequirement] = (),
    rules: Sequence[Constraint] = (),
    *,
    replacements: Sequence[Replacement] = (),
    nearest: bool = True,
    workers: int = 8,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    selection: Selection = DEFAULT_SELECTION,
    python_bounds: Sequence[PythonBound] = (),
    knowledge: bool = True,
) -> CheckReport:
    """Check every target (each carries its Python) and explain the failing ones.

    :param replacements: successors to look up (and resolve alone) for blocked requested projects.
    :param selection: the user's format control, ``--prefer-binary`` and ``--hash`` values.
    :param python_bounds: Requires-Python of the project (or lock) asked about.
    :param knowledge: ``False`` (``--no-knowledge``): no accelerator fit from wheelwise's cited
        tables either (the caller passes no rules and no replacements then).
    """
    checker = Checker(index, requested, constraints, rules, replacements=replacements, max_rounds=max_rounds,
                      selection=selection, python_bounds=python_bounds, knowledge=knowledge)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets)))) as pool:
        cells = list(pool.map(lambda t: checker.cell(t, with_successors=False), targets))
    failing = [c for c in cells if c.verdict == "blocked"]
    checker.shared.asked = frozenset(targets)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, 2 * len(failing)))) as pool:
        # a blocked cell's successors and its nearest working cells at once: both wait on the index
        found_successors = [pool.submit(checker.successors, c) for c in failing]
        found_nearest = [pool.submit(nearest_working, checker, c) for c in failing] if nearest else []
        for cell, replaced in zip(failing, found_successors, strict=True):
            cell.replacements = replaced.result()
        for cell, near in zip(failing, found_nearest, strict=False):  # none without nearest
            cell.nearest = near.result()
    return CheckReport(list(requested), list(constraints), cells, bool(rules), nearest)

"""What the index offers for one requirement: versions, files and dependencies.

The library half of ``wheelwise show``: it returns a :class:`ProjectSummary`,
the CLI renders it.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from .compat import Compatible, requires_python_ok, wheel_verdict
from .errors import BadInputError
from .index import PackageIndex
from .index.simple import DistFile, variant_label
from .resolve.finder import Files, Finder
from .target import Target

__all__ = ["FileChoice", "ProjectSummary", "choose_for", "summarize"]


@dataclasses.dataclass(frozen=True)
class ProjectSummary:
    """The newest version matching a requirement, and how its metadata was read.

    :param version: ``None`` when no version matches (or the project is absent).
    :param metadata_how: ``pep658``, ``range``, ``full``, ``local`` or ``cache``.
    """

    name: str
    requirement: str
    versions: tuple[str, ...]
    version: str | None
    files: tuple[DistFile, ...]
    requires_python: str | None = None
    requires_dist: tuple[str, ...] = ()
    provides_extra: tuple[str, ...] = ()
    metadata_from: str | None = None
    metadata_how: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["files"] = [
            {
                "filename": f.filename,
                "requires_python": f.requires_python,
                "yanked": f.yanked,
                "core_metadata": bool(f.core_metadata),
            }
            for f in self.files
        ]
        return data


def parse_requirement(text: str, source: str = "command line") -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise BadInputError(f"{text!r} is not a valid requirement: {exc}", source=source) from exc


def summarize(index: PackageIndex, requirement: str) -> ProjectSummary:
    """Versions on the index and the newest matching one, with its dependencies.

    Yanked files are skipped unless the requirement pins them with ``==``,
    as PEP 592 says installers should.
    """
    req = parse_requirement(requirement)
    page = index.project(req.name)
    versions = page.versions()
    pinned = {str(s.version) for s in req.specifier if s.operator in ("==", "===")}

    def usable(f: DistFile) -> bool:
        return f.yanked is None or str(f.version) in pinned

    # files grouped by version once: asking the whole page per version was quadratic
    # (a page of 100,000 files took 20 minutes)
    by_version: dict[Version, list[DistFile]] = defaultdict(list)
    for f in page.files:
        by_version[f.version].append(f)
    chosen = next((v for v in req.specifier.filter(versions) if any(usable(f) for f in by_version[v])), None)
    if chosen is None:
        return ProjectSummary(page.name, requirement, tuple(map(str, versions)), None, ())
    files = tuple(by_version[chosen])
    # Wheels first: their metadata is authoritative; an sdist's may be dynamic.
    best = sorted(files, key=lambda f: (not f.is_wheel, not f.core_metadata))[0]
    fetched = index.metadata(best)
    meta = fetched.metadata
    return ProjectSummary(
        name=page.name,
        requirement=requirement,
        versions=tuple(map(str, versions)),
        version=str(chosen),
        files=files,
        requires_python=meta.requires_python,
        requires_dist=meta.requires_dist,
        provides_extra=meta.provides_extra,
        metadata_from=best.filename,
        metadata_how=fetched.how,
    )


@dataclasses.dataclass(frozen=True)
class FileChoice:
    """One file of the shown version on a target: taken, or why not.

    :param why: ``taken``; ``ranked-lower`` (installs, a better-ranked file is taken);
        ``variant-not-chosen`` (a supported variant, a better one taken), ``plain-not-chosen``
        (a plain wheel, a variant taken), ``variant`` (a variant the target's properties do not support);
        or a reason slug (``platform``, ``python``, ``abi``, ``os-too-old``, ``requires-python``,
        ``yanked``, ``sdist`` when a wheel is taken, ``variant``).
    :param rank: the tag rank of an installable wheel (lower is better).
    """

    filename: str
    why: str
    rank: int | None = None
    needs: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def choose_for(index: PackageIndex, summary: ProjectSummary, target: Target, requirement: str) -> list[FileChoice]:
    """Which file of the shown version *target* takes (as pip, or a variant-aware installer,
    chooses), and for every other file why not; the taken one first."""
    if summary.version is None:
        return []
    req = parse_requirement(requirement)
    pinned = any(s.operator in ("==", "===") for s in req.specifier)
    finder = Finder(Files(index), target, allow_sdists=True)
    version = next(v for v in finder.files(summary.name) if str(v) == summary.version)
    picked = finder.pick(summary.name, version, pinned=pinned)
    taken = picked.filename if isinstance(picked, DistFile) else None
    variants = finder.legacy_and_variants(summary.name, version)
    supported = frozenset(variants.supported) if variants else frozenset()
    choices = [_why(f, target, taken, pinned, supported) for f in summary.files]
    return sorted(choices, key=lambda c: (c.why != "taken", c.rank is None, c.rank or 0, c.filename))


def _why(f: DistFile, target: Target, taken: str | None, pinned: bool, supported: frozenset[str]) -> FileChoice:
    if f.filename == taken:
        verdict = wheel_verdict(f.tags, target) if f.is_wheel else None
        return FileChoice(f.filename, "taken", verdict.rank if isinstance(verdict, Compatible) else None)
    if f.yanked is not None and not pinned:
        return FileChoice(f.filename, "yanked")
    if not requires_python_ok(f.requires_python, target):
        return FileChoice(f.filename, "requires-python")
    if not f.is_wheel:
        return FileChoice(f.filename, "sdist")
    verdict = wheel_verdict(f.tags, target)
    if not isinstance(verdict, Compatible):
        needs = ".".join(map(str, verdict.needs)) if verdict.needs else None
        return FileChoice(f.filename, verdict.reason.slug, needs=needs)
    if taken is None:
        return FileChoice(f.filename, "variant", verdict.rank)
    if f.variant is not None:
        return FileChoice(f.filename, "variant-not-chosen" if f.variant in supported else "variant", verdict.rank)
    if variant_label(taken) is not None:
        return FileChoice(f.filename, "plain-not-chosen", verdict.rank)
    return FileChoice(f.filename, "ranked-lower", verdict.rank)

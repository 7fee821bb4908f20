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

from .errors import BadInputError
from .index import PackageIndex
from .index.simple import DistFile

__all__ = ["ProjectSummary", "summarize"]


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

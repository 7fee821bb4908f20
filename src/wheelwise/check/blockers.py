"""Blockers: why a cell cannot install, as data the CLI words.

The resolver's proof gives the root causes (:class:`~wheelwise.resolve.RootCause`).
Two things are added here, both read from what the finder already knows rather
than by resolving again: what each blocker *does* have files for (per
platform, with its Pythons and OS floor), and for the newest few usable
versions of each requested project, every direct dependency that has no usable
release at all on the target (the proof names one reason per version; a
person wants to hear all of them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ..compat import Reason, availability
from ..index.simple import DistFile
from ..resolve import Candidate, Failure, Req, RootCause, Shared, parse_requirement
from ..target import Target

if TYPE_CHECKING:
    from ..resolve.finder import Finder
    from ..resolve.ranges import Versions

__all__ = ["NEWEST", "Blocker", "describe_files", "explain"]

#: newest usable versions of each requested project whose dependencies are looked at
NEWEST = 3


@dataclasses.dataclass(frozen=True)
class Blocker:
    """A root cause: *project* cannot be installed to satisfy *requirement*.

    :param reason: a :class:`~wheelwise.compat.Reason` slug (``platform``, ``os-too-old``,
        ``requires-python``, ``not-found``, ``conflict``, ``forbidden``, ``limit`` ...).
    :param chain: from the requested project down to the blocker, e.g.
        ``("tflite-model-maker 0.4.3", "tflite-support>=0.4.2")``.
    :param available: what the project has files for, per platform, in words.
    :param versions: versions of the requested project that this blocks.
    :param needs: for ``os-too-old``, the OS or glibc version its files need (``2.34``); for
        ``requires-python``, the Requires-Python that excludes the target (``>=3.6,<3.10``).
    """

    project: str
    reason: str
    requirement: str
    chain: tuple[str, ...]
    available: str
    versions: tuple[str, ...] = ()
    detail: str = ""
    needs: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"chain": list(self.chain), "versions": list(self.versions)}


def to_range(specifier: SpecifierSet) -> Versions:
    """The resolver's range of *specifier* (imported when a failure is explained: a check
    answered from its memo never loads the resolver)."""
    from ..resolve.ranges import to_range as convert

    return convert(specifier)


def describe_files(files: Sequence[DistFile]) -> str:
    return availability((f.filename, f.tags) for f in files).describe()


def _needs(needs: tuple[int, int] | None) -> str | None:
    return None if needs is None else f"{needs[0]}.{needs[1]}"


def _available(finder: Finder, cause: RootCause, spec_range: Any) -> str:
    by_version = finder.files(cause.project)
    if cause.reason in (Reason.NOT_FOUND, Reason.FORBIDDEN, Reason.INVALID_METADATA, Reason.REQUIRES_PYTHON):
        return ""
    if cause.reason == Reason.NO_VERSION:
        newest = ", ".join(str(v) for v in list(by_version)[:5])
        return f"releases {newest}" + (", ..." if len(by_version) > 5 else "")
    in_range = [v for v in by_version if spec_range is None or v in spec_range]
    files = [f for v in (in_range or list(by_version)) for f in by_version[v]]
    return describe_files(files)


def _blocker(finder: Finder, cause: RootCause, spec_range: Any = None) -> Blocker:
    detail = cause.detail
    if cause.rule is not None:
        detail = f"knowledge: {cause.rule.summary} ({cause.rule.sources[0]}, verified {cause.rule.verified})"
    return Blocker(
        cause.project, cause.reason.slug, cause.requirement, cause.chain,
        _available(finder, cause, spec_range), cause.versions, detail,
        _needs(cause.needs) or cause.requires_python or None,
    )


def explain(shared: Shared, target: Target, roots: Sequence[Req], failure: Failure) -> list[Blocker]:
    """The blockers of a failed cell, root causes first, then what the newest versions add."""
    finder = shared.finder(target, failure.allow_sdists)
    if failure.limit is not None:
        busy = ", ".join(failure.limit.busy) or "the requested projects"
        return [Blocker(
            "", Reason.LIMIT.slug, "", (), "",
            detail=f"the resolver gave up after {failure.limit.rounds} rounds while trying {busy}; "
                   f"raise the limit with --max-rounds",
        )]
    found: dict[tuple[str, str], Blocker] = {}
    for cause in failure.causes:
        req_range = _range_of(cause)
        blocker = _blocker(finder, cause, req_range)
        _merge(found, blocker)
    examined = [r for r in roots if r.name in failure.involved]
    for blocker in _newest_versions(shared, finder, target, examined):
        _merge(found, blocker)
    # what blocks the newest versions first: that is what a person installing it meets
    # (a stable sort: equal ones keep the proof's order)
    return sorted(found.values(), key=_newest_blocked, reverse=True)


def _newest_blocked(blocker: Blocker) -> Version:
    return max((Version(v) for v in blocker.versions), default=Version("0"))


def _range_of(cause: RootCause) -> Any:
    try:
        return to_range(parse_requirement(cause.requirement).specifier)
    except ValueError:
        return None


def _merge(found: dict[tuple[str, str], Blocker], blocker: Blocker) -> None:
    key = (blocker.project, blocker.reason)
    old = found.get(key)
    if old is None:
        found[key] = blocker
        return
    versions = tuple(sorted(set(old.versions) | set(blocker.versions), key=Version, reverse=True))
    found[key] = dataclasses.replace(old, versions=versions)


def _newest_versions(shared: Shared, finder: Finder, target: Target, roots: Sequence[Req]) -> list[Blocker]:
    """For the newest few usable versions of each requested project: its dependencies that
    have no usable release here whatever else is chosen."""
    per = shared.per(target, finder.allow_sdists)
    blockers: list[Blocker] = []
    for root in roots:
        spec = root.specifier
        taken = 0
        for version, file in finder.choose(root.name, to_range(spec)):
            taken += 1
            if taken > NEWEST:
                break
            deps = per.dependencies(Candidate(root.name, version, root.extras, file))
            for dep in deps.requires:
                if dep.name.startswith("<"):
                    continue
                if next(finder.choose(dep.name, to_range(dep.specifier)), None):
                    continue
                blockers.append(_hopeless(finder, dep, f"{root.key} {version}", str(version)))
    return blockers


def _hopeless(finder: Finder, dep: Req, parent: str, version: str) -> Blocker:
    miss = finder.why_none(dep.name, to_range(dep.specifier))
    cause = RootCause(dep.name, miss.reason, dep.text, (parent, dep.text), (version,), needs=miss.needs)
    return _blocker(finder, cause, to_range(dep.specifier))

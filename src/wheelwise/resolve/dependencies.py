"""A candidate's dependencies on a target, read from its core metadata.

Markers are evaluated in the target's environment (with ``extra`` set for a
``name[extra]`` candidate, which depends on ``name`` at the same version plus
the extra's requirements, as pip and uv model it).  A ``Requires-Python`` that
excludes the target becomes a dependency on the virtual project
:data:`~.model.PYTHON`; unreadable metadata a dependency on an
:data:`~.model.INVALID` one: both then fail like any other dependency, with
the version that declared them in the chain.  An sdist's requirements are read
only when static (PEP 643); otherwise they are unknown without a build.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from ..compat import requires_python_ok
from ..errors import MetadataError
from ..index import PackageIndex
from ..target import Target
from .model import INVALID, PYTHON, Candidate, Req, parse_requirement

__all__ = ["Dependencies", "read_dependencies"]


@dataclasses.dataclass(frozen=True)
class Dependencies:
    """What a candidate needs on a target.

    :param requires: its requirements whose markers hold there (virtual ones included).
    :param unknown: an sdist whose requirements are known only after building it.
    :param missing_extra: extras asked of it that this version does not define.
    :param problem: why its metadata is unusable, when it is.
    """

    requires: tuple[Req, ...]
    unknown: bool = False
    missing_extra: tuple[str, ...] = ()
    problem: str = ""


def _virtual(name: str, text: str, specifier: SpecifierSet | None = None) -> Req:
    return Req(name, frozenset(), specifier or SpecifierSet(), "dependency", text)


def read_dependencies(index: PackageIndex, target: Target, candidate: Candidate) -> Dependencies:
    """The candidate's requirements on *target* (this reads metadata: it may fetch)."""
    if candidate.file is None or candidate.name == PYTHON:
        return Dependencies(())
    deps: list[Req] = []
    if candidate.extras:
        # name[extra] is name itself at the same version, plus the extra's requirements
        pin = f"{candidate.name}=={candidate.version}"
        deps.append(Req(candidate.name, frozenset(), SpecifierSet(f"=={candidate.version}"), "dependency", pin))
    invalid = f"{INVALID}{candidate.name}-{candidate.version}"
    try:
        meta = index.metadata(candidate.file).metadata
    except (MetadataError, ValueError) as exc:
        detail = f"unreadable metadata: {exc}"
        return Dependencies((*deps, _virtual(invalid, detail)), problem=detail)
    if not requires_python_ok(meta.requires_python, target):
        try:
            spec = SpecifierSet(meta.requires_python or "")
        except InvalidSpecifier:
            pass  # pip ignores an invalid Requires-Python
        else:
            deps.append(_virtual(PYTHON, f"Python{meta.requires_python}", spec))
    if candidate.needs_build and not meta.static_requirements:
        return Dependencies(tuple(deps), unknown=True)
    mentioned: set[str] = set()
    for text in meta.requires_dist:
        try:
            req, dependency, named = _requirement(text)
        except InvalidRequirement:
            detail = f"invalid requirement {text!r} in its metadata"
            return Dependencies((*deps, _virtual(invalid, detail)), problem=detail)
        if req.marker is not None:
            mentioned.update(named)
            try:
                base = req.marker.evaluate({**target.markers, "extra": ""})
                extra = any(req.marker.evaluate({**target.markers, "extra": e}) for e in candidate.extras)
            except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
                continue
            # an extra's candidate adds what the extra brings; the base candidate the rest
            if not (extra and not base if candidate.extras else base):
                continue
        elif candidate.extras:
            continue  # the base candidate brings these
        deps.append(dependency)
    defined = {canonicalize_name(e) for e in meta.provides_extra} | mentioned
    missing = tuple(e for e in sorted(candidate.extras) if e not in defined)
    return Dependencies(tuple(deps), missing_extra=missing)


@functools.lru_cache(maxsize=16384)
def _requirement(text: str) -> tuple[Requirement, Req, frozenset[str]]:
    """A Requires-Dist line as read once per run (the same lines come back for every target and
    every resolution): the requirement, the resolver's view of it, and the extras its marker
    compares ``extra`` with."""
    req = parse_requirement(text)
    marker = str(req.marker) if req.marker is not None else ""
    named = frozenset(_extras_named(marker)) if "extra" in marker else frozenset()
    return req, Req.from_requirement(req, "dependency"), named


def _extras_named(marker: str) -> set[str]:
    """Extras a marker compares ``extra`` with (older metadata has no Provides-Extra)."""
    return {canonicalize_name(m) for m in re.findall(r"""extra\s*==\s*['"]([^'"]+)['"]""", marker)}

"""Runtime compatibility rules: one type per kind of rule, a tagged union of frozen dataclasses.

A rule says what must hold when a release matching *when* is installed, where no package
metadata says so.  Each kind is its own type, named by the key it has in
``constraints.toml``:

* :class:`Require` - the other project, if installed too, must match a requirement
  (``require = "tensorflow=={major}.{minor}.*"``: a template filled in with the release it
  applies to);
* :class:`Forbid` - a project that must then not be installed;
* :class:`Needs` - a project that must be installed as well (resolution leaves it to the
  user; check warns, doctor checks it);
* :class:`MacOSRange` - the macOS versions it works on (doctor checks it).

What every consumer asks of a rule is a method here, so none of them tests for a kind:
:meth:`Rule.effect` (what it asks, rendered with the values that applied),
:meth:`Rule.exclusion` (what resolution must rule out beside the release), ``to_dict``.
Adding a kind is one class here and one line in :data:`KINDS`; the loader
(:func:`wheelwise.knowledge.parse_constraints`) builds it from its TOML key, and
``mypy`` points at every ``match`` over :data:`Constraint` that does not handle it yet.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, NoReturn, TypeAlias

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from .cited import Cited

__all__ = ["KINDS", "Constraint", "Exclusion", "Forbid", "MacOSRange", "Needs", "Require", "Rule", "unhandled"]


@dataclasses.dataclass(frozen=True)
class Exclusion:
    """What resolution must rule out beside the release a rule applies to.

    :param project: the other project (canonical name).
    :param allowed: the versions of it that may be installed with the release; ``None``: none.
    """

    project: str
    allowed: SpecifierSet | None


@dataclasses.dataclass(frozen=True)
class Rule(Cited):
    """What the kinds share: the releases they are about (*when*) and their citation."""

    when: Requirement = dataclasses.field(default_factory=lambda: Requirement("placeholder"))

    #: the rule's key in constraints.toml, and its tag
    kind: ClassVar[str] = ""
    #: whether resolution applies it (check and plan), rather than only doctor
    narrows_resolution: ClassVar[bool] = False

    @property
    def subject(self) -> str:
        """The project the rule is about besides the one in *when* (``macos`` for an OS rule)."""
        raise NotImplementedError

    def value(self) -> str:
        """The rule's own value, as written in its file."""
        raise NotImplementedError

    def applies_to(self, name: str, version: Version) -> bool:
        return canonicalize_name(self.when.name) == canonicalize_name(name) and self.when.specifier.contains(version, prereleases=True)

    def effect(self, version: Version | None = None) -> str:
        """What the rule asks, filled in for the *version* of *when* it applied to where it depends on it."""
        raise NotImplementedError

    def exclusion(self, version: Version) -> Exclusion | None:
        """What resolution must rule out with *when* at *version* (``None``: resolution leaves it alone)."""
        return None

    def to_dict(self, version: Version | None = None) -> dict[str, object]:
        """The rule as data; with *version*, ``applied`` says what it asked of that release."""
        values: dict[str, object] = {k: None for k in KINDS}
        values[self.kind] = self.value()
        return {
            "id": self.id,
            "kind": self.kind,
            "when": str(self.when),
            **values,
            "applied": self.effect(version) if version is not None else None,
            "summary": self.summary,
            "sources": list(self.sources),
            "verified": self.verified,
        }


@dataclasses.dataclass(frozen=True)
class Require(Rule):
    """The other project must match *template* (``{major}`` and ``{minor}`` of the release filled in)."""

    template: str = ""

    kind: ClassVar[str] = "require"
    narrows_resolution: ClassVar[bool] = True

    def required(self, version: Version) -> str:
        """The requirement text for a *when* release at *version*."""
        return self.template.format(major=version.major, minor=version.minor)

    def requirement_for(self, version: Version) -> Requirement:
        return Requirement(self.required(version))

    @property
    def subject(self) -> str:
        return canonicalize_name(self.requirement_for(Version("0")).name)

    def value(self) -> str:
        return self.template

    def effect(self, version: Version | None = None) -> str:
        if version is None:
            return f"{self.template} when {self.when}"
        return f"{self.required(version)} with {canonicalize_name(self.when.name)} {version}"

    def exclusion(self, version: Version) -> Exclusion:
        required = self.requirement_for(version)
        return Exclusion(canonicalize_name(required.name), required.specifier)


@dataclasses.dataclass(frozen=True)
class Forbid(Rule):
    """*project* must not be installed with *when*."""

    project: str = ""

    kind: ClassVar[str] = "forbid"
    narrows_resolution: ClassVar[bool] = True

    @property
    def subject(self) -> str:
        return canonicalize_name(self.project)

    def value(self) -> str:
        return self.project

    def effect(self, version: Version | None = None) -> str:
        return f"no {self.project} with {self.when}"

    def exclusion(self, version: Version) -> Exclusion:
        return Exclusion(canonicalize_name(self.project), None)


@dataclasses.dataclass(frozen=True)
class Needs(Rule):
    """*project* must be installed with *when*, though no metadata says so."""

    project: str = ""

    kind: ClassVar[str] = "needs"

    @property
    def subject(self) -> str:
        return canonicalize_name(self.project)

    def value(self) -> str:
        return self.project

    def effect(self, version: Version | None = None) -> str:
        return f"{self.project} installed with {self.when}"


@dataclasses.dataclass(frozen=True)
class MacOSRange(Rule):
    """*when* works only on the macOS *versions*."""

    versions: SpecifierSet = dataclasses.field(default_factory=SpecifierSet)

    kind: ClassVar[str] = "macos"

    @property
    def subject(self) -> str:
        return "macos"

    def value(self) -> str:
        return str(self.versions)

    def effect(self, version: Version | None = None) -> str:
        return f"macOS {self.versions} for {self.when}"


Constraint: TypeAlias = Require | Forbid | Needs | MacOSRange
"""A runtime compatibility rule: one of the kinds above."""

#: every kind by its key in constraints.toml
KINDS: dict[str, type[Rule]] = {cls.kind: cls for cls in (Require, Forbid, Needs, MacOSRange)}


def unhandled(rule: NoReturn) -> NoReturn:
    """The last ``case _:`` of a ``match`` over :data:`Constraint`: mypy rejects the call while a
    kind is not handled above it (``typing.assert_never``, which Python 3.10 lacks)."""
    raise AssertionError(f"unhandled kind of rule: {rule!r}")

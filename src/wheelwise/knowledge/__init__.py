"""Cited facts that no package metadata holds.

Data lives beside this module as TOML, one entry per fact, each with its
sources and the date they were checked.  This module only loads and
validates it; resolution decides how to apply it.
"""

from __future__ import annotations

import dataclasses
import sys
from importlib import resources

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10
    import tomli as tomllib

__all__ = ["Constraint", "load_constraints"]


@dataclasses.dataclass(frozen=True)
class Constraint:
    """When a distribution matching *when* is installed, *require* or *forbid* applies.

    :param require: the other project, if installed, must match this.
    :param forbid: the name of a project that must then not be installed.
    """

    id: str
    when: Requirement
    summary: str
    sources: tuple[str, ...]
    verified: str
    require: Requirement | None = None
    forbid: str | None = None

    @property
    def subject(self) -> str:
        """The project the constraint narrows."""
        if self.require is not None:
            return canonicalize_name(self.require.name)
        assert self.forbid is not None
        return canonicalize_name(self.forbid)

    def describe_effect(self) -> str:
        if self.require is not None:
            return f"{self.require} when {self.when}"
        return f"no {self.forbid} with {self.when}"

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "when": str(self.when),
            "require": None if self.require is None else str(self.require),
            "forbid": self.forbid,
            "summary": self.summary,
            "sources": list(self.sources),
            "verified": self.verified,
        }


def _requirement(text: object, where: str) -> Requirement:
    if not isinstance(text, str):
        raise ValueError(f"{where}: expected a requirement string, got {text!r}")
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise ValueError(f"{where}: {exc}") from exc


def parse_constraints(text: str, source: str = "constraints.toml") -> tuple[Constraint, ...]:
    """Parse and validate constraint rules; every rule must cite a source and a date."""
    data = tomllib.loads(text)
    rules = []
    for number, rule in enumerate(data.get("rule", []), start=1):
        where = f"{source} rule {number} ({rule.get('id', '?')})"
        sources = rule.get("sources") or []
        if not sources or not all(isinstance(s, str) and s.startswith("https://") for s in sources):
            raise ValueError(f"{where}: every rule needs https sources")
        if not rule.get("verified"):
            raise ValueError(f"{where}: every rule needs the date it was verified")
        if ("require" in rule) == ("forbid" in rule):
            raise ValueError(f"{where}: give exactly one of 'require' and 'forbid'")
        rules.append(
            Constraint(
                id=str(rule["id"]),
                when=_requirement(rule.get("when"), where),
                summary=str(rule["summary"]),
                sources=tuple(sources),
                verified=str(rule["verified"]),
                require=_requirement(rule["require"], where) if "require" in rule else None,
                forbid=str(rule["forbid"]) if "forbid" in rule else None,
            )
        )
    return tuple(rules)


def load_constraints() -> tuple[Constraint, ...]:
    """The constraint rules shipped with wheelwise."""
    text = resources.files(__name__).joinpath("constraints.toml").read_text(encoding="utf-8")
    return parse_constraints(text)

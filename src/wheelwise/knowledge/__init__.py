"""Cited facts that no package metadata holds.

The data lives beside this module as TOML files, one table per fact, each
with the URLs it comes from and the date it was last checked:

* ``constraints.toml`` - runtime compatibility rules (tensorflow-metal and
  tensorflow, jax-metal and jax) and how far the rules cover each project;
* ``stacks.toml`` - framework x accelerator x platform: packages and index;
* ``support.toml`` - which Pythons a framework release supports, where
  support for a platform ended or started, the pip a platform's wheels need,
  the NVIDIA driver each CUDA major needs;
* ``replacements.toml`` - projects that have a successor;
* ``signatures.toml`` - error messages: pattern, cause, fix, source.

This module only loads and validates.  :func:`load` checks every entry
(fields present and typed, versions and specifiers parse, patterns compile,
sources are URLs) and raises :class:`~wheelwise.errors.KnowledgeError` naming
the file and the entry.  Which wheels exist is never written here: the index
says that.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import string
import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any, TypeVar

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import KnowledgeError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10
    import tomli as tomllib

__all__ = [
    "ACCELERATORS",
    "FRAMEWORKS",
    "Constraint",
    "Coverage",
    "DeadEnd",
    "DriverNeed",
    "Knowledge",
    "PipNeed",
    "PlatformSupport",
    "PythonSupport",
    "Replacement",
    "Signature",
    "Stack",
    "load",
    "load_constraints",
    "release_floor",
]

FRAMEWORKS = ("tensorflow", "torch", "jax")
ACCELERATORS = ("cpu", "metal", "mps", "cuda")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclasses.dataclass(frozen=True)
class Cited:
    """What every fact carries: where it comes from and when that was checked."""

    id: str
    summary: str
    sources: tuple[str, ...]
    verified: str

    def citation(self) -> str:
        return f"{self.sources[0]} (verified {self.verified})"


@dataclasses.dataclass(frozen=True)
class Constraint(Cited):
    """When a distribution matching *when* is installed, one of three things applies.

    :param require: the other project, if installed too, must match this.
    :param forbid: the name of a project that must then not be installed.
    :param needs: the name of a project that must be installed as well (no
        metadata says so; resolution leaves it to the user, doctor checks it).
    :param macos: the macOS versions it works on (doctor checks it).
    """

    when: Requirement = dataclasses.field(default_factory=lambda: Requirement("placeholder"))
    require: str | None = None
    forbid: str | None = None
    needs: str | None = None
    macos: SpecifierSet | None = None

    @property
    def subject(self) -> str:
        """The project the constraint is about (besides the one in *when*); ``macos`` for an OS rule."""
        if self.macos is not None:
            return "macos"
        name = Requirement(self.required(Version("0"))).name if self.require is not None else self.forbid or self.needs
        assert name is not None
        return canonicalize_name(name)

    @property
    def narrows_resolution(self) -> bool:
        """Whether resolution applies it (``require`` and ``forbid`` rules)."""
        return self.require is not None or self.forbid is not None

    def required(self, version: Version) -> str:
        """The requirement text for a *when* distribution at *version*.

        ``require`` may name ``{major}`` and ``{minor}`` of that version, so one
        rule says "tensorflow-text X.Y needs tensorflow X.Y".
        """
        assert self.require is not None
        return self.require.format(major=version.major, minor=version.minor)

    def requirement_for(self, version: Version) -> Requirement:
        return Requirement(self.required(version))

    def applies_to(self, name: str, version: Version) -> bool:
        return canonicalize_name(self.when.name) == canonicalize_name(name) and self.when.specifier.contains(version, prereleases=True)

    def describe_effect(self, version: Version | None = None) -> str:
        """What the rule asks, with its template filled in for the *version* of *when* it applied to."""
        if self.require is not None:
            if version is not None:
                return f"{self.required(version)} with {canonicalize_name(self.when.name)} {version}"
            return f"{self.require} when {self.when}"
        if self.forbid is not None:
            return f"no {self.forbid} with {self.when}"
        if self.needs is not None:
            return f"{self.needs} installed with {self.when}"
        return f"macOS {self.macos} for {self.when}"

    def to_dict(self, version: Version | None = None) -> dict[str, object]:
        """The rule as data; with *version*, ``applied`` says what it asked of that release."""
        return {
            "id": self.id,
            "when": str(self.when),
            "require": self.require,
            "applied": self.describe_effect(version) if version is not None else None,
            "forbid": self.forbid,
            "needs": self.needs,
            "macos": None if self.macos is None else str(self.macos),
            "summary": self.summary,
            "sources": list(self.sources),
            "verified": self.verified,
        }


@dataclasses.dataclass(frozen=True)
class Coverage(Cited):
    """The newest release of *project* the rules were checked against."""

    project: str = ""
    through: Version = Version("0")


@dataclasses.dataclass(frozen=True)
class Stack(Cited):
    """How to install a framework for one accelerator on some platforms.

    :param platforms: target preset names (``macos-arm64`` ...).
    :param packages: what to ask pip for.
    :param index_url: a vendor wheel index that replaces the default one.
    :param cuda: the CUDA version the wheels are built for (``cuda`` stacks).
    :param releases: the framework releases this stack applies to.
    :param macos: the oldest macOS the accelerator works on.
    """

    framework: str = ""
    accelerator: str = ""
    platforms: tuple[str, ...] = ()
    packages: tuple[Requirement, ...] = ()
    index_url: str | None = None
    cuda: Version | None = None
    releases: SpecifierSet = SpecifierSet()
    macos: Version | None = None


@dataclasses.dataclass(frozen=True)
class DeadEnd(Cited):
    """A framework x accelerator path that no longer works and is not offered as a stack.

    :param last_working: the last set of requirements known to work, for those who must.
    :param alternatives: what people move to instead.
    """

    framework: str = ""
    accelerator: str = ""
    platforms: tuple[str, ...] = ()
    last_working: tuple[Requirement, ...] = ()
    alternatives: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class PythonSupport(Cited):
    """The CPython versions releases *releases* of *project* support."""

    project: str = ""
    releases: SpecifierSet = SpecifierSet()
    python: SpecifierSet = SpecifierSet()


@dataclasses.dataclass(frozen=True)
class PlatformSupport(Cited):
    """The releases of *project* that publish wheels for *platform*."""

    project: str = ""
    platform: str = ""
    releases: SpecifierSet = SpecifierSet()


@dataclasses.dataclass(frozen=True)
class PipNeed(Cited):
    """The oldest pip that reads this OS's wheel tags as framework wheels use them."""

    os: str = ""
    pip: Version = Version("0")


@dataclasses.dataclass(frozen=True)
class DriverNeed(Cited):
    """The oldest NVIDIA driver that runs software built with CUDA *cuda_major*.x."""

    cuda_major: int = 0
    linux: Version = Version("0")
    windows: Version = Version("0")


@dataclasses.dataclass(frozen=True)
class Replacement(Cited):
    """*old* has a successor: *new*."""

    old: str = ""
    new: str = ""
    releases: SpecifierSet = SpecifierSet()


@dataclasses.dataclass(frozen=True)
class Signature(Cited):
    """An error message wheelwise recognises.

    :param pattern: compiled with ``re.MULTILINE``; matched against the log
        near an occurrence of one of *keys*.  Its named groups fill the
        ``{name}`` placeholders of *title*, *cause* and *fix*.
    :param keys: lower-case literal text every match contains (one of them):
        the pattern only runs where a key occurs, which keeps matching linear.
    :param title: what happened, one line.
    :param cause: why.
    :param fix: what to do, in words.
    :param commands: shell commands that fix it, where there are any.
    :param context: host facts worth adding when run on the affected machine
        (``rosetta``, ``arch``, ``python``, ``nvidia``, ``cpu``).
    :param severity: ``error``, ``warning`` or ``notice`` (harmless).
    :param os: the operating systems the cause is possible on (empty: any);
        the signature is dropped when the log or the host says another.
    :param machine: the hardware architectures the cause is possible on.
    :param unless: ids of more specific signatures this one yields to.
    """

    pattern: re.Pattern[str] = re.compile("")
    keys: tuple[str, ...] = ()
    title: str = ""
    cause: str = ""
    fix: str = ""
    commands: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    severity: str = "error"
    os: tuple[str, ...] = ()
    machine: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()

    @staticmethod
    def render(template: str, values: Mapping[str, str]) -> str:
        """*template* with the matched values in its placeholders (``?`` for a group that did not take part)."""
        return template.format_map(_Values(values)) if "{" in template else template

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "severity": self.severity,
            "title": self.title,
            "cause": self.cause,
            "fix": self.fix,
            "commands": list(self.commands),
            "sources": list(self.sources),
            "verified": self.verified,
        }


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


@dataclasses.dataclass(frozen=True)
class Knowledge:
    """Everything wheelwise knows that the index cannot tell."""

    constraints: tuple[Constraint, ...]
    coverage: tuple[Coverage, ...]
    stacks: tuple[Stack, ...]
    dead_ends: tuple[DeadEnd, ...]
    python_support: tuple[PythonSupport, ...]
    platform_support: tuple[PlatformSupport, ...]
    pip_needs: tuple[PipNeed, ...]
    driver_needs: tuple[DriverNeed, ...]
    replacements: tuple[Replacement, ...]
    signatures: tuple[Signature, ...]

    def covered_through(self, project: str) -> Coverage | None:
        name = canonicalize_name(project)
        return next((c for c in self.coverage if c.project == name), None)

    def dead_end(self, framework: str, accelerator: str, platform: str | None) -> DeadEnd | None:
        return next((d for d in self.dead_ends if (d.framework, d.accelerator) == (framework, accelerator) and platform in d.platforms), None)

    def driver_for(self, cuda: Version) -> DriverNeed | None:
        return next((d for d in self.driver_needs if d.cuda_major == cuda.major), None)

    def replacement_for(self, project: str, version: Version | None = None) -> Replacement | None:
        name = canonicalize_name(project)
        for r in self.replacements:
            if r.old == name and (version is None or r.releases.contains(version, prereleases=True)):
                return r
        return None


def release_floor(spec: SpecifierSet) -> Version:
    """The lowest release a specifier names (to order entries newest first)."""
    floors = [Version(s.version.rstrip(".*")) for s in spec if s.operator in (">=", ">", "==", "~=", "<=")]
    return max(floors, default=Version("0"))


# -- validation --------------------------------------------------------------

_T = TypeVar("_T")


class _Entry:
    """Typed access to one TOML table; every failure names the file and entry."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def fail(self, message: str) -> KnowledgeError:
        return KnowledgeError(f"{self.where}: {message}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"'{key}' must be a non-empty string")
        return value

    def optional(self, key: str, convert: Callable[[str], _T]) -> _T | None:
        return None if key not in self.data else self.parse(key, convert)

    def parse(self, key: str, convert: Callable[[str], _T]) -> _T:
        text = self.text(key)
        try:
            return convert(text)
        except (InvalidRequirement, InvalidSpecifier, InvalidVersion, re.error, ValueError) as exc:
            raise self.fail(f"'{key}' = {text!r} does not parse: {exc}") from exc

    def texts(self, key: str, *, required: bool = True) -> tuple[str, ...]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"'{key}' must be a list of strings")
        if required and not value:
            raise self.fail(f"'{key}' must not be empty")
        return tuple(value)

    def choice(self, key: str, allowed: Sequence[str]) -> str:
        value = self.text(key)
        if value not in allowed:
            raise self.fail(f"'{key}' = {value!r} is not one of {', '.join(allowed)}")
        return value

    def cited(self) -> dict[str, Any]:
        sources = self.texts("sources")
        for url in sources:
            if not url.startswith("https://") or " " in url:
                raise self.fail(f"source {url!r} is not an https URL")
        verified = self.data.get("verified")
        if not isinstance(verified, str) or not _DATE.match(verified):
            raise self.fail("'verified' must be the date the sources were checked, as YYYY-MM-DD")
        return {"id": self.text("id"), "summary": self.text("summary"), "sources": sources, "verified": verified}


def _name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", text):
        raise ValueError("not a project name")
    return canonicalize_name(text)


def _platforms(entry: _Entry) -> tuple[str, ...]:
    from ..target import PRESETS

    platforms = entry.texts("platforms")
    for p in platforms:
        if p not in PRESETS:
            raise entry.fail(f"platform {p!r} is not one of {', '.join(PRESETS)}")
    return platforms


def _constraint(e: _Entry) -> Constraint:
    kinds = [k for k in ("require", "forbid", "needs", "macos") if k in e.data]
    if len(kinds) != 1:
        raise e.fail("give exactly one of 'require', 'forbid', 'needs' and 'macos'")
    return Constraint(
        **e.cited(),
        when=e.parse("when", Requirement),
        require=e.optional("require", _template),
        forbid=e.optional("forbid", _name),
        needs=e.optional("needs", _name),
        macos=e.optional("macos", SpecifierSet),
    )


def _template(text: str) -> str:
    try:
        Requirement(text.format(major=1, minor=2))
    except (KeyError, IndexError) as exc:
        raise ValueError(f"unknown placeholder {exc}; use {{major}} and {{minor}}") from exc
    return text


def _coverage(e: _Entry) -> Coverage:
    return Coverage(**e.cited(), project=e.parse("project", _name), through=e.parse("through", Version))


def _stack(e: _Entry) -> Stack:
    packages = tuple(Requirement(p) for p in e.texts("packages"))
    index_url = e.data.get("index_url")
    if index_url is not None and (not isinstance(index_url, str) or not index_url.startswith("https://")):
        raise e.fail("'index_url' must be an https URL")
    return Stack(
        **e.cited(),
        framework=e.choice("framework", FRAMEWORKS),
        accelerator=e.choice("accelerator", ACCELERATORS),
        platforms=_platforms(e),
        packages=packages,
        index_url=index_url,
        cuda=e.optional("cuda", Version),
        releases=e.parse("releases", SpecifierSet),
        macos=e.optional("macos", Version),
    )


def _dead_end(e: _Entry) -> DeadEnd:
    return DeadEnd(
        **e.cited(),
        framework=e.choice("framework", FRAMEWORKS),
        accelerator=e.choice("accelerator", ACCELERATORS),
        platforms=_platforms(e),
        last_working=tuple(Requirement(r) for r in e.texts("last_working")),
        alternatives=e.texts("alternatives"),
    )


def _python_support(e: _Entry) -> PythonSupport:
    return PythonSupport(
        **e.cited(), project=e.parse("project", _name), releases=e.parse("releases", SpecifierSet), python=e.parse("python", SpecifierSet)
    )


def _platform_support(e: _Entry) -> PlatformSupport:
    (platform,) = _platforms(_Entry({"platforms": [e.text("platform")]}, e.where))
    return PlatformSupport(**e.cited(), project=e.parse("project", _name), platform=platform, releases=e.parse("releases", SpecifierSet))


def _pip_need(e: _Entry) -> PipNeed:
    return PipNeed(**e.cited(), os=e.choice("os", ("macos", "linux", "windows")), pip=e.parse("pip", Version))


def _driver_need(e: _Entry) -> DriverNeed:
    major = e.data.get("cuda_major")
    if not isinstance(major, int) or major < 1:
        raise e.fail("'cuda_major' must be a positive integer")
    return DriverNeed(**e.cited(), cuda_major=major, linux=e.parse("linux", Version), windows=e.parse("windows", Version))


def _replacement(e: _Entry) -> Replacement:
    return Replacement(
        **e.cited(), old=e.parse("old", _name), new=e.parse("new", _name), releases=SpecifierSet(e.data.get("releases", ""))
    )


_CONTEXTS = ("rosetta", "arch", "python", "nvidia", "cpu")
_SEVERITIES = ("error", "warning", "notice")
_OSES = ("linux", "macos", "windows")
#: a character class, to tell "anything" classes ([^x], [\s\S]) from narrow ones ([\w.+-])
_CLASS = re.compile(r"\[(?:\\.|[^\]\\])*\]")
#: a repeat without bound of "anything": its work would grow with the length of a line
_UNBOUNDED = re.compile(r"(?<!\\)(?:\.|\\S|\\D|\\W|\x00)(?:[*+]|\{\d*,\})")


def _pattern(text: str) -> re.Pattern[str]:
    def token(m: re.Match[str]) -> str:
        wide = m.group().startswith("[^") or ("\\s" in m.group() and "\\S" in m.group())
        return "\x00" if wide else "c"

    bad = _UNBOUNDED.search(_CLASS.sub(token, text))
    if bad is not None:
        raise ValueError("a repeat of any character without bound; use a bounded repeat such as {0,300}")
    pattern = re.compile(text, re.MULTILINE)
    if pattern.search("") is not None:
        raise ValueError("it matches empty text")
    return pattern


def _signature(e: _Entry) -> Signature:
    context = e.texts("context", required=False)
    for c in context:
        if c not in _CONTEXTS:
            raise e.fail(f"context {c!r} is not one of {', '.join(_CONTEXTS)}")
    pattern = e.parse("pattern", _pattern)
    texts = {field: e.text(field) for field in ("title", "cause", "fix")}
    for field, template in texts.items():
        for _, name, _, _ in string.Formatter().parse(template):
            if name is not None and name not in pattern.groupindex:
                raise e.fail(f"'{field}' names {{{name}}}, which the pattern has no group for")
    keys = e.texts("keys")
    for key in keys:
        if key != key.lower():
            raise e.fail(f"key {key!r} must be lower case (keys are found in the lower-cased log)")
    oses = e.texts("os", required=False)
    for name in oses:
        if name not in _OSES:
            raise e.fail(f"os {name!r} is not one of {', '.join(_OSES)}")
    severity = e.data.get("severity", "error")
    if severity not in _SEVERITIES:
        raise e.fail(f"'severity' = {severity!r} is not one of {', '.join(_SEVERITIES)}")
    return Signature(
        **e.cited(),
        pattern=pattern,
        keys=keys,
        title=texts["title"],
        cause=texts["cause"],
        fix=texts["fix"],
        commands=e.texts("commands", required=False),
        context=context,
        severity=severity,
        os=oses,
        machine=e.texts("machine", required=False),
        unless=e.texts("unless", required=False),
    )


def _entries(text: str, source: str, table: str, build: Callable[[_Entry], _T]) -> tuple[_T, ...]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"{source}: not valid TOML: {exc}") from exc
    found = []
    seen: set[str] = set()
    for number, raw in enumerate(data.get(table, []), start=1):
        where = f"{source} [[{table}]] #{number}" + (f" ({raw['id']})" if isinstance(raw.get("id"), str) else "")
        entry = build(_Entry(raw, where))
        ident = getattr(entry, "id", None)
        if ident in seen:
            raise KnowledgeError(f"{where}: id {ident!r} is used twice")
        seen.add(str(ident))
        found.append(entry)
    return tuple(found)


def _read(name: str) -> str:
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def parse_constraints(text: str, source: str = "constraints.toml") -> tuple[Constraint, ...]:
    """Parse and validate constraint rules; every rule must cite a source and a date."""
    return _entries(text, source, "rule", _constraint)


def parse_signatures(text: str, source: str = "signatures.toml") -> tuple[Signature, ...]:
    return _entries(text, source, "signature", _signature)


def load_files(files: Mapping[str, str]) -> Knowledge:
    """Build :class:`Knowledge` from file name -> TOML text (the shipped files by default)."""

    def get(name: str, table: str, build: Callable[[_Entry], _T]) -> tuple[_T, ...]:
        return _entries(files[name], name, table, build)

    knowledge = Knowledge(
        constraints=get("constraints.toml", "rule", _constraint),
        coverage=get("constraints.toml", "coverage", _coverage),
        stacks=get("stacks.toml", "stack", _stack),
        dead_ends=get("stacks.toml", "dead_end", _dead_end),
        python_support=get("support.toml", "python", _python_support),
        platform_support=get("support.toml", "platform", _platform_support),
        pip_needs=get("support.toml", "pip", _pip_need),
        driver_needs=get("support.toml", "driver", _driver_need),
        replacements=get("replacements.toml", "replacement", _replacement),
        signatures=get("signatures.toml", "signature", _signature),
    )
    ids = {sig.id for sig in knowledge.signatures}
    for sig in knowledge.signatures:
        for other in sig.unless:
            if other not in ids:
                raise KnowledgeError(f"signatures.toml ({sig.id}): 'unless' names {other!r}, which no signature has as id")
    covered = {c.project for c in knowledge.coverage}
    for rule in knowledge.constraints:
        # a rule on a closed range of releases, or a plain need, says nothing about later releases
        closed = any(spec.operator in ("<", "<=", "==", "===", "~=") for spec in rule.when.specifier) or rule.needs is not None
        if not closed and canonicalize_name(rule.when.name) not in covered and rule.subject not in covered:
            raise KnowledgeError(f"constraints.toml ({rule.id}): neither project has a [[coverage]] entry saying how far the rules go")
    return knowledge


DATA_FILES = ("constraints.toml", "stacks.toml", "support.toml", "replacements.toml", "signatures.toml")


@functools.lru_cache(maxsize=1)
def load() -> Knowledge:
    """The knowledge shipped with wheelwise, validated (once per process)."""
    return load_files({name: _read(name) for name in DATA_FILES})


def load_constraints() -> tuple[Constraint, ...]:
    """The constraint rules shipped with wheelwise that check applies.

    ``require`` and ``forbid`` rules narrow resolution; ``needs`` rules are checked on the
    pins (a project resolved without the one it needs is a warning on the cell).
    """
    return tuple(rule for rule in load().constraints if rule.narrows_resolution or rule.needs is not None)

"""What the user asks for: requirement strings, requirements files, lock files, a pyproject.

Requirements files are read as pip reads them: ``#`` comments, trailing
``\\`` continuations, ``${VAR}`` expansion, nested ``-r`` and ``-c`` (relative
to the including file), index options (``-i``, ``--extra-index-url``,
``-f``, ``--no-index``), the options that choose files (``--only-binary``,
``--no-binary``, ``--prefer-binary``) and ``--hash`` after a requirement.
Lines that do not name a project on an index (``-e``, a URL, a path: ``pip
freeze`` writes them) are skipped with a warning naming the file and line,
except a wheel's URL or path, whose file name says the project and version:
that version is checked from the index.  ``pylock.toml`` and ``uv.lock`` given
with ``-r`` are read as locks (:mod:`wheelwise.lockfiles`).  A pyproject's
fields are checked against their schema (PEP 621, PEP 735) before use.
Every requirement keeps where it came from, so that errors name the file and
line.  Nothing here touches the network.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from .errors import BadInputError
from .index.urls import redact
from .selection import HASH_ALGORITHMS, parse_hash

if TYPE_CHECKING:
    from .lockfiles import LockedPackage

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10
    import tomli as tomllib

__all__ = [
    "PythonBound",
    "RequirementSet",
    "SourcedRequirement",
    "parse_requirement_line",
    "read_groups",
    "read_project",
    "read_requirements",
]

_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_COMMENT = re.compile(r"(^|\s+)#.*$")
#: Options that take a value and configure the index (pip's names).
_INDEX_OPTIONS = {"-i": "index_url", "--index-url": "index_url", "--extra-index-url": "extra_index_urls",
                  "-f": "find_links", "--find-links": "find_links"}
#: Options pip accepts in a file that do not change what wheelwise answers.
_IGNORED_WITH_VALUE = {"--trusted-host", "--use-feature", "--progress-bar"}
_IGNORED_FLAGS = {"--pre"}
_FORMAT_OPTIONS = {"--only-binary": "only-binary", "--no-binary": "no-binary"}
_ARCHIVE = re.compile(r"\.(whl|tar\.gz|zip|tar\.bz2|tgz)$")
#: Per-requirement options (after the requirement on the same line).
_PER_REQUIREMENT = ("--hash", "--config-settings", "--global-option", "--install-option")


@dataclasses.dataclass(frozen=True)
class SourcedRequirement:
    """A requirement and where it was written (``command line``, a file and line)."""

    requirement: Requirement
    source: str
    line: int | None = None

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    @property
    def where(self) -> str:
        return self.source if self.line is None else f"{self.source}:{self.line}"

    def __str__(self) -> str:
        return str(self.requirement)


@dataclasses.dataclass(frozen=True)
class PythonBound:
    """A Requires-Python the whole request is under (a project's, a lock's).

    :param owner: what says so (the project's name, or the file).
    :param where: the file and field.
    """

    specifier: SpecifierSet
    owner: str
    where: str


@dataclasses.dataclass
class RequirementSet:
    """Requirements to install, constraints that only narrow, and index options from files."""

    requirements: list[SourcedRequirement] = dataclasses.field(default_factory=list)
    constraints: list[SourcedRequirement] = dataclasses.field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = dataclasses.field(default_factory=list)
    find_links: list[str] = dataclasses.field(default_factory=list)
    no_index: bool = False
    #: ``("only-binary" | "no-binary", value)`` in the order the files give them
    formats: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    prefer_binary: bool = False
    require_hashes: bool = False
    #: ``--hash`` values by project: ``(algorithm, digest)``
    hashes: dict[str, set[tuple[str, str]]] = dataclasses.field(default_factory=dict)
    #: Requires-Python of a project or lock, with where it was written
    requires_python: list[PythonBound] = dataclasses.field(default_factory=list)
    #: lines skipped or read differently, each naming its file and line
    warnings: list[str] = dataclasses.field(default_factory=list)

    def extend(self, other: RequirementSet) -> None:
        self.requirements += other.requirements
        self.constraints += other.constraints
        self.index_url = other.index_url or self.index_url
        self.extra_index_urls += other.extra_index_urls
        self.find_links += other.find_links
        self.no_index = self.no_index or other.no_index
        self.formats += other.formats
        self.prefer_binary = self.prefer_binary or other.prefer_binary
        self.require_hashes = self.require_hashes or other.require_hashes
        for name, hashes in other.hashes.items():
            self.hashes.setdefault(name, set()).update(hashes)
        self.requires_python += other.requires_python
        self.warnings += other.warnings


def parse_requirement_line(text: str, source: str = "command line", line: int | None = None) -> SourcedRequirement:
    """One requirement (``name[extras] specifier ; marker``); URLs and paths are refused."""
    stripped = text.strip()
    if not stripped:
        raise BadInputError("empty requirement", source=source, line=line)
    try:
        req = Requirement(stripped)
    except InvalidRequirement as exc:
        if stripped.startswith((".", "/", "~")) or "://" in stripped or stripped.endswith((".whl", ".tar.gz", ".zip")):
            raise BadInputError(
                f"{stripped!r} is a path or URL; wheelwise checks named requirements from the index",
                hint="write the project name and version instead, e.g. 'name==1.2'",
                source=source,
                line=line,
            ) from exc
        raise BadInputError(
            f"{stripped!r} is not a valid requirement: {exc}",
            hint="write it as pip does, e.g. 'tensorflow>=2.16' or 'torch[opt]==2.5.1; sys_platform == \"linux\"'",
            source=source,
            line=line,
        ) from exc
    if req.url:
        raise BadInputError(
            f"{stripped!r} is a direct URL requirement; wheelwise checks named requirements from the index",
            hint="write the project name and version instead",
            source=source,
            line=line,
        )
    return SourcedRequirement(req, source, line)


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """As pip: join ``\\`` continuations (no space added), then drop comments.

    Yields (number of the first physical line, text) for each non-empty line.
    """
    pending: list[str] = []
    start = 0
    joined: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        is_comment = _COMMENT.match(raw) is not None
        if raw.endswith("\\") and not is_comment:
            if not pending:
                start = number
            pending.append(raw[:-1])
            continue
        if pending:
            pending.append(" " + raw if is_comment else raw)
            joined.append((start, "".join(pending)))
            pending = []
        else:
            joined.append((number, raw))
    if pending:
        joined.append((start, "".join(pending)))
    for number, line in joined:
        line = _COMMENT.sub("", line).strip()
        if line:
            yield number, line


def _expand(text: str, environ: os._Environ[str] | dict[str, str]) -> str:
    return _ENV_VAR.sub(lambda m: environ.get(m.group(1), m.group(0)), text)


def read_requirements(
    path: str | Path,
    *,
    constraint: bool = False,
    environ: dict[str, str] | None = None,
    _seen: tuple[Path, ...] = (),
) -> RequirementSet:
    """Read a requirements file (``constraint=True``: every entry only narrows).

    A ``pylock.toml`` (or ``pylock.NAME.toml``) or ``uv.lock`` is read as a lock file.
    """
    from .lockfiles import is_lock_file  # packaging.pylock and TOML: only where files are read

    env = dict(os.environ) if environ is None else environ
    file = Path(path)
    shown = str(path)
    if is_lock_file(file):
        return _from_lock(file, constraint)
    resolved = file.resolve()
    if resolved in _seen:
        raise BadInputError(f"{shown} includes itself (through -r/-c)", hint="remove the loop", source=shown)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise BadInputError(f"cannot read {shown}: no such file", hint="check the path") from exc
    except IsADirectoryError as exc:
        raise BadInputError(f"cannot read {shown}: it is a folder", hint="give a requirements file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BadInputError(f"cannot read {shown}: {reason}") from exc
    result = RequirementSet()
    base = file.parent
    for number, line in _logical_lines(text):
        line = _expand(line, env)
        if line.startswith("-"):
            _option(line, number, shown, base, result, constraint, env, (*_seen, resolved))
            continue
        requirement_text, options = _split_options(line)
        entry = _direct(requirement_text, shown, number, result)
        if entry is None:
            continue
        (result.constraints if constraint else result.requirements).append(entry)
        hashes = _hashes(options, shown, number)
        if hashes:
            result.hashes.setdefault(entry.name, set()).update(hashes)
    return result


def _split_options(line: str) -> tuple[str, str]:
    """The requirement and the per-requirement options after it (``--hash`` ...)."""
    padded = f" {line}"
    starts = [m.start() for option in _PER_REQUIREMENT if (m := re.search(rf"\s{option}(=|\s)", padded))]
    if not starts:
        return line.strip(), ""
    cut = min(starts)
    return padded[:cut].strip(), padded[cut:].strip()


def _hashes(options: str, source: str, line: int) -> set[tuple[str, str]]:
    try:
        words = shlex.split(options)
    except ValueError as exc:
        raise BadInputError(f"cannot read options {options!r}: {exc}", source=source, line=line) from exc
    found: set[tuple[str, str]] = set()
    for position, word in enumerate(words):
        if word == "--hash":
            if position + 1 >= len(words):
                raise BadInputError("--hash needs a value", source=source, line=line)
            found.add(parse_hash(words[position + 1], source=source, line=line))
        elif word.startswith("--hash="):
            found.add(parse_hash(word.partition("=")[2], source=source, line=line))
    return found


def _shown(text: str) -> str:
    """A line for a message: URLs in it without their credentials."""
    return " ".join(redact(w) if "://" in w else w for w in text.split())


def _direct(text: str, source: str, line: int, result: RequirementSet) -> SourcedRequirement | None:
    """A named requirement; or for a URL or path (``pip freeze`` writes ``name @ file://...``):
    the wheel's version from its file name, else ``None`` with a warning."""
    try:
        req: Requirement | None = Requirement(text)
    except InvalidRequirement:
        req = None
    if req is not None and not req.url:
        return SourcedRequirement(req, source, line)
    looks_local = text.startswith((".", "/", "~")) or "://" in text or _ARCHIVE.search(text.split("#")[0]) is not None
    if req is None and not looks_local:
        return parse_requirement_line(text, source, line)  # raises the usual message
    location = (req.url if req is not None else text) or ""
    basename = location.split("#")[0].split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    where = f"{source}:{line}"
    if basename.endswith(".whl"):
        try:
            name, version, _, _ = parse_wheel_filename(basename)
        except InvalidWheelFilename:
            pass
        else:
            if req is None or canonicalize_name(req.name) == name:
                extras = f"[{','.join(sorted(req.extras))}]" if req is not None and req.extras else ""
                marker = f"; {req.marker}" if req is not None and req.marker else ""
                pinned = Requirement(f"{name}{extras}=={version}{marker}")
                result.warnings.append(
                    f"{where}: {_shown(text)!r} is a wheel file; checked as {name}=={version} from the index"
                )
                return SourcedRequirement(pinned, source, line)
    kind = "a direct URL" if "://" in location else "a local path"
    result.warnings.append(
        f"{where}: skipped {_shown(text)!r}: {kind}, not a project on an index (wheelwise checks those)"
    )
    return None


def _from_lock(path: Path, constraint: bool) -> RequirementSet:
    from .lockfiles import read_lock

    locked = read_lock(path)
    result = RequirementSet()
    if locked.requires_python:
        result.requires_python.append(_bound(locked.requires_python, str(path), f"{path} requires-python"))
    for package, into in [*((p, "roots") for p in locked.roots), *((p, "pins") for p in locked.pins)]:
        entry = _locked(package, result)
        if entry is None:
            continue
        (result.constraints if constraint or into == "pins" else result.requirements).append(entry)
        wanted = {(a, d) for a, d in package.hashes if a in HASH_ALGORITHMS}
        if wanted:
            result.hashes.setdefault(entry.name, set()).update(wanted)
    return result


def _locked(package: LockedPackage, result: RequirementSet) -> SourcedRequirement | None:
    if package.kind != "index":
        result.warnings.append(f"{package.where}: skipped: a {package.kind} package, not from an index")
        return None
    text = package.name + (f"[{','.join(package.extras)}]" if package.extras else "")
    if package.version is not None:
        text += f"=={package.version}"
    if package.marker is not None:
        text += f"; {package.marker}"
    return SourcedRequirement(Requirement(text), package.where)


def _bound(text: object, owner: str, where: str) -> PythonBound:
    if not isinstance(text, str):
        raise BadInputError(f"{where} must be a string, not {type(text).__name__}")
    try:
        return PythonBound(SpecifierSet(text), owner, where)
    except InvalidSpecifier as exc:
        raise BadInputError(f"{where} {text!r} is not a valid version specifier",
                            hint="write it as PEP 440 does, e.g. '>=3.10'") from exc


def _option(
    line: str,
    number: int,
    source: str,
    base: Path,
    result: RequirementSet,
    constraint: bool,
    env: dict[str, str],
    seen: tuple[Path, ...],
) -> None:
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise BadInputError(f"cannot read option {line!r}: {exc}", source=source, line=number) from exc
    name, _, inline = words[0].partition("=")
    value = inline or (words[1] if len(words) > 1 else None)
    if name in ("-r", "--requirement", "-c", "--constraint"):
        if not value:
            raise BadInputError(f"{name} needs a file name", source=source, line=number)
        nested = value if Path(value).is_absolute() else str(base / value)
        try:
            inner = read_requirements(nested, constraint=constraint or name in ("-c", "--constraint"), environ=env, _seen=seen)
        except BadInputError as exc:
            if exc.source is None:  # the file itself could not be read: say who asked for it
                raise BadInputError(exc.message, hint=exc.hint, source=source, line=number) from exc
            raise
        result.extend(inner)
    elif name in _INDEX_OPTIONS:
        if not value:
            raise BadInputError(f"{name} needs a value", source=source, line=number)
        field = _INDEX_OPTIONS[name]
        if field == "index_url":
            result.index_url = value
        elif field == "find_links" and "://" not in value and not Path(value).is_absolute():
            result.find_links.append(str(base / value))
        else:
            getattr(result, field).append(value)
    elif name == "--no-index":
        result.no_index = True
    elif name in _FORMAT_OPTIONS:
        if not value:
            raise BadInputError(f"{name} needs a value (:all:, :none: or project names)", source=source, line=number)
        result.formats.append((_FORMAT_OPTIONS[name], value))
    elif name == "--prefer-binary":
        result.prefer_binary = True
    elif name == "--require-hashes":
        result.require_hashes = True
    elif name in ("-e", "--editable"):
        result.warnings.append(
            f"{source}:{number}: skipped {_shown(line)!r}: an editable install, not a project on an index "
            "(check its own dependencies with --project DIR)"
        )
    elif name in _IGNORED_WITH_VALUE or name in _IGNORED_FLAGS:
        return
    else:
        raise BadInputError(f"unknown option {name!r} in a requirements file", source=source, line=number)


def _pyproject(directory: str | Path) -> tuple[dict[str, Any], str]:
    folder = Path(directory)
    path = folder / "pyproject.toml" if folder.is_dir() or not folder.name.endswith(".toml") else folder
    shown = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BadInputError(f"cannot read {shown}: no such file", hint="give a folder holding a pyproject.toml") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read {shown}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"{shown} is not valid TOML: {exc}", hint="fix the file; pip would refuse it too") from exc
    return data, shown


def _strings(value: object, shown: str, field: str) -> list[str]:
    """*value* must be an array of strings (the schema of every list field read here)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        got = f"a {type(value).__name__}" if not isinstance(value, list) else "an array holding a non-string"
        raise BadInputError(
            f"{shown}: {field} must be an array of strings, not {got} ({value!r:.60})",
            hint='write it as a TOML array, e.g. ["numpy>=1.26"]',
        )
    return value


def _validate_project(project: object, shown: str) -> dict[str, Any]:
    """The fields of ``[project]`` wheelwise reads, checked against PEP 621's schema."""
    if not isinstance(project, dict):
        raise BadInputError(f"{shown} has no [project] table", hint="wheelwise reads PEP 621 [project] dependencies")
    for field in ("name", "version", "requires-python"):
        if field in project and not isinstance(project[field], str):
            raise BadInputError(f"{shown}: [project] {field} must be a string, not {type(project[field]).__name__}")
    for field in ("dependencies", "dynamic"):
        if field in project:
            _strings(project[field], shown, f"[project] {field}")
    optional = project.get("optional-dependencies", {})
    if not isinstance(optional, dict):
        raise BadInputError(f"{shown}: [project] optional-dependencies must be a table of arrays of strings")
    for extra, entries in optional.items():
        _strings(entries, shown, f"[project] optional-dependencies.{extra}")
    return project


def read_project(directory: str | Path, extras: Sequence[str] = (), groups: Sequence[str] = ()) -> RequirementSet:
    """``[project] dependencies`` (and ``optional-dependencies`` of *extras*, PEP 735
    ``[dependency-groups]`` of *groups*) of a pyproject.toml, with its ``requires-python``."""
    data, shown = _pyproject(directory)
    project = _validate_project(data.get("project"), shown)
    if "dependencies" in project.get("dynamic", []):
        raise BadInputError(
            f"{shown} declares its dependencies dynamic: they are known only after a build",
            hint="list them in a requirements file and use -r",
        )
    result = RequirementSet()
    if "requires-python" in project:
        owner = project.get("name") or shown
        result.requires_python.append(_bound(project["requires-python"], owner, f"{shown} [project] requires-python"))
    result.requirements += [_project_entry(text, shown, "[project] dependencies") for text in project.get("dependencies", [])]
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        found = {canonicalize_name(k): v for k, v in optional.items()}.get(canonicalize_name(extra))
        if found is None:
            names = ", ".join(sorted(optional)) or "none"
            raise BadInputError(f"{shown} has no extra {extra!r}", hint=f"extras there: {names}")
        result.requirements += [_project_entry(text, shown, f"[project] optional-dependencies.{extra}") for text in found]
    if groups:
        result.extend(_groups(data, shown, groups))
    return result


def read_groups(groups: Sequence[str], default: str | Path = ".") -> RequirementSet:
    """PEP 735 dependency groups alone, as ``pip install --group``: ``NAME`` from
    *default*'s pyproject.toml, or ``PATH:NAME`` from the pyproject.toml at PATH."""
    by_file: dict[str, list[str]] = {}
    for group in groups:
        path, sep, name = group.rpartition(":")
        if not sep or not path.endswith("pyproject.toml"):
            path, name = str(default), group
        by_file.setdefault(path, []).append(name)
    result = RequirementSet()
    for path, names in by_file.items():
        data, shown = _pyproject(path)
        result.extend(_groups(data, shown, names))
    return result


def _groups(data: dict[str, Any], shown: str, wanted: Sequence[str]) -> RequirementSet:
    """Requirements of PEP 735 groups, ``{include-group = NAME}`` followed (cycles refused)."""
    table = data.get("dependency-groups")
    if table is None:
        raise BadInputError(f"{shown} has no [dependency-groups] table", hint="PEP 735 groups live there")
    if not isinstance(table, dict):
        raise BadInputError(f"{shown}: [dependency-groups] must be a table of arrays")
    normal: dict[str, tuple[str, list[Any]]] = {}
    for name, entries in table.items():
        key = canonicalize_name(name)
        if key in normal:
            raise BadInputError(f"{shown}: [dependency-groups] names {name!r} twice (names are compared normalised)")
        if not isinstance(entries, list):
            raise BadInputError(f"{shown}: [dependency-groups] {name} must be an array, not {type(entries).__name__}")
        normal[key] = (name, entries)
    result = RequirementSet()

    def expand(group: str, trail: tuple[str, ...]) -> None:
        key = canonicalize_name(group)
        if key in trail:
            raise BadInputError(f"{shown}: [dependency-groups] {group} includes itself ({' -> '.join((*trail, key))})")
        if key not in normal:
            names = ", ".join(sorted(n for n, _ in normal.values())) or "none"
            raise BadInputError(f"{shown} has no dependency group {group!r}", hint=f"groups there: {names}")
        name, entries = normal[key]
        for entry in entries:
            if isinstance(entry, str):
                result.requirements.append(_project_entry(entry, shown, f"[dependency-groups] {name}"))
            elif isinstance(entry, dict) and set(entry) == {"include-group"} and isinstance(entry["include-group"], str):
                expand(entry["include-group"], (*trail, key))
            else:
                raise BadInputError(
                    f"{shown}: [dependency-groups] {name} holds {entry!r:.60}: expected a requirement string "
                    "or {include-group = \"NAME\"}",
                )

    for group in wanted:
        expand(group, ())
    return result


def _project_entry(text: str, source: str, key: str) -> SourcedRequirement:
    return parse_requirement_line(text, f"{source} {key}")

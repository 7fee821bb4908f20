"""What the user asks for: requirement strings, requirements files, a pyproject.

Requirements files are read as pip reads them: ``#`` comments, trailing
``\\`` continuations, ``${VAR}`` expansion, nested ``-r`` and ``-c`` (relative
to the including file), index options (``-i``, ``--extra-index-url``,
``-f``, ``--no-index``) and per-requirement options such as ``--hash``.
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

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .errors import BadInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10
    import tomli as tomllib

__all__ = ["RequirementSet", "SourcedRequirement", "parse_requirement_line", "read_project", "read_requirements"]

_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_COMMENT = re.compile(r"(^|\s+)#.*$")
#: Options that take a value and configure the index (pip's names).
_INDEX_OPTIONS = {"-i": "index_url", "--index-url": "index_url", "--extra-index-url": "extra_index_urls",
                  "-f": "find_links", "--find-links": "find_links"}
#: Options pip accepts in a file that do not change what wheelwise answers.
_IGNORED_WITH_VALUE = {"--trusted-host", "--use-feature", "--only-binary", "--no-binary", "--progress-bar"}
_IGNORED_FLAGS = {"--pre", "--prefer-binary", "--require-hashes"}
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


@dataclasses.dataclass
class RequirementSet:
    """Requirements to install, constraints that only narrow, and index options from files."""

    requirements: list[SourcedRequirement] = dataclasses.field(default_factory=list)
    constraints: list[SourcedRequirement] = dataclasses.field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = dataclasses.field(default_factory=list)
    find_links: list[str] = dataclasses.field(default_factory=list)
    no_index: bool = False

    def extend(self, other: RequirementSet) -> None:
        self.requirements += other.requirements
        self.constraints += other.constraints
        self.index_url = other.index_url or self.index_url
        self.extra_index_urls += other.extra_index_urls
        self.find_links += other.find_links
        self.no_index = self.no_index or other.no_index


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
    """Read a requirements file (``constraint=True``: every entry only narrows)."""
    env = dict(os.environ) if environ is None else environ
    file = Path(path)
    shown = str(path)
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
        requirement_text = line
        for option in _PER_REQUIREMENT:
            found = re.search(rf"\s{option}(=|\s)", f" {line}")
            if found:
                requirement_text = f" {line}"[: found.start()].strip()
                break
        entry = parse_requirement_line(requirement_text, shown, number)
        (result.constraints if constraint else result.requirements).append(entry)
    return result


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
    elif name in ("-e", "--editable"):
        raise BadInputError(
            f"editable requirement {value!r}: wheelwise checks named requirements from the index",
            hint="check the project's own dependencies with --project DIR",
            source=source,
            line=number,
        )
    elif name in _IGNORED_WITH_VALUE or name in _IGNORED_FLAGS:
        return
    else:
        raise BadInputError(f"unknown option {name!r} in a requirements file", source=source, line=number)


def read_project(directory: str | Path, extras: Sequence[str] = ()) -> list[SourcedRequirement]:
    """``[project] dependencies`` (and ``optional-dependencies`` of *extras*) of a pyproject.toml."""
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
    project = data.get("project")
    if not isinstance(project, dict):
        raise BadInputError(f"{shown} has no [project] table", hint="wheelwise reads PEP 621 [project] dependencies")
    if "dependencies" in project.get("dynamic", []):
        raise BadInputError(
            f"{shown} declares its dependencies dynamic: they are known only after a build",
            hint="list them in a requirements file and use -r",
        )
    entries = [_project_entry(text, shown, "dependencies") for text in project.get("dependencies", [])]
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        found = {canonicalize_name(k): v for k, v in optional.items()}.get(canonicalize_name(extra))
        if found is None:
            names = ", ".join(sorted(optional)) or "none"
            raise BadInputError(f"{shown} has no extra {extra!r}", hint=f"extras there: {names}")
        entries += [_project_entry(text, shown, f"optional-dependencies.{extra}") for text in found]
    return entries


def _project_entry(text: object, source: str, key: str) -> SourcedRequirement:
    if not isinstance(text, str):
        raise BadInputError(f"{source}: [project] {key} holds {text!r}, not a string")
    return parse_requirement_line(text, f"{source} [project] {key}")

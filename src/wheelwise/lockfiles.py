"""Lock files as inputs: PEP 751 ``pylock.toml`` and uv's ``uv.lock``, read into locked packages.

``pylock.toml`` is parsed and validated by ``packaging.pylock``.  ``uv.lock``
has no published schema; what is read is what uv writes (``version = 1``):
``[[package]]`` tables with ``name``, ``version`` and ``source`` (``registry``,
``editable``, ``virtual``, ``directory``, ``path``, ``git``, ``url``), and each
package's ``dependencies`` as ``{name, version?, marker?}`` edges.  A workspace
member (``editable`` or ``virtual`` source) is the project itself: its direct
dependencies are what is asked for; the other locked packages only narrow.

Nothing here touches the network; every error names the file (and field).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.pylock import (
    PackageSdist,
    PackageWheel,
    Pylock,
    PylockUnsupportedVersionError,
    PylockValidationError,
    is_valid_pylock_path,
)
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .errors import BadInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10
    import tomli as tomllib

__all__ = ["LockedPackage", "LockedSet", "is_lock_file", "read_lock"]

#: a lock file larger than this is refused (uv's own locks of big ML projects are a few MiB)
MAX_LOCK_BYTES = 64 * 1024 * 1024
_UV_WORKSPACE = ("editable", "virtual")


@dataclasses.dataclass(frozen=True)
class LockedPackage:
    """One package of a lock: its pinned version (``None``: not from an index) and marker.

    :param where: the file and entry, for messages (``uv.lock [[package]] numpy``).
    :param kind: where it comes from when not from an index (``directory``, ``vcs``, ``url``...).
    """

    name: str
    version: Version | None
    marker: Marker | None
    where: str
    kind: str = "index"
    extras: tuple[str, ...] = ()
    #: ``(algorithm, digest)`` of the locked files: an installer takes only a file with one of them
    hashes: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass
class LockedSet:
    """What a lock asks for (*roots*), what it only narrows (*pins*), and its Requires-Python."""

    roots: list[LockedPackage] = dataclasses.field(default_factory=list)
    pins: list[LockedPackage] = dataclasses.field(default_factory=list)
    requires_python: str | None = None


def is_lock_file(path: str | Path) -> str | None:
    """``pylock`` or ``uv`` when the file name is a lock file's, else ``None``."""
    name = Path(path).name
    if is_valid_pylock_path(Path(name)) or re.fullmatch(r"pylock\.toml", name):
        return "pylock"
    if name == "uv.lock":
        return "uv"
    return None


def _load(path: Path, shown: str) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_LOCK_BYTES + 1)
    except FileNotFoundError as exc:
        raise BadInputError(f"cannot read {shown}: no such file", hint="check the path") from exc
    except OSError as exc:
        raise BadInputError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_LOCK_BYTES:
        raise BadInputError(f"{shown} is larger than {MAX_LOCK_BYTES // (1024 * 1024)} MiB", hint="is it a lock file?")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInputError(f"{shown} is not valid TOML: {exc}", hint="regenerate the lock file") from exc


def read_lock(path: str | Path) -> LockedSet:
    """Read a ``pylock.toml`` or ``uv.lock`` (chosen by its name)."""
    kind = is_lock_file(path)
    shown = str(path)
    data = _load(Path(path), shown)
    if kind == "uv":
        return _uv(data, shown)
    return _pylock(data, shown)


def _pylock(data: Mapping[str, Any], shown: str) -> LockedSet:
    try:
        lock = Pylock.from_dict(data)
    except PylockUnsupportedVersionError as exc:
        raise BadInputError(f"{shown}: {exc}", hint="wheelwise reads lock-version 1.x") from exc
    except PylockValidationError as exc:
        raise BadInputError(f"{shown} is not a valid PEP 751 lock: {exc}", hint="regenerate it") from exc
    result = LockedSet(requires_python=str(lock.requires_python) if lock.requires_python else None)
    for package in lock.packages:
        kind = "index"
        if package.vcs is not None:
            kind = "vcs"
        elif package.directory is not None:
            kind = "directory"
        elif package.archive is not None:
            kind = "archive"
        files: list[PackageWheel | PackageSdist] = [*(package.wheels or ()), *([package.sdist] if package.sdist else [])]
        hashes = tuple(sorted({(a.lower(), d.lower()) for f in files for a, d in f.hashes.items()}))
        result.roots.append(LockedPackage(
            package.name, package.version, package.marker, f"{shown} [[packages]] {package.name}", kind,
            hashes=hashes,
        ))
    return result


def _uv(data: Mapping[str, Any], shown: str) -> LockedSet:
    packages = data.get("package", [])
    if not isinstance(data.get("version"), int) or not isinstance(packages, list):
        raise BadInputError(f"{shown} is not a uv lock file (no 'version' number or [[package]] array)")
    requires_python = data.get("requires-python")
    if requires_python is not None and not isinstance(requires_python, str):
        raise BadInputError(f"{shown}: requires-python must be a string")
    entries: list[tuple[str, Version | None, str, list[Any]]] = []
    hashes: dict[tuple[str, Version | None], tuple[tuple[str, str], ...]] = {}
    for number, entry in enumerate(packages, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise BadInputError(f"{shown}: [[package]] number {number} has no name")
        name: str = canonicalize_name(entry["name"])
        source = entry.get("source", {})
        kind = next(iter(source), "registry") if isinstance(source, dict) and source else "registry"
        version = _uv_version(entry.get("version"), f"{shown} [[package]] {name}")
        deps = entry.get("dependencies", [])
        groups = entry.get("dev-dependencies", {})
        if not isinstance(deps, list) or not isinstance(groups, dict) or not isinstance(groups.get("dev", []), list):
            raise BadInputError(f"{shown} [[package]] {name}: dependencies must be an array")
        if kind in _UV_WORKSPACE:
            deps = deps + groups.get("dev", [])  # uv installs the dev group by default
        entries.append((name, version, kind, deps))
        hashes[(name, version)] = _uv_hashes(entry, f"{shown} [[package]] {name}")
    versions: dict[str, list[Version | None]] = {}
    for name, version, _, _ in entries:
        versions.setdefault(name, []).append(version)
    result = LockedSet(requires_python=requires_python)
    members = {name for name, _, kind, _ in entries if kind in _UV_WORKSPACE}
    for name, version, kind, deps in entries:
        where = f"{shown} [[package]] {name}"
        if kind in _UV_WORKSPACE:
            for dep in deps:
                edge = _uv_edge(dep, versions, where)
                result.roots.append(dataclasses.replace(edge, hashes=hashes.get((edge.name, edge.version), ())))
            continue
        if name in members:
            continue
        locked = LockedPackage(name, version, None, where, "index" if kind == "registry" else kind,
                               hashes=hashes[(name, version)])
        if not members:
            result.roots.append(locked)  # no project in the lock: check every package
        elif len(versions[name]) == 1:
            result.pins.append(locked)  # locked at several versions (per environment): no single pin
    return result


def _uv_hashes(entry: Mapping[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    """``hash = "sha256:..."`` of the package's wheels and sdist."""
    files = entry.get("wheels", [])
    files = [*files, entry["sdist"]] if isinstance(files, list) and "sdist" in entry else files
    if not isinstance(files, list):
        raise BadInputError(f"{where}: wheels must be an array")
    found = set()
    for item in files:
        text = item.get("hash") if isinstance(item, dict) else None
        if isinstance(text, str) and ":" in text:
            algorithm, _, digest = text.partition(":")
            found.add((algorithm.lower(), digest.lower()))
    return tuple(sorted(found))


def _uv_version(value: object, where: str) -> Version | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInputError(f"{where}: version must be a string")
    try:
        return Version(value)
    except InvalidVersion as exc:
        raise BadInputError(f"{where}: version {value!r} is not a valid version") from exc


def _uv_edge(dep: object, versions: Mapping[str, list[Version | None]], where: str) -> LockedPackage:
    if not isinstance(dep, dict) or not isinstance(dep.get("name"), str):
        raise BadInputError(f"{where}: each dependency must be a table with a name")
    name = canonicalize_name(dep["name"])
    version = _uv_version(dep.get("version"), f"{where} dependency {name}")
    if version is None and len(versions.get(name, [])) == 1:
        version = versions[name][0]
    marker = None
    if dep.get("marker") is not None:
        try:
            marker = Marker(str(dep["marker"]))
        except ValueError as exc:
            raise BadInputError(f"{where} dependency {name}: bad marker: {exc}") from exc
    extras = dep.get("extra", [])
    if not isinstance(extras, list) or not all(isinstance(e, str) for e in extras):
        raise BadInputError(f"{where} dependency {name}: extra must be an array of strings")
    return LockedPackage(name, version, marker, f"{where} dependency {name}", extras=tuple(extras))

"""Host facts: what the probe read off one interpreter and its machine.

:func:`collect` runs ``probes/host.py`` *with the interpreter being examined*
(so wheelwise installed once can examine any venv), isolated (``-I -S``): no
``.pth`` file, ``sitecustomize`` or package of the examined environment runs,
and nothing is imported from it; :func:`load_facts` reads facts collected
elsewhere.  :class:`HostFacts` gives typed access to the JSON
document, whose shape is documented in the README; a fact the probe could not
read is ``None`` here, never a guess.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .errors import BadInputError
from .probes import script

__all__ = ["SCHEMA", "HostFacts", "collect", "default_python", "load_facts", "same_arch", "validate", "venv_python"]

SCHEMA = "wheelwise.facts/1"


def venv_python(venv: str | Path) -> Path:
    """Where a virtual environment's interpreter is (it may not exist yet)."""
    return Path(venv) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def default_python() -> str:
    """The interpreter a user means by "my Python": the active venv's, else the one on PATH."""
    venv = os.environ.get("VIRTUAL_ENV")
    if venv and venv_python(venv).exists():
        return str(venv_python(venv))
    for name in ("python3", "python"):
        found = shutil.which(name)
        if found:
            return found
    return sys.executable


#: How the probe's interpreter starts: ``-I`` ignores ``PYTHON*`` variables and the
#: user's site and keeps the probe's folder off ``sys.path``; ``-S`` skips ``site``,
#: so no ``.pth`` file or ``sitecustomize`` runs and site-packages is not importable.
ISOLATED = ("-I", "-S")


def collect(python: str | None = None, *, light: bool = False, target: bool = False, accelerators: bool = True,
            timeout: float = 180) -> dict[str, Any]:
    """Run the host probe with *python*, isolated, and return its JSON document.

    :param light: skip what is installed (distributions, extensions, framework builds).
    :param target: add every wheel tag (``tags.all``), for :func:`wheelwise.target.host_target`.
    :param accelerators: ask nvidia-smi / system_profiler (not needed for a target).
    """
    exe = python or default_python()
    flags = [flag for flag, on in (("--light", light), ("--target", target), ("--no-accelerators", not accelerators)) if on]
    argv = [exe, *ISOLATED, str(script("host")), *flags]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise BadInputError(f"no interpreter at {exe}", hint="give --python the path of a Python executable") from exc
    except OSError as exc:
        raise BadInputError(f"cannot run {exe}: {exc.strerror}", hint="give --python the path of a Python executable") from exc
    except subprocess.TimeoutExpired as exc:
        raise BadInputError(f"{exe} did not finish the probe within {timeout:.0f} s") from exc
    if proc.returncode != 0:
        old = _too_old(exe)
        if old:
            raise BadInputError(f"{exe} is Python {old}: the probe runs on Python 3.6 or later",
                                hint="give --python a Python 3 interpreter")
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise BadInputError(f"{exe} could not run the probe: {tail[0]}", hint="the probe runs on Python 3.6 or later")
    try:
        data = json.loads(proc.stdout)
    except ValueError as exc:
        raise BadInputError(f"{exe} printed something other than the probe's JSON") from exc
    return validate(data, exe)


#: A facts file larger than this is not one ``doctor --collect`` wrote (20,000 extension
#: modules, the probe's own limit, make about 3 MB).
MAX_FACTS_BYTES = 32 << 20


def _too_old(exe: str) -> str | None:
    """``2.7`` when *exe* is a Python older than the probe runs on (asked with -E -s -S, which
    every Python knows and which runs nothing of its environment), else None."""
    ask = "import sys; sys.stdout.write('%d.%d' % sys.version_info[:2])"
    try:
        out = subprocess.run([exe, "-E", "-s", "-S", "-c", ask], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        major, minor = (int(p) for p in out.split("."))
    except ValueError:
        return None
    return out if (major, minor) < (3, 6) else None


def load_facts(path: str) -> dict[str, Any]:
    """Facts saved with ``wheelwise doctor --collect`` (on this or another machine)."""
    try:
        if path == "-":
            text = sys.stdin.read(MAX_FACTS_BYTES + 1)
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read(MAX_FACTS_BYTES + 1)
    except OSError as exc:
        raise BadInputError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise BadInputError(f"not UTF-8 text: {exc.reason}", source=path, hint=_COLLECT_HINT) from exc
    if len(text) > MAX_FACTS_BYTES:
        raise BadInputError(f"larger than {MAX_FACTS_BYTES >> 20} MiB: not a facts file", source=path, hint=_COLLECT_HINT)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadInputError(f"not JSON: {exc}", source=path, hint=_COLLECT_HINT) from exc
    except RecursionError as exc:
        raise BadInputError("not JSON a facts file can hold: nested too deeply", source=path, hint=_COLLECT_HINT) from exc
    return validate(data, path)


_COLLECT_HINT = "pass a file written by 'wheelwise doctor --collect'"


# -- the schema ---------------------------------------------------------------------------
# Every field the probe writes, with its JSON type; checked before any is read, so a field
# of the wrong type is exit 2 naming the field, never a crash deep in a check.  A field may
# be absent (older probes wrote fewer); extra fields are allowed (newer probes may add some).
# Spec: a type; [spec] a list of it; {key: spec} an object; _Map(spec) an object with any
# keys; _Null(spec) that or null.


@dataclasses.dataclass(frozen=True)
class _Null:
    spec: Any


@dataclasses.dataclass(frozen=True)
class _Map:
    spec: Any


_STR, _OSTR = str, _Null(str)
_SCHEMA_FIELDS: dict[str, Any] = {
    "schema": str,
    "collected_at": _OSTR,
    "light": bool,
    "os": {"system": str, "release": _OSTR, "version": _OSTR, "glibc": _OSTR},
    "hardware": {"arch": _OSTR, "apple_silicon": _Null(bool), "rosetta": _Null(bool), "cpu": _OSTR,
                 "cpu_features": _Map(_Null(bool))},
    "interpreter": {"executable": str, "implementation": str, "version": str, "bits": int, "arch": str,
                    "build_archs": _Null([str]), "sysconfig_platform": _OSTR, "origin": str, "prefix": str,
                    "base_prefix": str, "venv": bool, "conda": bool},
    "environment": {"prefix": str, "venv": bool, "venv_creator": _OSTR, "system_site_packages": _Null(bool),
                    "user_site": _OSTR, "site_packages": [str], "pth_paths": [str], "pth_code": [str],
                    "pythonpath": [str], "ensurepip": bool},
    "markers": _Map(str),
    "pip": _OSTR,
    "tags": _Null({"first": [str], "count": int, "source": str, "all": [str]}),
    "site_packages": [str],
    "distributions": [{"name": str, "version": _OSTR, "requires": [str]}],
    "extensions": [{"path": str, "top": str, "format": str, "archs": [str]}],
    "frameworks": {"torch": {"cuda": _OSTR, "rocm": _OSTR},
                   "tensorflow": {"cuda": _OSTR, "cudnn": _OSTR, "is_cuda_build": _Null(bool)}},
    "accelerators": {
        "nvidia": _Null({"driver": _OSTR, "cuda": _OSTR, "gpus": [{"name": str, "memory_mib": _Null(int)}]}),
        "apple_gpu": _Null({"model": str, "cores": _Null(int), "metal": _OSTR}),
    },
    "errors": [{"fact": str, "reason": str}],
}
_REQUIRED = ("schema", "os", "hardware", "interpreter", "markers")
_NAMES = {str: "a string", int: "an integer", bool: "true or false", float: "a number"}


def _expected(spec: Any) -> str:
    if isinstance(spec, _Null):
        return f"{_expected(spec.spec)} or null"
    if isinstance(spec, list):
        return f"a list of {_expected(spec[0]).removeprefix('a ').removeprefix('an ')}s"
    if isinstance(spec, (dict, _Map)):
        return "an object"
    return _NAMES[spec]


def _found(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    return f"{type(value).__name__} {json.dumps(value)[:40]}"


def _check(value: Any, spec: Any, path: str, where: str, said: Any = None) -> None:
    if isinstance(spec, _Null):
        if value is not None:
            _check(value, spec.spec, path, where, said=spec)
        return
    if isinstance(spec, list):
        ok = isinstance(value, list)
    elif isinstance(spec, (dict, _Map)):
        ok = isinstance(value, dict)
    else:
        # JSON true is not an integer here, and an integer is not true or false
        ok = isinstance(value, spec) and (spec is bool or not isinstance(value, bool))
    if not ok:
        raise BadInputError(f"facts field '{path}' should be {_expected(said or spec)}, not {_found(value)}", source=where,
                            hint="collect them again with this wheelwise: 'wheelwise doctor --collect'")
    if isinstance(spec, list):
        for i, item in enumerate(value):
            _check(item, spec[0], f"{path}[{i}]", where)
    elif isinstance(spec, _Map):
        for key, item in value.items():
            _check(item, spec.spec, f"{path}.{key}", where)
    elif isinstance(spec, dict):
        for key, item in value.items():
            if key in spec:
                _check(item, spec[key], f"{path}.{key}" if path else key, where)


def validate(data: object, where: str) -> dict[str, Any]:
    """*data* if it is a facts document whose every field has its type, else ``BadInputError`` (exit 2)."""
    if not isinstance(data, Mapping):
        raise BadInputError("facts must be a JSON object", source=where, hint=_COLLECT_HINT)
    data = dict(data)
    schema = data.get("schema")
    if schema != SCHEMA:
        raise BadInputError(
            f"facts schema {str(schema)[:40]!r} is not {SCHEMA!r}",
            source=where,
            hint="collect them again with this wheelwise: 'wheelwise doctor --collect'",
        )
    for key in _REQUIRED:
        if key not in data:
            raise BadInputError(f"facts lack the '{key}' field", source=where, hint=_COLLECT_HINT)
    _check(data, _SCHEMA_FIELDS, "", where)
    return data


def _version(text: object) -> Version | None:
    if not isinstance(text, str):
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


class HostFacts:
    """Typed, read-only access to a facts document."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def get(self, *path: str) -> Any:
        node: Any = self.data
        for key in path:
            if not isinstance(node, Mapping):
                return None
            node = node.get(key)
        return node

    @property
    def errors(self) -> list[dict[str, str]]:
        return list(self.data.get("errors") or [])

    @property
    def system(self) -> str:
        return str(self.get("os", "system") or "")

    @property
    def os_name(self) -> str:
        """``macos``, ``linux``, ``windows`` (as targets name them)."""
        return {"Darwin": "macos", "Linux": "linux", "Windows": "windows"}.get(self.system, self.system.lower())

    @property
    def os_version(self) -> Version | None:
        return _version(self.get("os", "version")) if self.os_name == "macos" else None

    @property
    def glibc(self) -> Version | None:
        return _version(self.get("os", "glibc"))

    @property
    def hardware_arch(self) -> str | None:
        value = self.get("hardware", "arch")
        return str(value) if value else None

    @property
    def python_arch(self) -> str:
        """The architecture the interpreter runs as (x86_64 under Rosetta)."""
        return _arch(str(self.get("interpreter", "arch") or ""))

    @property
    def rosetta(self) -> bool | None:
        value = self.get("hardware", "rosetta")
        return value if isinstance(value, bool) else None

    @property
    def python_version(self) -> Version | None:
        return _version(self.get("interpreter", "version"))

    @property
    def pip_version(self) -> Version | None:
        return _version(self.data.get("pip"))

    @property
    def platform(self) -> str | None:
        """The target preset this interpreter installs for (``macos-arm64`` ...)."""
        arch = {"x86_64": "amd64"}.get(self.python_arch, self.python_arch) if self.os_name == "windows" else self.python_arch
        name = f"{self.os_name}-{arch}"
        from .target import PRESETS

        return name if name in PRESETS else None

    @property
    def collected(self) -> bool:
        """Whether installed distributions and accelerators were collected (not ``--light``)."""
        return "distributions" in self.data

    @cached_property
    def installed(self) -> dict[str, tuple[str, Version | None, list[str]]]:
        """canonical name -> (display name, version, requirement strings)."""
        found: dict[str, tuple[str, Version | None, list[str]]] = {}
        for dist in self.data.get("distributions") or []:
            name = str(dist.get("name", ""))
            if name:
                found.setdefault(canonicalize_name(name), (name, _version(dist.get("version")), list(dist.get("requires") or [])))
        return found

    def version_of(self, project: str) -> Version | None:
        entry = self.installed.get(canonicalize_name(project))
        return entry[1] if entry else None

    def has(self, project: str) -> bool:
        return canonicalize_name(project) in self.installed

    @property
    def nvidia(self) -> Mapping[str, Any] | None:
        value = self.get("accelerators", "nvidia")
        return value if isinstance(value, Mapping) else None

    @property
    def apple_gpu(self) -> Mapping[str, Any] | None:
        value = self.get("accelerators", "apple_gpu")
        return value if isinstance(value, Mapping) else None

    def describe_python(self) -> str:
        interp = self.data.get("interpreter", {})
        return f"{interp.get('implementation', '?')} {interp.get('version', '?')} ({self.python_arch}) at {interp.get('executable', '?')}"


def _arch(value: str) -> str:
    value = value.lower()
    return {"amd64": "x86_64", "x64": "x86_64"}.get(value, value)


def same_arch(a: str, b: str) -> bool:
    """Whether two architecture names mean the same instruction set (arm64 is aarch64)."""

    def family(x: str) -> str:
        x = _arch(x)
        return "arm64" if x in ("arm64", "aarch64", "arm64e") else x

    return family(a) == family(b)

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

__all__ = ["SCHEMA", "HostFacts", "collect", "default_python", "load_facts", "same_arch", "venv_python"]

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
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise BadInputError(
            f"{exe} could not run the probe: {tail[0]}",
            hint="the probe needs CPython or PyPy 3.6 or later (3.8 or later is what wheelwise supports)",
        )
    try:
        data = json.loads(proc.stdout)
    except ValueError as exc:
        raise BadInputError(f"{exe} printed something other than the probe's JSON") from exc
    return validate(data, exe)


def load_facts(path: str) -> dict[str, Any]:
    """Facts saved with ``wheelwise doctor --collect`` (on this or another machine)."""
    try:
        text = Path(path).read_text(encoding="utf-8") if path != "-" else sys.stdin.read()
    except OSError as exc:
        raise BadInputError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadInputError(f"not JSON: {exc}", source=path, hint="pass a file written by 'wheelwise doctor --collect'") from exc
    return validate(data, path)


def validate(data: object, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadInputError("facts must be a JSON object", source=where)
    schema = data.get("schema")
    if schema != SCHEMA:
        raise BadInputError(
            f"facts schema {schema!r} is not {SCHEMA!r}",
            source=where,
            hint="collect them again with this wheelwise: 'wheelwise doctor --collect'",
        )
    for key in ("os", "hardware", "interpreter", "markers"):
        if not isinstance(data.get(key), dict):
            raise BadInputError(f"facts lack the '{key}' object", source=where)
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

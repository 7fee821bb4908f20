"""Targets: the machine and Python a set of requirements should install on.

A :class:`Target` is a value: operating system, architecture, OS or glibc
version, Python version and implementation.  From it come the ordered wheel
tags (as ``packaging.tags.sys_tags`` orders them on such a machine) and the
PEP 508 marker environment.  Nothing here reads the running machine except
:func:`host_target`, which asks a real interpreter.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms

from .errors import BadInputError

__all__ = [
    "PRESETS",
    "SUPPORTED_PYTHONS",
    "Target",
    "check_os_version",
    "host_target",
    "host_target_from",
    "parse_python",
    "parse_target",
]

#: CPython feature versions still supported (bugfix or security), newest last.
#: Source: https://devguide.python.org/versions/ (3.10 end of life 2026-10) and
#: https://peps.python.org/pep-0790/ (3.15.0 final 2026-10); verified 2026-11-21.
SUPPORTED_PYTHONS: tuple[tuple[int, int], ...] = ((3, 11), (3, 12), (3, 13), (3, 14), (3, 15))


@dataclasses.dataclass(frozen=True)
class _Preset:
    os: str
    arch: str
    os_version: tuple[int, int] | None
    label: str


#: Standard targets with default OS versions: macOS 14 on Apple silicon (what
#: PyTorch's MPS needs), macOS 13 on Intel, glibc 2.28 (manylinux_2_28) on Linux.
PRESETS: Mapping[str, _Preset] = {
    "macos-arm64": _Preset("macos", "arm64", (14, 0), "macOS arm64"),
    "macos-x86_64": _Preset("macos", "x86_64", (13, 0), "macOS x86_64"),
    "linux-x86_64": _Preset("linux", "x86_64", (2, 28), "Linux x86_64"),
    "linux-aarch64": _Preset("linux", "aarch64", (2, 28), "Linux aarch64"),
    "windows-amd64": _Preset("windows", "amd64", None, "Windows amd64"),
    "windows-arm64": _Preset("windows", "arm64", None, "Windows arm64"),
}

# Oldest glibc for which manylinux wheels exist per architecture (PEP 600, PEP 599).
_OLDEST_GLIBC_MINOR = {"x86_64": 5, "aarch64": 17}
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
_MARKER_MACHINE = {
    ("macos", "arm64"): "arm64",
    ("macos", "x86_64"): "x86_64",
    ("linux", "x86_64"): "x86_64",
    ("linux", "aarch64"): "aarch64",
    ("windows", "amd64"): "AMD64",
    ("windows", "arm64"): "ARM64",
}


@dataclasses.dataclass(frozen=True)
class Target:
    """Where requirements should install: a machine and a CPython version.

    :param os: ``macos``, ``linux`` or ``windows``.
    :param os_version: macOS version or glibc version; ``None`` on Windows.
    :param python: ``(major, minor)`` of CPython.
    :param host_tags: for a real interpreter, the tags it reports (then used as they are).
    """

    name: str
    os: str
    arch: str
    os_version: tuple[int, int] | None
    python: tuple[int, int]
    host_tags: tuple[str, ...] | None = None
    host_markers: Mapping[str, str] | None = dataclasses.field(default=None, compare=False, hash=False)
    #: for a real interpreter, the platform tags it accepts (kept when the Python changes)
    host_platforms: tuple[str, ...] | None = None

    @property
    def python_str(self) -> str:
        return f"{self.python[0]}.{self.python[1]}"

    @property
    def label(self) -> str:
        """Human name, e.g. ``macos-arm64@14 / 3.12`` or ``linux-x86_64@2.28 / 3.11``."""
        version = ""
        if self.os_version is not None:
            major, minor = self.os_version
            version = f"@{major}" if self.os == "macos" and minor == 0 else f"@{major}.{minor}"
        return f"{self.name}{version} / {self.python_str}"

    @property
    def machine(self) -> str:
        """The OS and architecture in words, e.g. ``macOS arm64``."""
        preset = PRESETS.get(self.name)
        if preset is not None:
            return preset.label
        return f"{ {'macos': 'macOS', 'linux': 'Linux', 'windows': 'Windows'}.get(self.os, self.os)} {self.arch}"

    def with_python(self, python: tuple[int, int]) -> Target:
        """The same machine with another CPython (a host keeps its platforms and markers)."""
        if python == self.python:
            return self
        markers = None
        if self.host_markers is not None:
            version = f"{python[0]}.{python[1]}"
            markers = {**self.host_markers, "python_version": version, "python_full_version": f"{version}.0",
                       "implementation_version": f"{version}.0", "implementation_name": "cpython",
                       "platform_python_implementation": "CPython"}
        return dataclasses.replace(self, python=python, host_tags=None, host_markers=markers)

    def platforms(self) -> Iterator[str]:
        """Platform tags this target accepts, most specific first."""
        if self.host_platforms is not None:
            yield from self.host_platforms
        elif self.os == "macos":
            assert self.os_version is not None
            yield from mac_platforms(self.os_version, self.arch)
        elif self.os == "linux":
            assert self.os_version is not None
            major, minor = self.os_version
            for m in range(minor, _OLDEST_GLIBC_MINOR.get(self.arch, 17) - 1, -1):
                yield f"manylinux_{major}_{m}_{self.arch}"
                legacy = _LEGACY_MANYLINUX.get((major, m))
                if legacy and (legacy == "manylinux2014" or self.arch == "x86_64"):
                    yield f"{legacy}_{self.arch}"
            yield f"linux_{self.arch}"
        else:
            yield f"win_{self.arch}"

    @cached_property
    def tags(self) -> tuple[Tag, ...]:
        """Every accepted wheel tag, best first (as pip ranks them)."""
        if self.host_tags is not None:
            return tuple(Tag(*t.split("-")) for t in self.host_tags)
        platforms = list(self.platforms())
        return (*cpython_tags(self.python, platforms=platforms), *compatible_tags(self.python, f"cp{self.python[0]}{self.python[1]}", platforms))

    @cached_property
    def tag_rank(self) -> Mapping[Tag, int]:
        """Tag → position in :attr:`tags` (lower is better)."""
        return {tag: rank for rank, tag in reversed(list(enumerate(self.tags)))}

    @cached_property
    def markers(self) -> Mapping[str, str]:
        """The PEP 508 marker environment of this target."""
        if self.host_markers is not None:
            return dict(self.host_markers)
        full = f"{self.python_str}.0"
        env = {
            "implementation_name": "cpython",
            "implementation_version": full,
            "platform_python_implementation": "CPython",
            "python_version": self.python_str,
            "python_full_version": full,
            "platform_machine": _MARKER_MACHINE[(self.os, self.arch)],
        }
        if self.os == "macos":
            assert self.os_version is not None
            # Darwin's kernel major is the macOS major + 9 from macOS 11 on (macOS 14 = Darwin 23).
            darwin = self.os_version[0] + 9 if self.os_version[0] >= 11 else self.os_version[1] + 4
            env |= {"os_name": "posix", "sys_platform": "darwin", "platform_system": "Darwin",
                    "platform_release": f"{darwin}.0.0", "platform_version": f"Darwin Kernel Version {darwin}.0.0"}
        elif self.os == "linux":
            env |= {"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux",
                    "platform_release": "", "platform_version": ""}
        else:
            env |= {"os_name": "nt", "sys_platform": "win32", "platform_system": "Windows",
                    "platform_release": "", "platform_version": ""}
        return env


def parse_python(text: str) -> list[tuple[int, int]]:
    """``3.12`` → ``[(3, 12)]``; ``all`` → every supported CPython."""
    if text.strip().lower() == "all":
        return list(SUPPORTED_PYTHONS)
    try:
        major, minor = (int(part) for part in text.strip().split("."))
    except ValueError as exc:
        raise BadInputError(f"{text!r} is not a Python version", hint="write it as X.Y, e.g. 3.12, or 'all'") from exc
    if major != 3 or not 0 <= minor < 100:
        raise BadInputError(f"Python {text} is not a CPython 3 version", hint="write it as X.Y, e.g. 3.12")
    return [(major, minor)]


def parse_target(text: str, python: tuple[int, int]) -> Target:
    """``macos-arm64``, ``macos-arm64@14``, ``linux-x86_64@2.31``, ``windows-amd64``."""
    name, _, version = text.strip().partition("@")
    preset = PRESETS.get(name.lower())
    if preset is None:
        raise BadInputError(
            f"unknown target {text!r}",
            hint="valid targets: " + ", ".join([*PRESETS, "host"]) + " (a version after @, e.g. macos-arm64@14)",
        )
    os_version = preset.os_version
    if version:
        if preset.os == "windows":
            raise BadInputError(f"target {name} takes no version", hint=f"write {name}")
        try:
            parts = [int(p) for p in version.split(".")]
        except ValueError as exc:
            raise BadInputError(f"{version!r} in {text!r} is not a version", hint="e.g. macos-arm64@14 or linux-x86_64@2.28") from exc
        if preset.os == "linux" and (len(parts) != 2 or parts[0] != 2):
            raise BadInputError(f"{text!r}: a Linux target takes a glibc version like 2.28", hint="e.g. linux-x86_64@2.31")
        os_version = (parts[0], parts[1] if len(parts) > 1 else 0)
        check_os_version(preset.os, os_version, text)
    return Target(name=name.lower(), os=preset.os, arch=preset.arch, os_version=os_version, python=python)


def check_os_version(os_name: str, version: tuple[int, int], text: str) -> None:
    """Refuse an OS version no target can have (``BadInputError``, exit 2).

    Every platform tag follows from the version down to the oldest, so an absurd
    version (macOS 999999999) would mean a billion tags.  macOS is 10.0-10.16, then
    11 onwards (one major a year: macOS 26 in 2025); glibc is 2.x.
    """
    major, minor = version
    if os_name == "macos":
        sane = (major == 10 and 0 <= minor <= 16) or (11 <= major <= 99 and 0 <= minor <= 99)
        span = "macOS 10.0-10.16 or 11-99"
    else:
        sane = major == 2 and 0 <= minor <= 99
        span = "glibc 2.0-2.99"
    if not sane:
        raise BadInputError(f"{text!r}: the version is outside what a target can name ({span})",
                            hint="e.g. macos-arm64@14 or linux-x86_64@2.28")


def host_target(python: str | None = None) -> Target:
    """The target of a real interpreter: its own tags and marker environment.

    They are read by the host probe, run isolated by that interpreter (see
    :func:`wheelwise.facts.collect`): standard library only, so any CPython from
    3.6 on answers, and nothing of its environment runs.

    :param python: path of the interpreter; this one when ``None``.
    """
    from .facts import collect  # facts names targets; the probe is run only here

    return host_target_from(collect(python or sys.executable, light=True, target=True, accelerators=False))


def host_target_from(facts: Mapping[str, Any]) -> Target:
    """The target of the interpreter described by probe *facts* collected with ``target=True``."""
    tags, markers = _probe_tags_and_markers(facts)
    system = {"Darwin": "macos", "Linux": "linux", "Windows": "windows"}.get(markers["platform_system"], markers["platform_system"].lower())
    try:
        major, minor = (int(p) for p in markers["python_version"].split(".")[:2])
    except ValueError as exc:
        raise BadInputError(f"the probe reported Python {markers['python_version']!r}") from exc
    platforms = list(dict.fromkeys(t.rsplit("-", 1)[1] for t in tags if not t.endswith("-any")))
    return Target(
        name="host",
        os=system,
        arch=markers["platform_machine"].lower(),
        os_version=None,
        python=(major, minor),
        host_tags=tuple(tags),
        host_markers=markers,
        host_platforms=tuple(platforms),
    )


def _probe_tags_and_markers(facts: Mapping[str, Any]) -> tuple[list[str], dict[str, str]]:
    interpreter = facts.get("interpreter")
    who = str(interpreter.get("executable")) if isinstance(interpreter, Mapping) else "the interpreter"
    tags = facts.get("tags")
    every = tags.get("all") if isinstance(tags, Mapping) else None
    if not isinstance(every, list) or not every or not all(isinstance(t, str) and t.count("-") == 2 for t in every):
        errors = facts.get("errors")
        reasons = "; ".join(str(e.get("reason")) for e in errors if isinstance(e, Mapping)) if isinstance(errors, list) else ""
        raise BadInputError(f"{who} did not report its wheel tags" + (f": {reasons}" if reasons else ""))
    markers = facts.get("markers")
    if not isinstance(markers, Mapping) or not all(isinstance(v, str) for v in markers.values()) \
            or not {"platform_system", "python_version", "platform_machine"} <= set(markers):
        raise BadInputError(f"{who} did not report its marker environment")
    return list(every), {str(k): str(v) for k, v in markers.items()}

"""Targets: the machine and Python a set of requirements should install on.

A :class:`Target` is a value: operating system, architecture, OS or C library
version (glibc or musl), CPython version (free-threaded or not) and the
machine's properties (driver CUDA, GPU compute capability, CPU level, Metal;
see :mod:`wheelwise.properties`).  From it come the ordered wheel tags (as
``packaging.tags.sys_tags`` orders them on such a machine) and the PEP 508
marker environment.  Nothing here reads the running machine except
:func:`host_target`, which asks a real interpreter.

Spellings (:func:`parse_target`): ours (``linux-x86_64@2.31``,
``linux-x86_64-musl@1.2``, ``macos-arm64@14+metal``), uv's ``--python-platform``
triples (``aarch64-apple-darwin``, ``x86_64-manylinux_2_28``,
``x86_64-unknown-linux-musl``) and pip's ``--platform`` tags
(``macosx_14_0_arm64``, ``manylinux_2_28_x86_64``, ``win_amd64``); each is
mapped to ours and remembered as typed (:attr:`Target.spelled`).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from typing import Any

from packaging.tags import Tag, compatible_tags, cpython_tags, mac_platforms

from .errors import BadInputError
from .properties import Properties, detect, parse_properties

__all__ = [
    "FREE_THREADED_FROM",
    "KNOWN_PYTHONS",
    "MUSL_PRESETS",
    "PRESETS",
    "SUPPORTED_PYTHONS",
    "UV_TRIPLES",
    "Target",
    "check_os_version",
    "host_target",
    "host_target_from",
    "parse_python",
    "parse_pythons",
    "parse_target",
    "with_properties",
]

#: CPython feature versions still supported (bugfix or security), newest last.
#: Source: https://devguide.python.org/versions/ (3.10 end of life 2026-10) and
#: https://peps.python.org/pep-0790/ (3.15.0 final 2026-10); verified 2026-11-21.
SUPPORTED_PYTHONS: tuple[tuple[int, int], ...] = ((3, 11), (3, 12), (3, 13), (3, 14), (3, 15))

#: Every CPython 3 feature version that exists: 3.0 to 3.15 released, 3.16 in alpha.
#: Source: https://devguide.python.org/versions/ and
#: https://github.com/pex-tool/pex/discussions/3310 (CPython 3.16 "enters the alpha
#: phase"); verified 2026-11-22.  A version outside is a typo, not a target.
KNOWN_PYTHONS: tuple[tuple[int, int], ...] = tuple((3, minor) for minor in range(17))

#: The first CPython with a free-threaded build (``cp313t``).
#: Source: https://peps.python.org/pep-0703/ and
#: https://docs.python.org/3/whatsnew/3.13.html#free-threaded-cpython; verified 2026-11-22.
FREE_THREADED_FROM = (3, 13)


@dataclasses.dataclass(frozen=True)
class _Preset:
    os: str
    arch: str
    os_version: tuple[int, int] | None
    label: str
    libc: str = "glibc"


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

#: musl Linux (Alpine, many containers): musllinux wheels (PEP 656), musl 1.2 by default
#: (Alpine 3.13 and later ship musl 1.2; uv's *-unknown-linux-musl assume 1.2 too).
#: Source: https://peps.python.org/pep-0656/, https://alpinelinux.org/posts/Alpine-3.13.0-released.html;
#: verified 2026-11-22.
MUSL_PRESETS: Mapping[str, _Preset] = {
    "linux-x86_64-musl": _Preset("linux", "x86_64", (1, 2), "Linux x86_64 (musl)", "musl"),
    "linux-aarch64-musl": _Preset("linux", "aarch64", (1, 2), "Linux aarch64 (musl)", "musl"),
}

#: other names users type for our targets (Docker/Go spell aarch64 "arm64", Windows AMD64 "x86_64")
_ALIASES = {
    "linux-arm64": "linux-aarch64",
    "linux-amd64": "linux-x86_64",
    "linux-arm64-musl": "linux-aarch64-musl",
    "linux-amd64-musl": "linux-x86_64-musl",
    "macos-aarch64": "macos-arm64",
    "macos-amd64": "macos-x86_64",
    "windows-x86_64": "windows-amd64",
    "windows-aarch64": "windows-arm64",
}

#: uv's ``--python-platform`` values → our target and its OS/libc version, as uv 0.13.9 resolves
#: them (measured: ``uv pip compile --python-platform T`` over wheels with each floor): glibc 2.28
#: for ``*-unknown-linux-gnu`` and ``linux``, macOS 13.0 for ``*-apple-darwin`` and ``macos``
#: (without MACOSX_DEPLOYMENT_TARGET), musl 1.2.  Values: ``uv pip compile --help``; docs:
#: https://docs.astral.sh/uv/reference/cli/#uv-pip-compile--python-platform (verified 2026-11-22).
#: ``{x86_64,aarch64}-manylinux_2_N`` and ``-manylinux2014`` are read by pattern.
UV_TRIPLES: Mapping[str, tuple[str, tuple[int, int] | None]] = {
    "windows": ("windows-amd64", None),
    "linux": ("linux-x86_64", (2, 28)),
    "macos": ("macos-arm64", (13, 0)),
    "x86_64-pc-windows-msvc": ("windows-amd64", None),
    "aarch64-pc-windows-msvc": ("windows-arm64", None),
    "x86_64-unknown-linux-gnu": ("linux-x86_64", (2, 28)),
    "aarch64-unknown-linux-gnu": ("linux-aarch64", (2, 28)),
    "aarch64-apple-darwin": ("macos-arm64", (13, 0)),
    "x86_64-apple-darwin": ("macos-x86_64", (13, 0)),
    "x86_64-unknown-linux-musl": ("linux-x86_64-musl", (1, 2)),
    "aarch64-unknown-linux-musl": ("linux-aarch64-musl", (1, 2)),
}
#: uv values that name machines wheelwise does not model
_UV_OTHERS = ("i686-pc-windows-msvc", "riscv64-unknown-linux", "aarch64-linux-android", "x86_64-linux-android",
              "wasm32-pyodide2024", "wasm32-pyodide2025", "arm64-apple-ios", "arm64-apple-ios-simulator",
              "x86_64-apple-ios-simulator")

_UV_MANYLINUX = re.compile(r"(x86_64|aarch64)-manylinux(?:_2_(\d+)|(2014))")
_PIP_PLATFORM = re.compile(
    r"(?P<family>macosx|manylinux|musllinux)_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>[a-z0-9_]+)"
    r"|manylinux(?P<legacy>2014|2010|1)_(?P<legacy_arch>[a-z0-9_]+)"
    r"|win_(?P<win>amd64|arm64)"
)
_LEGACY_FLOOR = {"2014": (2, 17), "2010": (2, 12), "1": (2, 5)}

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
    :param os_version: macOS version, or the glibc or musl version; ``None`` on Windows.
    :param python: ``(major, minor)`` of CPython.
    :param host_tags: for a real interpreter, the tags it reports (then used as they are).
    :param libc: on Linux, ``glibc`` (manylinux wheels) or ``musl`` (musllinux wheels).
    :param free_threaded: a free-threaded CPython (ABI ``cp313t``; no ``abi3``).
    :param properties: accelerators and CPU level (what wheel variants are chosen by).
    :param spelled: how the target was typed when that was not our name (a uv triple, a pip tag).
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
    libc: str = "glibc"
    free_threaded: bool = False
    properties: Properties = Properties()
    spelled: str | None = dataclasses.field(default=None, compare=False, hash=False)

    @property
    def python_str(self) -> str:
        """``3.12`` (a version: free-threaded or not)."""
        return f"{self.python[0]}.{self.python[1]}"

    @property
    def python_label(self) -> str:
        """``3.12``; ``3.14t`` for a free-threaded Python."""
        return self.python_str + ("t" if self.free_threaded else "")

    @property
    def place(self) -> str:
        """The machine part of the label: ``linux-x86_64@2.28+cuda=12.8 (x86_64-manylinux_2_28)``."""
        version = ""
        if self.os_version is not None:
            major, minor = self.os_version
            version = f"@{major}" if self.os == "macos" and minor == 0 else f"@{major}.{minor}"
        typed = f" ({self.spelled})" if self.spelled else ""
        return f"{self.name}{version}{self.properties.suffix}{typed}"

    @property
    def label(self) -> str:
        """Human name, e.g. ``macos-arm64@14 / 3.12`` or ``linux-x86_64-musl@1.2 / 3.14t``."""
        return f"{self.place} / {self.python_label}"

    @property
    def machine(self) -> str:
        """The OS and architecture in words, e.g. ``macOS arm64``, ``Linux x86_64 (musl)``."""
        preset = PRESETS.get(self.name) or MUSL_PRESETS.get(self.name)
        if preset is not None:
            return preset.label
        system = {"macos": "macOS", "linux": "Linux", "windows": "Windows"}.get(self.os, self.os)
        return f"{system} {self.arch}" + (" (musl)" if self.libc == "musl" else "")

    @property
    def abi(self) -> str:
        """The CPython ABI tag: ``cp312``, ``cp314t``."""
        return f"cp{self.python[0]}{self.python[1]}{'t' if self.free_threaded else ''}"

    def with_python(self, python: tuple[int, int], free_threaded: bool = False) -> Target:
        """The same machine with another CPython (a host keeps its platforms and markers)."""
        if python == self.python and free_threaded == self.free_threaded:
            return self
        markers = None
        if self.host_markers is not None:
            version = f"{python[0]}.{python[1]}"
            markers = {**self.host_markers, "python_version": version, "python_full_version": f"{version}.0",
                       "implementation_version": f"{version}.0", "implementation_name": "cpython",
                       "platform_python_implementation": "CPython"}
        return dataclasses.replace(self, python=python, free_threaded=free_threaded, host_tags=None,
                                   host_markers=markers)

    def platforms(self) -> Iterator[str]:
        """Platform tags this target accepts, most specific first."""
        if self.host_platforms is not None:
            yield from self.host_platforms
        elif self.os == "macos":
            assert self.os_version is not None
            yield from mac_platforms(self.os_version, self.arch)
        elif self.os == "linux" and self.libc == "musl":
            assert self.os_version is not None
            # packaging's _musllinux.platform_tags: every minor down to 0, then linux_<arch>
            major, minor = self.os_version
            for m in range(minor, -1, -1):
                yield f"musllinux_{major}_{m}_{self.arch}"
            yield f"linux_{self.arch}"
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
        """Every accepted wheel tag, best first (as pip ranks them).

        A free-threaded Python takes its own ABI (``cp314t``) and never ``abi3``
        (packaging decides what, if anything, stands in for it).
        """
        if self.host_tags is not None:
            return tuple(Tag(*t.split("-")) for t in self.host_tags)
        platforms = list(self.platforms())
        abis = [self.abi] if self.free_threaded else None
        interpreter = f"cp{self.python[0]}{self.python[1]}"
        return (*cpython_tags(self.python, abis=abis, platforms=platforms),
                *compatible_tags(self.python, interpreter, platforms))

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


# -- Python versions ------------------------------------------------------------------------------


def _known() -> str:
    return f"{KNOWN_PYTHONS[0][0]}.{KNOWN_PYTHONS[0][1]}–{KNOWN_PYTHONS[-1][0]}.{KNOWN_PYTHONS[-1][1]}"


def parse_pythons(text: str) -> list[tuple[tuple[int, int], bool]]:
    """``3.12`` → ``[((3, 12), False)]``; ``3.14t`` → ``[((3, 14), True)]``; ``all`` → every supported one.

    :raises BadInputError: not ``X.Y`` or ``X.Yt``; a CPython that does not exist (the known
        ones are named); a free-threaded build before 3.13.
    """
    spec = text.strip().lower()
    if spec == "all":
        return [(p, False) for p in SUPPORTED_PYTHONS]
    found = re.fullmatch(r"(?:cp|python)?(\d+)\.(\d+)(t?)", spec) or re.fullmatch(r"cp(3)(\d+)(t?)", spec)
    if not found:
        raise BadInputError(f"{text!r} is not a Python version", hint="write it as X.Y, e.g. 3.12, 3.14t (free-threaded) or 'all'")
    python, free_threaded = (int(found[1]), int(found[2])), bool(found[3])
    if python not in KNOWN_PYTHONS:
        raise BadInputError(
            f"there is no CPython {python[0]}.{python[1]}",
            hint=f"known CPython versions: {_known()} (supported now: "
            + ", ".join(f"{a}.{b}" for a, b in SUPPORTED_PYTHONS) + ")",
        )
    if free_threaded and python < FREE_THREADED_FROM:
        raise BadInputError(
            f"there is no free-threaded CPython {python[0]}.{python[1]}",
            hint=f"free-threaded builds start with {FREE_THREADED_FROM[0]}.{FREE_THREADED_FROM[1]} (3.13t, 3.14t)",
        )
    return [(python, free_threaded)]


def parse_python(text: str) -> list[tuple[int, int]]:
    """``3.12`` → ``[(3, 12)]``; ``all`` → every supported CPython (free-threaded: :func:`parse_pythons`)."""
    found = parse_pythons(text)
    if any(ft for _, ft in found):
        raise BadInputError(f"{text!r}: a free-threaded Python is not taken here", hint="give X.Y, e.g. 3.14")
    return [python for python, _ in found]


# -- targets ----------------------------------------------------------------------------------------


def _names() -> str:
    return ", ".join([*PRESETS, *MUSL_PRESETS, "host"])


def _hint() -> str:
    return (f"targets: {_names()}; a version after @ (macos-arm64@14, linux-x86_64@2.31, linux-x86_64-musl@1.2); "
            "properties after + (+cuda=12.8 +sm=90 +x86_64=v3 +metal); uv's --python-platform values "
            "(aarch64-apple-darwin, x86_64-manylinux_2_28) and pip's --platform tags (macosx_14_0_arm64) work too")


def _version(text: str, whole: str) -> tuple[int, int]:
    try:
        parts = [int(p) for p in text.split(".")]
    except ValueError as exc:
        raise BadInputError(f"{text!r} in {whole!r} is not a version", hint="e.g. macos-arm64@14 or linux-x86_64@2.28") from exc
    if not 1 <= len(parts) <= 2:
        raise BadInputError(f"{text!r} in {whole!r} is not a version", hint="e.g. macos-arm64@14 or linux-x86_64@2.28")
    return parts[0], parts[1] if len(parts) > 1 else 0


def _ours(base: str, whole: str) -> tuple[str, tuple[int, int] | None] | None:
    name, at, version = base.partition("@")
    name = _ALIASES.get(name, name)
    preset = PRESETS.get(name) or MUSL_PRESETS.get(name)
    if preset is None:
        return None
    if not at:
        return name, preset.os_version
    if preset.os == "windows":
        raise BadInputError(f"target {name} takes no version", hint=f"write {name}")
    parsed = _version(version, whole)
    if preset.libc == "musl" and (len(version.split(".")) != 2 or parsed[0] != 1):
        raise BadInputError(f"{whole!r}: a musl target takes a musl version like 1.2", hint="e.g. linux-x86_64-musl@1.2")
    if preset.os == "linux" and preset.libc == "glibc" and (len(version.split(".")) != 2 or parsed[0] != 2):
        raise BadInputError(f"{whole!r}: a Linux target takes a glibc version like 2.28", hint="e.g. linux-x86_64@2.31")
    return name, parsed


def _uv(base: str) -> tuple[str, tuple[int, int] | None] | None:
    if base in UV_TRIPLES:
        return UV_TRIPLES[base]
    found = _UV_MANYLINUX.fullmatch(base)
    if found:
        return f"linux-{found[1]}", (2, 17) if found[3] else (2, int(found[2]))
    if base in _UV_OTHERS:
        raise BadInputError(f"uv's {base} names a machine wheelwise does not model",
                            hint=f"targets: {_names()}")
    return None


def _pip(base: str) -> tuple[str, tuple[int, int] | None] | None:
    found = _PIP_PLATFORM.fullmatch(base)
    if not found:
        return None
    if found["win"]:
        return f"windows-{found['win']}", None
    family = found["family"] or "manylinux"
    arch = found["arch"] or found["legacy_arch"]
    floor = (int(found["major"]), int(found["minor"])) if found["family"] else _LEGACY_FLOOR[found["legacy"]]
    if family == "macosx":
        if arch not in ("arm64", "x86_64"):
            raise BadInputError(f"{base} is a wheel platform ({arch}), not one machine", hint="pick macosx_X_Y_arm64 or macosx_X_Y_x86_64")
        return f"macos-{arch}", floor
    name = f"linux-{arch}" + ("-musl" if family == "musllinux" else "")
    if name not in PRESETS and name not in MUSL_PRESETS:
        raise BadInputError(f"{base}: wheelwise models Linux on x86_64 and aarch64, not {arch}", hint=f"targets: {_names()}")
    return name, floor


def _resolve(base: str, whole: str) -> tuple[str, tuple[int, int] | None, str | None]:
    """Our target name and OS version for a spelling, and the spelling when it was not ours."""
    key = base.strip().lower()
    ours = _ours(key, whole)
    if ours is not None:
        return ours[0], ours[1], None if key.partition("@")[0] in (*PRESETS, *MUSL_PRESETS) else base.strip()
    if "@" in key:
        raise BadInputError(f"unknown target {whole!r}", hint=_hint())
    found = _uv(key) or _pip(key)
    if found is None:
        raise BadInputError(f"unknown target {whole!r}", hint=_hint())
    return found[0], found[1], base.strip()


def parse_target(text: str, python: tuple[int, int], free_threaded: bool = False) -> Target:
    """A target from any spelling: ``macos-arm64``, ``linux-x86_64@2.31``, ``linux-arm64``,
    ``linux-x86_64-musl@1.2``, ``x86_64-manylinux_2_28`` (uv), ``macosx_14_0_arm64`` (pip),
    each optionally followed by properties: ``linux-x86_64+cuda=12.8+sm=90``.

    :raises BadInputError: an unknown name, a bad version, an impossible property.
    """
    base, *props = text.strip().split("+")
    name, os_version, spelled = _resolve(base, text)
    preset = PRESETS.get(name) or MUSL_PRESETS[name]
    if os_version is not None:
        check_os_version("musl" if preset.libc == "musl" else preset.os, os_version, text)
    properties = parse_properties(props, os=preset.os, arch=preset.arch)
    return Target(name=name, os=preset.os, arch=preset.arch, os_version=os_version, python=python,
                  libc=preset.libc, free_threaded=free_threaded, properties=properties, spelled=spelled)


def with_properties(target: Target, parts: Iterable[str]) -> Target:
    """*target* with the properties typed after ``+`` (``host+cuda=12.8``) over its own."""
    given = parse_properties(parts, os=target.os, arch=target.arch)
    merged = {f.name: getattr(given, f.name) or getattr(target.properties, f.name) for f in dataclasses.fields(Properties)}
    return dataclasses.replace(target, properties=Properties(**merged))

def check_os_version(os_name: str, version: tuple[int, int], text: str) -> None:
    """Refuse an OS version no target can have (``BadInputError``, exit 2).

    Every platform tag follows from the version down to the oldest, so an absurd
    version (macOS 999999999) would mean a billion tags.  macOS is 10.0-10.16, then
    11 onwards (one major a year: macOS 26 in 2025); glibc is 2.x; musl 1.x.
    """
    major, minor = version
    if os_name == "macos":
        sane = (major == 10 and 0 <= minor <= 16) or (11 <= major <= 99 and 0 <= minor <= 99)
        span = "macOS 10.0-10.16 or 11-99"
    elif os_name == "musl":
        sane = major == 1 and 0 <= minor <= 99
        span = "musl 1.0-1.99"
    else:
        sane = major == 2 and 0 <= minor <= 99
        span = "glibc 2.0-2.99"
    if not sane:
        raise BadInputError(f"{text!r}: the version is outside what a target can name ({span})",
                            hint="e.g. macos-arm64@14 or linux-x86_64@2.28")


def host_target(python: str | None = None) -> Target:
    """The target of a real interpreter: its own tags and marker environment, and the
    properties of this machine (:func:`wheelwise.properties.detect`).

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
    first_abi = tags[0].split("-")[1] if tags else ""
    return Target(
        name="host",
        os=system,
        arch=markers["platform_machine"].lower(),
        os_version=None,
        python=(major, minor),
        host_tags=tuple(tags),
        host_markers=markers,
        host_platforms=tuple(platforms),
        libc="musl" if any(p.startswith("musllinux_") for p in platforms) else "glibc",
        free_threaded=first_abi.startswith("cp") and first_abi.endswith("t"),
        properties=_properties(facts),
    )


def _properties(facts: Mapping[str, Any]) -> Properties:
    """This machine's properties, with what the probe read of nvidia-smi when it ran it."""
    accelerators = facts.get("accelerators")
    if isinstance(accelerators, Mapping) and "nvidia" in accelerators:
        return detect(nvidia=accelerators["nvidia"])
    return detect()


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

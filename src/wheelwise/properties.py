"""Machine properties beyond OS, architecture and Python: accelerators and CPU level.

A :class:`Properties` value says what a target's machine has: the CUDA version
its NVIDIA driver supports, its GPU's compute capability, the x86-64
microarchitecture level of its CPU, and Apple's Metal.  The names follow the
variant namespaces of PEP 825/850 where one exists (``nvidia ::
cuda_version_lower_bound``, ``nvidia :: sm_arch``, ``x86_64 :: level``), so that
:mod:`wheelwise.index.variants` can say which wheel variants such a machine takes.

Typed on a target as ``+cuda=12.8``, ``+sm=90`` (or ``+sm=9.0``), ``+x86_64=v3``,
``+metal``.  :func:`detect` reads them off the running machine the way doctor's
probe reads its facts: ``nvidia-smi`` when present (driver CUDA from its banner,
compute capability from ``--query-gpu=compute_cap``), CPU flags from
``/proc/cpuinfo``, Metal on Apple silicon.  The parsers are pure and tested on
captured text.
"""

from __future__ import annotations

import dataclasses
import platform
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import BadInputError

__all__ = [
    "CUDA_MAJORS",
    "COMPUTE_CAPABILITIES",
    "X86_64_LEVELS",
    "Properties",
    "cpu_level",
    "detect",
    "parse_compute_cap",
    "parse_cuda_banner",
    "parse_properties",
]

#: CUDA toolkit majors that exist (7.0, 2015, to 13.x, 2025); a driver reports one of them.
#: Source: https://developer.nvidia.com/cuda-toolkit-archive (verified 2026-11-22).
CUDA_MAJORS = range(7, 14)

#: GPU compute capabilities NVIDIA lists, as (major, minor).
#: Source: https://developer.nvidia.com/cuda-gpus (verified 2026-11-22).
COMPUTE_CAPABILITIES: frozenset[tuple[int, int]] = frozenset({
    (3, 5), (3, 7), (5, 0), (5, 2), (5, 3), (6, 0), (6, 1), (6, 2), (7, 0), (7, 2), (7, 5),
    (8, 0), (8, 6), (8, 7), (8, 9), (9, 0), (10, 0), (10, 1), (10, 3), (11, 0), (12, 0), (12, 1),
})

#: x86-64 microarchitecture levels and the /proc/cpuinfo flags each adds to the one before.
#: Source: https://gitlab.com/x86-psABIs/x86-64-ABI (psABI, "Micro-architecture levels";
#: verified 2026-11-22).  ``pni`` is how Linux names SSE3, ``abm`` LZCNT.
X86_64_LEVELS: Mapping[str, frozenset[str]] = {
    "v1": frozenset({"cmov", "cx8", "fpu", "fxsr", "mmx", "sse", "sse2"}),
    "v2": frozenset({"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"}),
    "v3": frozenset({"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}),
    "v4": frozenset({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
}

#: the property names a target accepts, and what each means (for messages)
NAMES = {
    "cuda": "the CUDA version the NVIDIA driver supports, e.g. +cuda=12.8",
    "sm": "the GPU's compute capability, e.g. +sm=90 or +sm=8.6",
    "x86_64": "the x86-64 CPU level v1-v4, e.g. +x86_64=v3",
    "metal": "Apple's Metal GPU API: +metal",
}


@dataclasses.dataclass(frozen=True)
class Properties:
    """What a machine has beyond OS, architecture and Python; ``None``/``False``: not said.

    :param cuda: the CUDA version the driver supports (``nvidia-smi``'s "CUDA Version").
    :param sm: the GPU's compute capability, ``(9, 0)`` for an H100.
    :param x86_64: the x86-64 level, ``v1`` to ``v4``.
    :param metal: Metal is there (Apple GPU).
    """

    cuda: tuple[int, int] | None = None
    sm: tuple[int, int] | None = None
    x86_64: str | None = None
    metal: bool = False

    def __bool__(self) -> bool:
        return self != Properties()

    def items(self) -> list[tuple[str, str]]:
        """``[("cuda", "12.8"), ("sm", "90"), ("x86_64", "v3"), ("metal", "")]``, in that order."""
        found: list[tuple[str, str]] = []
        if self.cuda:
            found.append(("cuda", f"{self.cuda[0]}.{self.cuda[1]}"))
        if self.sm:
            found.append(("sm", f"{self.sm[0]}{self.sm[1]}"))
        if self.x86_64:
            found.append(("x86_64", self.x86_64))
        if self.metal:
            found.append(("metal", ""))
        return found

    @property
    def suffix(self) -> str:
        """``+cuda=12.8+sm=90``: how a target spells them."""
        return "".join(f"+{k}={v}" if v else f"+{k}" for k, v in self.items())

    def to_dict(self) -> dict[str, Any]:
        return {k: (v or True) for k, v in self.items()}


def _cuda(value: str) -> tuple[int, int]:
    found = re.fullmatch(r"(\d+)(?:\.(\d+))?", value)
    if not found:
        raise BadInputError(f"+cuda={value}: not a CUDA version", hint="e.g. +cuda=12.8")
    major, minor = int(found[1]), int(found[2] or 0)
    if major not in CUDA_MAJORS or minor > 9:
        raise BadInputError(
            f"+cuda={value}: there is no CUDA {major}.{minor}",
            hint=f"CUDA versions run from {CUDA_MAJORS[0]}.0 to {CUDA_MAJORS[-1]}.x (the driver's, as nvidia-smi shows it)",
        )
    return major, minor


def _sm(value: str) -> tuple[int, int]:
    text = value.lower().removeprefix("sm_").removeprefix("sm").removesuffix("_real")
    found = re.fullmatch(r"(\d+)\.(\d)|(\d{1,2})(\d)", text)
    if not found:
        raise BadInputError(f"+sm={value}: not a compute capability", hint="e.g. +sm=90 or +sm=8.6")
    cap = (int(found[1]), int(found[2])) if found[1] else (int(found[3]), int(found[4]))
    if cap not in COMPUTE_CAPABILITIES:
        known = ", ".join(f"{a}{b}" for a, b in sorted(COMPUTE_CAPABILITIES))
        raise BadInputError(f"+sm={value}: no NVIDIA GPU has compute capability {cap[0]}.{cap[1]}", hint=f"known: {known}")
    return cap


def _level(value: str) -> str:
    level = value.lower()
    if level not in X86_64_LEVELS:
        raise BadInputError(f"+x86_64={value}: not an x86-64 level", hint="one of " + ", ".join(X86_64_LEVELS))
    return level


def parse_properties(parts: Iterable[str], *, os: str, arch: str) -> Properties:
    """``["cuda=12.8", "sm=90"]`` (what follows each ``+``) → :class:`Properties` for a machine.

    :raises BadInputError: an unknown name, a value that does not exist, or a property the
        machine cannot have (CUDA on macOS, Metal off macOS, an x86-64 level on arm64).
    """
    found: dict[str, Any] = {}
    for part in parts:
        name, eq, value = part.partition("=")
        name = name.strip().lower().replace("-", "_")
        if name not in NAMES:
            raise BadInputError(f"unknown target property +{part}", hint="known: " + "; ".join(NAMES.values()))
        if name in found:
            raise BadInputError(f"+{name} is given twice", hint="give each property once")
        if name == "metal":
            if eq and value.lower() not in ("", "1", "true", "yes"):
                raise BadInputError(f"+{part}: Metal is there or not", hint="write +metal")
            found["metal"] = True
        elif not value:
            raise BadInputError(f"+{name} needs a value", hint=NAMES[name])
        else:
            found[name] = {"cuda": _cuda, "sm": _sm, "x86_64": _level}[name](value.strip())
    props = Properties(**found)
    _check_machine(props, os, arch)
    return props


def _check_machine(props: Properties, os: str, arch: str) -> None:
    if (props.cuda or props.sm) and os == "macos":
        raise BadInputError("CUDA does not run on macOS", hint="macOS has Metal: +metal")
    if props.metal and os != "macos":
        raise BadInputError("Metal is Apple's: only a macOS target has it", hint="for NVIDIA GPUs: +cuda=12.8 +sm=90")
    if props.x86_64 and arch not in ("x86_64", "amd64"):
        raise BadInputError(f"+x86_64 is a level of x86-64 CPUs; this target is {arch}", hint="drop it, or pick an x86_64 target")


# -- reading the running machine ---------------------------------------------------


def parse_cuda_banner(banner: str) -> tuple[int, int] | None:
    """The driver's CUDA version from ``nvidia-smi``'s banner (``CUDA Version: 12.8``)."""
    found = re.search(r"CUDA Version\s*:\s*(\d+)\.(\d+)", banner)
    return (int(found[1]), int(found[2])) if found else None


def parse_compute_cap(query: str) -> tuple[int, int] | None:
    """The highest compute capability ``nvidia-smi --query-gpu=compute_cap`` lists (one GPU a line)."""
    caps = [(int(m[1]), int(m[2])) for m in re.finditer(r"^\s*(\d+)\.(\d+)\s*$", query, re.MULTILINE)]
    return max(caps, default=None)


def cpu_level(cpuinfo: str) -> str | None:
    """The x86-64 level the ``flags`` line of ``/proc/cpuinfo`` shows (``None``: no x86 flags)."""
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "flags":
            flags = set(value.split())
            break
    if not flags:
        return None
    level = None
    for name, needed in X86_64_LEVELS.items():
        if not needed <= flags:
            break
        level = name
    return level


def _run(argv: list[str]) -> str | None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


#: :func:`detect` asks nvidia-smi itself
_ASK = object()


def _from_probe(nvidia: object) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """CUDA and compute capability from the host probe's ``accelerators.nvidia`` facts (what
    nvidia-smi said there; ``None``: no NVIDIA driver)."""
    if not isinstance(nvidia, Mapping):
        return None, None
    cuda = nvidia.get("cuda")
    gpus = nvidia.get("gpus")
    caps = [g.get("compute_capability") for g in gpus if isinstance(g, Mapping)] if isinstance(gpus, list) else []
    return (parse_cuda_banner(f"CUDA Version: {cuda}") if isinstance(cuda, str) else None,
            parse_compute_cap("\n".join(c for c in caps if isinstance(c, str))))


def detect(nvidia: object = _ASK) -> Properties:
    """This machine's properties; what cannot be read is left unsaid (never guessed).

    Order: ``nvidia-smi`` (absent: no NVIDIA driver, so no CUDA), ``/proc/cpuinfo``
    on Linux x86-64, Metal on macOS arm64 (every Apple-silicon Mac has it).

    :param nvidia: what the host probe read of nvidia-smi already (its ``accelerators.nvidia``
        facts), so that it is not run again; not given: nvidia-smi is asked.
    """
    cuda = sm = None
    exe = shutil.which("nvidia-smi") if nvidia is _ASK else None
    if exe:
        cuda = parse_cuda_banner(_run([exe]) or "")
        sm = parse_compute_cap(_run([exe, "--query-gpu=compute_cap", "--format=csv,noheader"]) or "")
    elif nvidia is not _ASK:
        cuda, sm = _from_probe(nvidia)
    level = None
    machine = platform.machine().lower()
    if platform.system() == "Linux" and machine in ("x86_64", "amd64"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                level = cpu_level(f.read(1 << 20))
        except OSError:
            level = None
    metal = platform.system() == "Darwin" and machine == "arm64"
    return Properties(cuda=cuda, sm=sm if sm in COMPUTE_CAPABILITIES else None, x86_64=level, metal=metal)

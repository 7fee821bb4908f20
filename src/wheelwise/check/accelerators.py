"""Accelerator fit: can the CUDA builds a cell pins run on the target's NVIDIA driver?

A target with ``+cuda=X.Y`` has a driver that runs software built with CUDA X.x (minor-version
compatibility); a build for a newer CUDA major needs a newer driver.  What a pin is built for is
read from what the index says: a local version (``torch 2.8.0+cu128``) or a name
(``nvidia-cublas-cu12``, ``jax-cuda12-plugin``, ``cupy-cuda12x``).  The driver each CUDA major
needs is cited data (``knowledge/support.toml``, ``[[driver]]``).

A target with ``+sm=X.Y`` has a GPU of that compute capability; whether a pinned torch CUDA build
carries kernels for it is cited data too (``[[torch_cuda]]``). Which build a pin is comes from its
local version (``+cu126``) or, for the plain torch wheel of the default index, from the CUDA runtime
it pins beside it (``nvidia-cuda-runtime-cu12 12.8.x`` → ``cu128``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from packaging.version import Version

from ..knowledge import Knowledge
from ..resolve import Candidate
from ..target import Target

__all__ = ["architecture_warnings", "cuda_major", "cuda_warnings"]

_LOCAL = re.compile(r"cu(\d{2,3})")
_NAME = re.compile(r"(?:-cu|-cuda|^cupy-cuda)(\d{2})(?:x|-|$)")


def cuda_major(name: str, version: Version) -> int | None:
    """The CUDA major a pin is built for, when its version or name says (``+cu128`` → 12)."""
    local = _LOCAL.fullmatch(version.local or "")
    if local:
        return int(local[1][:-1])
    named = _NAME.search(name)
    return int(named[1]) if named else None


def cuda_warnings(pins: Mapping[str, Candidate], target: Target, knowledge: Knowledge) -> list[str]:
    """A warning for each pin built for a newer CUDA major than the target's driver runs."""
    cuda = target.properties.cuda
    if cuda is None:
        return []
    found = []
    for name, candidate in pins.items():
        major = cuda_major(name, candidate.version)
        if major is None or major <= cuda[0]:
            continue
        need = knowledge.driver_for(Version(f"{major}.0"))
        driver = ""
        if need is not None:
            floor = need.windows if target.os == "windows" else need.linux
            driver = f" (driver {floor} or later; source: {need.sources[0]}, verified {need.verified})"
        found.append(f"{name} {candidate.version} is built for CUDA {major}, and the target's driver supports CUDA "
                     f"{cuda[0]}.{cuda[1]}: it needs a driver for CUDA {major}{driver}")
    return found


def _torch_build_label(pins: Mapping[str, Candidate]) -> Version | None:
    torch = pins.get("torch")
    if torch is None:
        return None
    if torch.version.local:
        return torch.version
    runtime = next((c.version for n, c in pins.items() if n.startswith("nvidia-cuda-runtime")), None)
    if runtime is None:
        return None
    return Version(f"{torch.version.public}+cu{runtime.major}{runtime.minor}")


def architecture_warnings(pins: Mapping[str, Candidate], target: Target, knowledge: Knowledge) -> list[str]:
    """A warning when the pinned torch CUDA build has no kernels for the target's GPU (``+sm``),
    and a note when it runs only through PTX (compiled by the driver at first use)."""
    capability = target.properties.sm
    label = _torch_build_label(pins)
    if capability is None or label is None:
        return []
    build = knowledge.torch_cuda_build(label)
    if build is None:
        return []
    gpu = f"sm_{capability[0]}{capability[1]}"
    how = build.covers(capability)
    cited = f"source: {build.sources[0]}, verified {build.verified}"
    if how is None:
        return [f"torch {label} carries kernels for {build.span()}, not for this {gpu} GPU: it fails with "
                f"'no kernel image is available for execution on the device' ({cited})"]
    if how == "PTX":
        return [f"torch {label} has no machine code for {gpu}; it runs through PTX the driver compiles at first "
                f"use (slow to start) ({cited})"]
    return []

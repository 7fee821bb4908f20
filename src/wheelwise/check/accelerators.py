"""Accelerator fit: can the CUDA builds a cell pins run on the target's NVIDIA driver?

A target with ``+cuda=X.Y`` has a driver that runs software built with CUDA X.x (minor-version
compatibility); a build for a newer CUDA major needs a newer driver.  What a pin is built for is
read from what the index says: a local version (``torch 2.8.0+cu128``) or a name
(``nvidia-cublas-cu12``, ``jax-cuda12-plugin``, ``cupy-cuda12x``).  The driver each CUDA major
needs is cited data (``knowledge/support.toml``, ``[[driver]]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from packaging.version import Version

from ..knowledge import Knowledge
from ..resolve import Candidate
from ..target import Target

__all__ = ["cuda_major", "cuda_warnings"]

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

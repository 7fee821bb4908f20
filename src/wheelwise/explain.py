"""Explain: a pasted log or traceback turned into causes and fixes.

:func:`explain` matches every error signature of the knowledge base against
the text and returns one :class:`Match` per signature found, in the order the
errors appear, each with the line it was found on.  :func:`host_context`
adds what the running machine shows about the signature's subject (an x86_64
Python under Rosetta, no NVIDIA driver ...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from .facts import HostFacts
from .knowledge import Signature

__all__ = ["Match", "explain", "host_context"]

#: a log longer than this is read from its end, where errors are
MAX_TEXT = 4 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Match:
    signature: Signature
    line: int
    excerpt: str
    context: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {**self.signature.to_dict(), "line": self.line, "excerpt": self.excerpt, "context": list(self.context)}


def explain(text: str, signatures: Sequence[Signature]) -> list[Match]:
    """Every signature found in *text*, in order of first appearance, each once."""
    text = text[-MAX_TEXT:].replace("\r\n", "\n")
    found = []
    for signature in signatures:
        m = signature.pattern.search(text)
        if m is None:
            continue
        line = text.count("\n", 0, m.start()) + 1
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.end())
        excerpt = text[start : end if end != -1 else len(text)].strip()
        found.append((m.start(), Match(signature, line, excerpt[:300])))
    found.sort(key=lambda pair: pair[0])
    return [match for _, match in found]


def host_context(signature: Signature, data: Mapping[str, Any] | None) -> tuple[str, ...]:
    """What this machine shows about the subjects *signature* names."""
    if data is None:
        return ()
    facts = HostFacts(data)
    lines = []
    for subject in signature.context:
        if subject == "rosetta" and facts.os_name == "macos":
            if facts.rosetta:
                lines.append(f"here: this Python ({facts.get('interpreter', 'executable')}) is x86_64 running under Rosetta 2")
            elif facts.rosetta is False and facts.get("hardware", "apple_silicon"):
                lines.append("here: this Python runs natively on Apple silicon (no Rosetta)")
        elif subject == "arch":
            lines.append(f"here: this Python runs as {facts.python_arch} on {facts.hardware_arch or 'unknown'} hardware ({facts.get('os', 'system')})")
        elif subject == "python":
            interp = facts.data.get("interpreter", {})
            lines.append(f"here: {interp.get('implementation')} {interp.get('version')}, {interp.get('bits')}-bit, at {interp.get('executable')}")
        elif subject == "nvidia" and "accelerators" in facts.data:
            nvidia = facts.nvidia
            if nvidia is None:
                lines.append("here: no NVIDIA driver (nvidia-smi not found)")
            else:
                lines.append(f"here: NVIDIA driver {nvidia.get('driver')}, CUDA {nvidia.get('cuda')}")
    return tuple(dict.fromkeys(lines))

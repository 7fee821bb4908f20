"""Explain: a pasted log or traceback turned into causes and fixes.

:func:`find` matches every error signature of the knowledge base against the
text in time proportional to its size: a signature's regular expression only
runs in a bounded window around an occurrence of one of its literal ``keys``
(found with :meth:`str.find`), so a 20 MB single-line log costs a few scans,
not the square of its length.  Line numbers are counted once, in order, so
they are exact for any size; a text longer than :data:`MAX_TEXT` is read from
its end (where errors are) and the lines skipped are counted.

:func:`select` keeps the matches whose conditions the evidence allows: a
signature that implies a platform (Rosetta 2 on a Mac) is dropped when the log
itself or the host facts say another OS, and a signature that yields to a more
specific one (``unless``) is dropped when that one applies.  :func:`explain`
does both; :func:`host_context` adds what the running machine shows about the
signature's subject (an x86_64 Python under Rosetta, no NVIDIA driver ...).
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO

from .facts import HostFacts
from .knowledge import Signature

__all__ = ["MAX_TEXT", "Host", "LogText", "Match", "Report", "explain", "find", "host_context", "log_host", "read", "read_stream", "select"]

#: a log longer than this is read from its end, where errors are
MAX_TEXT = 32 * 1024 * 1024
#: the most characters one signature's match may span on either side of its key
SPAN = 1024
#: how far past a key occurrence one regex run reaches (further occurrences are covered by it)
STRIDE = 64 * 1024
#: characters of context an excerpt keeps before and after the match
_BEFORE, _AFTER = 160, 240

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


@dataclasses.dataclass(frozen=True)
class Host:
    """What is known of the machine the log comes from.

    :param os: ``linux``, ``macos`` or ``windows``; ``None`` when unknown.
    :param machine: the hardware architecture (``arm64``, ``x86_64``) when known.
    :param source: where the OS was read: ``log`` or ``facts``.
    """

    os: str | None = None
    machine: str | None = None
    source: str = ""

    @classmethod
    def from_facts(cls, data: Mapping[str, Any] | None) -> Host:
        if data is None:
            return cls()
        facts = HostFacts(data)
        os_name = facts.os_name if facts.os_name in ("linux", "macos", "windows") else None
        return cls(os_name, facts.hardware_arch, "facts" if os_name else "")

    def merged(self, other: Host) -> Host:
        """This host where it knows, *other* where it does not."""
        return Host(self.os or other.os, self.machine or other.machine, self.source if self.os else other.source)


@dataclasses.dataclass(frozen=True)
class Match:
    signature: Signature
    line: int
    excerpt: str
    context: tuple[str, ...] = ()
    #: the named groups of the signature's pattern, as matched (pip's "X requires Y")
    values: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.signature.render(self.signature.title, self.values)

    @property
    def cause(self) -> str:
        return self.signature.render(self.signature.cause, self.values)

    @property
    def fix(self) -> str:
        return self.signature.render(self.signature.fix, self.values)

    def to_dict(self) -> dict[str, object]:
        shown = {**self.signature.to_dict(), "title": self.title, "cause": self.cause, "fix": self.fix}
        return {**shown, "line": self.line, "excerpt": self.excerpt, "values": dict(self.values), "context": list(self.context)}


@dataclasses.dataclass(frozen=True)
class Report:
    """What :func:`read` found: the matches, and how much of the text was read."""

    matches: tuple[Match, ...]
    host: Host
    #: characters skipped at the start of an over-long text (0: all of it was read)
    skipped: int = 0
    #: the line number of the first line read
    first_line: int = 1


@dataclasses.dataclass(frozen=True)
class LogText:
    """The part of a log explain reads: its end, at most :data:`MAX_TEXT` bytes.

    :param skipped: bytes of the log's beginning that were not read (0: all of it was).
    :param first_line: the line number, in the whole log, of the first line of *text*.
    """

    text: str
    size: int
    skipped: int = 0
    first_line: int = 1


_CHUNK = 1 << 20


def read_stream(stream: BinaryIO, limit: int = MAX_TEXT) -> LogText:
    """Read a log from *stream* keeping only its last *limit* bytes (from a line start).

    Lines in the part dropped are counted, so line numbers stay those of the whole log;
    memory stays bounded by *limit* however long the log is.
    """
    kept = bytearray()
    size = skipped = lines = 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        kept += chunk
        if len(kept) > limit + _CHUNK:
            drop = len(kept) - limit
            lines += kept.count(b"\n", 0, drop)
            skipped += drop
            del kept[:drop]
    if len(kept) > limit:
        drop = len(kept) - limit
        lines += kept.count(b"\n", 0, drop)
        skipped += drop
        del kept[:drop]
    if skipped:
        newline = kept.find(b"\n", 0, 64 * 1024)  # start at a whole line where one is near
        if newline != -1:
            lines += 1
            skipped += newline + 1
            del kept[: newline + 1]
    return LogText(kept.decode("utf-8", errors="replace"), size, skipped, lines + 1)


def read(text: str, signatures: Sequence[Signature], host: Host | None = None, *, first_line: int = 1) -> Report:
    """Bound *text*, find the signatures in it and keep those the evidence allows."""
    skipped = 0
    if len(text) > MAX_TEXT:
        skipped = len(text) - MAX_TEXT
        first_line += text.count("\n", 0, skipped)
        text = text[skipped:]
    evidence = log_host(text).merged(host or Host())
    matches = select(find(text, signatures, first_line=first_line), evidence)
    return Report(tuple(matches), evidence, skipped, first_line)


def explain(text: str, signatures: Sequence[Signature], host: Host | None = None) -> list[Match]:
    """Every signature found in *text* that fits the evidence, in order of first appearance, each once."""
    return list(read(text, signatures, host).matches)


def find(text: str, signatures: Sequence[Signature], *, first_line: int = 1) -> list[Match]:
    """Every signature found in *text* (conditions not applied), in order, with exact line numbers."""
    lower = text.translate(_ASCII_LOWER)  # same length as text: offsets carry over
    found = []
    for signature in signatures:
        hit = _first_match(text, lower, signature)
        if hit is not None:
            found.append(hit)
    found.sort(key=lambda pair: pair[0].start())
    matches, line, last = [], first_line, 0
    for m, signature in found:
        line += text.count("\n", last, m.start())
        last = m.start()
        values = {k: v for k, v in m.groupdict().items() if v is not None}
        matches.append(Match(signature, line, _excerpt(text, m.start(), m.end()), values=values))
    return matches


def _first_match(text: str, lower: str, signature: Signature) -> tuple[Any, Signature] | None:
    """The earliest match of *signature*, its regex run only near occurrences of its keys."""
    best = None
    size = len(text)
    for key in signature.keys:
        at = lower.find(key)
        while at != -1 and (best is None or at - SPAN < best.start()):
            end = at + len(key) + SPAN + STRIDE
            m = signature.pattern.search(text, max(0, at - SPAN), min(size, end))
            if m is not None:
                if best is None or m.start() < best.start():
                    best = m
                break
            at = lower.find(key, at + STRIDE + 1)
    return None if best is None else (best, signature)


def _excerpt(text: str, start: int, end: int) -> str:
    """The match with the rest of its line(s), at most a few hundred characters."""
    lo = text.rfind("\n", max(0, start - _BEFORE), start)
    lo = lo + 1 if lo != -1 else max(0, start - _BEFORE)
    end = min(end, start + 2 * _AFTER)
    hi = text.find("\n", end, end + _AFTER)
    hi = hi if hi != -1 else min(len(text), end + _AFTER)
    prefix = "..." if lo > 0 and text[lo - 1] != "\n" else ""
    suffix = "..." if hi < len(text) and text[hi] != "\n" else ""
    return f"{prefix}{text[lo:hi].strip()}{suffix}"


#: lower-case text that shows which OS a log was written on
_OS_HINTS = {
    "linux": ("(core dumped)", "linux-gnu", "/usr/lib/", "/usr/local/lib/", "/home/", "/root/", "ubuntu", "debian", "centos", "fedora", "os: linux", "platform: linux", "distribution: linux", "distribution**: linux", " on linux"),
    "macos": ("/users/", "darwin", ".dylib", "macos ", "mac os x", "sw_vers", "apple m1", "apple m2", "apple m3", "apple m4"),
    "windows": (":\\users\\", ":\\python", "\\site-packages\\", "winerror", ".dll", "win_amd64", "win32", "windows 1"),
}


#: lines that name platforms without being written on them: environment markers pip reports
#: ("Ignoring pywin32: markers 'sys_platform == "win32"' ..."), and wheel file names
_NOT_THE_HOST = ("markers", "sys_platform", "platform_system", ".whl")


def log_host(text: str) -> Host:
    """The OS a log shows it was written on, when it shows exactly one."""
    lower = text.translate(_ASCII_LOWER)
    shown = [name for name, hints in _OS_HINTS.items() if any(_shows(lower, h) for h in hints)]
    return Host(shown[0], None, "log") if len(shown) == 1 else Host()


def _shows(lower: str, hint: str) -> bool:
    """Whether *hint* is in the log on a line that is not about other platforms (one pass:
    each line is looked at once, whatever the number of hits)."""
    at = lower.find(hint)
    while at != -1:
        start = lower.rfind("\n", 0, at) + 1
        end = lower.find("\n", at)
        end = len(lower) if end == -1 else end
        if not any(word in lower[start:end] for word in _NOT_THE_HOST):
            return True
        at = lower.find(hint, end)
    return False


def select(matches: Sequence[Match], host: Host) -> list[Match]:
    """The matches whose signature's conditions *host* allows, less those that yield to another."""
    allowed = [m for m in matches if _possible(m.signature, host)]
    present = {m.signature.id for m in allowed}
    return [m for m in allowed if not present.intersection(m.signature.unless)]


def _possible(signature: Signature, host: Host) -> bool:
    if signature.os and host.os is not None and host.os not in signature.os:
        return False
    return not (signature.machine and host.machine is not None and _family(host.machine) not in signature.machine)


def _family(arch: str) -> str:
    arch = arch.lower()
    return "arm64" if arch in ("arm64", "aarch64", "arm64e") else {"amd64": "x86_64", "x64": "x86_64"}.get(arch, arch)


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
        elif subject == "cpu":
            lines.extend(_cpu_line(facts))
    return tuple(dict.fromkeys(lines))


def _cpu_line(facts: HostFacts) -> list[str]:
    features = facts.get("hardware", "cpu_features")
    if not isinstance(features, Mapping) or "avx" not in features:
        return []
    cpu = facts.get("hardware", "cpu") or "this CPU"
    return [f"here: {cpu} {'has' if features['avx'] else 'lacks'} AVX"]

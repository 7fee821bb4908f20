"""Words for the reasons a requirement does not install: the one place they are written."""

from __future__ import annotations

from ..target import Target

__all__ = ["os_words", "reason_words"]


def os_words(target: Target, version: str | None = None) -> str:
    """``glibc 2.28``, ``musl 1.2`` or ``macOS 14`` for a target (or for *version* on its OS)."""
    if version is None:
        if target.os_version is None:
            return target.machine
        major, minor = target.os_version
        version = f"{major}" if target.os == "macos" and minor == 0 else f"{major}.{minor}"
    elif target.os == "macos" and version.endswith(".0"):
        version = version[:-2]
    kind = "macOS" if target.os == "macos" else "musl" if target.libc == "musl" else "glibc"
    return f"{kind} {version}"


def reason_words(reason: str, target: Target, needs: str | None = None) -> str:
    """One clause: why the blocker does not install on *target*."""
    py = f"CPython {target.python_str}"
    if reason == "os-too-old":
        floor = os_words(target, needs) if needs else "a newer OS"
        return f"needs {floor} or newer on {target.machine} (the target has {os_words(target)})"
    words = {
        "platform": f"has no wheel for {target.machine}",
        "python": f"has no wheel for {py} on {target.machine}",
        "abi": f"has no wheel for the {py} ABI on {target.machine}",
        "requires-python": f"does not support Python {target.python_str} (Requires-Python)",
        "variant": "has only variant wheels (PEP 825) here, none for this machine's properties"
        + (f" ({target.properties.suffix})" if target.properties else " (the target names none: add +cuda=, +sm=, +x86_64=)"),
        "yanked": "has only yanked releases in the required range",
        "sdist-only": "has only sdists",
        "not-found": "is not on any configured index",
        "no-version": "has no release in the required range",
        "invalid-metadata": "has metadata pip cannot read",
        "forbidden": "must not be installed with this combination (knowledge rule)",
        "conflict": "is required in ways no single version satisfies",
        "limit": "could not be decided: the resolver reached its round limit",
    }
    return words.get(reason, reason)

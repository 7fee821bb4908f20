"""Other Python interpreters on this machine, for tests that examine them."""

from __future__ import annotations

import functools
import glob
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["find_python2", "find_pythons", "python_older_than"]


def _candidates() -> list[str]:
    # real interpreters first: a pyenv shim is a script that starts one
    pyenv = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    found = sorted(glob.glob(os.path.join(pyenv, "versions", "*", "bin", "python3")))
    found += sorted(p for p in glob.glob("/usr/bin/python3.*") if re.search(r"python3\.\d+$", p))
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    try:
        listed = subprocess.run([uv, "python", "list", "--only-installed", "--output-format", "json"], capture_output=True,
                                text=True, timeout=60, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})
        found += [str(entry["path"]) for entry in json.loads(listed.stdout or "[]") if entry.get("path")]
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    return found


@functools.cache
def find_pythons() -> dict[tuple[int, int], str]:
    """CPython feature version -> one working interpreter of it (shims that fail are left out)."""
    versions: dict[tuple[int, int], str] = {}
    for exe in _candidates():
        try:
            proc = subprocess.run([exe, "-I", "-S", "-c", "import sys; print('%d %d %s' % (sys.version_info[0], sys.version_info[1], sys.implementation.name))"],
                                  capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        parts = proc.stdout.split()
        if proc.returncode == 0 and len(parts) == 3 and parts[2] == "cpython":
            versions.setdefault((int(parts[0]), int(parts[1])), exe)
    return dict(sorted(versions.items()))


def python_older_than(version: tuple[int, int]) -> str | None:
    """The newest interpreter found older than *version* (3.x only), or None."""
    older = [exe for found, exe in find_pythons().items() if (3, 0) <= found < version]
    return older[-1] if older else None


def find_python2() -> str | None:
    """A Python 2 interpreter, or None."""
    pyenv = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    for exe in sorted(glob.glob(os.path.join(pyenv, "versions", "2.*", "bin", "python"))) + sorted(glob.glob("/usr/bin/python2*")):
        try:
            proc = subprocess.run([exe, "-E", "-s", "-S", "-c", "import sys; print(sys.version_info[0])"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if proc.returncode == 0 and proc.stdout.strip() == "2":
            return exe
    return None

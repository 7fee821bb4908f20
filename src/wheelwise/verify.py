"""Verification: proof, measured inside an environment, that its accelerator is used.

:func:`run_verify` runs ``probes/verify.py`` with the environment's own
interpreter and returns its document.  Unlike the host probe it must import
the frameworks, so it runs the environment's code (its ``.pth`` files and
``sitecustomize`` too): it is meant for an environment the user trusts.  It
runs without the user's site-packages (``-s``) and without ``PYTHON*``
variables (``-E``, and none passed on), so only the environment itself is
measured; :func:`judge` says whether an expected
accelerator was found *and* used (the placement test ran there).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import BadInputError
from .facts import venv_python
from .probes import script

__all__ = ["ACCELERATOR_NAMES", "ENVIRONMENT_ONLY", "judge", "python_of_venv", "run_verify"]

#: what --expect accepts, and the device kinds the probe reports for each
ACCELERATOR_NAMES: Mapping[str, tuple[str, ...]] = {
    "cuda": ("cuda", "gpu"),
    "mps": ("mps",),
    "metal": ("gpu", "metal", "mps"),
    "gpu": ("cuda", "gpu", "mps", "metal", "rocm"),
    "cpu": ("cpu",),
}


#: The environment's own site-packages, not the user's (``-s``), and no ``PYTHON*`` variable (``-E``).
ENVIRONMENT_ONLY = ("-s", "-E")


def python_of_venv(venv: str) -> str:
    python = venv_python(venv)
    if python.exists():
        return str(python)
    raise BadInputError(f"{venv} is not a virtual environment (no bin/python)", hint="give --venv the folder made by 'python -m venv'")


def run_verify(python: str, frameworks: Sequence[str] = (), *, size: int = 1024, runs: int = 5, timeout: float = 600) -> dict[str, Any]:
    argv = [python, *ENVIRONMENT_ONLY, str(script("verify")), "--size", str(size), "--runs", str(runs)]
    for name in frameworks:
        argv += ["--framework", name]
    env = {key: value for key, value in os.environ.items() if not key.upper().startswith("PYTHON")}
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    except FileNotFoundError as exc:
        raise BadInputError(f"no interpreter at {python}", hint="give --python the path of a Python executable") from exc
    except subprocess.TimeoutExpired as exc:
        raise BadInputError(f"the verification in {python} did not finish within {timeout:.0f} s") from exc
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BadInputError(f"{python} could not run the verification: {tail}")
    doc: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    doc["stderr_tail"] = proc.stderr[-2000:]
    return doc


def judge(doc: Mapping[str, Any], expect: str | None) -> list[str]:
    """Problems that make verification fail: empty when all is well."""
    problems = []
    frameworks = doc.get("frameworks") or []
    if not frameworks:
        problems.append("no framework (torch, tensorflow, jax) is installed in this environment")
    for fw in frameworks:
        if fw.get("error"):
            problems.append(f"{fw['framework']}: {fw['error']}")
            continue
        if expect is None or expect == "cpu":
            continue
        kinds = ACCELERATOR_NAMES[expect]
        placement = fw.get("placement") or {}
        accel = fw.get("accelerator")
        if accel is None or str(accel).lower() not in kinds:
            problems.append(f"{fw['framework']}: no {expect} device visible ({placement.get('reason') or 'found ' + str(accel)})")
        elif not placement.get("ok"):
            problems.append(f"{fw['framework']}: a {expect} device is listed but the test op ran on {placement.get('ran_on')} ({placement.get('reason', 'silent fallback')})")
    if doc.get("rosetta"):
        problems.append("this Python runs under Rosetta 2 (x86_64 on Apple silicon)")
    return problems

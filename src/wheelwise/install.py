"""Install a plan into a virtual environment without ever leaving a half-made one.

The venv is built beside its final place (``.NAME.wheelwise-PID``), pip
installs the pins there, and only a complete venv is moved into place.  An
existing venv is replaced only with ``upgrade``, and is kept aside until the
new one is in place (then removed, or restored if the swap fails).  Ctrl-C,
SIGTERM or a failed pip remove the staging venv; a staging venv left by a
killed run is removed by the next run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from .errors import BadInputError, WheelwiseError
from .facts import venv_python
from .plan import Plan

__all__ = ["InstallError", "InstallResult", "install", "staging_dirs"]


class InstallError(WheelwiseError):
    """pip failed; nothing was changed (exit 1)."""

    reference = "install-failed"
    exit_code = 1

    def __init__(self, message: str, output: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.output = output


@dataclasses.dataclass(frozen=True)
class InstallResult:
    venv: Path
    python: Path
    replaced: bool


def staging_dirs(venv: Path) -> list[Path]:
    return sorted(venv.parent.glob(f".{venv.name}.wheelwise-*"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(venv: Path) -> None:
    for path in staging_dirs(venv):
        suffix = path.name.rsplit("-", 1)[-1]
        if suffix.isdigit() and not _alive(int(suffix)):
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt, so cleanup runs as for Ctrl-C."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _relocate(staging: Path, final: Path) -> None:
    """Rewrite the staging path in the venv's scripts (shebangs, activate) to the final one."""
    old, new = str(staging), str(final)
    bindir = staging / ("Scripts" if os.name == "nt" else "bin")
    for path in [*bindir.iterdir(), staging / "pyvenv.cfg"]:
        if not path.is_file() or path.is_symlink():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if old.encode() in data and b"\0" not in data[:1024]:
            path.write_bytes(data.replace(old.encode(), new.encode()))


def install(
    plan: Plan,
    venv: Path,
    python: str,
    *,
    upgrade: bool = False,
    output: Callable[[str], None] = lambda line: None,
) -> InstallResult:
    """Create *venv* with *python* and install *plan*'s pins into it."""
    if not plan.ok:
        raise BadInputError(f"nothing to install: {plan.reason}")
    venv = venv.absolute()
    exists = venv.exists()
    if exists and not upgrade:
        raise BadInputError(f"{venv} already exists", hint="pass --upgrade to replace it (it is kept until the new one is complete), or choose another --venv")
    if exists and not venv_python(venv).exists():
        raise BadInputError(f"{venv} exists and is not a virtual environment; wheelwise will not replace it")
    venv.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(venv)
    staging = venv.parent / f".{venv.name}.wheelwise-{os.getpid()}"
    backup = venv.parent / f".{venv.name}.wheelwise-backup-{os.getpid()}"
    try:
        with _terminate_as_interrupt():
            _run([python, "-m", "venv", str(staging)], output, "creating the virtual environment failed")
            requirements = staging / "wheelwise-requirements.txt"
            # every pin with its hashes; the index options go on pip's command line as the user gave them
            requirements.write_text(plan.requirements_text(index=False), encoding="utf-8")
            pip = [
                str(venv_python(staging)), "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
                "--require-hashes", *plan.pip_args(), "-r", str(requirements),
            ]
            _run(pip, output, "pip could not install the plan")
            _relocate(staging, venv)
            if exists:
                os.replace(venv, backup)
            try:
                os.replace(staging, venv)
            except OSError:
                if exists:
                    os.replace(backup, venv)
                raise
            if exists:
                shutil.rmtree(backup, ignore_errors=True)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return InstallResult(venv, venv_python(venv), exists)


def _run(argv: list[str], output: Callable[[str], None], failure: str) -> None:
    lines: list[str] = []
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            output(line.rstrip("\n"))
        code = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    if code != 0:
        how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        raise InstallError(f"{failure} ({how}); nothing was changed", "".join(lines[-400:]))


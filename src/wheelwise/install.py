"""Install a plan into a virtual environment without ever leaving a half-made one.

The venv is built beside its final place (``.NAME.wheelwise-PID``), pip
installs the pins there, and only a complete venv is moved into place.  An
existing venv is replaced only with ``upgrade``, and is kept aside until the
new one is in place (then removed, or restored if the swap fails); the files in
it that neither venv nor pip made are listed first (:func:`user_files`).

- One install at a time per target: a lock file beside it
  (``.NAME.wheelwise.lock``, ``flock``); a second install is refused at once.
- A symlinked ``--venv`` is followed (dangling or not): the venv is made where
  the link points, and the link stays a link.
- Ctrl-C, SIGTERM or SIGHUP at any step (creating the venv, ensurepip, pip)
  stop the whole process group of the step (ensurepip runs under venv) and
  remove the staging venv; the swap itself finishes before a signal is acted on.
  A staging venv left by a killed (SIGKILL) run is removed by the next run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from .errors import BadInputError, WheelwiseError
from .facts import venv_python
from .plan import Plan

try:
    import fcntl
except ImportError:  # Windows: an exclusive-create lock file instead
    fcntl = None  # type: ignore[assignment]

__all__ = ["InstallError", "InstallResult", "install", "resolve_venv", "staging_dirs", "user_files"]


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
    #: files of the replaced venv that neither venv nor pip made, now gone.
    discarded: tuple[Path, ...] = ()


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
    """Remove what killed runs left; an old venv set aside by a run killed mid-swap comes back."""
    for path in staging_dirs(venv):
        suffix = path.name.rsplit("-", 1)[-1]
        if not suffix.isdigit() or _alive(int(suffix)):
            continue
        if ".wheelwise-backup-" in path.name and not os.path.lexists(venv):
            with contextlib.suppress(OSError):
                os.replace(path, venv)
        else:
            _remove(path)


_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class _Signals:
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt, so cleanup runs as for Ctrl-C;
    inside :meth:`held` (the swap, the cleanup) a signal waits until the block ends."""

    def __init__(self) -> None:
        self._holding = 0
        self._pending = False
        self._raised = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self._raised:
            return  # already unwinding: a second Ctrl-C must not cut the cleanup short
        if self._holding:
            self._pending = True
            return
        self._raised = True
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Signals]:
        try:
            # a signal the caller ignores (nohup, a background job's SIGINT) stays ignored
            wanted = [number for number in _SIGNALS if signal.getsignal(number) is not signal.SIG_IGN]
            previous = {number: signal.signal(number, self._handler) for number in wanted}
        except ValueError:  # not the main thread: the caller's signal handling stands
            yield self
            return
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1
            if not self._holding and self._pending and not self._raised:
                self._pending, self._raised = False, True
                raise KeyboardInterrupt


def resolve_venv(venv: Path) -> Path:
    """Where the venv really goes: *venv* made absolute, a symlink (dangling or not) followed."""
    path = venv.absolute()
    if not path.is_symlink():
        return path
    real = Path(os.path.realpath(path))
    if real.is_symlink():
        raise BadInputError(f"--venv {venv} is a symlink that loops", hint="point the link at a folder, or choose another --venv")
    return real


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """Hold ``.NAME.wheelwise.lock`` beside *target*; another holder means another install is running."""
    lock = target.parent / f".{target.name}.wheelwise.lock"
    busy = BadInputError(
        f"another wheelwise install into {target} is running",
        hint=f"wait for it to finish, or choose another --venv (its lock: {lock})",
    )
    while True:
        flags = os.O_RDWR | os.O_CREAT | (0 if fcntl is not None else os.O_EXCL)
        try:
            fd = os.open(lock, flags, 0o600)
        except FileExistsError:
            raise busy from None
        except OSError as exc:
            raise BadInputError(f"cannot write in {target.parent}: {exc.strerror or exc}", hint="choose another --venv") from exc
        if fcntl is None:
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise busy from None
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed it as we opened it: lock the new one
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()  # while still held, so a waiter re-checks the inode
        os.close(fd)


# What ``python -m venv`` writes itself; everything else comes from a RECORD or from the user.
_VENV_FILES = {"pyvenv.cfg", ".gitignore", "wheelwise-requirements.txt", "pip-selfcheck.json"}
_VENV_SCRIPTS = ("python", "activate", "Activate", "deactivate", "pydoc")


def user_files(venv: Path, limit: int = 200_000) -> list[Path]:
    """Files in *venv* (relative paths) that neither venv nor an installed distribution made:
    what replacing it would lose.  Bytecode caches do not count; at most *limit* entries are read."""
    venv = venv.absolute()
    recorded: set[str] = set()
    for record in [*venv.glob("lib/python*/site-packages/*.dist-info/RECORD"), *venv.glob("Lib/site-packages/*.dist-info/RECORD")]:
        site = record.parent.parent
        try:
            lines = record.read_text(encoding="utf-8", errors="replace").splitlines()[:limit]
        except OSError:
            continue
        for line in lines:
            name = line.rsplit(",", 2)[0].strip('"')
            if name:
                recorded.add(os.path.normpath(site / name))
    found: list[Path] = []
    seen = 0
    for root, dirs, files in os.walk(venv):
        seen += len(dirs) + len(files)
        if seen > limit:
            break
        here = Path(root)
        links = [d for d in dirs if (here / d).is_symlink()]  # lib64 -> lib: listed, not entered
        dirs[:] = [d for d in dirs if d != "__pycache__" and d not in links]
        for name in [*files, *links]:
            path = here / name
            relative = path.relative_to(venv)
            if os.path.normpath(path) in recorded:
                continue
            if len(relative.parts) == 1 and (name in _VENV_FILES or name.startswith("lib")):
                continue
            if relative.parts[0] in ("bin", "Scripts") and len(relative.parts) == 2 and name.startswith(_VENV_SCRIPTS):
                continue
            found.append(relative)
    return sorted(found)


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
    """Create *venv* with *python* and install *plan*'s pins into it.

    :raises BadInputError: the venv exists (without *upgrade*) or is no venv, another
        install into it is running, or its folder cannot be written.
    :raises InstallError: venv or pip failed; nothing was changed.
    :raises KeyboardInterrupt: on SIGINT, SIGTERM or SIGHUP, once the staging venv is removed.
    """
    if not plan.ok:
        raise BadInputError(f"nothing to install: {plan.reason}")
    venv = resolve_venv(venv)
    try:
        venv.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInputError(f"cannot create {venv.parent}: {exc.strerror or exc}", hint="choose another --venv") from exc
    signals = _Signals()
    with signals.installed(), _locked(venv):
        _clean_stale(venv)
        exists = venv.exists()
        if exists and not upgrade:
            raise BadInputError(f"{venv} already exists", hint="pass --upgrade to replace it (it is kept until the new one is complete), or choose another --venv")
        if exists and not venv_python(venv).exists():
            raise BadInputError(f"{venv} exists and is not a virtual environment; wheelwise will not replace it")
        staging = venv.parent / f".{venv.name}.wheelwise-{os.getpid()}"
        backup = venv.parent / f".{venv.name}.wheelwise-backup-{os.getpid()}"
        discarded: tuple[Path, ...] = ()
        try:
            _run([python, "-m", "venv", str(staging)], output, "creating the virtual environment failed")
            requirements = staging / "wheelwise-requirements.txt"
            requirements.write_text("\n".join(plan.pins()) + "\n", encoding="utf-8")
            pip = [str(venv_python(staging)), "-m", "pip", "install", "--no-input", "--disable-pip-version-check", *plan.pip_args(), "-r", str(requirements)]
            _run(pip, output, "pip could not install the plan")
            _relocate(staging, venv)
            with signals.held():
                if exists:
                    discarded = tuple(user_files(venv))
                _swap(staging, venv, backup if exists else None)
        finally:
            with signals.held():
                _remove(staging)
    return InstallResult(venv, venv_python(venv), exists, discarded)


def _swap(staging: Path, venv: Path, backup: Path | None) -> None:
    """Move the complete venv into place; an old one goes aside first and comes back if that fails."""
    try:
        if backup is not None:
            os.replace(venv, backup)
        try:
            os.replace(staging, venv)
        except OSError:
            if backup is not None:
                os.replace(backup, venv)
            raise
    except OSError as exc:
        raise BadInputError(
            f"could not move the new venv into {venv}: {exc.strerror or exc}; nothing was changed",
            hint="check that folder's permissions",
        ) from exc
    if backup is not None:
        _remove(backup)


def _remove(path: Path) -> None:
    for _attempt in range(3):
        if not os.path.lexists(path):
            return
        if path.is_symlink() or not path.is_dir():
            path.unlink(missing_ok=True)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _run(argv: list[str], output: Callable[[str], None], failure: str) -> None:
    lines: list[str] = []
    # its own process group, so that stopping it stops what it started (venv runs ensurepip)
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
        start_new_session=hasattr(os, "killpg"),
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            output(line.rstrip("\n"))
        code = proc.wait()
    except BaseException:
        _stop(proc)
        raise
    if code != 0:
        how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        raise InstallError(f"{failure} ({how}); nothing was changed", "".join(lines[-400:]))


def _stop(proc: subprocess.Popen[str]) -> None:
    """Kill *proc* and its process group, and wait (at most 10 s) until none of it runs."""
    if not hasattr(os, "killpg"):
        proc.kill()
        proc.wait()
        return
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except OSError:
            return
        time.sleep(0.02)

"""install under faults, with real venvs, real pip and the loopback index: signals to wheelwise at each
step, two installs into one venv, symlinked and dangling ``--venv``, ``--upgrade`` over the user's files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer
from test_install import serve_jax

from wheelwise.cli import main
from wheelwise.install import staging_dirs, user_files

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir() or os.name != "posix", reason="watches processes through /proc")

# How each step shows itself in the process table (the staging venv's path is in every command line);
# creating the venv is caught sooner, by its folder appearing (ensurepip starts a few ms later).
STEPS = {"venv": "", "ensurepip": " -m ensurepip", "pip": " -m pip install"}


def processes(marker: str) -> dict[int, str]:
    """Command lines of the running processes that mention *marker*."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = next((line for line in (entry / "status").read_text().splitlines() if line.startswith("State:")), "")
        except (OSError, UnicodeDecodeError):
            continue
        if marker in cmdline and "zombie" not in state:
            found[int(entry.name)] = cmdline
    return found


def start(server: IndexServer, venv: Path, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "wheelwise", "install", "jax", "--accelerator", "cpu", "--venv", str(venv), "-i", server.url, "--no-verify", *extra]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_step(proc: subprocess.Popen[str], venv: Path, step: str, timeout: float = 120) -> None:
    """Poll until *step* of the install into *venv* runs: its staging folder appears (venv), or a
    process of the step runs from it (ensurepip, pip)."""
    marker = f"{venv.parent}/.{venv.name}.wheelwise-"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if step == "venv":
            if any(name.startswith(f".{venv.name}.wheelwise-") for name in os.listdir(venv.parent)):
                return
            continue  # a tight loop: the folder is there a few milliseconds before ensurepip
        if any(STEPS[step] in cmdline for cmdline in processes(marker).values()):
            return
        time.sleep(0.005)
    out, err = proc.communicate(timeout=30)
    pytest.fail(f"never saw the {step} step (exit {proc.returncode}): {err[-2000:]}")


def leftovers(venv: Path) -> list[str]:
    return sorted(p.name for p in venv.parent.iterdir() if p.name.startswith(f".{venv.name}."))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("step", list(STEPS))
def test_a_signal_at_each_step_leaves_nothing(index_server: IndexServer, tmp_path: Path, step: str, signum: int) -> None:
    serve_jax(index_server)
    index_server.fault(r"jaxlib-0\.4\.99-py3-none-any\.whl$", "slow", 30)  # pip stays mid-download
    venv = tmp_path / "env"
    marker = f"{venv.parent}/.{venv.name}.wheelwise-"  # this test's own processes, not another run's
    proc = start(index_server, venv)
    wait_for_step(proc, venv, step)
    if step != "venv":
        time.sleep(1.5)  # mid-step: ensurepip runs its pip by then, pip waits on the slowed download
    os.kill(proc.pid, signum)
    sent = time.monotonic()
    out, err = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 20, "stops promptly"
    assert processes(marker) == {}, "nothing of the step outlives wheelwise (ensurepip runs under venv)"
    assert proc.returncode == 130, err
    assert err.rstrip().endswith("interrupted") and "Traceback" not in err
    assert leftovers(venv) == [] and not venv.exists()
    time.sleep(1.0)
    assert leftovers(venv) == []


def test_sighup_while_pip_runs_keeps_the_old_venv(index_server: IndexServer, tmp_path: Path) -> None:
    serve_jax(index_server)
    index_server.fault(r"jaxlib-0\.4\.99-py3-none-any\.whl$", "slow", 30)
    venv = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (venv / "notes.txt").write_text("mine")
    before = sorted(str(p.relative_to(venv)) for p in venv.rglob("*"))
    proc = start(index_server, venv, "--upgrade")
    wait_for_step(proc, venv, "pip")
    os.kill(proc.pid, signal.SIGHUP)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "notes.txt" in err  # said before anything was replaced
    assert sorted(str(p.relative_to(venv)) for p in venv.rglob("*")) == before
    assert leftovers(venv) == []


def test_two_installs_into_one_new_venv(index_server: IndexServer, tmp_path: Path) -> None:
    serve_jax(index_server)
    index_server.fault(r"jaxlib-0\.4\.99-py3-none-any\.whl$", "slow", 6)
    venv = tmp_path / "env"
    first = start(index_server, venv)
    wait_for_step(first, venv, "venv")  # the first holds the lock
    second = start(index_server, venv)
    _, second_err = second.communicate(timeout=120)
    _, first_err = first.communicate(timeout=120)
    assert first.returncode == 0, first_err
    assert second.returncode == 2, second_err
    assert f"another wheelwise install into {venv} is running" in second_err and "hint:" in second_err
    assert (venv / "bin" / "python").exists() and leftovers(venv) == []


def test_two_installs_started_together(index_server: IndexServer, tmp_path: Path) -> None:
    serve_jax(index_server)
    venv = tmp_path / "env"
    procs = [start(index_server, venv), start(index_server, venv)]
    results = [(p.wait(timeout=180), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    (loser,) = [err for code, err in results if code == 2]
    assert "is running" in loser or "already exists" in loser
    assert (venv / "bin" / "python").exists() and leftovers(venv) == []


def _install(server: IndexServer, venv: Path, *extra: str) -> int:
    return main(["install", "jax", "--accelerator", "cpu", "--venv", str(venv), "-i", server.url, "--no-verify", *extra])


def test_upgrade_says_which_of_your_files_go_before_it_replaces(
    index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve_jax(index_server)
    venv = tmp_path / "env"
    assert _install(index_server, venv) == 0
    capsys.readouterr()
    assert user_files(venv) == [], "everything venv and pip made is accounted for"
    (venv / "notes.txt").write_text("mine")
    (venv / "bin" / "my-tool").write_text("#!/bin/sh\n")
    (site,) = venv.glob("lib/python*/site-packages")
    (site / "patched.py").write_text("x = 1\n")
    mine = sorted(["notes.txt", "bin/my-tool", str((site / "patched.py").relative_to(venv))])
    assert [str(p) for p in user_files(venv)] == mine

    assert _install(index_server, venv, "--upgrade") == 0
    captured = capsys.readouterr()
    said = captured.err[: captured.err.index("Successfully installed")]  # before pip finished, so before the swap
    assert "these 3 file(s) in it were not made by venv or pip and will be gone" in said
    assert all(f"  {name}" in said for name in mine)
    assert "discarded 3 file(s) of yours" in captured.out
    assert not (venv / "notes.txt").exists() and leftovers(venv) == []


def test_symlinked_venv_is_replaced_where_it_points(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_jax(index_server)
    real = tmp_path / "envs" / "real"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(real)], check=True)
    link = tmp_path / "env"
    link.symlink_to(real)
    assert _install(index_server, link, "--upgrade") == 0
    assert f"{link} → {real}" in capsys.readouterr().out
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert list(real.glob("lib/python*/site-packages/jaxlib-0.4.99.dist-info"))
    assert leftovers(link) == [] and leftovers(real) == []
    assert staging_dirs(real) == []


def test_dangling_symlink_venv_is_created_where_it_points(index_server: IndexServer, tmp_path: Path) -> None:
    serve_jax(index_server)
    link = tmp_path / "env"
    target = tmp_path / "not-yet" / "env"
    link.symlink_to(target)
    assert _install(index_server, link) == 0
    assert link.is_symlink() and (link / "bin" / "python").exists()
    assert list(target.glob("lib/python*/site-packages/jaxlib-0.4.99.dist-info"))
    assert leftovers(target) == [] and leftovers(link) == []


def test_symlink_loop_venv_is_bad_input(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_jax(index_server)
    a, b = tmp_path / "a", tmp_path / "b"
    a.symlink_to(b)
    b.symlink_to(a)
    assert _install(index_server, a) == 2
    assert "symlink that loops" in capsys.readouterr().err


def test_venv_in_a_folder_it_cannot_create_is_bad_input(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_jax(index_server)
    (tmp_path / "file").write_text("x")
    assert _install(index_server, tmp_path / "file" / "env") == 2
    assert "cannot create" in capsys.readouterr().err


def test_sighup_ignored_by_the_caller_stays_ignored(index_server: IndexServer, tmp_path: Path) -> None:
    """As under nohup: a hangup does not stop the install."""
    serve_jax(index_server)
    index_server.fault(r"jaxlib-0\.4\.99-py3-none-any\.whl$", "slow", 2)
    venv = tmp_path / "env"
    argv = [sys.executable, "-m", "wheelwise", "install", "jax", "--accelerator", "cpu", "--venv", str(venv), "-i", index_server.url, "--no-verify"]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),  # noqa: PLW1509 - what nohup does
    )
    wait_for_step(proc, venv, "pip")
    os.kill(proc.pid, signal.SIGHUP)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert (venv / "bin" / "python").exists() and leftovers(venv) == []


def test_an_old_venv_set_aside_by_a_killed_run_comes_back(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run SIGKILLed between its two renames left the old venv as a backup and no venv."""
    serve_jax(index_server)
    dead = subprocess.Popen(["true"])
    dead.wait()
    venv = tmp_path / "env"
    backup = tmp_path / f".env.wheelwise-backup-{dead.pid}"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(backup)], check=True)
    (backup / "notes.txt").write_text("mine")
    assert _install(index_server, venv) == 2
    assert "already exists" in capsys.readouterr().err
    assert (venv / "notes.txt").read_text() == "mine" and leftovers(venv) == []

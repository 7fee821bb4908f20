"""plan, install and verify with real pip, real venvs, a loopback index and the real CPU PyTorch wheel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer
from helpers.wheels import make_wheel, wheel_filename

from wheelwise.cli import main
from wheelwise.install import staging_dirs

TORCH_WHEELS = Path("/opt/wheels")
LOCAL_INDEX = Path("/opt/pypi/simple")


def serve_jax(server: IndexServer, *, jaxlib_tag: str = "py3-none-any") -> None:
    """A tiny, real 'jax' (pure Python) needing a tiny 'jaxlib', as the jax-cpu stack asks for."""
    server.add_wheel(wheel_filename("jax", "0.4.99"), make_wheel("jax", "0.4.99", requires_dist=["jaxlib==0.4.99"]))
    server.add_wheel(wheel_filename("jaxlib", "0.4.99", jaxlib_tag), make_wheel("jaxlib", "0.4.99", jaxlib_tag))


def _version_in(venv: Path, name: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({name!r}))"
    return subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_plan_json_and_files(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_jax(index_server)
    code = main(["plan", "jax", "--accelerator", "cpu", "-i", index_server.url, "--out", str(tmp_path), "--json"])
    doc = json.loads(capsys.readouterr().out)["plan"]
    assert code == 0 and doc["ok"] and doc["stack"]["id"] == "jax-cpu"
    assert doc["pins"] == ["jax==0.4.99", "jaxlib==0.4.99"]
    assert (tmp_path / "requirements.txt").read_text().splitlines()[-2:] == ["jax==0.4.99", "jaxlib==0.4.99"]
    lock = (tmp_path / "pylock.toml").read_text()
    assert 'lock-version = "1.0"' in lock and 'name = "jaxlib-0.4.99-py3-none-any.whl"' in lock and "sha256 = " in lock


def test_install_success_makes_a_working_relocated_venv(index_server: IndexServer, tmp_path: Path) -> None:
    serve_jax(index_server)
    venv = tmp_path / "env"
    code = main(["install", "jax", "--accelerator", "cpu", "--venv", str(venv), "-i", index_server.url, "--no-verify"])
    assert code == 0
    assert _version_in(venv, "jaxlib") == "0.4.99"
    pip = subprocess.run([str(venv / "bin" / "pip"), "--version"], capture_output=True, text=True)
    assert pip.returncode == 0 and str(venv) in pip.stdout  # scripts point at the final place
    assert staging_dirs(venv) == []


def test_a_pin_without_a_wheel_fails_cleanly_with_the_reason(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_jax(index_server, jaxlib_tag="cp311-cp311-win_arm64")
    venv = tmp_path / "env"
    code = main(["install", "jax", "--accelerator", "cpu", "--venv", str(venv), "-i", index_server.url, "--no-verify"])
    out = capsys.readouterr().out
    assert code == 1
    assert "jaxlib" in out and "platform" in out
    assert not venv.exists() and staging_dirs(venv) == []


def test_existing_venv_is_refused_without_upgrade(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_jax(index_server)
    venv = tmp_path / "env"
    venv.mkdir()
    (venv / "keep.txt").write_text("mine")
    assert main(["install", "jax", "--accelerator", "cpu", "--venv", str(venv), "-i", index_server.url, "--no-verify"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (venv / "keep.txt").read_text() == "mine"


def _pip_pids(staging_marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if staging_marker in cmdline and " pip install" in cmdline:
            pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds pip's process through /proc")
@pytest.mark.parametrize("existing", [False, True])
def test_pip_killed_mid_install_leaves_nothing_half_made(index_server: IndexServer, tmp_path: Path, existing: bool) -> None:
    serve_jax(index_server)
    index_server.fault(r"jaxlib-0\.4\.99-py3-none-any\.whl$", "slow", 30)
    venv = tmp_path / "env"
    if existing:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        (venv / "keep.txt").write_text("mine")
    before = sorted(str(p.relative_to(venv)) for p in venv.rglob("*")) if existing else []
    argv = [sys.executable, "-m", "wheelwise", "install", "jax", "--accelerator", "cpu", "--venv", str(venv), "-i", index_server.url, "--no-verify"]
    proc = subprocess.Popen(argv + (["--upgrade"] if existing else []), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        pids = _pip_pids(f"{venv.parent}/.{venv.name}.wheelwise-")  # this test's pip, not another run's
        if pids:
            time.sleep(1.0)  # pip is resolving or waiting on the slowed download: mid-install
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=120)
    assert killed, err
    assert proc.returncode == 1, err
    assert "killed by signal 9" in err and "nothing was changed" in err
    assert staging_dirs(venv) == []
    if existing:
        assert sorted(str(p.relative_to(venv)) for p in venv.rglob("*")) == before
        assert (venv / "keep.txt").read_text() == "mine"
    else:
        assert not venv.exists()


@pytest.mark.skipif(not list(TORCH_WHEELS.glob("torch-*+cpu-cp311-*.whl")) or sys.version_info[:2] != (3, 11) or not LOCAL_INDEX.is_dir(), reason="needs this machine's CPU torch wheel and local index")
def test_plan_install_verify_real_cpu_torch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    venv = tmp_path / "torch-env"
    index = ["-i", LOCAL_INDEX.as_uri(), "-f", str(TORCH_WHEELS)]
    assert main(["install", "torch", "--accelerator", "cpu", "--venv", str(venv), *index]) == 0
    out = capsys.readouterr().out
    assert "torch==2.13.0+cpu" in out and "no accelerator" in out and "GFLOP/s" in out and "✓ verified" in out

    assert main(["verify", "--venv", str(venv), "--json", "--size", "256", "--runs", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    torch = doc["verification"]["frameworks"][0]
    assert torch["framework"] == "torch" and torch["version"] == "2.13.0+cpu"
    assert torch["build"]["cuda"] is None and [d["kind"] for d in torch["devices"]] == ["cpu"]
    assert torch["placement"]["ok"] is False and torch["accelerator"] is None
    cpu = torch["benchmark"]["cpu"]
    assert cpu["size"] == 256 and len(cpu["times_s"]) == 3 and cpu["gflops"] > 0

    assert main(["verify", "--venv", str(venv), "--expect", "cuda", "--size", "64", "--runs", "1"]) == 1
    assert "no cuda device visible" in capsys.readouterr().out


def _local_has(project: str) -> bool:
    return sys.version_info[:2] == (3, 11) and (LOCAL_INDEX / project).is_dir()


def _installed_version(venv: Path, project: str) -> str:
    prefix = project.replace("-", "_") + "-"
    (dist,) = [p for p in venv.glob("lib/python3.*/site-packages/*.dist-info") if p.name.startswith(prefix)]
    return dist.name[len(prefix) : -len(".dist-info")]


@pytest.mark.skipif(not _local_has("jaxlib"), reason="needs this machine's local index with jax and jaxlib for CPython 3.11")
def test_plan_install_verify_real_cpu_jax(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    venv = tmp_path / "jax-env"
    assert main(["install", "jax", "--accelerator", "cpu", "--venv", str(venv), "-i", LOCAL_INDEX.as_uri()]) == 0
    out = capsys.readouterr().out
    assert "backend cpu" in out and "JAX lists no accelerator" in out and "✓ verified" in out

    assert main(["verify", "--venv", str(venv), "--json", "--size", "128", "--runs", "3"]) == 0
    (jax,) = json.loads(capsys.readouterr().out)["verification"]["frameworks"]
    assert jax["framework"] == "jax" and jax["version"] == _installed_version(venv, "jax")
    assert jax["build"] == {"jaxlib": _installed_version(venv, "jaxlib"), "backend": "cpu"}
    assert [d["kind"] for d in jax["devices"]] == ["cpu"] and jax["accelerator"] is None
    assert jax["placement"]["ok"] is False
    cpu = jax["benchmark"]["cpu"]
    assert cpu["size"] == 128 and len(cpu["times_s"]) == 3 and cpu["gflops"] > 0

    assert main(["verify", "--venv", str(venv), "--expect", "cuda", "--size", "64", "--runs", "1"]) == 1
    assert "no cuda device visible" in capsys.readouterr().out


@pytest.mark.skipif(not _local_has("tensorflow-cpu"), reason="needs this machine's local index with tensorflow-cpu for CPython 3.11")
def test_verify_real_cpu_tensorflow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    venv = tmp_path / "tf-env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--index-url", LOCAL_INDEX.as_uri(), "tensorflow-cpu"]
    subprocess.run(pip, check=True, capture_output=True)

    assert main(["verify", "--venv", str(venv), "--json", "--size", "128", "--runs", "3"]) == 0
    (tf,) = json.loads(capsys.readouterr().out)["verification"]["frameworks"]
    assert tf["framework"] == "tensorflow" and tf["version"] == _installed_version(venv, "tensorflow-cpu")
    assert tf["build"]["is_cuda_build"] is False and tf["build"]["plugins"] == []
    assert [d["kind"] for d in tf["devices"]] == ["cpu"] and tf["accelerator"] is None
    assert tf["placement"] == {"requested": None, "ran_on": "cpu", "ok": False, "reason": "TensorFlow lists no GPU"}
    assert tf["benchmark"]["cpu"]["gflops"] > 0

    assert main(["verify", "--venv", str(venv), "--expect", "metal", "--size", "64", "--runs", "1"]) == 1
    assert "no metal device visible" in capsys.readouterr().out


def test_verify_an_environment_without_frameworks_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    venv = tmp_path / "empty"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    assert main(["verify", "--venv", str(venv)]) == 1
    assert "no framework" in capsys.readouterr().out
    assert main(["verify", "--venv", str(tmp_path / "nothing")]) == 2

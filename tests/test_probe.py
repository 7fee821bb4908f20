"""The host probe, run for real: this interpreter, a venv the test builds, and Python 3.8."""

from __future__ import annotations

import ast
import glob
import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from helpers.wheels import make_wheel

from wheelwise.cli import main
from wheelwise.doctor import Status, diagnose
from wheelwise.facts import collect
from wheelwise.knowledge import load
from wheelwise.probes import script

DATA = Path(__file__).parent / "data"


def _python38() -> str | None:
    # a pyenv shim is not an interpreter; prefer a real one
    real = sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.8*/bin/python")))
    return real[0] if real else shutil.which("python3.8")


def test_probe_source_is_python_3_8_syntax() -> None:
    for name in ("host",):
        source = script(name).read_text(encoding="utf-8")
        ast.parse(source, filename=f"{name}.py", feature_version=(3, 8))


@pytest.mark.skipif(_python38() is None, reason="no Python 3.8 on this machine")
def test_probe_runs_under_python_3_8() -> None:
    exe = _python38()
    assert exe is not None
    facts = collect(exe)
    assert facts["interpreter"]["version"].startswith("3.8.")
    assert facts["schema"] == "wheelwise.facts/1"
    assert facts["distributions"], "3.8's own pip at least"


def test_probe_on_this_interpreter() -> None:
    facts = collect(sys.executable)
    assert facts["interpreter"]["version"] == platform.python_version()
    # the probe reports the path it was started by, absolute and normalised (a venv's link kept)
    assert facts["interpreter"]["executable"] == os.path.normpath(os.path.abspath(sys.executable))
    assert os.path.samefile(facts["interpreter"]["executable"], sys.executable)
    assert facts["markers"]["python_version"] == "{}.{}".format(*sys.version_info[:2])
    names = {d["name"].lower() for d in facts["distributions"]}
    assert {"pytest", "packaging", "wheelwise"} <= names
    machine = platform.machine().lower()
    assert all(machine in ext["archs"] or (machine == "aarch64" and "aarch64" in ext["archs"]) for ext in facts["extensions"])
    if sys.platform == "linux":
        assert facts["os"]["glibc"] and facts["interpreter"]["build_archs"] == [machine]


def _build(tmp_path: Path, filename: str, data: bytes) -> Path:
    path = tmp_path / filename
    path.write_bytes(data)
    return path


@pytest.mark.skipif(sys.platform != "linux" or platform.machine() != "x86_64", reason="builds an aarch64 module into an x86_64 venv")
def test_doctor_in_a_real_venv_with_real_wheels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    wheels = [
        # an aarch64 extension module in an x86_64 venv, as a wheel for another machine leaves it
        _build(tmp_path, "armext-1.0-py3-none-any.whl", make_wheel("armext", "1.0", files={f"armext/_speedups{suffix}": (DATA / "binaries" / "elf-aarch64.so").read_bytes()})),
        _build(tmp_path, "goodext-1.0-py3-none-any.whl", make_wheel("goodext", "1.0", files={f"goodext/_speedups{suffix}": (DATA / "binaries" / "elf-x86_64.so").read_bytes()})),
        # app needs helper>=2 and absent-dep; helper 1.0 is installed: broken requirements
        _build(tmp_path, "app-1.0-py3-none-any.whl", make_wheel("app", "1.0", requires_dist=["helper>=2", "absent-dep", "winonly; sys_platform == 'win32'"])),
        _build(tmp_path, "helper-1.0-py3-none-any.whl", make_wheel("helper", "1.0")),
    ]
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", *map(str, wheels)], check=True)
    pip_check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True)

    facts = collect(python)
    assert facts["interpreter"]["venv"] is True
    by_path = {e["path"]: e["archs"] for e in facts["extensions"]}
    assert by_path[f"armext/_speedups{suffix}"] == ["aarch64"]
    assert by_path[f"goodext/_speedups{suffix}"] == ["x86_64"]

    report = diagnose(facts, load())
    wrong = next(f for f in report.findings if f.check == "wrong-arch-extensions")
    assert wrong.status is Status.FAIL and wrong.details == (f"armext: armext/_speedups{suffix} (aarch64)",)
    assert wrong.fix == ("python -m pip install --force-reinstall --no-cache-dir armext",)
    broken = next(f for f in report.findings if f.check == "broken-requirements")
    assert broken.status is Status.FAIL
    # the same two problems pip check reports, in its words
    assert "app 1.0 requires absent-dep, which is not installed." in pip_check.stdout
    assert "app 1.0 has requirement helper>=2, but you have helper 1.0." in pip_check.stdout
    assert set(broken.details) == {"app 1.0 requires absent-dep, which is not installed", "app 1.0 has requirement helper>=2, but you have helper 1.0"}

    assert main(["doctor", "--python", python]) == 1
    out = capsys.readouterr().out
    assert "armext/_speedups" in out and "virtual environment at" in out

    assert main(["doctor", "--python", python, "--collect"]) == 0
    collected = json.loads(capsys.readouterr().out)
    assert collected["schema"] == "wheelwise.facts/1" and collected["interpreter"]["executable"] == python

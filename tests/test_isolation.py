"""Examining an environment runs nothing of it; other interpreters, old ones included.

A planted venv carries code that would run on a normal start or import (a ``.pth``
line, ``sitecustomize``, ``usercustomize``, a fake ``pip`` and ``_manylinux``, and a
``sitecustomize`` on ``PYTHONPATH``), each leaving a marker file when it runs.  doctor,
check ``-t host --python``, plan and explain (with its host context) examine it; no
marker may appear.  The tests first prove that the planted code does run on a normal
start, so that the absence of markers means something.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer
from helpers.pythons import find_python2, find_pythons, python_older_than
from helpers.wheels import make_wheel, wheel_filename
from packaging.tags import compatible_tags, cpython_tags, platform_tags, sys_tags

from wheelwise.cli import main
from wheelwise.doctor import diagnose
from wheelwise.facts import collect
from wheelwise.knowledge import load
from wheelwise.probes import script
from wheelwise.target import host_target

_PLANTED = "import pathlib; pathlib.Path({marker!r}).write_text('ran')\n"
PACKAGING_ROOT = str(Path(sys.modules["packaging"].__file__ or "").parent.parent)


def _site_packages(venv: Path) -> Path:
    return Path(sysconfig.get_paths("venv" if "venv" in sysconfig.get_scheme_names() else "posix_prefix", vars={"base": str(venv), "platbase": str(venv)})["purelib"])


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """(python of the planted venv, folder the markers would be written to)."""
    venv, markers = tmp_path / "planted", tmp_path / "markers"
    markers.mkdir()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = _site_packages(venv)
    extra = tmp_path / "extra"
    (extra / "extra_dist-1.0.dist-info").mkdir(parents=True)
    (extra / "extra_dist-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-dist\nVersion: 1.0\n")
    (site / "planted.pth").write_text(f"{extra}\n" + _PLANTED.format(marker=str(markers / "pth")))
    (site / "sitecustomize.py").write_text(_PLANTED.format(marker=str(markers / "sitecustomize")))
    (site / "usercustomize.py").write_text(_PLANTED.format(marker=str(markers / "usercustomize")))
    (site / "_manylinux.py").write_text(_PLANTED.format(marker=str(markers / "_manylinux")) + "manylinux_compatible = lambda *a: False\n")
    (site / "pip").mkdir()
    (site / "pip" / "__init__.py").write_text(_PLANTED.format(marker=str(markers / "pip")) + "__version__ = '99.0'\n")
    (site / "pip" / "_vendor" / "packaging").mkdir(parents=True)
    for name in ("__init__.py", "tags.py", "markers.py"):
        (site / "pip" / "_vendor" / "packaging" / name).write_text(_PLANTED.format(marker=str(markers / f"pip-{name}")))
    (site / "pip-99.0.dist-info").mkdir()
    (site / "pip-99.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: pip\nVersion: 99.0\n")
    on_path = tmp_path / "on-pythonpath"
    on_path.mkdir()
    (on_path / "sitecustomize.py").write_text(_PLANTED.format(marker=str(markers / "pythonpath")))
    monkeypatch.setenv("PYTHONPATH", str(on_path))
    python = str(venv / "bin" / "python")
    # the planted code is live: a normal start runs the .pth line and sitecustomize, an import runs pip
    subprocess.run([python, "-c", "import pip"], check=True)
    assert {p.name for p in markers.iterdir()} >= {"pth", "pip", "pythonpath"}
    for made in markers.iterdir():
        made.unlink()
    return python, markers


def _assert_nothing_ran(markers: Path) -> None:
    assert sorted(p.name for p in markers.iterdir()) == []


def test_doctor_examines_a_planted_venv_without_running_it(planted: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    python, markers = planted
    assert main(["doctor", "--python", python, "--collect"]) == 0
    facts = json.loads(capsys.readouterr().out)
    main(["doctor", "--python", python])
    assert "wheelwise doctor" in capsys.readouterr().out
    _assert_nothing_ran(markers)
    # read from files: the fake pip's version from its metadata, the .pth's path line followed,
    # its code line listed, never run
    assert facts["pip"] == "99.0"
    assert {d["name"] for d in facts["distributions"]} == {"pip", "extra-dist"}
    assert facts["environment"]["venv"] is True and facts["interpreter"]["venv"] is True
    assert [Path(p).name for p in facts["environment"]["pth_code"]] == ["planted.pth"]
    assert Path(facts["environment"]["pth_paths"][0]).name == "extra"
    assert any("_manylinux" in e["reason"] for e in facts["errors"])


def test_check_and_plan_on_a_planted_host_run_nothing(planted: tuple[str, Path], index_server: IndexServer,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    python, markers = planted
    index_server.add_wheel(wheel_filename("plain", "1.0"), make_wheel("plain", "1.0"))
    assert main(["check", "plain", "-t", "host", "--python", python, "--index-url", index_server.url, "--json"]) == 0
    cell = json.loads(capsys.readouterr().out)["cells"][0]
    assert cell["verdict"] == "ok"
    assert main(["plan", "torch", "--python", python, "--accelerator", "cpu", "--index-url", index_server.url, "--json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["plan"]["framework"] == "torch"
    _assert_nothing_ran(markers)


def test_explain_with_host_context_runs_nothing(planted: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    python, markers = planted
    log = tmp_path / "log.txt"
    log.write_text("zsh: illegal hardware instruction  python -c \"import tensorflow as tf\"\n")
    assert main(["explain", str(log), "--python", python, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert any(line.startswith("here:") for m in doc["matches"] for line in m["context"])
    _assert_nothing_ran(markers)


# -- tags and markers of other interpreters ----------------------------------------------


def _reference(python: str, version: tuple[int, int]) -> tuple[list[str], dict[str, str]] | None:
    """packaging's own sys_tags and markers for *python*: run there (3.9+, what packaging
    supports), or for an older one on this machine, packaging's functions given its version."""
    if version >= (3, 9):
        code = (f"import json, sys; sys.path.insert(0, {PACKAGING_ROOT!r}); from packaging import markers, tags; "
                "print(json.dumps([[str(t) for t in tags.sys_tags()], markers.default_environment()]))")
        out = subprocess.run([python, "-I", "-S", "-c", code], capture_output=True, text=True, check=True).stdout
        tags, env = json.loads(out)
        return tags, env
    if struct_bits(python) != struct_bits(sys.executable):
        return None
    platforms = list(platform_tags())
    nodot = f"cp{version[0]}{version[1]}"
    abis = [nodot + ("m" if version < (3, 8) else "")]
    return [str(t) for t in (*cpython_tags(version, abis, platforms), *compatible_tags(version, nodot, platforms))], {}


def struct_bits(python: str) -> str:
    return subprocess.run([python, "-I", "-S", "-c", "import struct, platform; print(struct.calcsize('P'), platform.machine())"],
                          capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("version", list(find_pythons()) or [pytest.param(None, marks=pytest.mark.skip(reason="no other Python found"))])
def test_probe_tags_and_markers_are_packagings(version: tuple[int, int]) -> None:
    python = find_pythons()[version]
    facts = collect(python, light=True, target=True, accelerators=False)
    reference = _reference(python, version)
    if reference is None:
        pytest.skip(f"Python {version} is another architecture; no reference here")
    tags, env = reference
    assert facts["tags"]["all"] == tags
    if env:
        assert facts["markers"] == env
    assert facts["markers"]["python_version"] == f"{version[0]}.{version[1]}"


def test_this_interpreters_host_target_is_sys_tags() -> None:
    assert [str(t) for t in host_target(sys.executable).tags] == [str(t) for t in sys_tags()]


@pytest.mark.skipif(python_older_than((3, 9)) is None, reason="no Python 3.8 or older on this machine")
def test_check_plan_and_doctor_on_an_old_python(index_server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    # wheelwise's own packaging needs 3.9: it used to be put on the old interpreter's path
    old = python_older_than((3, 9))
    assert old is not None
    index_server.add_wheel(wheel_filename("plain", "1.0"), make_wheel("plain", "1.0"))
    index_server.add_wheel(wheel_filename("modern", "1.0"), make_wheel("modern", "1.0", requires_python=">=3.9"))
    assert main(["check", "plain", "modern", "-t", "host", "--python", old, "--index-url", index_server.url, "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    (cell,) = doc["cells"]
    assert cell["python"].startswith("3.") and int(cell["python"].split(".")[1]) < 9
    assert main(["plan", "torch", "--python", old, "--accelerator", "cpu", "--index-url", index_server.url, "--json"]) in (0, 1)
    assert "Traceback" not in capsys.readouterr().err
    assert main(["doctor", "--python", old, "--json"]) in (0, 1)
    assert json.loads(capsys.readouterr().out)["python"].split()[1].startswith("3.")


@pytest.mark.skipif(find_python2() is None, reason="no Python 2 on this machine")
@pytest.mark.parametrize("command", [["doctor"], ["check", "demo", "-t", "host", "--offline"]], ids=["doctor", "check"])
def test_python_2_is_named_not_a_crash(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    python2 = find_python2()
    assert python2 is not None
    assert main([*command, "--python", python2]) == 2
    err = capsys.readouterr().err
    assert "is Python 2." in err and "the probe runs on Python 3.6 or later" in err and "Traceback" not in err


def test_probe_source_is_python_3_8_syntax_and_stdlib_only() -> None:
    import ast

    tree = ast.parse(script("host").read_text(encoding="utf-8"), feature_version=(3, 8))
    stdlib = set(sys.stdlib_module_names)
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= stdlib, imported - stdlib


# -- venvs without pip -------------------------------------------------------------------------


def _pip_finding(python: str) -> dict[str, object]:
    report = diagnose(collect(python), load())
    return next(f.to_dict() for f in report.findings if f.check == "pip")


def test_a_uv_venv_without_pip_is_told_to_use_uv(tmp_path: Path) -> None:
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists():
        pytest.skip("uv is not installed beside this Python (test extras)")
    venv = tmp_path / "uvvenv"
    subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(venv)], check=True,
                   env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})
    finding = _pip_finding(str(venv / "bin" / "python"))
    assert finding["status"] == "info" and "uv made it" in str(finding["title"])
    assert all("ensurepip" not in command for command in finding["fix"])  # type: ignore[attr-defined]
    assert any(command.startswith("uv pip install --python ") for command in finding["fix"])  # type: ignore[attr-defined]


def test_a_venv_without_pip_is_told_what_installs_it(tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    finding = _pip_finding(python)
    assert finding["status"] == "warn"
    has_ensurepip = subprocess.run([python, "-I", "-c", "import ensurepip; ensurepip.version()"], capture_output=True).returncode == 0
    fixes = " ".join(finding["fix"])  # type: ignore[arg-type]
    assert ("-m ensurepip --upgrade" in fixes) and (fixes.startswith(python) == has_ensurepip)

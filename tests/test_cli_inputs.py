"""Inputs people have, on the command line: uv.lock and pylock.toml (written by a real uv),
uv's and pip's requirements output, PEP 735 groups, and bad pyproject fields."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.indexserver import IndexServer
from helpers.wheels import make_wheel, wheel_filename

from wheelwise.cli import main

PROJECT = ('[project]\nname = "demo"\nversion = "0.1"\nrequires-python = ">=3.10"\ndependencies = ["plain<2"]\n'
           '[dependency-groups]\ndev = ["pinned", {include-group = "docs"}]\ndocs = ["plain>=1"]\n')


@pytest.fixture
def server(index_server: IndexServer) -> IndexServer:
    for name, version in (("plain", "1.0"), ("plain", "2.0"), ("pinned", "1.0")):
        index_server.add_wheel(wheel_filename(name, version), make_wheel(name, version))
    return index_server


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(PROJECT)
    return folder


def uv(server: IndexServer, folder: Path, *args: str) -> str:
    """Run the real uv offline against the loopback index (skipped where uv is not installed)."""
    exe = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(exe).exists():
        pytest.skip("uv is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env |= {"UV_PYTHON_DOWNLOADS": "never", "UV_CACHE_DIR": str(folder.parent / "uv-cache"), "UV_OFFLINE": "0"}
    run = subprocess.run([exe, *args, "--no-config", "--index-url", server.url, "--python", sys.executable],
                         cwd=folder, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    return run.stdout


def check(server: IndexServer, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main(["check", *argv, "--index-url", server.url, "--json", "--no-nearest"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out else {}, captured.err


def test_uv_lock(server: IndexServer, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uv(server, project, "lock")
    code, doc, _ = check(server, capsys, "-r", str(project / "uv.lock"))
    assert code == 0
    # the project's dependencies and its default (dev) group, at their locked versions
    assert doc["requirements"] == ["plain==1.0", "pinned==1.0", "plain==1.0"]
    assert doc["cells"][0]["pins"] == {"pinned": "1.0", "plain": "1.0"}


def test_pylock_from_uv_and_a_tampered_hash(server: IndexServer, project: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    uv(server, project, "lock")
    lock = project / "pylock.toml"
    lock.write_text(uv(server, project, "export", "--format", "pylock.toml"))
    code, doc, _ = check(server, capsys, "-r", str(lock))
    assert code == 0 and doc["cells"][0]["pins"] == {"pinned": "1.0", "plain": "1.0"}
    served = server.files[wheel_filename("plain", "1.0")].sha256
    assert served is not None and served in lock.read_text()
    lock.write_text(lock.read_text().replace(served, "0" * 64))
    code, doc, _ = check(server, capsys, "-r", str(lock))
    assert code == 1
    (blocker,) = doc["cells"][0]["blockers"]
    assert (blocker["project"], blocker["reason"]) == ("plain", "hash-mismatch")


def test_uv_export_requirements_with_hashes_and_an_editable_line(
    server: IndexServer, project: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    # a packaged project: uv writes it as "-e ." in the export
    (project / "pyproject.toml").write_text(PROJECT + '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n')
    uv(server, project, "lock")
    req = project / "requirements.txt"
    req.write_text(uv(server, project, "export", "--format", "requirements-txt"))
    assert "-e ." in req.read_text() and "--hash=sha256:" in req.read_text()
    code, doc, err = check(server, capsys, "-r", str(req))
    assert code == 0 and doc["cells"][0]["pins"] == {"pinned": "1.0", "plain": "1.0"}
    assert doc["cells"][0]["warnings"] == []  # every pin has its hash: pip's hash-checking mode is content
    (warning,) = doc["input_warnings"]
    assert warning.startswith(f"{req}:") and "skipped '-e .': an editable install" in warning
    assert "skipped '-e .'" in err


def test_dependency_groups(server: IndexServer, project: Path, capsys: pytest.CaptureFixture[str],
                           monkeypatch: pytest.MonkeyPatch) -> None:
    code, doc, _ = check(server, capsys, "--project", str(project), "--group", "dev")
    assert code == 0 and doc["requirements"] == ["plain<2", "pinned", "plain>=1"]
    monkeypatch.chdir(project)
    code, doc, _ = check(server, capsys, "--group", "docs")  # as pip: ./pyproject.toml, the group alone
    assert code == 0 and doc["requirements"] == ["plain>=1"] and doc["cells"][0]["pins"] == {"plain": "2.0"}
    code, doc, _ = check(server, capsys, "--group", "nope")
    assert code == 2 and "has no dependency group 'nope'" in doc["error"]["message"]
    assert doc["error"]["hint"] == "groups there: dev, docs"


def test_pyproject_fields_are_checked_by_their_schema(server: IndexServer, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 13: a string where an array belongs used to check the projects d, e, m, o."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = "demo"\n')
    code, doc, err = check(server, capsys, "--project", str(tmp_path))
    assert code == 2 and doc["error"]["kind"] == "bad-input"
    assert f"{tmp_path / 'pyproject.toml'}: [project] dependencies must be an array of strings" in doc["error"]["message"]
    assert server.requests("/simple/") == []  # nothing was asked of the index


def test_project_requires_python_on_other_targets(server: IndexServer, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "needs312"\nrequires-python = ">=3.12"\n'
                                             'dependencies = ["plain"]\n')
    code = main(["check", "--project", str(tmp_path), "-t", "linux-x86_64", "-p", "3.10", "-p", "3.12",
                 "--index-url", server.url, "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1
    old, new = doc["cells"]
    assert (old["python"], old["verdict"], new["python"], new["verdict"]) == ("3.10", "blocked", "3.12", "ok")
    (blocker,) = old["blockers"]
    assert (blocker["project"], blocker["reason"], blocker["needs"]) == ("needs312", "requires-python", ">=3.12")
    assert blocker["detail"].endswith("pyproject.toml [project] requires-python: >=3.12")
    assert [n["python"] for n in old["nearest_working"]][:1] == ["3.12"]

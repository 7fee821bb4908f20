"""The command line: output, JSON, exit codes, and never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers.indexserver import IndexServer, load_recorded
from packaging.version import Version

from wheelwise.cli import main


@pytest.fixture
def recorded_server(index_server: IndexServer) -> IndexServer:
    index_server.add(*load_recorded(["tensorflow-metal"]))
    return index_server


def test_show_json_is_one_document(recorded_server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["show", "tensorflow-metal<1.2", "--json", "--index-url", recorded_server.url])
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert code == 0 and doc["schema"] == 2
    assert doc["project"]["version"] == "1.1.0"
    assert doc["requests"] == 2  # the page and one PEP 658 metadata file


def test_show_human_output(recorded_server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "tensorflow-metal", "--index-url", recorded_server.url]) == 0
    out = capsys.readouterr().out
    assert "tensorflow-metal 1.2.0" in out and "macosx_12_0_arm64: cp310, cp311, cp312, cp39" in out
    assert "\x1b[" not in out  # NO_COLOR is set by the test fixture


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        pytest.param(["show", "not-there"], 1, "not on any configured index", id="absent-project"),
        pytest.param(["show", "tensorflow-metal>9"], 1, "no version of tensorflow-metal matches", id="no-match"),
        pytest.param(["show", "tensorflow-metal>>1"], 2, "is not a valid requirement", id="bad-requirement"),
    ],
)
def test_exit_codes(recorded_server: IndexServer, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str) -> None:
    assert main([*argv, "--index-url", recorded_server.url]) == code
    captured = capsys.readouterr()
    assert message in captured.out + captured.err


def test_unreachable_index_exits_3_without_traceback(index_server: IndexServer) -> None:
    index_server.fault("/simple/", "status", 503)
    env = {**os.environ, "PIP_DEFAULT_TIMEOUT": "2"}
    url = index_server.url.replace("http://", "http://bob:hunter2@")
    proc = subprocess.run(
        [sys.executable, "-m", "wheelwise", "show", "demo", "--index-url", url],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert proc.returncode == 3
    assert "answered 503" in proc.stderr and "Traceback" not in proc.stderr
    # credentials travel in a header: the URL shown has none at all
    assert "hunter2" not in proc.stderr and f"GET {index_server.url}demo/ answered 503" in proc.stderr


def test_bad_pip_configuration_exits_2_naming_the_file(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\ntimeout = whenever\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    assert main(["show", "demo"]) == 2
    assert f"{conf} [global]: timeout must be a number" in capsys.readouterr().err


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_offline_miss_exits_3(capsys: pytest.CaptureFixture[str], index_server: IndexServer) -> None:
    assert main(["show", "demo", "--offline", "--index-url", index_server.url]) == 3
    assert "offline, and the cache does not hold" in capsys.readouterr().err


@pytest.mark.network
def test_live_index_show() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "wheelwise", "show", "tensorflow-metal", "--json"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["project"]["version"] and doc["project"]["metadata_how"] in {"pep658", "range", "full"}


@pytest.mark.network
def test_live_index_check_matrix() -> None:
    """The issue's seed against the live index: metal pins that load; no metal off macOS."""
    proc = subprocess.run(
        [sys.executable, "-m", "wheelwise", "check", "tensorflow", "tensorflow-metal", "-t", "macos-arm64", "-t", "linux-x86_64",
         "-p", "3.12", "--json"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 1, proc.stderr  # the Linux cell is blocked
    cells = {c["target"]: c for c in json.loads(proc.stdout)["cells"]}
    mac, linux = cells["macos-arm64"], cells["linux-x86_64"]
    assert mac["verdict"] == "ok"
    if mac["pins"]["tensorflow-metal"] == "1.2.0":
        assert Version(mac["pins"]["tensorflow"]) < Version("2.20")
    assert linux["verdict"] == "blocked"
    assert [(b["project"], b["reason"]) for b in linux["blockers"]] == [("tensorflow-metal", "platform")]
    assert "macos-arm64" in {n["target"] for n in linux["nearest_working"]}

"""``wheelwise config``: pip's settings resolved, with where each came from, credentials hidden."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wheelwise.cli import main


def rows(capsys: pytest.CaptureFixture[str], *argv: str) -> list[tuple[str, str, str]]:
    assert main(["config", "--json", *argv]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "config"
    return [(s["name"], s["value"], s["origin"]) for s in doc["settings"]]


def settings(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, tuple[str, str]]:
    """The last row of each setting."""
    return {name: (value, origin) for name, value, origin in rows(capsys, *argv)}


def test_values_and_origins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://alice:s3cret@host.invalid/simple\nonly-binary = :all:\n"
                    "[install]\nconstraint = c.txt\nprefer-binary = true\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "none"))
    monkeypatch.setenv("PIP_NO_BINARY", "numpy")
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "42")
    monkeypatch.chdir(tmp_path)
    listed = rows(capsys, "--extra-index-url", "https://bob:hunter2@mirror.invalid/simple", "-c", "more.txt")
    got = {name: (value, origin) for name, value, origin in listed}
    assert got["index-url"] == ("https://alice:****@host.invalid/simple", f"{conf} [global]")
    assert got["extra-index-url"] == ("https://bob:****@mirror.invalid/simple", "command line")
    assert got["timeout"] == ("42", "PIP_DEFAULT_TIMEOUT")
    assert got["only-binary"] == (":all:", f"{conf} [global]")
    assert got["no-binary"] == ("numpy", "PIP_NO_BINARY")
    assert got["prefer-binary"] == ("true", f"{conf} [install]")
    # -c on the command line adds to the configured constraints, as in pip
    assert [r for r in listed if r[0] == "constraint"] == [
        ("constraint", "c.txt", f"{conf} [install]"), ("constraint", "more.txt", "command line"),
    ]
    assert main(["config", "-c", "more.txt", "--extra-index-url", "https://bob:hunter2@mirror.invalid/simple"]) == 0
    text = capsys.readouterr().out
    assert "more.txt" in text and "command line" in text
    assert "s3cret" not in text and "hunter2" not in text
    assert str(conf) in text  # the files read are listed


def test_agrees_with_pip_config_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The raw values pip itself lists for the same files and variables."""
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nno-binary = :all:\nextra-index-url = https://mirror.invalid/simple\n"
                    "[install]\nonly-binary = torch\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env |= {"PIP_CONFIG_FILE": str(conf), "HOME": str(tmp_path), "XDG_CONFIG_DIRS": str(tmp_path / "none"),
            "PIP_PREFER_BINARY": "1"}
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                            env=env, check=True).stdout
    for key in list(os.environ):
        if key.startswith("PIP_"):
            monkeypatch.delenv(key)
    for key in ("PIP_CONFIG_FILE", "HOME", "XDG_CONFIG_DIRS", "PIP_PREFER_BINARY"):
        monkeypatch.setenv(key, env[key])
    got = settings(capsys)
    assert "global.no-binary=':all:'" in listed and got["no-binary"][0] == ":all:"
    assert "install.only-binary='torch'" in listed and got["only-binary"][0] == "torch"
    assert ":env:.prefer-binary='1'" in listed and got["prefer-binary"] == ("1", "PIP_PREFER_BINARY")
    assert "global.extra-index-url='https://mirror.invalid/simple'" in listed
    assert got["extra-index-url"][0] == "https://mirror.invalid/simple"


def test_bad_values_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PIP_PREFER_BINARY", "perhaps")
    assert main(["config"]) == 2
    err = capsys.readouterr().err
    assert "prefer-binary must be yes or no" in err and "PIP_PREFER_BINARY" in err
    monkeypatch.delenv("PIP_PREFER_BINARY")
    assert main(["config", "--only-binary=-x"]) == 2
    assert "expected :all:, :none: or project names" in capsys.readouterr().err

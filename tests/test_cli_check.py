"""``wheelwise check`` on the command line: table, JSON, exit codes, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer
from helpers.wheels import make_wheel, wheel_filename

from wheelwise.check import Checker
from wheelwise.check import check as check_cells
from wheelwise.cli import main
from wheelwise.index import IndexSettings, PackageIndex
from wheelwise.requirements import parse_requirement_line
from wheelwise.target import Target, parse_target


@pytest.fixture
def server(index_server: IndexServer) -> IndexServer:
    def wheel(name: str, version: str, tag: str = "py3-none-any", **fields: object) -> None:
        index_server.add_wheel(wheel_filename(name, version, tag), make_wheel(name, version, tag, **fields))

    wheel("app", "1.0", requires_dist=["plugin>=1"])
    wheel("plugin", "1.1", "cp312-cp312-macosx_12_0_arm64")
    wheel("plugin", "1.1", "cp311-cp311-macosx_12_0_arm64")
    wheel("plain", "2.0")
    return index_server


def check(server: IndexServer, *argv: str) -> list[str]:
    return ["check", *argv, "--index-url", server.url]


def test_matrix_table_and_explanations(server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(check(server, "app", "-t", "macos-arm64", "-t", "linux-x86_64", "-p", "3.11", "-p", "3.12"))
    out = capsys.readouterr().out
    assert code == 1  # some cells cannot install
    header, rule, mac, linux = out.splitlines()[:4]
    assert "3.11" in header and "3.12" in header
    assert mac.startswith("macos-arm64@14") and mac.count("✓ ok") == 2
    assert linux.startswith("linux-x86_64@2.28") and linux.count("✗ plugin") == 2
    assert "plugin has no wheel for Linux x86_64; it has wheels for macOS arm64 (macOS ≥ 12.0): CPython 3.11–3.12" in out
    assert "needed by app 1.0 → plugin>=1" in out
    assert "would install on: macos-arm64@14 / 3.12 (ok)" in out
    assert "2 of 4 cells cannot install" in out


def test_all_ok_exits_0(server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(check(server, "plain", "-t", "windows-arm64", "-p", "3.13")) == 0
    out = capsys.readouterr().out
    assert "pins plain 2.0" in out and "all 1 cell install" in out


def test_json_document(server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(check(server, "app", "-t", "linux-x86_64", "-t", "macos-arm64", "-p", "3.12", "--json"))
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["schema"] == 2 and doc["command"] == "check"
    assert doc["requirements"] == ["app"]
    linux, mac = doc["cells"]
    assert (linux["target"], linux["python"], linux["verdict"]) == ("linux-x86_64", "3.12", "blocked")
    assert linux["blockers"] == [{
        "project": "plugin", "reason": "platform", "requirement": "plugin>=1", "chain": ["app 1.0", "plugin>=1"],
        "available": "macOS arm64 (macOS ≥ 12.0): CPython 3.11–3.12", "versions": ["1.0"], "detail": "", "needs": None,
    }]
    assert {"target": "macos-arm64", "os_version": "14.0", "python": "3.12", "label": "macos-arm64@14 / 3.12", "verdict": "ok",
            "rosetta": False, "libc": None, "free_threaded": False, "properties": {}, "spelled": None} in linux["nearest_working"]
    assert mac["verdict"] == "ok" and mac["pins"] == {"app": "1.0", "plugin": "1.1"}
    assert mac["files"]["plugin"] == "plugin-1.1-cp312-cp312-macosx_12_0_arm64.whl"
    assert mac["needs_build"] == [] and mac["blockers"] == [] and mac["knowledge"] == []


def test_requirements_file_and_project(server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "base.txt").write_text("plain  # always\n")
    (tmp_path / "req.txt").write_text("-r base.txt\napp ; sys_platform == 'darwin'\n")
    assert main(check(server, "-r", str(tmp_path / "req.txt"), "-t", "linux-x86_64", "-p", "3.12", "--json")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cells"][0]["pins"] == {"plain": "2.0"}  # the marker keeps app off Linux
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mine"\nversion = "0"\ndependencies = ["plain"]\n[project.optional-dependencies]\nmac = ["app"]\n')
    assert main(check(server, "--project", str(tmp_path), "--extra", "mac", "-t", "macos-arm64", "-p", "3.11", "--json")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cells"][0]["pins"] == {"app": "1.0", "plain": "2.0", "plugin": "1.1"}


def test_project_not_on_the_index_is_a_blocker(server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(check(server, "nowhere-to-be-found", "-t", "linux-x86_64", "-p", "3.12")) == 1
    out = capsys.readouterr().out
    assert "nowhere-to-be-found is not on any configured index" in out


@pytest.mark.parametrize(
    ("make", "argv", "message"),
    [
        pytest.param({"req.txt": "plain\nfoo>>1\n"}, ["-r", "{tmp}/req.txt"], "req.txt:2: 'foo>>1' is not a valid requirement", id="bad-line"),
        pytest.param({}, ["plain", "-t", "solaris-sparc"], "unknown target 'solaris-sparc'", id="unknown-target"),
        pytest.param({}, ["-r", "{tmp}/missing.txt"], "cannot read", id="unreadable-file"),
        pytest.param({}, [], "no requirements to check", id="no-requirements"),
        pytest.param({"empty.txt": "# nothing\n\n"}, ["-r", "{tmp}/empty.txt"], "no requirements to check", id="empty-file"),
        pytest.param({}, ["plain", "-p", "three"], "'three' is not a Python version", id="bad-python"),
        pytest.param({}, ["plain", "--extra", "gpu"], "--extra needs --project", id="extra-without-project"),
        pytest.param({}, ["./local/path"], "is a path or URL", id="path"),
    ],
)
def test_bad_input_exits_2(
    server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], make: dict[str, str], argv: list[str], message: str
) -> None:
    for name, text in make.items():
        (tmp_path / name).write_text(text)
    code = main(check(server, *(a.replace("{tmp}", str(tmp_path)) for a in argv), "-t", "linux-x86_64"))
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    if "unknown target" in message:
        assert "targets: macos-arm64, macos-x86_64, linux-x86_64, linux-aarch64, windows-amd64, windows-arm64, linux-x86_64-musl, linux-aarch64-musl, host" in err


def test_host_target_uses_this_interpreter(server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(check(server, "plain", "--json")) == 0
    cell = json.loads(capsys.readouterr().out)["cells"][0]
    assert cell["target"] == "host" and cell["verdict"] == "ok"


def test_no_nearest_says_nothing_about_elsewhere(server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(check(server, "app", "-t", "linux-x86_64", "-p", "3.12", "--no-nearest")) == 1
    out = capsys.readouterr().out
    assert "plugin has no wheel for Linux x86_64" in out
    assert "would install on" not in out and "no nearby" not in out


def test_blocked_project_with_a_successor(index_server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped replacement (tflite-model-maker → mediapipe-model-maker) is named with the
    successor's own verdict, in text and in JSON; --no-knowledge names none."""
    def wheel(name: str, version: str, tag: str = "py3-none-any", **fields: object) -> None:
        index_server.add_wheel(wheel_filename(name, version, tag), make_wheel(name, version, tag, **fields))

    wheel("tflite-model-maker", "0.4.3", requires_dist=["tflite-support>=0.4.2"])
    wheel("tflite-support", "0.4.4", "cp311-cp311-manylinux_2_17_x86_64")
    wheel("mediapipe-model-maker", "0.2.1.4")
    argv = check(index_server, "tflite-model-maker", "-t", "macos-arm64", "-p", "3.11", "--no-nearest")
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "replacement: mediapipe-model-maker succeeds tflite-model-maker and, on its own, installs here" in out
    assert main([*argv, "--format", "markdown"]) == 1
    assert "**mediapipe-model-maker** succeeds tflite-model-maker" in capsys.readouterr().out
    assert main([*argv, "--json"]) == 1
    (cell,) = json.loads(capsys.readouterr().out)["cells"]
    (successor,) = cell["replacements"]
    assert (successor["name"], successor["verdict"], successor["version"]) == ("mediapipe-model-maker", "ok", "0.2.1.4")
    assert successor["source"].startswith("https://")
    assert main([*argv, "--json", "--no-knowledge"]) == 1
    assert json.loads(capsys.readouterr().out)["cells"][0]["replacements"] == []



def test_nearest_working_resolves_no_cell_beyond_those_it_shows(index_server: IndexServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # a blocked cell whose three nearest working cells (in order) are cells of the same matrix:
    # the search takes them and resolves nothing more (it once went on to options it had no need of)
    index_server.add_wheel(wheel_filename("app", "1.0"), make_wheel("app", "1.0", requires_dist=["plugin"]))
    for tag in ["cp38-cp38-manylinux_2_17_x86_64", *(f"cp3{m}-cp3{m}-macosx_12_0_arm64" for m in range(8, 15))]:
        index_server.add_wheel(wheel_filename("plugin", "1.0", tag), make_wheel("plugin", "1.0", tag))
    resolved: list[str] = []
    verdict = Checker.verdict

    def recording(self: Checker, target: Target, requested: object = None) -> object:
        resolved.append(target.label)
        return verdict(self, target, requested)  # type: ignore[arg-type]

    monkeypatch.setattr(Checker, "verdict", recording)
    cells = [parse_target("macos-arm64", (3, m)) for m in (10, 11, 12)] + [parse_target("linux-x86_64", (3, 11))]
    with PackageIndex(IndexSettings(index_url=index_server.url)) as index:
        report = check_cells(index, cells, [parse_requirement_line("app")])
    linux = report.cells[-1]
    assert linux.verdict == "blocked"
    assert [n.target.label for n in linux.nearest] == ["macos-arm64@14 / 3.11", "macos-arm64@14 / 3.12", "macos-arm64@14 / 3.10"]
    assert sorted(resolved) == sorted(c.label for c in cells)  # macos-arm64 / 3.13 would install too: never asked

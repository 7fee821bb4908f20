"""Reports for CI and for people: Markdown, GitHub, HTML (in a real browser), and honest terminal
output anywhere (pipes, cp1252, -q/-v, colour, progress, --fail-on, JSON errors)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer, ServedFile
from helpers.wheels import make_sdist, make_wheel, wheel_filename

from wheelwise.cli import main

GOLDEN = Path(__file__).parent / "data" / "golden"
ARTIFACTS = Path(os.environ.get("WHEELWISE_TEST_ARTIFACTS", Path(__file__).parent.parent / ".test-artifacts"))


@pytest.fixture
def server(index_server: IndexServer) -> IndexServer:
    def wheel(name: str, version: str, tag: str = "py3-none-any", **fields: object) -> None:
        index_server.add_wheel(wheel_filename(name, version, tag), make_wheel(name, version, tag, **fields))

    wheel("app", "1.0", requires_dist=["plugin>=1"])
    wheel("plugin", "1.1", "cp312-cp312-macosx_12_0_arm64")
    wheel("plugin", "1.1", "cp311-cp311-macosx_12_0_arm64")
    wheel("a-project-with-a-really-long-name-that-a-terminal-would-cut", "2.0")
    return index_server


LONG = "a-project-with-a-really-long-name-that-a-terminal-would-cut"


def _matrix(server: IndexServer, *extra: str) -> list[str]:
    return ["check", "app", "-t", "macos-arm64", "-t", "linux-x86_64", "-p", "3.11", "-p", "3.12",
            "--index-url", server.url, *extra]


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("WHEELWISE_REGOLD"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"differs from {path} (WHEELWISE_REGOLD=1 rewrites it)"


def test_markdown_golden(server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_matrix(server, "--format", "markdown")) == 1
    _golden("check.md", capsys.readouterr().out)


def test_github_annotations_and_step_summary(
    server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# ours\napp\n", encoding="utf-8")
    code = main(["check", "-r", str(requirements), "-t", "linux-x86_64", "-t", "macos-arm64", "-p", "3.12",
                 "--index-url", server.url, "--format", "github"])
    out = capsys.readouterr().out
    assert code == 1
    commands = [line for line in out.splitlines() if line.startswith("::")]
    _golden("check.github", "\n".join(c.replace(str(requirements), "REQUIREMENTS") for c in commands) + "\n")
    assert "linux-x86_64@2.28 / 3.12: ✗ blocked" in out  # the log keeps the text report
    written = summary.read_text(encoding="utf-8")
    assert written.startswith("earlier step\n## wheelwise check")  # appended, not replaced
    assert "| linux-x86\\_64@2.28 | ❌ plugin |" in written


def test_output_file_replaces_whole_and_stdout_stays_empty(
    server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out").mkdir()
    report = tmp_path / "out" / "report.md"
    report.write_text("old", encoding="utf-8")
    assert main(_matrix(server, "--format", "markdown", "-o", str(report))) == 1
    assert capsys.readouterr().out == ""
    assert report.read_text(encoding="utf-8").startswith("## wheelwise check")
    assert [p.name for p in report.parent.iterdir()] == ["report.md"]  # no temporary left


def test_output_file_in_a_missing_folder_is_exit_2(server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_matrix(server, "-o", str(tmp_path / "nowhere" / "r.txt"))) == 2
    assert "cannot write" in capsys.readouterr().err


def test_fail_on_levels(index_server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    index_server.add_wheel(wheel_filename("app", "1.0"), make_wheel("app", "1.0", requires_dist=["pure"]))
    index_server.add(ServedFile("pure-1.0.tar.gz", content=make_sdist("pure", "1.0")))
    argv = ["check", "app", "-t", "linux-x86_64", "-p", "3.12", "--index-url", index_server.url]
    assert main(argv) == 0  # build installs: not a failure by default
    assert main([*argv, "--fail-on", "build"]) == 1
    assert main([*argv, "--fail-on", "warning"]) == 1
    capsys.readouterr()


def test_fail_on_warning(index_server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    index_server.add_wheel(wheel_filename("lib", "1.0"), make_wheel("lib", "1.0"))
    argv = ["check", "lib[gpu]", "-t", "linux-x86_64", "-p", "3.12", "--index-url", index_server.url]
    assert main(argv) == 0
    assert main([*argv, "--fail-on", "build"]) == 0
    assert main([*argv, "--fail-on", "warning"]) == 1
    assert "does not provide the extra 'gpu'" in capsys.readouterr().out


def test_show_pins_and_write_pins_with_hashes(server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "app", "-t", "macos-arm64", "-p", "3.12", "-p", "3.11", "--index-url", server.url,
                 "--show-pins", "--write-pins", str(tmp_path / "pins")])
    captured = capsys.readouterr()
    assert code == 0
    assert "plugin==1.1  (plugin-1.1-cp312-cp312-macosx_12_0_arm64.whl)" in captured.out
    files = sorted(p.name for p in (tmp_path / "pins").iterdir())
    assert files == ["macos-arm64-14-py3.11.txt", "macos-arm64-14-py3.12.txt"]
    text = (tmp_path / "pins" / "macos-arm64-14-py3.12.txt").read_text(encoding="utf-8")
    served = server.files
    digest = served["plugin-1.1-cp312-cp312-macosx_12_0_arm64.whl"].sha256
    assert f"plugin==1.1 \\\n    --hash=sha256:{digest}" in text
    assert "wrote" in captured.err


def test_quiet_is_only_the_answer(server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_matrix(server, "-q")) == 1
    out = capsys.readouterr()
    assert "needed by" not in out.out and "2 of 4 cells cannot install" in out.out
    assert out.err == ""


def test_verbose_says_what_was_read_and_from_where(server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_matrix(server, "-v")) == 1
    err = capsys.readouterr().err
    assert "read page app" in err and "read metadata app-1.0-py3-none-any.whl" in err
    assert f"index: {server.url}" in err and "metadata:" in err and "requests" in err


def _run(*argv: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "wheelwise", *argv], capture_output=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, check=False)


def test_piped_output_is_never_cut(server: IndexServer) -> None:
    done = _run("check", LONG, "tensorflow-is-not-here", "-t", "linux-x86_64", "-p", "3.12", "--index-url", server.url,
                env={"COLUMNS": "40"})
    out = done.stdout.decode()
    assert done.returncode == 1
    assert "tensorflow-is-not-here" in out.splitlines()[2]  # the matrix row names the blocker in full
    assert "…" not in out


def test_cp1252_stdout_gets_ascii_marks(server: IndexServer) -> None:
    done = _run(*_matrix(server), env={"PYTHONIOENCODING": "cp1252"})
    assert done.returncode == 1, done.stderr
    out = done.stdout.decode("cp1252")
    assert "x plugin" in out and "+ ok" in out and "app 1.0 -> plugin>=1" in out
    assert "Traceback" not in done.stderr.decode("cp1252")


def test_colour_switches(server: IndexServer) -> None:
    env = {"NO_COLOR": ""}
    plain = _run(*_matrix(server), env=env).stdout
    forced = _run(*_matrix(server, "--color", "always"), env=env).stdout
    by_env = _run(*_matrix(server), env={"NO_COLOR": "", "FORCE_COLOR": "1"}).stdout
    never = _run(*_matrix(server, "--color", "never"), env={"NO_COLOR": "", "FORCE_COLOR": "1"}).stdout
    assert b"\x1b[" not in plain and b"\x1b[" in forced and b"\x1b[" in by_env and b"\x1b[" not in never


def test_progress_lines_on_a_non_terminal_stderr(server: IndexServer) -> None:
    server.fault("/app/", "slow", 2.5)
    done = _run("check", "app", "-t", "macos-arm64", "-p", "3.12", "--index-url", server.url)
    lines = [line for line in done.stderr.decode().splitlines() if line.startswith("checking 1 cell")]
    assert done.returncode == 0 and lines, done.stderr
    assert re.search(r"\[\d+ s\]$", lines[0])
    quiet = _run("check", "app", "-t", "macos-arm64", "-p", "3.12", "--index-url", server.url, "-q")
    assert quiet.stderr == b""


@pytest.mark.parametrize("argv, code", [
    (["check", "app", "-t", "no-such-os", "--json"], 2),
    (["check", "--json", "--no-such-flag"], 2),
    (["check", "app", "--json", "--index-url", "http://127.0.0.1:9/simple/", "-t", "linux-x86_64", "-p", "3.12"], 3),
])
def test_json_error_document(argv: list[str], code: int) -> None:
    done = _run(*argv)
    assert done.returncode == code, done.stderr
    doc = json.loads(done.stdout)
    message = done.stderr.decode().split("error: ", 1)[1].split("\n")[0]
    assert doc["schema"] == 2 and doc["error"]["exit_code"] == code and doc["error"]["message"] == message


def test_html_report_is_self_contained(server: IndexServer, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    assert main(_matrix(server, "--format", "html", "-o", str(page))) == 1
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?!#)[a-z]+:""", text, re.I)  # no URL loaded or linked
    assert "@import" not in text and "url(" not in text
    assert "default-src 'none'" in text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="needs Chromium (apt-get install chromium; CI installs it)")
def test_html_report_in_headless_chromium(server: IndexServer, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    main(_matrix(server, "--format", "html", "-o", str(page)))
    browser = [_chromium() or "", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               f"--user-data-dir={tmp_path / 'profile'}", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
    dom = subprocess.run([*browser, "--dump-dom", f"{page.as_uri()}#cell-1"], capture_output=True, timeout=120, check=True)
    html = dom.stdout.decode()
    cells = re.findall(r'<td class="(\w+)" data-cell="([^"]+)"><a href="#cell-\d">([^<]+)</a>', html)
    assert ("ok", "macos-arm64@14 / 3.11", "✓ ok") in cells
    assert ("blocked", "linux-x86_64@2.28 / 3.12", "✗ plugin") in cells
    assert re.search(r'<details id="cell-1" class="cell ok" open', html)  # the link's target was opened
    assert re.search(r'<details id="cell-0" class="cell ok">', html)  # the others stay closed
    story = re.search(r'<details id="cell-3" class="cell blocked" open[^>]*>(.*?)</details>', html, re.S)
    assert story and "plugin</strong> has no wheel for Linux x86_64" in story.group(1)
    assert "needed by app 1.0 → plugin&gt;=1" in story.group(1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "check-report.png"
    subprocess.run([*browser, f"--screenshot={shot}", "--window-size=1100,900", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 5_000


def test_public_api_checks_without_printing(server: IndexServer, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import wheelwise
    from wheelwise.index import IndexSettings

    settings = IndexSettings(index_url=server.url)
    report = wheelwise.check(["app"], ["macos-arm64", "linux-x86_64"], ["3.12"], settings=settings, cache_dir=tmp_path)
    assert isinstance(report, wheelwise.CheckReport)
    assert [(c.target.label, c.verdict) for c in report.cells] == [
        ("macos-arm64@14 / 3.12", "ok"), ("linux-x86_64@2.28 / 3.12", "blocked")]
    assert report.cells[1].blockers[0].project == "plugin"
    assert report.to_dict()["cells"][1]["blockers"][0]["reason"] == "platform"
    matches = wheelwise.explain("ImportError: numpy.core.multiarray failed to import")
    assert all(isinstance(m, wheelwise.Match) for m in matches)
    assert capsys.readouterr() == ("", "")
    with pytest.raises(wheelwise.WheelwiseError):
        wheelwise.check(["app"], ["no-such-os"], settings=settings, cache_dir=tmp_path)


def test_doctor_and_verify_formats(tmp_path: Path) -> None:
    facts = Path(__file__).parent / "data" / "facts"
    sample = sorted(facts.glob("*.json"))[0]
    markdown = _run("doctor", "--facts", str(sample), "--format", "markdown")
    assert markdown.returncode in (0, 1) and markdown.stdout.startswith(b"## wheelwise doctor")
    page = tmp_path / "doctor.html"
    done = _run("doctor", "--facts", str(sample), "--format", "html", "-o", str(page))
    assert done.returncode in (0, 1) and "<h1>wheelwise doctor</h1>" in page.read_text(encoding="utf-8")
    summary = tmp_path / "summary.md"
    github = _run("doctor", "--facts", str(sample), "--format", "github", env={"GITHUB_STEP_SUMMARY": str(summary)})
    failing = github.returncode == 1
    assert ("::error " in github.stdout.decode()) == failing
    assert summary.read_text(encoding="utf-8").startswith("## wheelwise doctor")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    done = _run("completion", shell)
    assert done.returncode == 0
    script = done.stdout.decode()
    words = ("-l format", "-l fail-on") if shell == "fish" else ("--format", "--fail-on")
    assert all(w in script for w in words) and "macos-arm64" in script
    runner = shutil.which(shell)
    if shell == "bash" and runner:
        # the script, asked as bash asks it, completes a subcommand, an option and a value
        probe = (script + '\nCOMP_WORDS=(wheelwise ch); COMP_CWORD=1; _wheelwise; echo "${COMPREPLY[*]}"'
                 '\nCOMP_WORDS=(wheelwise check --fail); COMP_CWORD=2; _wheelwise; echo "${COMPREPLY[*]}"'
                 '\nCOMP_WORDS=(wheelwise check -t mac); COMP_CWORD=3; _wheelwise; echo "${COMPREPLY[*]}"')
        out = subprocess.run([runner, "-c", probe], capture_output=True, check=True).stdout.decode().splitlines()
        assert out == ["check", "--fail-on", "macos-arm64 macos-x86_64"]
    elif runner:
        flag = "-n" if shell == "zsh" else "--no-execute"
        subprocess.run([runner, flag, "-c", script], check=True)

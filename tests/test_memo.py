"""Remembered check answers (``wheelwise.check.memo``): given again only for the same question
while everything read is unchanged and fresh; anything else computes, and a planted row is a miss."""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer
from helpers.wheels import make_wheel, wheel_filename

import wheelwise
from wheelwise.check import memo
from wheelwise.cli import main
from wheelwise.index.settings import IndexSettings

#: the package (``wheelwise.check`` is also the library's function)
checking = importlib.import_module("wheelwise.check")

BASE = ("app", "-t", "macos-arm64", "-t", "linux-x86_64", "-p", "3.12")


def add(server: IndexServer, name: str, version: str, tag: str = "py3-none-any", **fields: object) -> None:
    server.add_wheel(wheel_filename(name, version, tag), make_wheel(name, version, tag, **fields))


@pytest.fixture
def server(index_server: IndexServer) -> IndexServer:
    add(index_server, "app", "1.0", requires_dist=["plugin>=1"])
    add(index_server, "plugin", "1.1", "cp312-cp312-macosx_12_0_arm64")
    add(index_server, "plugin", "1.1", "cp311-cp311-macosx_12_0_arm64")
    return index_server


@pytest.fixture
def computed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the answers computed (the check behind the memo); each call still runs for real."""
    calls: list[int] = []
    real = checking.check

    def counted(*args: object, **kwargs: object) -> checking.CheckReport:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(checking, "check", counted)
    return calls


def run(capsys: pytest.CaptureFixture[str], server: IndexServer | None, *argv: str, json_out: bool = True) -> tuple[int, str]:
    index = ["--index-url", server.url] if server is not None else []
    code = main(["check", *argv, *index, *(["--json"] if json_out else [])])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "unexpectedly" not in err, err
    return code, out


def cache_file() -> Path:
    return Path(os.environ["WHEELWISE_CACHE_DIR"]) / "cache-v3.sqlite3"


@contextlib.contextmanager
def cache_db() -> Iterator[sqlite3.Connection]:
    with contextlib.closing(sqlite3.connect(cache_file(), isolation_level=None)) as conn:
        yield conn


def later(monkeypatch: pytest.MonkeyPatch, seconds: float = 3600) -> None:
    """Move the clock on, past the page TTL, as time passing would (every reader of ``time.time``)."""
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)


# -- hits ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["--json", "text"])
def test_second_identical_check_is_served_from_the_memo(
    server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str], form: str
) -> None:
    first = run(capsys, server, *BASE, json_out=form == "--json")
    server.clear_log()
    second = run(capsys, server, *BASE, json_out=form == "--json")
    assert second == first and first[0] == 1  # the same document or table, the same exit code
    assert server.requests() == []  # the index was not asked for anything
    assert len(computed) == 1  # and nothing was resolved
    assert "plugin" in first[1]


def test_library_api_uses_the_memo_and_memo_false_computes(server: IndexServer, computed: list[int]) -> None:
    settings = IndexSettings(index_url=server.url)
    first = wheelwise.check(["app"], ["macos-arm64", "linux-x86_64"], ["3.12"], settings=settings)
    again = wheelwise.check(["app"], ["macos-arm64", "linux-x86_64"], ["3.12"], settings=settings)
    assert len(computed) == 1 and again.to_dict() == first.to_dict()
    assert [c.verdict for c in again.cells] == ["ok", "blocked"]
    assert again.cells[0].pins["plugin"].file is not None  # whole objects, as --show-pins and --write-pins use them
    wheelwise.check(["app"], ["macos-arm64", "linux-x86_64"], ["3.12"], settings=settings, memo=False)
    assert len(computed) == 2
    # importing the resolver late never puts a module where the library's functions are
    assert all(callable(f) for f in (wheelwise.check, wheelwise.doctor, wheelwise.explain, wheelwise.matrix))


def test_no_memo_flag_computes(server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, server, *BASE)
    assert run(capsys, server, *BASE, "--no-memo") == first
    assert len(computed) == 2


def test_a_hit_loads_neither_resolver_nor_network_client(server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check", *BASE, "--index-url", server.url, "--json"]
    expected = run(capsys, server, *BASE)
    probe = (
        "import json, sys\n"
        "from wheelwise.cli import main\n"
        f"code = main({argv!r})\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert (done.returncode, done.stdout) == expected, done.stderr
    loaded = set(json.loads(done.stderr.splitlines()[-1]))
    heavy = {"nab_resolver", "urllib3", "truststore", "wheelwise.index.client", "wheelwise.index.repository",
             "wheelwise.index.metadata", "wheelwise.resolve.finder", "wheelwise.resolve.provider", "wheelwise.resolve.derivation",
             "wheelwise.install", "wheelwise.plan"}
    assert not heavy & loaded, heavy & loaded


# -- every part of the question ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(("app>=1", *BASE[1:]), id="requirement"),
        pytest.param(("app", "-t", "macos-arm64@15", "-t", "linux-x86_64", "-p", "3.12"), id="target-os-version"),
        pytest.param(("app", "-t", "macos-arm64", "-t", "linux-x86_64+cuda=12.8", "-p", "3.12"), id="target-property"),
        pytest.param(("app", "-t", "macos-arm64", "-t", "linux-x86_64", "-p", "3.11"), id="python"),
        pytest.param(("app", "-t", "macos-arm64", "-t", "linux-x86_64", "-p", "3.14t"), id="free-threaded"),
        pytest.param((*BASE, "-c", "CONSTRAINTS"), id="constraint"),
        pytest.param(("-r", "REQUIREMENTS", *BASE[1:]), id="requirement-source"),
        pytest.param((*BASE, "--no-knowledge"), id="no-knowledge"),
        pytest.param((*BASE, "--no-nearest"), id="no-nearest"),
        pytest.param((*BASE, "--only-binary", ":all:"), id="only-binary"),
        pytest.param((*BASE, "--no-binary", "plugin"), id="no-binary"),
        pytest.param((*BASE, "--prefer-binary"), id="prefer-binary"),
        pytest.param((*BASE, "--max-rounds", "77"), id="max-rounds"),
        pytest.param((*BASE, "--extra-index-url", "EXTRA"), id="extra-index"),
    ],
)
def test_each_change_of_the_question_misses(
    server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str], tmp_path: Path,
    changed: tuple[str, ...],
) -> None:
    (tmp_path / "constraints.txt").write_text("plugin<2\n")
    (tmp_path / "requirements.txt").write_text("app\n")
    (tmp_path / "extra").mkdir()
    places = {"CONSTRAINTS": str(tmp_path / "constraints.txt"), "REQUIREMENTS": str(tmp_path / "requirements.txt"),
              "EXTRA": (tmp_path / "extra").as_uri()}
    changed = tuple(places.get(word, word) for word in changed)
    run(capsys, server, *BASE)
    run(capsys, server, *changed)
    assert len(computed) == 2, "a different question was answered from the memo"
    run(capsys, server, *changed)
    run(capsys, server, *BASE)
    assert len(computed) == 2, "each question's own answer is remembered"


def test_knowledge_data_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    question = {"requirements": ["a"], "constraints": [], "targets": [], "python_bounds": [], "selection": None,
                "nearest": True, "max_rounds": 1, "index_urls": ["https://user:pw@host/simple/?token=x"],
                "find_links": []}
    with_rules = memo.question_key(knowledge=True, **question)  # type: ignore[arg-type]
    assert memo.question_key(knowledge=False, **question) != with_rules  # type: ignore[arg-type]
    monkeypatch.setattr(memo, "knowledge_digest", lambda: "other rules")
    assert memo.question_key(knowledge=True, **question) != with_rules  # type: ignore[arg-type]


# -- what the answer was computed from ------------------------------------------------------------


def test_page_changed_on_the_index_is_seen_once_past_the_ttl(
    server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    before = json.loads(run(capsys, server, *BASE)[1])
    assert [c["verdict"] for c in before["cells"]] == ["ok", "blocked"]
    add(server, "plugin", "1.2", "py3-none-any")  # now it installs everywhere
    within = json.loads(run(capsys, server, *BASE)[1])
    assert within == before and len(computed) == 1  # the page cache's TTL holds: the same as without a memo
    later(monkeypatch)
    after = json.loads(run(capsys, server, *BASE)[1])
    assert len(computed) == 2
    assert [c["verdict"] for c in after["cells"]] == ["ok", "ok"] and after["cells"][1]["pins"]["plugin"] == "1.2"
    run(capsys, server, *BASE)
    assert len(computed) == 2  # the new answer is remembered in turn


def test_refresh_recomputes_and_rewrites(server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, server, *BASE)
    add(server, "plugin", "1.2", "py3-none-any")
    server.clear_log()
    fresh = json.loads(run(capsys, server, *BASE, "--refresh")[1])
    assert len(computed) == 2 and server.requests("/simple/")
    assert [c["verdict"] for c in fresh["cells"]] == ["ok", "ok"]
    assert json.loads(run(capsys, server, *BASE)[1]) == fresh and len(computed) == 2


def test_revalidated_page_invalidates_even_when_unchanged(
    server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(capsys, server, *BASE)
    later(monkeypatch)
    assert run(capsys, server, *BASE) == first  # stale pages: recomputed (the pages are revalidated, 304)
    assert len(computed) == 2
    assert run(capsys, server, *BASE) == first and len(computed) == 2  # and remembered again


def test_offline_answers_from_the_memo_past_the_ttl(
    server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(capsys, server, *BASE)
    later(monkeypatch)
    server.clear_log()
    assert run(capsys, server, *BASE, "--offline") == first
    assert len(computed) == 1 and server.requests() == []


def test_a_page_removed_from_the_cache_misses(server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, server, *BASE)
    with cache_db() as conn:
        conn.execute("DELETE FROM pages WHERE url LIKE '%/plugin/'")
    assert run(capsys, server, *BASE) == first and len(computed) == 2


def test_a_page_row_altered_in_place_misses(
    server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str]
) -> None:
    first = run(capsys, server, *BASE)
    with cache_db() as conn:  # same length, same fetch time: only the bytes differ
        changed = conn.execute("UPDATE pages SET body = substr(body, 1, length(body) - 1) || "
                               "CASE WHEN substr(body, -1) = 'X' THEN 'Y' ELSE 'X' END WHERE url LIKE '%/plugin/'")
        assert changed.rowcount == 1
    server.clear_log()
    assert run(capsys, server, *BASE) == first and len(computed) == 2
    assert server.requests("/simple/plugin/"), "the damaged page is read again"


def _local_index(root: Path, versions: dict[str, str]) -> Path:
    """A ``file:`` index of *plugin*: ``root/simple/plugin/index.html`` linking wheels in *root*."""
    page = root / "simple" / "plugin"
    page.mkdir(parents=True, exist_ok=True)
    links = []
    for version, tag in versions.items():
        name = wheel_filename("plugin", version, tag)
        (root / name).write_bytes(make_wheel("plugin", version, tag))
        links.append(f'<a href="../../{name}">{name}</a>')
    (page / "index.html").write_text("<html><body>" + "".join(links) + "</body></html>")
    return root / "simple"


def test_file_index_page_changed_misses(
    server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    del server.files[wheel_filename("plugin", "1.1", "cp312-cp312-macosx_12_0_arm64")]
    del server.files[wheel_filename("plugin", "1.1", "cp311-cp311-macosx_12_0_arm64")]
    local = _local_index(tmp_path / "local", {"1.1": "cp312-cp312-macosx_12_0_arm64"})
    argv = (*BASE, "--extra-index-url", local.as_uri())
    before = json.loads(run(capsys, server, *argv)[1])
    assert [c["verdict"] for c in before["cells"]] == ["ok", "blocked"]
    assert json.loads(run(capsys, server, *argv)[1]) == before and len(computed) == 1
    _local_index(tmp_path / "local", {"1.1": "cp312-cp312-macosx_12_0_arm64", "1.3": "py3-none-any"})
    after = json.loads(run(capsys, server, *argv)[1])
    assert len(computed) == 2
    assert [c["verdict"] for c in after["cells"]] == ["ok", "ok"] and after["cells"][1]["pins"]["plugin"] == "1.3"


def test_find_links_folder_changed_misses(
    server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    links = tmp_path / "links"
    links.mkdir()
    for name, version, tag, requires in (("app", "1.0", "py3-none-any", ["plugin>=1"]),
                                         ("plugin", "1.1", "cp312-cp312-macosx_12_0_arm64", [])):
        (links / wheel_filename(name, version, tag)).write_bytes(make_wheel(name, version, tag, requires_dist=requires))
    argv = (*BASE, "--no-index", "-f", str(links))
    before = json.loads(run(capsys, None, *argv)[1])
    assert [c["verdict"] for c in before["cells"]] == ["ok", "blocked"]
    assert json.loads(run(capsys, None, *argv)[1]) == before and len(computed) == 1
    (links / wheel_filename("plugin", "1.4")).write_bytes(make_wheel("plugin", "1.4"))
    after = json.loads(run(capsys, None, *argv)[1])
    assert len(computed) == 2 and after["cells"][1]["pins"]["plugin"] == "1.4"
    # a distribution rewritten in place (same name, new metadata) is seen too
    (links / wheel_filename("plugin", "1.4")).write_bytes(make_wheel("plugin", "1.4", requires_dist=["absent-dep"]))
    rewritten = json.loads(run(capsys, None, *argv)[1])
    assert len(computed) == 3 and rewritten["cells"][1]["verdict"] == "blocked"


# -- a damaged or planted memo is a miss --------------------------------------------------------------


class _Plant:
    """Unpickling this would create a file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Path.touch, (self.path,))


def _planted(kind: str, real: bytes, marker: Path) -> bytes:
    document = json.loads(real)
    if kind == "garbage":
        return b"\x00\xffnot a memo"
    if kind == "pickle":
        return pickle.dumps(_Plant(marker))
    if kind == "foreign-class":
        document["report"] = {"C": "subprocess:Popen", "v": {"args": ["touch", str(marker)]}}
    elif kind == "callable-packaging":
        document["report"] = {"P": "system", "v": f"touch {marker}"}
    elif kind == "unknown-verdict":
        document["report"]["v"]["cells"]["L"][0]["v"]["verdict"] = "maybe"
    elif kind == "wrong-type":
        document["report"]["v"]["cells"]["L"][0]["v"]["verdict"] = 5
    elif kind == "missing-field":
        del document["report"]["v"]["cells"]["L"][0]["v"]["pins"]
    elif kind == "other-format":
        document["format"] = 999
    elif kind == "deep":  # deeper than any parser's recursion
        return b'{"format": 1, "report": ' + b'{"L": [' * 100_000 + b"]}" * 100_000 + b"}"
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "kind", ["garbage", "pickle", "foreign-class", "callable-packaging", "wrong-type", "unknown-verdict", "missing-field",
             "other-format", "deep"],
)
def test_planted_or_damaged_result_is_a_miss(
    server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    first = run(capsys, server, *BASE)
    marker = tmp_path / "pwned"
    with cache_db() as conn:
        (real,) = conn.execute("SELECT result FROM memos").fetchone()
        conn.execute("UPDATE memos SET result = ?", (_planted(kind, real, marker),))
    assert run(capsys, server, *BASE) == first  # computed again, right, and no traceback (run() checks stderr)
    assert len(computed) == 2 and not marker.exists()
    assert run(capsys, server, *BASE) == first and len(computed) == 2  # rewritten


@pytest.mark.parametrize("stamps", ["not json", "{}", '[["page"]]', '[["file", 5, 1, 2, 3]]', '[["exec", "/bin/sh"]]',
                                    '[["uncached", "http://x/"]]', "[" * 100_000])
def test_planted_stamps_are_a_miss(
    server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str], stamps: str
) -> None:
    first = run(capsys, server, *BASE)
    with cache_db() as conn:
        conn.execute("UPDATE memos SET stamps = ?", (stamps,))
    assert run(capsys, server, *BASE) == first and len(computed) == 2


def test_oversized_row_is_not_read(
    server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(capsys, server, *BASE)
    monkeypatch.setattr(memo, "MAX_MEMO_BYTES", 64)
    assert run(capsys, server, *BASE) == first and len(computed) == 2


def test_decode_refuses_what_encode_does_not_write() -> None:
    for blob in (b"[]", b'{"format": FMT}', b'{"format": FMT, "report": {"L": [1], "T": [2]}}',
                 b'{"format": FMT, "report": {"P": "Version", "v": "not a version"}}',
                 b'{"format": FMT, "report": {"D": [[{"L": []}, 1]]}}'):
        with pytest.raises(memo._Miss):
            memo.decode(blob.replace(b"FMT", str(memo.FORMAT).encode()))
    current = f'{{"format": {memo.FORMAT}, "report": {{"T": [{{"P": "Version", "v": "2.0"}}]}}}}'.encode()
    assert memo.decode(current) == (memo.Version("2.0"),)


# -- secrets -----------------------------------------------------------------------------------------------

SECRET = "s3cret-Memo-77"


def test_no_credentials_in_the_memo(server: IndexServer, computed: list[int], capsys: pytest.CaptureFixture[str]) -> None:
    server.basic_auth = ("alice", SECRET)
    url = server.url.replace("http://", f"http://alice:{SECRET}@") + f"?token={SECRET}"
    server.query_token = f"token={SECRET}"
    first = run(capsys, None, *BASE, "--index-url", url)
    assert json.loads(first[1])["cells"][0]["verdict"] == "ok"
    assert run(capsys, None, *BASE, "--index-url", url) == first and len(computed) == 1  # the memo served it
    with cache_db() as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        rows = conn.execute("SELECT key, stamps, result FROM memos").fetchall()
    assert rows
    encoded = base64.b64encode(f"alice:{SECRET}".encode())
    stored = b"".join(p.read_bytes() for p in cache_file().parent.iterdir() if p.is_file())
    for text in (*(str(v).encode() for row in rows for v in row), stored, first[1].encode()):
        assert SECRET.encode() not in text and encoded not in text


def test_verbose_says_the_answer_was_remembered(server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["check", *BASE, "--index-url", server.url, "-v"]
    main(argv)
    assert "metadata:" in capsys.readouterr().err  # computed: where things came from
    main(argv)
    err = capsys.readouterr().err
    assert "answered from the memo of an identical earlier check" in err and "metadata:" not in err


# -- every kind of answer survives the stored form ------------------------------------------------------


def _scenarios() -> list[Path]:
    from test_check_scenarios import SCENARIOS  # noqa: PLC0415 - the scenario suite's cases

    return list(SCENARIOS)


@pytest.mark.parametrize("path", _scenarios(), ids=lambda p: p.stem)
def test_every_scenario_answer_round_trips(path: Path) -> None:
    """ok, build (native, binaries), blocked with each reason, nearest, successors, variants,
    every kind of knowledge rule: stored and read back, the same document and the same words."""
    import io  # noqa: PLC0415

    from test_check_scenarios import run_scenario  # noqa: PLC0415

    from wheelwise.check import CheckReport  # noqa: PLC0415
    from wheelwise.cli.check import render_report  # noqa: PLC0415
    from wheelwise.cli.html import check_html  # noqa: PLC0415
    from wheelwise.cli.markdown import check_markdown  # noqa: PLC0415

    _, cell = run_scenario(path)
    report = CheckReport([], [], [cell], knowledge_used=True)
    again = memo.decode(memo.encode(report))
    assert again.to_dict() == report.to_dict()

    def words(r: CheckReport) -> tuple[str, str, str]:
        out = io.StringIO()
        render_report(r, out, pins=True)
        return out.getvalue(), check_markdown(r, pins=True), check_html(r, pins=True)

    assert words(again) == words(report)

"""check over recorded real index data: the cases that started wheelwise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers.indexserver import IndexServer, load_recorded
from packaging.version import Version

from wheelwise.check import CheckReport, check
from wheelwise.index import Fetcher, IndexSettings, PackageIndex
from wheelwise.knowledge import load_constraints
from wheelwise.requirements import parse_requirement_line
from wheelwise.target import parse_target


@pytest.fixture(scope="module")
def recorded() -> Iterator[IndexServer]:
    with IndexServer() as server:
        server.add(*load_recorded())
        yield server


def run(server: IndexServer, requests: list[str], cells: list[tuple[str, str]], *, knowledge: bool = True, nearest: bool = True) -> CheckReport:
    targets = [parse_target(t, (3, int(p.split(".")[1]))) for t, p in cells]
    rules = load_constraints() if knowledge else ()
    with PackageIndex(IndexSettings(index_url=server.url), fetcher=Fetcher(timeout=10, retries=0)) as index:
        return check(index, targets, [parse_requirement_line(r) for r in requests], rules=rules, nearest=nearest)


def test_tflite_model_maker_on_apple_silicon_names_tflite_support_and_scann(recorded: IndexServer) -> None:
    cell = run(recorded, ["tflite-model-maker"], [("macos-arm64", "3.11")], nearest=False).cells[0]
    assert cell.verdict == "blocked"
    by_project = {b.project: b for b in cell.blockers}
    support, scann = by_project["tflite-support"], by_project["scann"]
    assert support.reason == "platform" and scann.reason == "platform"
    assert support.chain[0].startswith("tflite-model-maker 0.4.") and support.chain[-1].startswith("tflite-support")
    assert scann.requirement == "scann==1.2.6"
    # what they do have: tflite-support for Linux and Intel macOS, scann for Linux x86_64 and old CPythons
    assert "macOS x86_64" in support.available and "Linux x86_64" in support.available
    assert "macOS arm64" not in support.available
    assert scann.available.startswith("Linux x86_64 (glibc ≥ 2.17): CPython 3.") and "3.9" in scann.available
    # the newest few versions are explained, not only the newest
    assert len(scann.versions) >= 2 and scann.versions[0] == "0.4.3"


@pytest.mark.parametrize("target", ["linux-x86_64", "linux-aarch64", "windows-amd64", "windows-arm64"])
def test_tensorflow_metal_off_macos_is_blocked_by_platform(recorded: IndexServer, target: str) -> None:
    cell = run(recorded, ["tensorflow-metal"], [(target, "3.11")]).cells[0]
    assert cell.verdict == "blocked"
    assert [(b.project, b.reason) for b in cell.blockers] == [("tensorflow-metal", "platform")]
    assert cell.blockers[0].available.startswith("macOS arm64")
    assert cell.nearest and all(n.target.os == "macos" for n in cell.nearest)


def test_tensorflow_with_metal_on_apple_silicon_pins_a_working_pair(recorded: IndexServer) -> None:
    cell = run(recorded, ["tensorflow", "tensorflow-metal"], [("macos-arm64", "3.12")]).cells[0]
    assert cell.verdict == "ok"
    tf, metal = cell.pins["tensorflow"].version, cell.pins["tensorflow-metal"].version
    assert metal == Version("1.2.0")
    assert tf < Version("2.20")  # 1.2.0 fails to load with 2.20+ (cited in the knowledge file)
    applied = {r.id for r in cell.knowledge}
    assert "tensorflow-metal-1.2-needs-tf-below-2.20" in applied
    assert all(r.sources and r.verified for r in cell.knowledge)


def test_without_knowledge_the_pins_are_what_pip_and_uv_pick(recorded: IndexServer) -> None:
    cell = run(recorded, ["tensorflow", "tensorflow-metal"], [("macos-arm64", "3.12")], knowledge=False).cells[0]
    assert cell.verdict == "ok" and not cell.knowledge
    # the newest of each: the broken pair every resolver installs
    newest_tf = max(v for v in (Version(f.split("-")[1]) for f in _wheels(recorded, "tensorflow", "cp312-cp312-macosx")) if not v.is_prerelease)
    assert cell.pins["tensorflow"].version == newest_tf >= Version("2.20")
    assert cell.pins["tensorflow-metal"].version == Version("1.2.0")


def test_a_matrix_shares_fetches_and_answers_every_cell(recorded: IndexServer) -> None:
    cells = [(t, p) for t in ("macos-arm64", "linux-x86_64") for p in ("3.11", "3.12")]
    recorded.clear_log()
    report = run(recorded, ["tensorflow", "tensorflow-metal"], cells, nearest=False)
    verdicts = {c.target.label: c.verdict for c in report.cells}
    assert verdicts["macos-arm64@14 / 3.12"] == "ok" and verdicts["linux-x86_64@2.28 / 3.11"] == "blocked"
    pages = [r.path for r in recorded.requests("/simple/")]
    assert len(pages) == len(set(pages))  # each page fetched once for all four cells


def _wheels(server: IndexServer, name: str, fragment: str) -> list[str]:
    return [f for f in server.files if f.startswith(name.replace("-", "_") + "-") and fragment in f]

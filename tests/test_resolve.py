"""resolve/: the PubGrub seam on its own — ranges, widening, the sdist ladder, the round limit."""

from __future__ import annotations

import json

import pytest
from helpers.indexserver import IndexServer
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from test_check_scenarios import serve

from wheelwise.check import check
from wheelwise.cli import main
from wheelwise.index import Fetcher, IndexSettings, PackageIndex
from wheelwise.requirements import parse_requirement_line
from wheelwise.resolve import Failure, Req, Resolution, Shared, parse_requirement, resolve
from wheelwise.resolve.provider import Provider
from wheelwise.resolve.ranges import Versions, to_range
from wheelwise.target import parse_target

LINUX = parse_target("linux-x86_64", (3, 12))


def _index(server: IndexServer) -> PackageIndex:
    return PackageIndex(IndexSettings(index_url=server.url), fetcher=Fetcher(timeout=5, retries=0))


@pytest.mark.parametrize(
    ("left", "right"),
    [(">=1,<2", ">=1.5"), ("<1", ">=2"), ("==1.5", ">=1,<2"), (">=1", "<3,!=2.0"), ("", "==1.*")],
)
def test_relation_agrees_with_subset_and_disjoint(left: str, right: str) -> None:
    a, b = to_range(SpecifierSet(left)), to_range(SpecifierSet(right))
    relation = a.relation(b)
    assert (relation.is_subset, relation.is_disjoint) == (a.is_subset(b), a.is_disjoint(b))


def test_ranges_are_sets_of_versions_pre_releases_included() -> None:
    # which pre-releases pip takes is the finder's business: the range holds them all
    assert Version("2.0rc1") in to_range(SpecifierSet(">=1"))
    assert Version("2.0rc1") not in to_range(SpecifierSet("<2"))  # PEP 440: <2 excludes 2's pre-releases
    assert Version("2.0") in to_range(SpecifierSet("==2"))
    assert Versions.full().is_superset(to_range(SpecifierSet(">=1")))
    assert (to_range(SpecifierSet(">=1")) & to_range(SpecifierSet("<1"))).is_empty


def test_widening_covers_a_run_of_versions_with_the_same_dependencies() -> None:
    """Ten versions; 6.0 differs: a decision on 9.0 stands for 7.0-10.0 and nothing past 6.0
    (its neighbours' metadata is read for it: the answer does not depend on what arrived)."""
    dists = [{"name": "lib", "version": f"{v}.0", "requires": ["dep>=1"] if v != 6 else ["dep>=2"]} for v in range(1, 11)]
    dists.append({"name": "dep", "version": "2.0"})
    with IndexServer() as server:
        serve(server, dists)
        with _index(server) as index:
            per = Shared(index).per(LINUX, False)
            provider = Provider(LINUX, per.finder, per.dependencies, per.prefetcher)
            # widening is for a project the resolver goes down the versions of: it took 10.0 first
            assert provider.choose_version("lib", Versions.full()) == Version("10.0")
            assert provider.widen_decision("lib", Version("10.0")) is None
            assert provider.choose_version("lib", to_range(SpecifierSet("<10"))) == Version("9.0")
            provider.get_dependencies("lib", Version("9.0"))
            widened = provider.widen_decision("lib", Version("9.0"))
            assert widened is not None
            inside = [v for v in per.finder.files("lib") if v in widened]
            assert inside == [Version(f"{v}.0") for v in (10, 9, 8, 7)]


def test_sdists_are_allowed_only_for_what_the_proof_needs() -> None:
    """The wheels-only failure rests on 'native' (an sdist only); the retry allows that sdist
    alone: 'other' keeps its wheel, the newer sdist-only 'other' is noted, never downloaded."""
    dists = [
        {"name": "app", "version": "1.0", "requires": ["native", "other"]},
        {"name": "native", "version": "1.0", "sdist": True},
        {"name": "other", "version": "2.0", "sdist": True},
        {"name": "other", "version": "1.0"},
    ]
    with IndexServer() as server:
        serve(server, dists)
        with _index(server) as index:
            report = check(index, [LINUX], [parse_requirement_line("app")])
        cell = report.cells[0]
        assert cell.verdict == "build"
        assert {n: str(c.version) for n, c in cell.pins.items()} == {"app": "1.0", "native": "1.0", "other": "1.0"}
        assert [b.name for b in cell.build] == ["native"]
        assert cell.newer_sdists == [("other", "2.0")]
        assert not server.requests(r"other-2\.0\.tar\.gz$")


def test_a_proof_that_needs_no_sdist_is_not_retried_with_sdists() -> None:
    dists = [
        {"name": "app", "version": "1.0", "requires": ["maconly"]},
        {"name": "maconly", "version": "1.0", "tag": "cp312-cp312-macosx_11_0_arm64"},
        {"name": "unrelated", "version": "1.0", "sdist": True},
    ]
    with IndexServer() as server:
        serve(server, dists)
        with _index(server) as index:
            shared = Shared(index)
            roots = [Req.from_requirement(parse_requirement("app"), "root")]
            outcome = resolve(shared, LINUX, roots)
            assert isinstance(outcome, Failure)
            assert shared.sdists_needed(LINUX, outcome) == frozenset()
            assert [(c.project, c.reason.slug) for c in outcome.causes] == [("maconly", "platform")]


def test_the_round_limit_is_unknown_with_a_reason_and_the_way_out(index_server: IndexServer) -> None:
    serve(index_server, [{"name": "a", "version": f"{v}.0", "requires": [f"b=={v}.0"]} for v in range(1, 9)]
          + [{"name": "b", "version": f"{v}.0", "requires": ["c"]} for v in range(1, 9)]
          + [{"name": "c", "version": "1.0", "tag": "cp312-cp312-win_amd64"}])
    with _index(index_server) as index:
        outcome = resolve(Shared(index), LINUX, [Req.from_requirement(parse_requirement("a"), "root")], max_rounds=3)
    assert isinstance(outcome, Failure) and outcome.limit is not None and outcome.limit.rounds == 3
    code = main(["check", "a", "-t", "linux-x86_64", "-p", "3.12", "--max-rounds", "3", "--json",
                 "--index-url", index_server.url])
    assert code == 1


def test_the_round_limit_on_the_command_line(index_server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    serve(index_server, [{"name": "a", "version": f"{v}.0", "requires": ["c"]} for v in range(1, 9)]
          + [{"name": "c", "version": "1.0", "tag": "cp312-cp312-win_amd64"}])
    argv = ["check", "a", "-t", "linux-x86_64", "-p", "3.12", "--no-nearest", "--index-url", index_server.url]
    assert main([*argv, "--max-rounds", "2", "--json"]) == 1
    cell = json.loads(capsys.readouterr().out)["cells"][0]
    assert cell["verdict"] == "unknown"
    assert cell["blockers"][0]["reason"] == "limit" and "--max-rounds" in cell["blockers"][0]["detail"]
    # with room, the same question has a definite answer
    assert main([*argv, "--json"]) == 1
    cell = json.loads(capsys.readouterr().out)["cells"][0]
    assert cell["verdict"] == "blocked" and cell["blockers"][0]["project"] == "c"
    with pytest.raises(SystemExit) as bad:  # bad input: a clear message, exit 2
        main([*argv, "--max-rounds", "0"])
    assert bad.value.code == 2


def test_resolution_is_frozen_data() -> None:
    assert Resolution.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert Failure.__dataclass_params__.frozen  # type: ignore[attr-defined]


def _plugs(newest: int, lowest_needs: str) -> list[dict[str, object]]:
    """core 1.0-1.9 and 2.1-2.{newest}; plug k (k >= 2) needs core >= 2.k, each its own bound
    (no two alike: no widening merges them); plug 1 needs *lowest_needs*."""
    return (
        [{"name": "core", "version": f"1.{m}"} for m in range(10)]
        + [{"name": "core", "version": f"2.{m}"} for m in range(1, newest + 1)]
        + [{"name": "plug", "version": f"{k}.0", "requires": [f"core>=2.{k}"]} for k in range(2, newest + 1)]
        + [{"name": "plug", "version": "1.0", "requires": [lowest_needs]}]
    )


def test_versions_that_need_more_than_is_decided_are_passed_over_without_backjumps() -> None:
    """core<2 is decided first; plug 20.0 down to 2.0 each need a core >= 2: each is passed over
    with its dependency clause instead of decided and undone, so the answer (plug 1.0, what
    pip takes too) comes in a handful of rounds, where deciding each cost a round or more."""
    with IndexServer() as server:
        serve(server, [{"name": "app", "version": "1.0", "requires": ["core<2", "plug"]}, *_plugs(20, "core>=1")])
        with _index(server) as index:
            roots = [Req.from_requirement(parse_requirement("app"), "root")]
            outcome = resolve(Shared(index), LINUX, roots, max_rounds=12)
    assert isinstance(outcome, Resolution), outcome
    assert {n: str(c.version) for n, c in outcome.pins.items()} == {"app": "1.0", "core": "1.9", "plug": "1.0"}


def test_versions_passed_over_are_still_in_the_proof() -> None:
    """No plug fits core<2: the clauses for the versions passed over carry the proof, so the cell
    names the conflict on core between the request and plug, as without them."""
    with IndexServer() as server:
        serve(server, [{"name": "app", "version": "1.0", "requires": ["core<2", "plug"]}, *_plugs(6, "core>=2.1")])
        with _index(server) as index:
            report = check(index, [LINUX], [parse_requirement_line("app")], nearest=False)
    cell = report.cells[0]
    assert cell.verdict == "blocked"
    assert [(b.project, b.reason) for b in cell.blockers] == [("core", "conflict")]
    assert "core<2" in cell.blockers[0].requirement and "plug" in cell.blockers[0].requirement

"""Synthetic scenarios (tests/scenarios/*.toml): real wheels and sdists on a loopback index.

Each file gives the distributions (name, version, wheel tag or sdist, requirements,
Requires-Python, yanked), what is asked for on which target and Python, and the
expected verdict, pins, blockers (project, reason, chain, what it has), the
sdists to build, the knowledge rules applied and where it would work instead.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.indexserver import IndexServer, ServedFile
from helpers.wheels import make_metadata, make_sdist, make_wheel, wheel_filename
from packaging.ranges import VersionRange
from packaging.specifiers import SpecifierSet

from wheelwise.check import Cell, check
from wheelwise.cli.words import cell_lines
from wheelwise.index import Fetcher, IndexSettings, PackageIndex
from wheelwise.knowledge import Constraint, Replacement, load, parse_constraints
from wheelwise.requirements import parse_requirement_line
from wheelwise.resolve import Shared
from wheelwise.resolve.provider import Provider
from wheelwise.target import Target, parse_pythons, parse_target

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

BINARIES = Path(__file__).parent / "data" / "binaries"
SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.toml"))


def serve(server: IndexServer, dists: list[dict[str, Any]]) -> None:
    for d in dists:
        fields: dict[str, Any] = {
            "requires_dist": d.get("requires", []),
            "provides_extra": d.get("provides_extra", []),
            "requires_python": d.get("metadata_requires_python", d.get("requires_python")),
        }
        page_fields = {"requires_python": d.get("requires_python"), "yanked": d.get("yanked")}
        if d.get("sdist"):
            files = {f"{d['name']}/__init__.py": b""}
            if d.get("native"):
                files[f"{d['name']}/_speedups.c"] = b"int f(void) { return 1; }\n"
            for binary in d.get("ships", []):  # real prebuilt binaries from tests/data/binaries
                files[f"{d['name']}/{binary}"] = (BINARIES / binary).read_bytes()
            content = make_sdist(d["name"], d["version"], files=files, **fields)
            filename = f"{d['name'].replace('-', '_')}-{d['version']}.tar.gz"
            metadata = make_metadata(d["name"], d["version"], metadata_version="2.2", **fields)
            server.add(ServedFile(filename, content=content, metadata=metadata, **page_fields))
        else:
            tag = d.get("tag", "py3-none-any")
            server.add_wheel(wheel_filename(d["name"], d["version"], tag), make_wheel(d["name"], d["version"], tag, **fields), **page_fields)


def generated(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Levels of many versions, each depending on a range of the next, down to one leaf."""
    levels, count = spec["levels"], spec["versions"]
    dists = []
    for level, below in zip(levels, [*levels[1:], spec["leaf"]], strict=True):
        for i in range(1, count + 1):
            requires = [f"{below}<={i}.0"] if below != spec["leaf"] else [below]
            dists.append({"name": level, "version": f"{i}.0", "requires": requires})
    dists.append({"name": spec["leaf"], "version": "1.0", "tag": spec["leaf_tag"]})
    return dists


def shipped(ids: list[str]) -> tuple[Constraint, ...]:
    """The shipped knowledge rules with these ids (each must exist)."""
    rules = {rule.id: rule for rule in load().constraints}
    return tuple(rules[i] for i in ids)


def shipped_replacements(ids: list[str]) -> tuple[Replacement, ...]:
    """The shipped replacements with these ids (each must exist)."""
    known = {r.id: r for r in load().replacements}
    return tuple(known[i] for i in ids)


def run_scenario(path: Path) -> tuple[dict[str, Any], Cell]:
    spec = tomllib.loads(path.read_text())
    with IndexServer() as server:
        serve(server, spec["dists"] + (generated(spec["generate"]) if "generate" in spec else []))
        (python, free_threaded), = parse_pythons(spec["python"])
        target = parse_target(spec["target"], python, free_threaded)
        requested = [parse_requirement_line(r) for r in spec["request"]]
        constraints = [parse_requirement_line(c, "constraints") for c in spec.get("constraints", [])]
        rules = parse_constraints(spec["rules"]) if "rules" in spec else shipped(spec.get("shipped_rules", []))
        with PackageIndex(IndexSettings(index_url=server.url), fetcher=Fetcher(timeout=5, retries=0)) as index:
            replacements = shipped_replacements(spec.get("shipped_replacements", []))
            report = check(index, [target], requested, constraints, rules, replacements=replacements)
    return spec["expect"], report.cells[0]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    expect, cell = run_scenario(path)
    shown = cell.to_dict()
    assert cell.verdict == expect["verdict"], shown
    if "pins" in expect:
        pins = {name: str(c.version) for name, c in cell.pins.items()}
        assert pins == expect["pins"], shown
    if "files" in expect:
        assert {n: c.file.filename for n, c in cell.pins.items() if c.file and n in expect["files"]} == expect["files"], shown
    if cell.verdict == "blocked":
        assert cell.blockers, shown
    for wanted in expect.get("blockers", []):
        matching = [b for b in cell.blockers if b.project == wanted["project"]]
        assert matching, (wanted, shown)
        blocker = matching[0]
        assert blocker.reason == wanted["reason"], shown
        if "chain" in wanted:
            assert list(blocker.chain) == wanted["chain"], shown
        if "available" in wanted:
            assert blocker.available == wanted["available"], shown
        if "versions" in wanted:
            assert list(blocker.versions) == wanted["versions"], shown
        if "needs" in wanted:
            assert blocker.needs == wanted["needs"], shown
    if "blockers" in expect:
        assert {b.project for b in cell.blockers} == {b["project"] for b in expect["blockers"]}, shown
    for wanted in expect.get("build", []):
        items = [b for b in cell.build if b.name == wanted["name"]]
        assert items and items[0].native is wanted["native"], shown
        assert list(items[0].binaries) == wanted.get("binaries", []), shown
    assert cell.not_examined == expect.get("not_examined", []), shown
    assert cell.all_warnings == expect.get("warnings", []), shown
    held = [f"{h.name} {h.version} ({h.newer} here) by {h.constraint} at {h.source}" for h in cell.held]
    assert held == expect.get("held", []), shown
    assert [f"{u.name} {u.version} needs {u.rule.project}: {u.rule.id}" for u in cell.unmet] == expect.get("unmet", []), shown
    if cell.verdict != "build":
        assert not cell.build
    assert sorted(r.id for r in cell.knowledge) == sorted(expect.get("knowledge", [])), shown
    for rule_id, text in expect.get("applied", {}).items():
        assert next(k for k in shown["knowledge"] if k["id"] == rule_id)["applied"] == text, shown
    got = [{k: r[k] for k in ("replaces", "name", "verdict", "version", "source") if r[k] is not None} for r in shown["replacements"]]
    assert got == expect.get("replacements", []), shown
    text = ["".join(t for _, t in line.spans) for line in cell_lines(cell, set(), nearest_searched=True)]
    if "replacement_line" in expect:
        assert expect["replacement_line"] in text, text
    for words in expect.get("absent_words", []):  # said nowhere in the cell's text
        assert not any(words in line for line in text), text
    labels = [n.target.label for n in cell.nearest]
    for label in expect.get("nearest", []):
        assert label in labels, shown
    if cell.verdict != "blocked":
        assert not cell.nearest


def _provider(index: PackageIndex, target: Target) -> Provider:
    per = Shared(index).per(target, False)
    return Provider(target, per.finder, per.dependencies, per.prefetcher)


def _wait_for(server: IndexServer, wanted: set[str]) -> set[str]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not wanted <= {r.path for r in server.requests(r"\.metadata$")}:
        time.sleep(0.02)
    return {r.path for r in server.requests(r"\.metadata$")}


def test_dependencies_are_read_ahead_of_the_resolver() -> None:
    """Once a candidate's metadata arrives, its dependencies' pages and their newest metadata
    are fetched down the tree without waiting for the resolver to ask (as uv does)."""
    chain = [f"link{i}" for i in range(8)]
    dists = [{"name": "app", "version": "1.0", "requires": [chain[0]]}]
    dists += [{"name": n, "version": "1.0", "requires": [chain[i + 1]] if i + 1 < len(chain) else []} for i, n in enumerate(chain)]
    with IndexServer() as server:
        serve(server, dists)
        with PackageIndex(IndexSettings(index_url=server.url), fetcher=Fetcher(timeout=5, retries=0)) as index:
            provider = _provider(index, parse_target("linux-x86_64", (3, 12)))
            # the resolver's first question only: which version of app
            assert str(provider.choose_version("app", VersionRange.full())) == "1.0"
            wanted = {f"/files/{wheel_filename(n, '1.0')}.metadata" for n in chain}
            assert wanted <= _wait_for(server, wanted)


def test_refused_versions_are_read_ahead_of_the_resolver() -> None:
    """When the resolver asks again for a project (it refused the version it took), the
    metadata of the next ones is read in parallel: not one round trip per refusal."""
    versions = [f"{v}.0" for v in range(12, 0, -1)]
    with IndexServer() as server:
        serve(server, [{"name": "lib", "version": v} for v in versions])
        with PackageIndex(IndexSettings(index_url=server.url), fetcher=Fetcher(timeout=5, retries=0)) as index:
            provider = _provider(index, parse_target("linux-x86_64", (3, 12)))
            assert str(provider.choose_version("lib", VersionRange.full())) == "12.0"
            below = SpecifierSet("<12").to_range()
            assert str(provider.choose_version("lib", below)) == "11.0"
            wanted = {f"/files/{wheel_filename('lib', v)}.metadata" for v in versions[:5]}
            # two versions taken by the resolver, the next ones read by the index
            assert wanted <= _wait_for(server, wanted)

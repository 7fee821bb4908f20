"""The shipped knowledge loads and validates; bad entries are refused with file and entry named."""

from __future__ import annotations

import re

import pytest
from packaging.version import Version

from wheelwise.errors import KnowledgeError
from wheelwise.knowledge import DATA_FILES, _read, load, load_constraints, load_files
from wheelwise.target import PRESETS


def test_every_shipped_entry_is_cited_and_dated() -> None:
    k = load()
    every = (*k.constraints, *k.coverage, *k.stacks, *k.python_support, *k.platform_support, *k.pip_needs, *k.driver_needs, *k.replacements, *k.signatures)
    assert len(every) > 80
    for entry in every:
        assert entry.sources and all(s.startswith("https://") for s in entry.sources), entry.id
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", entry.verified), entry.id


def test_stacks_cover_each_framework_and_accelerator() -> None:
    k = load()
    pairs = {(s.framework, s.accelerator) for s in k.stacks}
    assert pairs >= {("tensorflow", "cpu"), ("tensorflow", "metal"), ("tensorflow", "cuda"), ("torch", "cpu"), ("torch", "mps"), ("torch", "cuda"), ("jax", "cpu"), ("jax", "cuda")}
    # jax-metal is a dead end, not a stack: plan says so and names what people use instead
    assert ("jax", "metal") not in pairs
    dead = k.dead_end("jax", "metal", "macos-arm64")
    assert dead is not None and any("MLX" in a for a in dead.alternatives)
    assert [str(r) for r in dead.last_working] == ["jax==0.5.0", "jaxlib==0.5.0", "jax-metal==0.1.1"]
    assert all(p in PRESETS for s in k.stacks for p in s.platforms)
    cuda = [s for s in k.stacks if s.accelerator == "cuda"]
    assert all(s.cuda is not None and k.driver_for(s.cuda) is not None for s in cuda)


def test_resolution_gets_only_narrowing_rules() -> None:
    rules = load_constraints()
    assert {r.id for r in rules} >= {"tensorflow-metal-1.2-needs-tf-below-2.20", "tensorflow-text-matches-tensorflow", "jax-metal-0.1.1-needs-jax-below-0.5.1"}
    assert all(r.require is not None or r.forbid is not None or r.needs is not None for r in rules)
    assert "jax-needs-jaxlib" in {r.id for r in rules}
    assert not any(r.macos is not None for r in rules)


def test_templated_requirement_follows_the_triggering_version() -> None:
    rule = next(r for r in load().constraints if r.id == "tensorflow-text-matches-tensorflow")
    assert str(rule.requirement_for(Version("2.18.1"))) == "tensorflow==2.18.*"
    assert rule.applies_to("tensorflow_text", Version("2.18.1"))
    assert not rule.applies_to("tensorflow", Version("2.18.1"))


def test_coverage_and_replacements_answer() -> None:
    k = load()
    cover = k.covered_through("tensorflow_metal")
    assert cover is not None and cover.through == Version("1.2.0")
    assert k.replacement_for("tflite-model-maker") is not None
    assert k.replacement_for("tensorflow-macos", Version("2.12.0")) is None
    assert k.replacement_for("tensorflow-macos", Version("2.16.2")) is not None


def _files(**changes: str) -> dict[str, str]:
    files = {name: _read(name) for name in DATA_FILES}
    files.update(changes)
    return files


@pytest.mark.parametrize(
    ("name", "addition", "message"),
    [
        ("constraints.toml", '[[rule]]\nid = "x"\nwhen = "a"\nrequire = "b>=="\nsummary = "s"\nsources = ["https://e.org"]\nverified = "2026-11-21"\n', "'require' = 'b>==' does not parse"),
        ("constraints.toml", '[[rule]]\nid = "x"\nwhen = "a"\nforbid = "b"\nsummary = "s"\nsources = ["e.org/page"]\nverified = "2026-11-21"\n', "is not an https URL"),
        ("constraints.toml", '[[rule]]\nid = "x"\nwhen = "a"\nforbid = "b"\nsummary = "s"\nsources = ["https://e.org"]\n', "'verified' must be the date"),
        ("constraints.toml", '[[rule]]\nid = "x"\nwhen = "a"\nforbid = "b"\nneeds = "c"\nsummary = "s"\nsources = ["https://e.org"]\nverified = "2026-11-21"\n', "exactly one of"),
        ("constraints.toml", '[[rule]]\nid = "x"\nwhen = "unknown-project"\nforbid = "other"\nsummary = "s"\nsources = ["https://e.org"]\nverified = "2026-11-21"\n', "[[coverage]]"),
        ("signatures.toml", '[[signature]]\nid = "x"\npattern = "(unclosed"\ntitle = "t"\ncause = "c"\nfix = "f"\nsummary = "s"\nsources = ["https://e.org"]\nverified = "2026-11-21"\n', "'pattern' = '(unclosed' does not parse"),
        ("signatures.toml", '[[signature]]\nid = "x"\npattern = "p"\ncause = "c"\nfix = "f"\nsummary = "s"\nsources = ["https://e.org"]\nverified = "2026-11-21"\n', "'title' must be a non-empty string"),
        ("stacks.toml", '[[stack]]\nid = "x"\nframework = "mxnet"\naccelerator = "cpu"\nplatforms = ["linux-x86_64"]\npackages = ["mxnet"]\nreleases = ">=1"\nsummary = "s"\nsources = ["https://e.org"]\nverified = "2026-11-21"\n', "'framework' = 'mxnet' is not one of"),
        ("stacks.toml", '[[stack]]\nid = "x"\nframework = "torch"\naccelerator = "cpu"\nplatforms = ["solaris-sparc"]\npackages = ["torch"]\nreleases = ">=1"\nsummary = "s"\nsources = ["https://e.org"]\nverified = "2026-11-21"\n', "platform 'solaris-sparc'"),
        ("support.toml", '[[python]]\nid = "x"\nproject = "torch"\nreleases = ">=2"\npython = "3.10+"\nsummary = "s"\nsources = ["https://e.org"]\nverified = "2026-11-21"\n', "'python' = '3.10+' does not parse"),
        ("replacements.toml", '[[replacement]]\nid = "tensorflow-macos-to-tensorflow"\nold = "a"\nnew = "b"\nsummary = "s"\nsources = ["https://e.org"]\nverified = "2026-11-21"\n', "is used twice"),
    ],
)
def test_a_bad_entry_is_refused_naming_file_and_entry(name: str, addition: str, message: str) -> None:
    with pytest.raises(KnowledgeError) as err:
        load_files(_files(**{name: _read(name) + "\n" + addition}))
    assert name in err.value.message
    assert message in err.value.message


def test_broken_toml_names_the_file() -> None:
    with pytest.raises(KnowledgeError, match=r"support\.toml: not valid TOML"):
        load_files(_files(**{"support.toml": "[[python]\n"}))


def test_plan_for_jax_on_metal_names_the_dead_end_and_its_alternatives(index_server: object, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from helpers.indexserver import IndexServer

    from wheelwise.cli import main

    assert isinstance(index_server, IndexServer)
    code = main(["plan", "jax", "--accelerator", "metal", "-t", "macos-arm64", "-p", "3.12", "-i", index_server.url, "--json"])
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert code == 1 and not plan["ok"] and plan["stack"] is None
    assert "jax-metal is abandoned" in plan["reason"] and "MLX" in plan["reason"] and "jax-metal==0.1.1" in plan["reason"]
    assert index_server.requests(r".") == []  # decided from knowledge: nothing to resolve

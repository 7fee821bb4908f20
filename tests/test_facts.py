"""Facts files (``doctor --facts``, ``explain --facts``) are checked field by field.

Every field of every recorded facts document and of one collected here is given a
value of another JSON type, one at a time: each must be exit 2 naming the file and the
field, never a crash (before, about one such file in seven crashed a check).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wheelwise.cli import main
from wheelwise.facts import MAX_FACTS_BYTES, collect

FACTS = Path(__file__).parent / "data" / "facts"


def _documents() -> dict[str, dict[str, Any]]:
    docs = {p.stem: json.loads(p.read_text()) for p in sorted(FACTS.glob("*.json"))}
    docs["collected-here"] = collect()
    return docs


def _paths(node: Any, path: str = "") -> Iterator[tuple[str, list[str | int], Any]]:
    """(shown path, keys, value) of every field; of a list, its first item only."""
    items: list[tuple[str | int, Any]] = list(node.items()) if isinstance(node, dict) else list(enumerate(node[:1]))
    for key, value in items:
        shown = f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else key)
        yield shown, [key], value
        if isinstance(value, (dict, list)):
            for inner, keys, found in _paths(value, shown):
                yield inner, [key, *keys], found


def _wrong(value: Any) -> list[Any]:
    """Values no field that held *value* accepts."""
    if isinstance(value, bool):
        return ["yes", 1]
    if isinstance(value, int):
        return ["12", 1.5]
    if isinstance(value, str):
        return [12345, ["x"]]
    if isinstance(value, list):
        return ["x", {}]
    if isinstance(value, dict):
        return [[], "x"]
    return []  # null: the field's type is not known from it


def _cases() -> list[Any]:
    cases = []
    for name, doc in _documents().items():
        for shown, keys, value in _paths(doc):
            if shown == "schema":
                continue
            for wrong in _wrong(value):
                cases.append(pytest.param(doc, keys, shown, wrong, id=f"{name}:{shown}={json.dumps(wrong)}"))
    return cases


def _set(doc: dict[str, Any], keys: list[str | int], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(doc)
    node: Any = changed
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    return changed


@pytest.mark.parametrize(("doc", "keys", "shown", "wrong"), _cases())
def test_a_field_of_the_wrong_type_is_exit_2_naming_it(doc: dict[str, Any], keys: list[str | int], shown: str, wrong: Any,
                                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(_set(doc, keys, wrong)))
    assert main(["doctor", "--facts", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: facts field '{shown}' should be " in err, err
    assert "Traceback" not in err


def test_explain_checks_facts_the_same_way(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads((FACTS / "m1pro-rosetta.json").read_text())
    doc["hardware"]["rosetta"] = "yes"
    facts, log = tmp_path / "facts.json", tmp_path / "log.txt"
    facts.write_text(json.dumps(doc))
    log.write_text("zsh: illegal hardware instruction  python -c \"import tensorflow as tf\"\n")
    assert main(["explain", str(log), "--facts", str(facts)]) == 2
    assert "facts field 'hardware.rosetta' should be true or false or null, not str \"yes\"" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("[" * 100_000, "nested too deeply", id="deep-nesting"),
        pytest.param('{"schema": "wheelwise.facts/1"}', "facts lack the 'os' field", id="missing-object"),
        pytest.param('{"schema": ["x"]}', "facts schema", id="schema-not-a-string"),
        pytest.param("\udcff", "not UTF-8", id="not-utf8"),
    ],
)
def test_malformed_facts_files(content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "facts.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    assert main(["doctor", "--facts", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_a_huge_facts_file_is_refused_unread(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "facts.json"
    with path.open("w") as f:
        f.write('{"schema": "wheelwise.facts/1", "pad": "')
        f.write("x" * (MAX_FACTS_BYTES + 10))
        f.write('"}')
    assert main(["doctor", "--facts", str(path)]) == 2
    assert "larger than 32 MiB" in capsys.readouterr().err

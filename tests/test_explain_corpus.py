"""explain against real logs: every excerpt in tests/data/explain/corpus.toml, pasted in a
public thread (its URL is in the file), must be recognised with the cause the thread's fix
shows, and the look-alikes must match nothing.

Cases marked ``holdout`` were collected after the signatures were written and never used to
tune one; the recognition rates of both groups are printed by
``python -m pytest tests/test_explain_corpus.py -q -s -k rate``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from wheelwise.explain import Host, explain
from wheelwise.knowledge import load

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

CORPUS = Path(__file__).parent / "data" / "explain" / "corpus.toml"
CASES: list[dict[str, Any]] = tomllib.loads(CORPUS.read_text(encoding="utf-8"))["case"]
SIGNATURES = load().signatures


def outcome(case: dict[str, Any]) -> tuple[bool, list[str]]:
    """Whether explain gives the expected cause (and nothing it should not), and what it gave."""
    host = Host(os=case["host"], source="facts") if "host" in case else None
    ids = [m.signature.id for m in explain(case["text"], SIGNATURES, host)]
    if case["expect"] == "none":
        return ids == [], ids
    allowed = {case["expect"], *case.get("also", [])}
    return case["expect"] in ids and set(ids) <= allowed, ids


def test_corpus_is_large_cited_and_names_known_signatures() -> None:
    known = {s.id for s in SIGNATURES} | {"none"}
    assert len(CASES) >= 100
    assert sum(1 for c in CASES if c["expect"] == "none") >= 10
    assert sum(1 for c in CASES if c.get("holdout")) >= 30
    for case in CASES:
        assert case["url"].startswith("https://github.com/"), case
        assert case["expect"] in known and set(case.get("also", [])) <= known, case
        assert case["text"].strip()


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['expect']}" for i, c in enumerate(CASES)])
def test_real_log_is_explained_with_its_cause(case: dict[str, Any]) -> None:
    ok, ids = outcome(case)
    assert ok, f"{case['url']}: expected {case['expect']}, explain gave {ids}"


def test_recognition_rate(capsys: pytest.CaptureFixture[str]) -> None:
    lines = []
    for name, group in (("tuned", [c for c in CASES if not c.get("holdout")]), ("holdout", [c for c in CASES if c.get("holdout")])):
        good = sum(outcome(c)[0] for c in group)
        lines.append(f"{name}: {good}/{len(group)} recognised with the right cause")
    looks = [c for c in CASES if c["expect"] == "none"]
    lines.append(f"look-alikes matched: {sum(not outcome(c)[0] for c in looks)}/{len(looks)}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert all(outcome(c)[0] for c in looks)

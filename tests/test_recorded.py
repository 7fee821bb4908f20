"""Recorded real index data: it loads, it is consistent, and it serves like the live index."""

from __future__ import annotations

import hashlib
import json

import pytest
from helpers.indexserver import RECORDED, IndexServer, load_recorded
from packaging.requirements import InvalidRequirement, Requirement

from wheelwise.index import Fetcher, IndexSettings, PackageIndex, parse_core_metadata
from wheelwise.show import summarize

PAGES = sorted(RECORDED.glob("*.json"))


def test_the_recording_covers_the_seed_projects() -> None:
    names = {json.loads(p.read_text())["name"] for p in PAGES}
    wanted = {"tflite-model-maker", "mediapipe-model-maker", "tensorflow", "tensorflow-metal", "torch", "jax", "jax-metal"}
    assert wanted <= names
    assert {"tflite-support", "scann", "tensorflow-text", "jaxlib"} <= names  # and what they depend on


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_page_is_consistent(page) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(page.read_text())
    for entry in data["files"]:
        assert entry["url"] == f"../../files/{entry['filename']}"  # stored relative
        text = data["metadata"][entry["core-metadata"]["sha256"]].encode()
        assert hashlib.sha256(text).hexdigest() == entry["core-metadata"]["sha256"]
        meta = parse_core_metadata(text)
        assert meta.name.replace("_", "-").replace(".", "-").lower() == data["name"]
        for dep in meta.requires_dist:
            try:
                Requirement(dep)
            except InvalidRequirement:
                # real metadata of old releases holds a few such strings; they must stay rare
                assert meta.name == "tflite-model-maker", dep


@pytest.mark.parametrize("mode", ["json", "html"])
def test_recorded_data_serves_like_the_index(mode: str) -> None:
    with IndexServer(mode=mode) as server:
        server.add(*load_recorded(["tensorflow-metal", "tensorflow"]))
        fetcher = Fetcher(timeout=5, retries=0)
        with PackageIndex(IndexSettings(index_url=server.url), fetcher=fetcher) as index:
            metal = summarize(index, "tensorflow-metal")
            tf = summarize(index, "tensorflow>=2.16,<2.17")
    # tensorflow-metal declares no tensorflow requirement: the reason for the knowledge base
    assert not any(Requirement(r).name == "tensorflow" for r in metal.requires_dist)
    assert all(f.filename.endswith("macosx_12_0_arm64.whl") for f in metal.files)
    assert tf.version is not None and tf.version.startswith("2.16.")
    assert "and-cuda" in tf.provides_extra
    assert [r.path.rsplit(".", 1)[-1] for r in server.requests("/files/")] == ["metadata", "metadata"]

"""``wheelwise show`` at scale: a project page of 100,000 files."""

from __future__ import annotations

import json
import time

import pytest
from helpers.indexserver import IndexServer, ServedFile

from wheelwise.cli import main


def test_a_page_of_100000_files_is_shown_in_seconds(index_server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    # every file its own version, the newest yanked: the old code asked the whole page
    # once per version (quadratic: 20 minutes for this page)
    count = 100_000
    for i in range(count):
        meta = f"Metadata-Version: 2.1\nName: big\nVersion: 1.{i}\nRequires-Dist: dep{i}\n".encode()
        index_server.add(ServedFile(f"big-1.{i}-py3-none-any.whl", metadata=meta, yanked="broken" if i == count - 1 else None))
    started = time.monotonic()
    code = main(["show", "big", "--json", "--index-url", index_server.url])
    elapsed = time.monotonic() - started
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert len(doc["project"]["versions"]) == count
    assert doc["project"]["version"] == f"1.{count - 2}"  # the newest not yanked
    assert doc["project"]["requires_dist"] == [f"dep{count - 2}"]
    # about 8 s alone, 30 s beside two busy loops on a shared machine; quadratic was 20 minutes
    assert elapsed < 300, f"show took {elapsed:.0f} s for {count} files"

"""The SQLite cache: hits, revalidation, offline, several writers, a damaged file."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer
from helpers.wheels import make_wheel, wheel_filename

from wheelwise.cache import Cache, CachedPage
from wheelwise.errors import IndexFetchError, OfflineMissError
from wheelwise.index import Fetcher, IndexSettings, PackageIndex


def open_index(server: IndexServer, cache: Cache, **kwargs: object) -> PackageIndex:
    return PackageIndex(
        IndexSettings(index_url=server.url), cache=cache, fetcher=Fetcher(timeout=5, retries=0), **kwargs  # type: ignore[arg-type]
    )


@pytest.fixture
def served(index_server: IndexServer) -> IndexServer:
    index_server.pep658 = False
    for version in ("1.0", "2.0"):
        index_server.add_wheel(wheel_filename("demo", version), make_wheel("demo", version, requires_dist=["six"]))
    return index_server


def test_second_run_is_answered_from_the_cache(served: IndexServer, tmp_path: Path) -> None:
    with open_index(served, Cache(tmp_path)) as index:
        page = index.project("demo")
        for f in page.files:
            index.metadata(f)
    served.clear_log()
    with open_index(served, Cache(tmp_path)) as index:
        page = index.project("demo")
        assert {index.metadata(f).how for f in page.files} == {"cache"}
    assert served.requests() == []


def test_stale_page_is_revalidated_with_its_etag(served: IndexServer, tmp_path: Path) -> None:
    with open_index(served, Cache(tmp_path)) as index:
        first = index.project("demo")
    served.clear_log()
    with open_index(served, Cache(tmp_path), ttl=0) as index:
        assert index.project("demo") == first
    (request,) = served.requests("/simple/demo/")
    assert request.status == 304


def test_refresh_asks_even_when_fresh(served: IndexServer, tmp_path: Path) -> None:
    with open_index(served, Cache(tmp_path)) as index:
        index.project("demo")
    served.add_wheel(wheel_filename("demo", "3.0"), make_wheel("demo", "3.0"))
    with open_index(served, Cache(tmp_path)) as index:
        assert "3.0" not in [str(v) for v in index.project("demo").versions()]
    with open_index(served, Cache(tmp_path), refresh=True) as index:
        assert "3.0" in [str(v) for v in index.project("demo").versions()]


def test_offline_uses_the_cache_and_names_what_is_missing(served: IndexServer, tmp_path: Path) -> None:
    with open_index(served, Cache(tmp_path)) as index:
        page = index.project("demo")
        index.metadata(page.files[0])
    served.clear_log()
    with open_index(served, Cache(tmp_path), offline=True) as index:
        assert index.project("demo") == page
        assert index.metadata(page.files[0]).how == "cache"
        with pytest.raises(OfflineMissError) as missing_meta:
            index.metadata(page.files[1])
        with pytest.raises(OfflineMissError) as missing_page:
            index.project("six")
    assert served.requests() == []
    assert page.files[1].filename in missing_meta.value.message
    assert "the page of six" in missing_page.value.message and missing_page.value.exit_code == 3


def test_error_says_the_cache_could_serve(served: IndexServer, tmp_path: Path) -> None:
    with open_index(served, Cache(tmp_path)) as index:
        index.project("demo")
    served.fault("/simple/demo/", "status", 500)
    with open_index(served, Cache(tmp_path), ttl=0) as index, pytest.raises(IndexFetchError) as info:
        index.project("demo")
    assert info.value.cached and "--offline" in (info.value.hint or "")


def _writer(directory: str, worker: int, count: int) -> None:
    cache = Cache(Path(directory))
    for i in range(count):
        cache.put_metadata(f"sha256:{worker}-{i}", f"Name: p{worker}\n".encode() * 50, None, "range")
        cache.put_page(CachedPage(f"https://x.invalid/{worker}/{i}/", time.time(), 200, None, None, "{}"))


def test_concurrent_writers_do_not_corrupt(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w, 60)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    cache = Cache(tmp_path)
    for w in range(4):
        for i in range(60):
            hit = cache.get_metadata(f"sha256:{w}-{i}")
            assert hit is not None and hit[0].startswith(f"Name: p{w}".encode())
            assert cache.get_page(f"https://x.invalid/{w}/{i}/") is not None


def test_a_damaged_cache_file_is_rebuilt(served: IndexServer, tmp_path: Path) -> None:
    with open_index(served, Cache(tmp_path)) as index:
        index.project("demo")
    (db,) = tmp_path.glob("*.sqlite3")
    for extra in tmp_path.glob("*.sqlite3-*"):
        extra.unlink()
    db.write_bytes(b"this is not a database" * 100)
    cache = Cache(tmp_path)
    with open_index(served, cache) as index:
        assert len(index.project("demo").files) == 2
    assert cache.rebuilt_from is not None and cache.rebuilt_from.exists()
    assert Cache(tmp_path).get_page(f"{served.url}demo/") is not None

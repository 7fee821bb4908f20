"""The cache is an optimisation, never a failure: wheelwise run as a real process against a cache
folder that is read-only, a regular file, over a file-size limit (as on a full disk), damaged, or
holding broken rows.  Each run still answers, warns once on stderr, and never loses a valid cache."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import resource
import sqlite3
import stat
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer
from helpers.wheels import make_wheel, wheel_filename

from wheelwise.cache import Cache, CachedPage

CACHE_FILE = "cache-v3.sqlite3"
# <linux/prctl.h>, <linux/capability.h>
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


@pytest.fixture
def served(index_server: IndexServer) -> IndexServer:
    index_server.pep658 = False
    index_server.add_wheel(wheel_filename("demo", "1.0"), make_wheel("demo", "1.0", requires_dist=["six"]))
    index_server.add_wheel(wheel_filename("six", "1.16.0"), make_wheel("six", "1.16.0"))
    return index_server


def check(
    server: IndexServer, cache_dir: Path, *extra: str, preexec: Callable[[], None] | None = None
) -> subprocess.CompletedProcess[str]:
    """``wheelwise check demo`` in its own process, with *cache_dir* as its cache."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, NO_COLOR="1", WHEELWISE_CACHE_DIR=str(cache_dir), HOME=str(cache_dir.parent))
    argv = [sys.executable, "-m", "wheelwise", "check", "demo", "-i", server.url, "-t", "linux-x86_64", "-p", "3.12", *extra]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, preexec_fn=preexec)  # noqa: PLW1509 - the test's own fault


def answered(run: subprocess.CompletedProcess[str]) -> bool:
    return run.returncode == 0 and "pins demo 1.0 (+1 dependency)" in run.stdout and "Traceback" not in run.stderr


def warnings_in(run: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("warning: ")]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def settle(cache_dir: Path) -> Path:
    """The cache file, with its WAL folded in (as the last process to close it leaves it)."""
    db = cache_dir / CACHE_FILE
    with contextlib.closing(sqlite3.connect(db)) as conn:  # closed before its WAL files go
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for extra in cache_dir.glob(f"{CACHE_FILE}-*"):
        extra.unlink()
    return db


def page_count(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM pages").fetchone()[0])


def file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def _drop_permission_override() -> None:
    """Root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH obeys permission bits like anyone
    (PR_CAPBSET_DROP before exec: the new program never gets them)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def obeying_permissions() -> Callable[[], None] | None:
    """What makes a wheelwise process obey file modes: nothing for a user, dropped capabilities for root."""
    if os.getuid() != 0:
        return None
    probe = subprocess.run(["true"], preexec_fn=_drop_permission_override, check=False)  # noqa: PLW1509
    if probe.returncode != 0:  # pragma: no cover - a root without CAP_SETPCAP
        pytest.skip("running as root and cannot drop CAP_DAC_OVERRIDE")
    return _drop_permission_override


def test_a_fresh_cache_is_private_to_its_user(served: IndexServer, tmp_path: Path) -> None:
    cache_dir = tmp_path / "deep" / "cache"
    run = check(served, cache_dir)
    assert answered(run) and warnings_in(run) == []
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    files = list(cache_dir.glob(f"{CACHE_FILE}*"))
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files), [(f, oct(f.stat().st_mode)) for f in files]


def test_an_older_world_readable_cache_file_is_made_private(tmp_path: Path) -> None:
    Cache(tmp_path).put_metadata("sha256:x", b"Name: x\n", None, "pep658")
    db = settle(tmp_path)
    db.chmod(0o644)
    assert Cache(tmp_path).get_metadata("sha256:x") is not None
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_a_cache_path_that_is_a_file(served: IndexServer, tmp_path: Path) -> None:
    path = tmp_path / "cache"
    path.write_text("my notes")
    run = check(served, path)
    assert answered(run), run.stderr
    (warning,) = warnings_in(run)
    assert f"the cache in {path} cannot be used (not a directory)" in warning and "WHEELWISE_CACHE_DIR" in warning
    assert path.read_text() == "my notes"


def test_a_read_only_cache_is_read_and_not_written(served: IndexServer, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    assert answered(check(served, cache_dir))
    db = settle(cache_dir)
    before = digest(db)
    preexec = obeying_permissions()
    cache_dir.chmod(0o555)
    db.chmod(0o444)
    served.clear_log()
    try:
        run = check(served, cache_dir, preexec=preexec)
        pages_asked = served.requests("/simple/")
        refreshed = check(served, cache_dir, "--refresh", preexec=preexec)
    finally:
        cache_dir.chmod(0o700)
    assert answered(run), run.stderr
    assert pages_asked == [], "fresh pages come from the read-only cache"
    (warning,) = warnings_in(run)
    assert f"the cache in {cache_dir} cannot be written" in warning and "it is read" in warning
    assert answered(refreshed) and len(warnings_in(refreshed)) == 1
    assert digest(db) == before and sorted(p.name for p in cache_dir.iterdir()) == [CACHE_FILE]


def test_an_unreadable_cache_answers_from_the_index(served: IndexServer, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    assert answered(check(served, cache_dir))
    db = settle(cache_dir)
    before = digest(db)
    preexec = obeying_permissions()
    cache_dir.chmod(0o000)
    served.clear_log()
    try:
        run = check(served, cache_dir, preexec=preexec)
    finally:
        cache_dir.chmod(0o700)
    assert answered(run), run.stderr
    (warning,) = warnings_in(run)
    assert "cannot be used" in warning
    assert served.requests("/simple/demo/")
    assert digest(db) == before


@pytest.mark.parametrize("limit", [0, 4096], ids=["nothing-fits", "part-fits"])
def test_a_file_size_limit_keeps_the_valid_cache(served: IndexServer, tmp_path: Path, limit: int) -> None:
    """RLIMIT_FSIZE makes every write past *limit* fail with EFBIG (Python ignores SIGXFSZ), as a full disk does."""
    cache_dir = tmp_path / "cache"
    assert answered(check(served, cache_dir))
    db = settle(cache_dir)
    before, pages = digest(db), page_count(db)
    assert pages == 2
    served.add_wheel(wheel_filename("demo", "1.1"), make_wheel("demo", "1.1", requires_dist=["six"]))
    served.clear_log()
    run = check(served, cache_dir, "--refresh", preexec=file_size_limit(limit))
    assert run.returncode == 0 and "pins demo 1.1 (+1 dependency)" in run.stdout, run.stderr
    assert len(warnings_in(run)) <= 1 and "Traceback" not in run.stderr
    assert served.requests("/simple/demo/"), "--refresh asks the index"
    assert not list(cache_dir.glob("*.corrupt*")), "a valid cache is never moved aside"
    if limit == 0:
        (warning,) = warnings_in(run)
        assert "cannot be written" in warning
        assert digest(db) == before
    assert page_count(settle(cache_dir)) == pages
    served.clear_log()
    again = check(served, cache_dir)  # the cache still serves, untouched by the failed writes
    assert again.returncode == 0 and "pins demo 1." in again.stdout, again.stderr
    assert warnings_in(again) == []


def test_a_file_size_limit_on_an_empty_cache(served: IndexServer, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    run = check(served, cache_dir, preexec=file_size_limit(0))
    assert answered(run), run.stderr
    (warning,) = warnings_in(run)
    assert "cannot be used" in warning


def test_a_damaged_file_is_set_aside_once_and_rebuilt(served: IndexServer, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o700)
    (cache_dir / CACHE_FILE).write_bytes(b"this is not a database" * 100)
    run = check(served, cache_dir)
    assert answered(run), run.stderr
    (warning,) = warnings_in(run)
    assert "was damaged: moved to cache-v3.sqlite3.corrupt" in warning
    assert (cache_dir / f"{CACHE_FILE}.corrupt").read_bytes() == b"this is not a database" * 100
    assert page_count(settle(cache_dir)) == 2
    served.clear_log()
    again = check(served, cache_dir)
    assert answered(again) and warnings_in(again) == [] and served.requests("/simple/") == []


def test_broken_rows_are_misses(served: IndexServer, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    assert answered(check(served, cache_dir))
    db = settle(cache_dir)
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("UPDATE pages SET body = 'not json' WHERE url LIKE '%/demo/'")
        conn.execute("UPDATE pages SET body = '{\"files\": 3}' WHERE url LIKE '%/six/'")
        conn.execute("UPDATE metadata SET raw = 'text, not bytes', binaries = 7")
    served.clear_log()
    run = check(served, cache_dir)
    assert answered(run), run.stderr
    assert warnings_in(run) == []
    assert served.requests("/simple/demo/") and served.requests("/simple/six/")
    cache = Cache(cache_dir)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        keys = [str(key) for (key,) in conn.execute("SELECT key FROM metadata")]
    assert len(keys) == 2 and all(cache.get_metadata(key) is not None for key in keys), "rewritten from the index"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param("substr(body, 1, length(body) - 7)", id="cut-short"),
        pytest.param("replace(body, 'demo-1', 'demo-9')", id="altered-file-row"),
        pytest.param("replace(body, 'wheelwise-page 3', 'wheelwise-page 2')", id="other-format"),
    ],
)
def test_a_stored_page_cut_short_or_altered_is_a_miss(served: IndexServer, tmp_path: Path, damage: str) -> None:
    # a page is stored a line per version, read when first asked for: a checksum makes any damage
    # a miss at once, not a failure in the middle of a resolution
    cache_dir = tmp_path / "cache"
    first = check(served, cache_dir)
    assert answered(first)
    db = settle(cache_dir)
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        changed = conn.execute(f"UPDATE pages SET body = {damage} WHERE url LIKE '%/demo/'").rowcount
    assert changed == 1
    served.clear_log()
    run = check(served, cache_dir)
    assert answered(run), run.stderr
    assert warnings_in(run) == [] and run.stdout == first.stdout
    assert served.requests("/simple/demo/"), "the damaged page is fetched again"
    assert not served.requests("/simple/six/"), "the intact one is not"


def test_a_stored_page_altered_behind_its_checksum_is_a_clear_error(served: IndexServer, tmp_path: Path) -> None:
    # only a hand that rewrites the checksum too can get a damaged version line past the read: the
    # check then stops with what and where (exit 3), never a traceback; clearing the cache mends it
    cache_dir = tmp_path / "cache"
    assert answered(check(served, cache_dir))
    db = settle(cache_dir)
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        ((url, body),) = conn.execute("SELECT url, body FROM pages WHERE url LIKE '%/demo/'").fetchall()
        stored, head, rest = body.split("\n", 2)
        rest = "\n".join(f"{line.partition(chr(9))[0]}\t[[7]]" for line in rest.split("\n"))
        fields = json.loads(head) | {"crc": zlib.crc32(rest.encode())}
        conn.execute("UPDATE pages SET body = ? WHERE url = ?", (f"{stored}\n{json.dumps(fields)}\n{rest}", url))
    run = check(served, cache_dir, "--no-memo")
    assert run.returncode == 3 and "Traceback" not in run.stderr
    assert "the cached page of demo cannot be read" in run.stderr and "wheelwise cache clear" in run.stderr


def test_a_broken_row_in_the_library_is_a_miss(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.put_page(CachedPage("https://x.invalid/a/", 1.0, 200, None, None, "{}"))
    cache.put_metadata("sha256:a", b"Name: a\n", None, "range")
    with contextlib.closing(sqlite3.connect(tmp_path / CACHE_FILE, isolation_level=None)) as conn:
        conn.execute("UPDATE pages SET fetched = 'yesterday', status = 'ok'")
        conn.execute("UPDATE metadata SET raw = 42")
    assert cache.get_page("https://x.invalid/a/") is None
    assert cache.get_metadata("sha256:a") is None
    assert cache.warnings == []


def test_cache_clear_gives_the_space_back(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for i in range(400):
        cache.put_metadata(f"sha256:{i}", os.urandom(10_000), None, "full")
    (tmp_path / "cache-v1.sqlite3").write_bytes(b"old" * 10_000)
    del cache
    db = settle(tmp_path)
    assert db.stat().st_size > 4_000_000
    env = {**os.environ, "WHEELWISE_CACHE_DIR": str(tmp_path), "NO_COLOR": "1"}
    run = subprocess.run([sys.executable, "-m", "wheelwise", "cache", "clear"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "emptied the cache" in run.stdout and "MB →" in run.stdout
    assert sum(p.stat().st_size for p in tmp_path.iterdir()) < 100_000
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [CACHE_FILE]
    assert Cache(tmp_path).get_metadata("sha256:1") is None


def test_cache_clear_on_a_cache_it_cannot_write_says_so(tmp_path: Path) -> None:
    path = tmp_path / "cache"
    path.write_text("a file")
    env = {**os.environ, "WHEELWISE_CACHE_DIR": str(path), "NO_COLOR": "1"}
    run = subprocess.run([sys.executable, "-m", "wheelwise", "cache", "clear"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr
    assert "could not empty the cache" in run.stderr and "not a directory" in run.stderr and "Traceback" not in run.stderr


@pytest.fixture
def small_disk(tmp_path: Path) -> object:
    """A 1 MiB tmpfs, where one can be mounted (root in a container that allows it)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.getuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True, check=False).returncode:
        pytest.skip("needs root allowed to mount a tmpfs")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_keeps_the_valid_cache(served: IndexServer, small_disk: Path) -> None:
    cache_dir = small_disk / "cache"
    assert answered(check(served, cache_dir))
    db = settle(cache_dir)
    before, pages = digest(db), page_count(db)
    filler = os.open(small_disk / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    with contextlib.suppress(OSError):
        while True:
            os.write(filler, b"\0" * 4096)
    os.close(filler)
    served.add_wheel(wheel_filename("demo", "1.1"), make_wheel("demo", "1.1", requires_dist=["six"]))
    run = check(served, cache_dir, "--refresh")
    assert run.returncode == 0 and "pins demo 1.1 (+1 dependency)" in run.stdout, run.stderr
    (warning,) = warnings_in(run)
    assert "cannot be written (database or disk is full)" in warning, warning
    assert not list(cache_dir.glob("*.corrupt*")) and digest(db) == before
    (small_disk / "filler").unlink()
    assert page_count(settle(cache_dir)) == pages


def test_cache_clear_on_a_full_disk_deletes_the_file(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for i in range(100):
        cache.put_metadata(f"sha256:{i}", os.urandom(10_000), None, "full")
    del cache
    settle(tmp_path)
    env = {**os.environ, "WHEELWISE_CACHE_DIR": str(tmp_path), "NO_COLOR": "1"}
    argv = [sys.executable, "-m", "wheelwise", "cache", "clear"]
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, preexec_fn=file_size_limit(0))  # noqa: PLW1509
    assert run.returncode == 0, run.stderr
    assert "emptied the cache" in run.stdout and "→ 0.0 kB" in run.stdout
    assert list(tmp_path.iterdir()) == []
    assert Cache(tmp_path).get_metadata("sha256:1") is None


def test_cache_clear_in_a_read_only_folder_says_so(tmp_path: Path) -> None:
    Cache(tmp_path / "cache").put_metadata("sha256:x", b"Name: x\n", None, "pep658")
    db = settle(tmp_path / "cache")
    preexec = obeying_permissions()
    (tmp_path / "cache").chmod(0o555)
    db.chmod(0o444)
    env = {**os.environ, "WHEELWISE_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": "1"}
    try:
        run = subprocess.run([sys.executable, "-m", "wheelwise", "cache", "clear"], env=env, capture_output=True, text=True, timeout=60, preexec_fn=preexec)  # noqa: PLW1509
    finally:
        (tmp_path / "cache").chmod(0o700)
    assert run.returncode == 2, run.stderr
    assert "could not empty the cache" in run.stderr and "permission denied" in run.stderr.lower()
    assert Cache(tmp_path / "cache").get_metadata("sha256:x") is not None

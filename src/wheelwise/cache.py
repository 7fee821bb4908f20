"""The on-disk cache: one SQLite file in the user cache directory.

- core metadata is keyed by the file's hash (``sha256:…``) and kept forever:
  a file with that hash cannot have other metadata;
- project pages are stored parsed, with their ETag / Last-Modified, and are
  revalidated after a TTL (10 minutes by default);
- what each index can do (range requests) is remembered per origin.

Several processes may use it at once (WAL journal, busy timeout); each thread
has its own connection.  A file that is not a database, or is damaged, is
moved aside and rebuilt: the cache is never a reason to fail.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import threading
import time
from pathlib import Path

import platformdirs

__all__ = ["Cache", "CachedPage", "default_cache_dir"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY, fetched REAL NOT NULL, status INTEGER NOT NULL,
    etag TEXT, last_modified TEXT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS metadata (
    key TEXT PRIMARY KEY, raw BLOB NOT NULL, native INTEGER, how TEXT NOT NULL, binaries TEXT);
CREATE TABLE IF NOT EXISTS capabilities (
    origin TEXT PRIMARY KEY, no_range INTEGER NOT NULL);
"""
_VERSION = 2  # 2: an sdist's prebuilt binaries


def default_cache_dir() -> Path:
    """``$WHEELWISE_CACHE_DIR``, else the platform's user cache directory."""
    override = os.environ.get("WHEELWISE_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("wheelwise"))


@dataclasses.dataclass(frozen=True)
class CachedPage:
    """A stored project page: ``status`` 404 means "not on that index"."""

    url: str
    fetched: float
    status: int
    etag: str | None
    last_modified: str | None
    body: str

    def age(self) -> float:
        return time.time() - self.fetched


class Cache:
    """Thread- and process-safe store of pages, metadata and index abilities.

    :param directory: where ``cache.sqlite3`` lives; ``None`` keeps
        everything in memory for this process only.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.path = None if directory is None else Path(directory) / f"cache-v{_VERSION}.sqlite3"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._generation = 0
        #: what happened to a broken cache file, for the CLI to mention.
        self.rebuilt_from: Path | None = None
        if self.path is None:
            self._memory = sqlite3.connect(":memory:", check_same_thread=False)
            self._memory.executescript(_SCHEMA)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection()

    # -- connections ------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        assert self.path is not None
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.executescript(_SCHEMA)
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self.path is None:
            return self._memory
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "generation", -1) == self._generation:
            return conn
        try:
            conn = self._open()
        except sqlite3.DatabaseError:
            self._rebuild()
            conn = self._open()
        self._local.conn = conn
        self._local.generation = self._generation
        return conn

    def _rebuild(self) -> None:
        """Move a damaged file aside and start afresh."""
        assert self.path is not None
        with self._lock:
            if self.path.exists():
                aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time() * 1000)}")
                try:
                    os.replace(self.path, aside)
                    self.rebuilt_from = aside
                except OSError:
                    self.path.unlink(missing_ok=True)
                for suffix in ("-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self._generation += 1

    def _run(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        for attempt in range(2):
            try:
                if self.path is None:
                    with self._lock:
                        return list(self._memory.execute(sql, params))
                return list(self._connection().execute(sql, params))
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) and attempt == 0:
                    time.sleep(0.05)
                    continue
                raise
            except sqlite3.DatabaseError:
                if self.path is None or attempt:
                    raise
                self._rebuild()
        return []

    # -- pages ------------------------------------------------------------

    def get_page(self, url: str) -> CachedPage | None:
        rows = self._run("SELECT url, fetched, status, etag, last_modified, body FROM pages WHERE url = ?", (url,))
        return CachedPage(*rows[0]) if rows else None  # type: ignore[arg-type]

    def put_page(self, page: CachedPage) -> None:
        self._run(
            "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?)",
            (page.url, page.fetched, page.status, page.etag, page.last_modified, page.body),
        )

    def touch_page(self, url: str) -> None:
        """Mark a page fresh again (the server answered 304 Not Modified)."""
        self._run("UPDATE pages SET fetched = ? WHERE url = ?", (time.time(), url))

    # -- metadata ---------------------------------------------------------

    def get_metadata(self, key: str) -> tuple[bytes, bool | None, tuple[str, ...]] | None:
        """Metadata bytes, whether the sdist has native sources, the binaries it ships."""
        rows = self._run("SELECT raw, native, binaries FROM metadata WHERE key = ?", (key,))
        if not rows:
            return None
        raw, native, binaries = rows[0]
        assert isinstance(raw, bytes)
        shipped = tuple(str(binaries).split("\n")) if binaries else ()
        return raw, None if native is None else bool(native), shipped

    def put_metadata(
        self, key: str, raw: bytes, native: bool | None, how: str, binaries: tuple[str, ...] = (),
    ) -> None:
        self._run(
            "INSERT OR REPLACE INTO metadata VALUES (?, ?, ?, ?, ?)",
            (key, raw, None if native is None else int(native), how, "\n".join(binaries) or None),
        )

    # -- index abilities --------------------------------------------------

    def no_range(self, origin: str) -> bool:
        rows = self._run("SELECT no_range FROM capabilities WHERE origin = ?", (origin,))
        return bool(rows and rows[0][0])

    def set_no_range(self, origin: str) -> None:
        self._run("INSERT OR REPLACE INTO capabilities VALUES (?, 1)", (origin,))

    def clear(self) -> None:
        for table in ("pages", "metadata", "capabilities"):
            self._run(f"DELETE FROM {table}")  # noqa: S608 - fixed names

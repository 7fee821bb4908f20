"""The on-disk cache: one SQLite file in the user cache directory.

- core metadata is keyed by the file's hash (``sha256:…``) and kept forever:
  a file with that hash cannot have other metadata;
- project pages are stored parsed, with their ETag / Last-Modified, and are
  revalidated after a TTL (10 minutes by default);
- what each index can do (range requests) is remembered per origin;
- whole ``check`` answers are remembered with what they were computed from
  (:mod:`wheelwise.check.memo` decides whether one still holds).

Several processes may use it at once (WAL journal, busy timeout); each thread
has its own connection.  The folder is created user-only (0700) and the file
0600: page URLs and bodies are the user's business.

The cache is an optimisation, never a reason to fail or to lose data:

- a folder or file that cannot be written (read-only, a full disk, a file-size
  limit: Python ignores ``SIGXFSZ``, so such writes fail with ``EFBIG``) is
  still read; what would have been stored is kept in memory for this process;
- a folder that cannot be used at all (the path is a regular file, no access)
  means an in-memory cache for this process;
- only a file SQLite itself calls damaged (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``)
  is moved aside (``….corrupt``, one kept) and rebuilt; a full disk or a
  permission error never touches a valid file;
- a row of the wrong shape is a miss.

Each of these is said once through the ``warn`` callback (the CLI prints it);
the library never prints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import platformdirs

__all__ = ["MEMOS_KEPT", "PAGE_TTL", "Cache", "CacheUnusableError", "CachedPage", "default_cache_dir"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY, fetched REAL NOT NULL, status INTEGER NOT NULL,
    etag TEXT, last_modified TEXT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS metadata (
    key TEXT PRIMARY KEY, raw BLOB NOT NULL, native INTEGER, how TEXT NOT NULL, binaries TEXT);
CREATE TABLE IF NOT EXISTS capabilities (
    origin TEXT PRIMARY KEY, no_range INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS memos (
    key TEXT PRIMARY KEY, made REAL NOT NULL, stamps TEXT NOT NULL, result BLOB NOT NULL);
"""
_TABLES = ("pages", "metadata", "capabilities", "memos")
_VERSION = 3  # 2: an sdist's prebuilt binaries; 3: remembered check answers
#: seconds a cached page is used without asking the index again
PAGE_TTL = 600.0
#: remembered answers kept at most (the oldest go first)
MEMOS_KEPT = 256

# SQLite primary result codes (https://www.sqlite.org/rescode.html).
_BUSY, _LOCKED, _CORRUPT, _NOTADB = 5, 6, 11, 26


def default_cache_dir() -> Path:
    """``$WHEELWISE_CACHE_DIR``, else the platform's user cache directory."""
    override = os.environ.get("WHEELWISE_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("wheelwise"))


class CacheUnusableError(Exception):
    """``cache clear`` could not do what it was asked (the CLI maps it to exit 2)."""


def _kind(exc: BaseException) -> str:
    """``busy``, ``corrupt`` or ``unusable`` (full, read-only, no access, I/O error)."""
    if not isinstance(exc, sqlite3.Error):
        return "unusable"
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    text = str(exc).lower()
    if code is not None:
        primary = code & 0xFF
        if primary in (_CORRUPT, _NOTADB):
            return "corrupt"
        if primary in (_BUSY, _LOCKED):
            return "busy"
        return "unusable"
    if "not a database" in text or "malformed" in text:
        return "corrupt"
    return "busy" if "locked" in text or "busy" in text else "unusable"


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


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

    :param directory: where ``cache-v3.sqlite3`` lives; ``None`` keeps
        everything in memory for this process only.
    :param warn: called once with a sentence when the cache cannot be used as
        asked (read-only, full, unusable, rebuilt); also kept in :attr:`warnings`.
    """

    def __init__(self, directory: Path | None = None, *, warn: Callable[[str], None] | None = None) -> None:
        self.directory = None if directory is None else Path(directory)
        self.path = None if self.directory is None else self.directory / f"cache-v{_VERSION}.sqlite3"
        self._warn_hook = warn
        #: what went wrong with the cache, in words, for the CLI to mention.
        self.warnings: list[str] = []
        #: where a damaged cache file was moved.
        self.rebuilt_from: Path | None = None
        self._local = threading.local()
        self._lock = threading.RLock()
        self._generation = 0
        self._memory: sqlite3.Connection | None = None
        self._problem: str | None = None
        # "rw": the file; "ro": read the file, store in memory; "memory": memory only.
        self.mode = "memory" if self.path is None else "rw"
        if self.path is not None:
            try:
                self._prepare()
                self._connection()
            except (OSError, sqlite3.Error) as exc:
                if _kind(exc) != "busy":  # busy: another process is writing; the queries wait for it
                    self._fall_back(exc)

    # -- connections ------------------------------------------------------

    def _prepare(self) -> None:
        """Create the folder (0700) and the file (0600) before SQLite does, with its 0644."""
        assert self.directory is not None and self.path is not None
        if os.path.lexists(self.directory) and not self.directory.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(self.directory))
        if not self.directory.is_dir():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600))
        except FileExistsError:
            # an older wheelwise made it world-readable: tighten what is ours
            for name in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
                with contextlib.suppress(OSError):
                    if name.stat().st_mode & 0o077 and name.stat().st_uid == os.getuid():
                        name.chmod(0o600)

    def _memory_conn(self) -> sqlite3.Connection:
        if self._memory is None:
            self._memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            self._memory.executescript(_SCHEMA)
        return self._memory

    def _open(self) -> sqlite3.Connection:
        assert self.path is not None
        if self.mode == "ro":
            return self._open_read_only()
        conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_read_only(self) -> sqlite3.Connection:
        """The file, read-only; ``immutable`` where SQLite cannot make its WAL index (a read-only folder)."""
        assert self.path is not None
        last: sqlite3.Error | None = None
        for query in ("mode=ro", "immutable=1"):
            conn = sqlite3.connect(f"{self.path.as_uri()}?{query}", uri=True, timeout=30, check_same_thread=False)
            try:
                conn.execute("PRAGMA busy_timeout = 30000")
                names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            except sqlite3.Error as exc:
                conn.close()
                last = exc
                continue
            if not set(_TABLES) <= names:
                conn.close()
                raise sqlite3.OperationalError("the file holds no wheelwise cache")
            return conn
        assert last is not None
        raise last

    def _connection(self) -> sqlite3.Connection:
        if self.mode == "memory":
            return self._memory_conn()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "generation", -1) == self._generation:
            return conn
        try:
            conn = self._open()
        except sqlite3.Error as exc:
            if _kind(exc) != "corrupt" or self.mode != "rw":
                raise
            self._rebuild()
            conn = self._open()
        self._local.conn = conn
        self._local.generation = self._generation
        self._local.inode = _inode(self.path)
        return conn

    def _warn(self, message: str) -> None:
        if message in self.warnings:
            return
        self.warnings.append(message)
        if self._warn_hook is not None:
            self._warn_hook(message)

    def _fall_back(self, exc: BaseException) -> None:
        """Stop writing the file (keep reading it when possible), or stop using it; say so once."""
        with self._lock:
            if self.mode == "memory":
                return
            self._problem = _reason(exc)
            where = f"the cache in {self.directory}"
            if self.mode == "rw" and _is_file(self.path):
                self.mode, self._generation = "ro", self._generation + 1
                try:
                    self._connection()
                except (OSError, sqlite3.Error):
                    pass
                else:
                    self._warn(
                        f"{where} cannot be written ({_reason(exc)}): it is read, and nothing new is stored "
                        "this run; free disk space or set WHEELWISE_CACHE_DIR to a writable folder"
                    )
                    return
            self.mode, self._generation = "memory", self._generation + 1
            self._warn(
                f"{where} cannot be used ({_reason(exc)}): answering without it this run; "
                "set WHEELWISE_CACHE_DIR to a writable folder"
            )

    def _rebuild(self) -> None:
        """Move a damaged file aside (one kept) and start afresh, unless another process already did."""
        assert self.path is not None
        with self._lock:
            opened = getattr(self._local, "inode", None)
            try:
                current = self.path.stat().st_ino
            except OSError:
                current = None
            if current is not None and (opened is None or opened == current):
                aside = self.path.with_name(f"{self.path.name}.corrupt")
                os.replace(self.path, aside)  # an OSError here: the caller stops using the file
                self.rebuilt_from = aside
                for suffix in ("-wal", "-shm"):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
                self._warn(f"the cache {self.path} was damaged: moved to {aside.name} and started afresh")
            self._generation += 1
            self._prepare()

    def _run(self, sql: str, params: tuple[object, ...] = (), *, write: bool = False) -> list[tuple[object, ...]]:
        """Rows of *sql*; a cache that fails is read around, never a failure."""
        for _attempt in range(3):
            if self.mode == "memory" or (write and self.mode == "ro"):
                with self._lock:
                    return list(self._memory_conn().execute(sql, params))
            if self.mode == "ro" and self._memory is not None:
                with self._lock:
                    rows = list(self._memory.execute(sql, params))
                if rows:
                    return rows
            try:
                return list(self._connection().execute(sql, params))
            except (OSError, sqlite3.Error) as exc:
                kind = _kind(exc)
                if kind == "busy":
                    time.sleep(0.05)
                    continue
                if kind == "corrupt" and self.mode == "rw":
                    try:
                        self._rebuild()
                    except (OSError, sqlite3.Error) as again:
                        self._fall_back(again)
                    continue
                self._fall_back(exc)
        return []

    # -- pages ------------------------------------------------------------

    def get_page(self, url: str) -> CachedPage | None:
        """The stored page, or ``None`` (also for a row of the wrong shape)."""
        rows = self._run("SELECT url, fetched, status, etag, last_modified, body FROM pages WHERE url = ?", (url,))
        if not rows:
            return None
        stored, fetched, status, etag, modified, body = rows[0]
        if not (
            isinstance(stored, str)
            and isinstance(fetched, (int, float))
            and isinstance(status, int)
            and isinstance(body, str)
            and isinstance(etag, (str, type(None)))
            and isinstance(modified, (str, type(None)))
        ):
            return None
        return CachedPage(stored, float(fetched), status, etag, modified, body)

    def put_page(self, page: CachedPage) -> None:
        self._run(
            "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?)",
            (page.url, page.fetched, page.status, page.etag, page.last_modified, page.body),
            write=True,
        )

    def touch_page(self, url: str) -> float:
        """Mark a page fresh again (the server answered 304 Not Modified); the time it now bears."""
        now = time.time()
        self._run("UPDATE pages SET fetched = ? WHERE url = ?", (now, url), write=True)
        return now

    def page_row(self, url: str) -> tuple[float, int, str | None, str | None, bytes] | None:
        """A stored page's fetch time, status, ETag, Last-Modified and body (its UTF-8 bytes, not
        decoded); ``None`` when absent or of the wrong shape."""
        rows = self._run(
            "SELECT fetched, status, etag, last_modified, CAST(body AS BLOB) FROM pages WHERE url = ?", (url,)
        )
        if not rows:
            return None
        fetched, status, etag, modified, body = rows[0]
        if not (
            isinstance(fetched, (int, float)) and isinstance(status, int) and isinstance(body, bytes)
            and isinstance(etag, (str, type(None))) and isinstance(modified, (str, type(None)))
        ):
            return None
        return float(fetched), status, etag, modified, body

    # -- metadata ---------------------------------------------------------

    def get_metadata(self, key: str) -> tuple[bytes, bool | None, tuple[str, ...]] | None:
        """Metadata bytes, whether the sdist has native sources, the binaries it ships;
        ``None`` when absent or stored in the wrong shape."""
        rows = self._run("SELECT raw, native, binaries FROM metadata WHERE key = ?", (key,))
        if not rows:
            return None
        raw, native, binaries = rows[0]
        if not isinstance(raw, bytes) or not isinstance(native, (int, type(None))):
            return None
        if not isinstance(binaries, (str, type(None))):
            return None
        shipped = tuple(binaries.split("\n")) if binaries else ()
        return raw, None if native is None else bool(native), shipped

    def put_metadata(
        self, key: str, raw: bytes, native: bool | None, how: str, binaries: tuple[str, ...] = (),
    ) -> None:
        self._run(
            "INSERT OR REPLACE INTO metadata VALUES (?, ?, ?, ?, ?)",
            (key, raw, None if native is None else int(native), how, "\n".join(binaries) or None),
            write=True,
        )

    # -- remembered answers -----------------------------------------------

    def get_memo(self, key: str, limit: int) -> tuple[str, bytes] | None:
        """The stamps (JSON text) and result bytes remembered under *key*; ``None`` when
        absent, of the wrong shape, or larger than *limit* bytes (never read whole)."""
        rows = self._run(
            "SELECT stamps, result FROM memos WHERE key = ? AND length(stamps) <= ? AND length(CAST(result AS BLOB)) <= ?",
            (key, limit, limit),
        )
        if not rows:
            return None
        stamps, result = rows[0]
        if not isinstance(stamps, str) or not isinstance(result, bytes):
            return None
        return stamps, result

    def put_memo(self, key: str, stamps: str, result: bytes) -> None:
        """Remember an answer; only the :data:`MEMOS_KEPT` newest are kept."""
        self._run("INSERT OR REPLACE INTO memos VALUES (?, ?, ?, ?)", (key, time.time(), stamps, result), write=True)
        self._run(
            "DELETE FROM memos WHERE key NOT IN (SELECT key FROM memos ORDER BY made DESC LIMIT ?)",
            (MEMOS_KEPT,), write=True,
        )

    # -- index abilities --------------------------------------------------

    def no_range(self, origin: str) -> bool:
        rows = self._run("SELECT no_range FROM capabilities WHERE origin = ?", (origin,))
        return bool(rows and rows[0][0])

    def set_no_range(self, origin: str) -> None:
        self._run("INSERT OR REPLACE INTO capabilities VALUES (?, 1)", (origin,), write=True)

    # -- the whole file ---------------------------------------------------

    def size(self) -> int:
        """Bytes the cache's files take on disk (this version's, older ones and damaged copies)."""
        return sum(path.stat().st_size for path in self._files())

    def _files(self) -> list[Path]:
        if self.directory is None or not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.glob("cache-v*.sqlite3*"):
            with contextlib.suppress(OSError):
                if path.is_file() and not path.is_symlink():
                    found.append(path)
        return found

    def clear(self) -> None:
        """Empty the cache and give the space back: rows deleted and the file compacted
        (``VACUUM``, WAL truncated), or, where that cannot be written (a full disk), the files
        deleted (a new one is made on the next run); older versions' files and damaged copies go too.

        :raises CacheUnusableError: when neither can be done (a read-only folder, not a folder).
        """
        if self.path is None:
            for table in _TABLES:
                self._memory_conn().execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            return
        try:
            if self.mode != "rw":
                raise sqlite3.OperationalError(self._problem or "cannot be written")
            conn = self._connection()
            for table in _TABLES:
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (OSError, sqlite3.Error) as exc:
            if not self._files():
                raise CacheUnusableError(_reason(exc)) from exc
            keep: set[Path] = set()
        else:
            keep = {self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm")}  # in use, now small
        for path in self._files():
            if path not in keep:
                try:
                    path.unlink()
                except OSError as exc:
                    raise CacheUnusableError(f"{path.name}: {_reason(exc)}") from exc
        self._generation += 1


def _inode(path: Path | None) -> int | None:
    try:
        return None if path is None else path.stat().st_ino
    except OSError:
        return None


def _is_file(path: Path | None) -> bool:
    try:
        return path is not None and path.is_file()
    except OSError:  # no access to its folder
        return False

"""The package index as wheelwise sees it: every configured source, cached.

:class:`PackageIndex` merges the main index, the extra indexes and the
find-links locations into one page per project, and serves core metadata of
any file.  Concurrent callers asking for the same page or metadata share one
fetch ("single flight"); :meth:`PackageIndex.prefetch` starts fetches in a
bounded thread pool so that resolution rarely waits on the network.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from packaging.utils import canonicalize_name
from packaging.version import Version

from ..cache import PAGE_TTL, Cache, CachedPage
from ..errors import HashMismatchError, IndexFetchError, OfflineMissError, WheelwiseError
from .auth import Credentials
from .client import Fetcher
from .metadata import FetchedMetadata, fetch_metadata
from .settings import IndexSettings
from .simple import (
    ACCEPT,
    DistFile,
    ProjectPage,
    SimpleParseError,
    is_distribution,
    merge_pages,
    parse_html,
    parse_page,
)
from .stamps import Stamp, file_stamp, folder_page_stamps, page_stamp, uncached_stamp
from .urls import is_file_url, origin, project_url, redact, url_to_path
from .variants import MAX_VARIANTS_JSON_BYTES, VariantsJson, parse_variants_json

__all__ = ["PackageIndex"]

T = TypeVar("T")
#: Largest sdist downloaded to tell native code from pure Python.
SDIST_INSPECT_LIMIT = 64 << 20
#: Most bytes asked from a wheel's end on first reading it (learnt from another wheel of the project).
#: A wheel that needs more (a central directory of thousands of files: the METADATA lies far from
#: the end) is read in two small requests instead: through a proxy measured here one request of
#: 2 MiB took as long as three of 16 KiB.
MAX_TAIL_HINT = 512 << 10
#: Called after each fetch with its kind ("page", "metadata") and a label.
ProgressHook = Callable[[str, str], None]


class _Flight:
    """One fetch: its future, whether some thread runs it, whether the pool has it queued
    (and whether as needed soon)."""

    __slots__ = ("future", "queued", "started", "urgent")

    def __init__(self) -> None:
        self.future: concurrent.futures.Future[object] = concurrent.futures.Future()
        self.started = False
        self.queued = False
        self.urgent = False


class PackageIndex:
    """All configured sources of distributions, behind one cache.

    :param settings: where packages come from (see :mod:`.settings`).
    :param cache: the on-disk cache; an in-memory one when ``None``.
    :param offline: answer from the cache only; missing entries raise
        :class:`OfflineMissError`.
    :param refresh: revalidate every page now, whatever its age.
    :param ttl: seconds a cached page is used without asking the index.
    :param workers: concurrent fetches at most.
    """

    def __init__(
        self,
        settings: IndexSettings,
        *,
        cache: Cache | None = None,
        fetcher: Fetcher | None = None,
        offline: bool = False,
        refresh: bool = False,
        ttl: float = PAGE_TTL,
        workers: int = 16,
        progress: ProgressHook | None = None,
    ) -> None:
        self.settings = settings
        self.cache = cache if cache is not None else Cache(None)
        self.fetcher = fetcher or Fetcher(
            timeout=settings.timeout,
            retries=settings.retries,
            cert=settings.cert,
            client_cert=settings.client_cert,
            trusted_hosts=settings.trusted_hosts,
            proxy=settings.proxy,
            credentials=Credentials(keyring_provider=settings.keyring_provider),
        )
        self.offline = offline
        self.refresh = refresh
        self.ttl = ttl
        self.progress = progress
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wheelwise")
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}
        #: flights waiting for the pool: needed soon, then ahead of need (see _background)
        self._queued: tuple[collections.deque[tuple[str, _Flight, Callable[[], object]]], ...] = (
            collections.deque(), collections.deque(),
        )
        self._index_urls: list[str] | None = None
        #: per project, the indexes that list some of its files, in order, with their pages
        self._listed_by: dict[str, list[tuple[str, ProjectPage]]] = {}
        #: per project, bytes from the end the last wheel read by ranges needed
        self._tails: dict[str, int] = {}
        #: how each metadata was obtained, counted (pep658, range, full, cache...).
        self.metadata_ways: dict[str, int] = {}
        self._stamps: dict[tuple[object, ...], Stamp] = {}

    def close(self, *, abort: bool = False) -> None:
        """Stop the pool and the client; *abort* (Ctrl-C, an error) does not wait for
        fetches under way: their sockets are shut down and their results dropped."""
        if abort:
            self.fetcher.abort()
        self._pool.shutdown(wait=not abort, cancel_futures=True)
        self.fetcher.close()

    def __enter__(self) -> PackageIndex:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self.close(abort=exc_type is not None)

    # -- single flight ----------------------------------------------------

    def _flight(self, key: str) -> _Flight:
        """The one flight for *key*, made if need be (the lock is held)."""
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = _Flight()
        return flight

    def _run(self, key: str, flight: _Flight, work: Callable[[], object]) -> None:
        try:
            flight.future.set_result(work())
        except BaseException as exc:
            flight.future.set_exception(exc)
            with self._lock:  # a failure is not remembered: a retry may succeed
                if self._flights.get(key) is flight:
                    del self._flights[key]

    def _once(self, key: str, work: Callable[[], T]) -> T:
        """Run *work* once per key; concurrent and later callers get its result.

        A flight still queued for the pool is taken over and run here, so nobody ever
        waits for a task queued behind others.
        """
        with self._lock:
            flight = self._flight(key)
            run = not flight.started
            flight.started = True
        if run:
            self._run(key, flight, work)
        return flight.future.result()  # type: ignore[return-value]

    def _background(self, key: str, work: Callable[[], T], *, urgent: bool = False) -> concurrent.futures.Future[T]:
        """Queue *work* for the pool unless its flight is queued or running; its future.

        *urgent* work (what the resolver asked to read ahead of its next steps) is run
        before work queued ahead of need (reading down the tree of what it took), however
        much of that is waiting: a flight queued ahead of need is queued again as urgent.
        """
        with self._lock:
            flight = self._flight(key)
            queue = not flight.started and (not flight.queued or (urgent and not flight.urgent))
            if queue:
                flight.queued = True
                flight.urgent = flight.urgent or urgent
                self._queued[0 if urgent else 1].append((key, flight, work))
        if queue:
            try:
                self._pool.submit(self._start_queued)
            except RuntimeError:  # closed: a caller that needs it runs it itself
                flight.queued = False
        return flight.future  # type: ignore[return-value]

    def _start_queued(self) -> None:
        """Run the first queued flight nobody has started, urgent ones first (one per task
        submitted: every queued flight is taken by some task, or by a caller who needs it)."""
        while True:
            with self._lock:
                urgent, ahead = self._queued
                if not urgent and not ahead:
                    return
                key, flight, work = (urgent or ahead).popleft()
                if flight.started:
                    continue  # a foreground caller took it over, or it was queued twice
                flight.started = True
            self._run(key, flight, work)
            return

    def prefetch(self, names: Iterable[str] = (), files: Iterable[DistFile] = ()) -> None:
        """Start fetching pages and metadata the resolver needs soon, before any read ahead of need;
        errors wait for the real call."""
        self.page_futures(names, urgent=True)
        for file in files:
            self.metadata_future(file, urgent=True)

    def metadata_future(self, file: DistFile, *, urgent: bool = False) -> concurrent.futures.Future[FetchedMetadata]:
        """Start reading *file*'s metadata in the background; its future."""
        return self._background(f"meta:{file.url}", functools.partial(self._metadata, file), urgent=urgent)

    def spawn(self, call: Callable[..., object], *args: object) -> None:
        """Run *call* in the pool, for work done ahead of need (its errors are dropped: the
        foreground call that needs the result meets them again)."""
        with contextlib.suppress(RuntimeError):  # the index is closed: nobody needs it any more
            self._pool.submit(call, *args)

    def page_futures(self, names: Iterable[str], *, urgent: bool = False) -> list[concurrent.futures.Future[ProjectPage]]:
        """Start fetching these pages; their futures, to take them in the order they arrive."""
        futures = []
        for name in names:
            normalized = canonicalize_name(name)
            futures.append(self._background(
                f"page:{normalized}", functools.partial(self._project, normalized), urgent=urgent,
            ))
        return futures

    def map(self, call: Callable[[T], object], items: Iterable[T]) -> list[object]:
        """Run *call* over *items* in the pool; results in order, first error raised."""
        return list(self._pool.map(call, items))

    # -- what was read -----------------------------------------------------

    def stamps(self) -> list[Stamp]:
        """Every page, folder and local file read so far, as it stood when read
        (see :mod:`.stamps`): what a remembered answer depends on."""
        with self._lock:
            return list(self._stamps.values())

    def _stamp(self, *stamps: Stamp) -> None:
        with self._lock:
            for stamp in stamps:
                self._stamps[stamp[:2]] = stamp

    def _stamp_page(self, page: CachedPage, fetched: float | None = None) -> None:
        self._stamp(page_stamp(page.url, page.fetched if fetched is None else fetched, page.status, page.etag,
                               page.last_modified, page.body))

    # -- pages ------------------------------------------------------------

    def index_urls(self) -> list[str]:
        """The indexes to ask, without credentials (the client adds them per request)."""
        if self._index_urls is None:
            register = self.fetcher.credentials.register
            self._index_urls = [register(url) for url in self.settings.index_urls()]
        return self._index_urls

    def project(self, name: str) -> ProjectPage:
        """Every file of project *name* on every source; empty when it is nowhere."""
        normalized = canonicalize_name(name)
        return self._once(f"page:{normalized}", lambda: self._project(normalized))

    def index_of(self, file: DistFile) -> str | None:
        """The index (base URL) whose page listed *file* first; ``None`` for a find-links file.

        Known once the file's project page was read (:meth:`project`).
        """
        with self._lock:
            sources = self._listed_by.get(file.name, ())
        # a find-links file is listed by no index, though its project may be
        return next((url for url, page in sources if page.lists(file.filename)), None)

    def _project(self, name: str) -> ProjectPage:
        urls = self.index_urls()
        pages = [self._index_page(project_url(url, name), name) for url in urls]
        listing = [(url, page) for url, page in zip(urls, pages, strict=True) if page.version_texts()]
        with self._lock:
            self._listed_by[name] = listing  # the first listing wins, as in merge_pages
        links = [f for f in self._find_links_files() if f.name == name]
        if links:
            pages.append(ProjectPage(name=name, url="find-links", files=tuple(links)))  # type: ignore[arg-type]
        merged = merge_pages(name, pages)
        if self.progress:
            self.progress("page", name)
        return merged

    def _index_page(self, url: str, name: str) -> ProjectPage:
        if is_file_url(url):
            self._stamp(*folder_page_stamps(url_to_path(url)))
            response = self.fetcher.get(url, ok=(200, 404))
            if response.status == 404:
                return ProjectPage(name=name, url=url, files=())  # type: ignore[arg-type]
            return self._parse(url, response.text(), "text/html", name)
        cached = self.cache.get_page(url)
        stored = None if cached is None else self._from_cache(cached, name)
        if stored is None:  # a row that does not parse is a miss
            cached = None
        if self.offline:
            if stored is None:
                raise OfflineMissError([f"the page of {name} on {redact(url)}"])
            assert cached is not None
            self._stamp_page(cached)
            return stored
        if stored and cached and not self.refresh and 0 <= cached.age() < self.ttl:  # a clock set back: revalidate
            self._stamp_page(cached)
            return stored
        return self._revalidate(url, name, cached, stored)

    def _revalidate(self, url: str, name: str, cached: CachedPage | None, stored: ProjectPage | None) -> ProjectPage:
        headers = {"Accept": ACCEPT}
        if cached and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        try:
            response = self.fetcher.get(url, headers=headers, ok=(200, 304, 404, 410))
        except IndexFetchError as exc:
            if cached is not None:
                exc.cached = True
                minutes = int(cached.age() // 60)
                exc.hint = f"the cache holds this page from {minutes} min ago: --offline answers from it"
            raise
        if response.status == 304 and stored is not None:
            assert cached is not None
            self._stamp_page(cached, self.cache.touch_page(url))
            return stored
        if response.status in (404, 410):
            gone = CachedPage(url, time.time(), 404, None, None, "")
            self.cache.put_page(gone)
            self._stamp_page(gone)
            return ProjectPage(name=name, url=url, files=())  # type: ignore[arg-type]
        page = self._parse(response.url, response.text(), response.content_type, name)
        row = CachedPage(
            url, time.time(), 200, response.headers.get("etag"), response.headers.get("last-modified"), page.to_json()
        )
        self.cache.put_page(row)
        self._stamp_page(row)
        return page

    def _parse(self, url: str, text: str, content_type: str, name: str) -> ProjectPage:
        try:
            return parse_page(text, content_type, url, name, functools.partial(self._safe_links, url))
        except SimpleParseError as exc:
            raise IndexFetchError(
                f"{redact(url)} is not a valid project page: {exc}",
                url=redact(url),
                hint="the index or a proxy answered with something else; check the index URL",
            ) from exc

    def _safe_links(self, page_url: str, files: Iterable[DistFile]) -> Iterable[DistFile]:
        """The links of a page that wheelwise may follow, without credentials.

        A ``file:`` link is followed only from a page that is itself local (a
        ``file:`` index, a find-links folder or file): a remote page must not make
        wheelwise read this machine's files.  Userinfo and an index URL's query are
        taken off (the client puts them back per request), so that cached pages
        hold no secret.
        """
        local = is_file_url(page_url)
        for file in files:
            if is_file_url(file.url) and not local:
                continue
            public = self.fetcher.public_url(file.url)
            yield file if public == file.url else dataclasses.replace(file, url=public)

    @staticmethod
    def _from_cache(cached: CachedPage, name: str) -> ProjectPage | None:
        """The stored page; ``None`` for a row that does not parse (the cache is never a failure)."""
        if cached.status == 404:
            return ProjectPage(name=name, url=cached.url, files=())  # type: ignore[arg-type]
        try:
            return ProjectPage.from_json(cached.body)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return None

    def _find_links_files(self) -> list[DistFile]:
        """Every find-links file, read once however many project pages ask at the same time."""
        return self._once("find-links", lambda: [f for place in self.settings.find_links for f in self._find_links_location(place)])

    def _find_links_location(self, location: str) -> list[DistFile]:
        """Files of one ``--find-links`` place: a folder of files, or an HTML page of links."""
        location = self.fetcher.credentials.register(location)
        if is_file_url(location):
            path = url_to_path(location)
            self._stamp(file_stamp(path))
            if path.is_dir():
                return [
                    DistFile(filename=name, url=Path(path, name).as_uri())
                    for name in sorted(os.listdir(path))
                    if is_distribution(name)
                ]
            if not path.exists():
                return []  # pip warns and carries on; so do we
        else:
            self._stamp(uncached_stamp(redact(location)))
        response = self.fetcher.get(location)
        try:
            files = parse_html(response.text(), response.url)
        except SimpleParseError as exc:
            raise IndexFetchError(f"find-links page {redact(location)} is malformed: {exc}", url=redact(location)) from exc
        return list(self._safe_links(response.url, files))

    # -- metadata ---------------------------------------------------------

    @staticmethod
    def metadata_key(file: DistFile) -> str:
        """The cache key of a file's metadata: its hash when the index gives one."""
        for algo in ("sha256", "sha512", "sha384"):
            if algo in file.hashes:
                return f"{algo}:{file.hashes[algo].lower()}"
        if is_file_url(file.url):
            try:
                stat = url_to_path(file.url).stat()
            except OSError:  # gone, or no access: reading it says so (MetadataError), nothing is cached
                return f"file:{file.url}:missing"
            return f"file:{file.url}:{stat.st_size}:{stat.st_mtime_ns}"
        return f"url:{file.url}"

    def metadata(self, file: DistFile) -> FetchedMetadata:
        """Core metadata of *file*: from the cache, else the cheapest fetch."""
        return self._once(f"meta:{file.url}", lambda: self._metadata(file))

    def _metadata(self, file: DistFile) -> FetchedMetadata:
        key = self.metadata_key(file)
        if key.startswith("file:"):  # a local file without a hash: its metadata is as good as its stat
            self._stamp(file_stamp(url_to_path(file.url)))
        hit = self.cache.get_metadata(key)
        if hit is not None:
            self._count("cache")
            return FetchedMetadata(raw=hit[0], how="cache", native_sources=hit[1], binaries=hit[2]).parsed()
        if self.offline and not is_file_url(file.url):
            raise OfflineMissError([f"the metadata of {file.filename}"])
        file_origin = origin(file.url)
        name = file.name
        with self._lock:
            tail = self._tails.get(name, 0)
        got = fetch_metadata(self.fetcher, file, use_range=not self.cache.no_range(file_origin), tail=tail)
        if got.range_ignored:
            self.cache.set_no_range(file_origin)
        if got.tail_needed is not None:
            with self._lock:  # the project's next wheel likely needs as much: ask it in one request
                hint = got.tail_needed + (got.tail_needed >> 3) + 4096
                self._tails[name] = hint if hint <= MAX_TAIL_HINT else 0
        self.cache.put_metadata(key, got.raw, got.native_sources, got.how, got.binaries)
        self._count(got.how)
        if self.progress:
            self.progress("metadata", file.filename)
        return got.parsed()

    def variants(self, name: str, version: Version) -> VariantsJson | None:
        """The PEP 825 ``{name}-{version}-variants.json`` the index links, read like metadata: once
        per run, kept in the cache by its hash, bounded, hash-checked; ``None`` when none is linked."""
        files = [f for f in self.project(name).variants_json if f.version == version]
        if not files:
            return None
        file = files[0]
        return self._once(f"variants:{file.url}", lambda: parse_variants_json(self._variants_raw(file), redact(file.url)))

    def _variants_raw(self, file: DistFile) -> bytes:
        key = "variants:" + self.metadata_key(file)
        hit = self.cache.get_metadata(key)
        if hit is not None:
            return hit[0]
        if self.offline and not is_file_url(file.url):
            raise OfflineMissError([f"the variant metadata {file.filename}"])
        raw = self.fetcher.get(file.url, kind="metadata", limit=MAX_VARIANTS_JSON_BYTES).content
        for algo in ("sha256", "sha512", "sha384"):
            if algo in file.hashes and hashlib.new(algo, raw).hexdigest() != file.hashes[algo].lower():
                raise HashMismatchError(
                    f"{redact(file.url)} does not match the {algo} the index published",
                    url=redact(file.url), hint="the index or a proxy served altered bytes; nothing from it was used",
                )
        self.cache.put_metadata(key, raw, None, "variants", ())
        if self.progress:
            self.progress("metadata", file.filename)
        return raw

    def sdist_binaries(self, file: DistFile, limit: int = SDIST_INSPECT_LIMIT) -> tuple[str, ...]:
        """The prebuilt binaries an sdist ships (``Linux x86_64 (ELF)`` ...), read from their
        headers when the sdist is opened (see :meth:`native_sources`); none for a wheel."""
        return () if file.is_wheel else self._contents(file, limit)[1]

    def native_sources(self, file: DistFile, limit: int = SDIST_INSPECT_LIMIT) -> bool | None:
        """Whether an sdist carries native code (C, C++, Cython, Rust... or prebuilt binaries),
        by opening it.

        Known already when its metadata was read from the archive; otherwise
        sdists up to *limit* bytes are downloaded once (never built).  ``None``
        when it cannot be told (too big, offline, unreachable) or for a wheel.
        """
        return None if file.is_wheel else self._contents(file, limit)[0]

    def _contents(self, file: DistFile, limit: int) -> tuple[bool | None, tuple[str, ...]]:
        known = self.metadata(file)
        if known.native_sources is not None:
            return known.native_sources, known.binaries
        return self._once(f"native:{file.url}", lambda: self._inspect(file, limit))

    def _inspect(self, file: DistFile, limit: int) -> tuple[bool | None, tuple[str, ...]]:
        if self.offline or (file.size is not None and file.size > limit):
            return None, ()
        try:
            got = fetch_metadata(self.fetcher, file, use_658=False, use_range=False, full_limit=limit)
        except WheelwiseError:
            return None, ()
        self.cache.put_metadata(self.metadata_key(file), got.raw, got.native_sources, got.how, got.binaries)
        return got.native_sources, got.binaries

    def _count(self, how: str) -> None:
        with self._lock:
            self.metadata_ways[how] = self.metadata_ways.get(how, 0) + 1

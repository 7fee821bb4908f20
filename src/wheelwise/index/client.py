"""All network and file I/O of the index: the only module that imports httpx.

One pooled :class:`httpx.Client` is shared by every thread (the pool is
thread-safe); the callers run requests concurrently from a thread pool.
Retries: 5xx, 429, timeouts and broken connections, with exponential backoff
and jitter.  ``file:`` URLs are read from disk through the same calls, so a
``file://`` index, a find-links folder and an HTTP index look alike above
this module.
"""

from __future__ import annotations

import dataclasses
import random
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import BinaryIO

import httpx

from ..errors import IndexFetchError
from .urls import is_file_url, redact, url_to_path

__all__ = ["Fetcher", "RangeIgnored", "Response", "Stats"]

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_USER_AGENT = "wheelwise/0.1 (+pip-compatible index client)"


@dataclasses.dataclass
class Stats:
    """Requests made and bytes received, per kind of request (thread-safe)."""

    requests: dict[str, int] = dataclasses.field(default_factory=dict)
    bytes: dict[str, int] = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str, nbytes: int, requests: int = 1) -> None:
        with self._lock:
            self.requests[kind] = self.requests.get(kind, 0) + requests
            self.bytes[kind] = self.bytes.get(kind, 0) + nbytes

    def total_requests(self) -> int:
        return sum(self.requests.values())

    def total_bytes(self) -> int:
        return sum(self.bytes.values())


@dataclasses.dataclass(frozen=True)
class Response:
    """What a GET gave back, body complete."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


class Fetcher:
    """GETs with retries, range reads and bounded streaming, over HTTP or files.

    :param timeout: seconds for connect and for each read.
    :param retries: attempts after the first for transient failures.
    :param backoff: first delay in seconds; doubled per attempt, with jitter.
    :param cert: CA bundle path, as pip's ``--cert``.
    :param trusted_hosts: hosts whose TLS certificates are not verified.
    :param transport: an httpx transport (tests inject faults with it).
    """

    def __init__(
        self,
        *,
        timeout: float = 15.0,
        retries: int = 3,
        backoff: float = 0.25,
        cert: str | None = None,
        trusted_hosts: tuple[str, ...] = (),
        max_connections: int = 32,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.retries = retries
        self.backoff = backoff
        self.trusted_hosts = {h.split(":")[0] for h in trusted_hosts}
        self.stats = Stats()
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)

        def client(verify: ssl.SSLContext | bool | str) -> httpx.Client:
            return httpx.Client(
                transport=transport,
                verify=verify,
                timeout=httpx.Timeout(timeout),
                limits=limits,
                follow_redirects=True,
                headers={"User-Agent": _USER_AGENT},
                trust_env=True,
            )

        self._client = client(cert or True)
        self._insecure = client(False) if self.trusted_hosts and transport is None else self._client

    def close(self) -> None:
        self._client.close()
        if self._insecure is not self._client:
            self._insecure.close()

    def _client_for(self, url: str) -> httpx.Client:
        host = urllib.parse.urlsplit(url).hostname or ""
        return self._insecure if host in self.trusted_hosts else self._client

    # -- plumbing ---------------------------------------------------------

    def _sleep(self, attempt: int) -> None:
        delay = self.backoff * (2**attempt)
        time.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter only

    @contextmanager
    def _stream(self, url: str, headers: Mapping[str, str]) -> Iterator[httpx.Response]:
        """Open a streamed GET, retrying transient failures before any byte is used."""
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                with self._client_for(url).stream("GET", url, headers=dict(headers)) as response:
                    if response.status_code in _RETRY_STATUSES and attempt < self.retries:
                        last = None
                        response.read()
                    else:
                        yield response
                        return
            except httpx.TimeoutException as exc:
                last = exc
            except httpx.TransportError as exc:
                last = exc
            if attempt < self.retries:
                self._sleep(attempt)
        what = "timed out" if isinstance(last, httpx.TimeoutException) else f"failed ({last})"
        raise IndexFetchError(
            f"GET {redact(url)} {what} after {self.retries + 1} attempts",
            url=redact(url),
            hint="check the network or the index URL; --offline answers from the cache",
        )

    def _check(self, url: str, response: httpx.Response, *, ok: tuple[int, ...]) -> None:
        if response.status_code in ok:
            return
        reason = response.reason_phrase or ""
        hint = None
        if response.status_code in (401, 403):
            hint = "the index wants credentials: put them in the URL, in .netrc or in pip's configuration"
        raise IndexFetchError(
            f"GET {redact(url)} answered {response.status_code} {reason}".rstrip(),
            url=redact(url),
            status=response.status_code,
            hint=hint,
        )

    def _read_body(self, url: str, response: httpx.Response, limit: int | None) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if limit is not None and size > limit:
                    raise IndexFetchError(
                        f"{redact(url)} is larger than the {limit} bytes allowed for it",
                        url=redact(url),
                        hint="raise the limit or use an index that serves PEP 658 metadata",
                    )
                chunks.append(chunk)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise _CutOff(
                f"the body of {redact(url)} was cut off after {size} bytes ({exc})",
                url=redact(url),
                status=response.status_code,
                hint="the index or a proxy broke the connection; try again",
            ) from exc
        return b"".join(chunks)

    # -- public calls -----------------------------------------------------

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        kind: str = "page",
        limit: int | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> Response:
        """GET the whole body; statuses outside *ok* raise :class:`IndexFetchError`."""
        if is_file_url(url):
            return self._get_file(url, kind=kind, limit=limit)
        for attempt in range(self.retries + 1):
            with self._stream(url, headers or {}) as response:
                self._check(url, response, ok=ok)
                try:
                    body = self._read_body(url, response, limit)
                except _CutOff:
                    if attempt == self.retries:
                        raise
                    self._sleep(attempt)
                    continue
                self.stats.add(kind, len(body))
                return Response(str(response.url), response.status_code, dict(response.headers), body)
        raise AssertionError("unreachable")  # pragma: no cover

    def _get_file(self, url: str, *, kind: str, limit: int | None) -> Response:
        path = url_to_path(url)
        if path.is_dir():
            path = path / "index.html"
        try:
            size = path.stat().st_size
            if limit is not None and size > limit:
                raise IndexFetchError(f"{url} is larger than the {limit} bytes allowed for it", url=url)
            body = path.read_bytes()
        except FileNotFoundError:
            return Response(url, 404, {}, b"")
        except OSError as exc:
            raise IndexFetchError(f"cannot read {path}: {exc.strerror}", url=url) from exc
        self.stats.add(kind, len(body))
        ctype = "text/html" if path.suffix in (".html", ".htm") else "application/octet-stream"
        return Response(url, 200, {"content-type": ctype, "content-length": str(size)}, body)

    def get_range(
        self, url: str, start: int | None, end: int, *, full_limit: int, kind: str = "metadata"
    ) -> tuple[int, bytes, int | None]:
        """Read bytes ``[start, end)``, or the last *end* bytes when *start* is None.

        Returns ``(offset, body, total_size)``.  When the server ignores the
        range and answers 200, the whole file (at most *full_limit* bytes) is
        streamed into a temporary file and :class:`RangeIgnored` carries it:
        the caller should remember that this index cannot do ranges.
        """
        header = f"bytes=-{end}" if start is None else f"bytes={start}-{end - 1}"
        with self._stream(url, {"Range": header, "Accept-Encoding": "identity"}) as response:
            self._check(url, response, ok=(200, 206))
            if response.status_code == 200:
                spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller
                self.drain(url, response, spool, limit=full_limit, kind=kind)
                spool.seek(0)
                raise RangeIgnored(spool)
            body = self._read_body(url, response, None)
            self.stats.add(kind, len(body))
            offset, total = _parse_content_range(response.headers.get("content-range", ""))
            if offset is None:
                raise IndexFetchError(
                    f"{redact(url)} answered 206 without a usable Content-Range",
                    url=redact(url),
                    status=206,
                )
            return offset, body, total

    def download(self, url: str, sink: BinaryIO, *, limit: int, kind: str = "download") -> int:
        """Stream the whole file at *url* into *sink*, at most *limit* bytes."""
        if is_file_url(url):
            local = self._get_file(url, kind=kind, limit=limit)
            if local.status == 404:
                raise IndexFetchError(f"{url} does not exist", url=url, status=404)
            sink.write(local.content)
            return len(local.content)
        with self._stream(url, {"Accept-Encoding": "identity"}) as response:
            self._check(url, response, ok=(200,))
            return self.drain(url, response, sink, limit=limit, kind=kind)

    def drain(self, url: str, response: httpx.Response, sink: BinaryIO, *, limit: int, kind: str) -> int:
        """Copy a streamed body into *sink*, bounded by *limit* bytes."""
        size = 0
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise IndexFetchError(
                f"{redact(url)} is {int(declared)} bytes, over the {limit} allowed for a full download",
                url=redact(url),
                hint="use an index that serves PEP 658 metadata or honours range requests",
            )
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise IndexFetchError(
                        f"{redact(url)} is over the {limit} bytes allowed for a full download",
                        url=redact(url),
                    )
                sink.write(chunk)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            raise IndexFetchError(
                f"the download of {redact(url)} was cut off after {size} bytes",
                url=redact(url),
                hint="try again",
            ) from exc
        self.stats.add(kind, size)
        return size


class _CutOff(IndexFetchError):
    """A body ended early: worth another attempt, unlike a body over its limit."""


class RangeIgnored(Exception):
    """The server answered a range request with the whole file (status 200).

    :param file: the whole file, already downloaded (bounded), positioned at 0.
    """

    def __init__(self, file: BinaryIO) -> None:
        super().__init__("the server ignored the Range header")
        self.file = file


def _parse_content_range(value: str) -> tuple[int | None, int | None]:
    # "bytes 100-199/1000" or "bytes 100-199/*"
    try:
        unit, _, spec = value.partition(" ")
        span, _, total = spec.partition("/")
        start = int(span.split("-")[0])
    except ValueError:
        return None, None
    if unit != "bytes":
        return None, None
    return start, int(total) if total.isdigit() else None

"""All network and local-file I/O of the index: the only module that imports urllib3.

Why urllib3 2 (what pip uses) and not httpx or its fork httpx2, measured with
``bench/http_client.py`` on loopback (2026-11-22, 2 shared cores; medians):

=========  =========  ========  =======  ========  =========  =================
client     import s   +RSS MiB  seq/s    16 thr/s  range/s    gzip bomb, chunk
=========  =========  ========  =======  ========  =========  =================
httpx      0.25       14.5      1453     933       866        64 MiB
httpx2     0.25       15.8      1298     1741      1205       1 MiB
urllib3    0.19       14.1      1747     1940      2467       64 KiB
=========  =========  ========  =======  ========  =========  =================

(seq: GETs of a 40 KiB page on one connection; 16 thr: the same from 16
threads; range: 64 KiB range reads; gzip bomb: the largest decoded chunk handed
over from a 1 MiB body that inflates to 1 GiB.)  A second run on a busier
machine kept the order: seq/16 thr/range per second httpx 973/1250/606, httpx2
649/1165/635, urllib3 1175/3103/1237, and this module's :class:`Fetcher` (bounds,
watchdog and credentials on top of urllib3) 682/1269/883.

urllib3 is the fastest on every request pattern wheelwise makes, has no
dependencies, inflates a compressed body at most one read's worth at a time
(httpx hands over 64 MiB from a 1 MiB gzip body in one chunk), and lets the
connection class be chosen, which the total deadline and Ctrl-C below need.

**Bounds** (:class:`NetworkLimits`: the network's rows of the bounds table; what is
read out of archives and pages is bounded by :mod:`.limits`): page size after decoding, range
replies no larger than asked (plus 1 MiB of rounding), redirects (loops caught at once), an idle
timeout (pip's ``timeout``/``PIP_DEFAULT_TIMEOUT``) and a total deadline per
request, retries and their sleeps included: one retry budget per request,
never a loop inside a loop.  A watchdog thread shuts down the socket of a
request past its deadline (a server dripping a byte every few seconds never
trips an idle timeout), and :meth:`Fetcher.abort` shuts down every socket at
once, so Ctrl-C does not wait for hung reads.  A bound that is hit raises
:class:`~wheelwise.errors.LimitExceededError` naming the (redacted) URL and
the bound.

**Secrets**: URLs given to and returned by this module carry no credentials;
:class:`~.auth.Credentials` adds them per request.  **TLS**: the system trust
store (as pip does: through ``truststore`` on macOS and Windows, OpenSSL's own
store loaded once elsewhere), plus ``cert`` (a CA bundle) and
``client_cert``; ``trusted_host`` skips verification for its hosts.  Proxies
come from the environment (``https_proxy``, ``no_proxy``...) or pip's ``proxy``.

``file:`` URLs are read from disk through the same calls, only when they name
a regular file (never a FIFO, device or folder); which pages may link to local
files at all is decided by the repository (only local pages may).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import re
import socket
import ssl
import stat
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import BinaryIO, TypeVar

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import DecodeError, HTTPError, ProtocolError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from ..errors import IndexFetchError, LimitExceededError
from .auth import Credentials
from .limits import NetworkLimits
from .urls import is_file_url, is_http_url, malformed, redact, url_to_path

__all__ = ["Fetcher", "NetworkLimits", "RangeIgnored", "Response", "Stats", "abort_all", "open_local"]

T = TypeVar("T")
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_USER_AGENT = "wheelwise/0.1 (+pip-compatible index client)"
_CHUNK = 64 << 10


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
    """What a GET gave back, body complete; *url* is the final URL without credentials,
    *headers* have lower-case names."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def text(self) -> str:
        """The body decoded by its declared charset; UTF-8 when none or an unknown one."""
        charset = "utf-8"
        if "charset=" in self.content_type:
            charset = self.content_type.split("charset=", 1)[1].split(";")[0].strip().strip("\"'") or "utf-8"
        try:
            return self.content.decode(charset, "replace")
        except LookupError:
            return self.content.decode("utf-8", "replace")


class RangeIgnored(Exception):
    """The server answered a range request with the whole file (status 200).

    :param file: the whole file, already downloaded (bounded), positioned at 0.
    :param whole: the range asked covered the whole file: a server may answer that with 200
        (RFC 9110, 14.2: it may ignore a Range), which says nothing of other ranges.
    """

    def __init__(self, file: BinaryIO, *, whole: bool = False) -> None:
        super().__init__("the server ignored the Range header")
        self.file = file
        self.whole = whole


# -- deadlines and Ctrl-C: a watchdog that shuts sockets down ------------------


class _Watch:
    """One request's deadline and the connections it used."""

    __slots__ = ("conns", "deadline", "fired", "lock")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired: str | None = None  # "deadline" or "aborted"
        self.conns: list[HTTPConnection] = []
        self.lock = threading.Lock()

    def add(self, conn: HTTPConnection) -> None:
        with self.lock:
            self.conns.append(conn)
            fired = self.fired
        if fired:
            _shut(conn)

    def fire(self, why: str) -> None:
        with self.lock:
            if self.fired:
                return
            self.fired = why
            conns = list(self.conns)
        for conn in conns:
            _shut(conn)


def _shut(conn: HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        # the plain socket's shutdown, not SSLSocket's (which drops its state under a
        # reader in another thread): a blocked recv returns at once, on either
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


_current = threading.local()


class _Watchdog:
    """Fires each watch at its deadline, all of them on :meth:`abort`."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watches: set[_Watch] = set()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.aborted = threading.Event()

    @contextlib.contextmanager
    def watching(self, deadline: float) -> Iterator[_Watch]:
        watch = _Watch(deadline)
        with self._cond:
            self._watches.add(watch)
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._loop, name="wheelwise-watchdog", daemon=True)
                self._thread.start()
            self._cond.notify()
        if self.aborted.is_set():
            watch.fire("aborted")
        _current.watch = watch
        try:
            yield watch
        finally:
            _current.watch = None
            with self._cond:
                self._watches.discard(watch)

    def _loop(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                due = [w for w in self._watches if not w.fired and w.deadline <= now]
                for watch in due:
                    watch.fire("deadline")
                pending = [w.deadline for w in self._watches if not w.fired]
                self._cond.wait(timeout=max(0.01, min(pending) - now) if pending else None)

    def abort(self) -> None:
        self.aborted.set()
        with self._cond:
            watches = list(self._watches)
        for watch in watches:
            watch.fire("aborted")

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()


class _Watched:
    """Connection mixin: tells the request's watch which socket it uses."""

    sock: socket.socket | None

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._tell()

    def request(self, *args: object, **kwargs: object) -> None:
        self._tell()
        super().request(*args, **kwargs)  # type: ignore[misc]

    def _tell(self) -> None:
        watch = getattr(_current, "watch", None)
        if watch is not None and self.sock is not None:
            watch.add(self)


class _HTTPConn(_Watched, HTTPConnection):
    pass


class _HTTPSConn(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConn


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConn


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


#: Where OpenSSL's trust usually lies when the paths it was built with hold none (a Python
#: built elsewhere, as python-build-standalone's): the candidates truststore tries, in its
#: order (truststore 0.10.5, src/truststore/_openssl.py; verified 2026-11-22).
_CA_FILE_CANDIDATES = (
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/cert.pem",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/ca-bundle.pem",
)
_HASHED_CERT = re.compile(r"[0-9a-fA-F]{8}\.[0-9]")


def _openssl_trust() -> ssl.SSLContext:
    """The system trust store where OpenSSL is the system's verifier (Linux, the BSDs).

    What truststore configures there, configured once: OpenSSL's default paths when they
    hold certificates, else the first candidate bundle that exists.  truststore does this
    again under a lock on every connection, and holds that lock through the handshake, so
    16 threads opening connections waited on each other: 25 connections took 7.7 s
    together, 0.9 s without it, and the 30-cell matrix's run 0.6 s longer
    (https://github.com/sethmlarson/truststore/issues/212; OpenSSL before 3.4 also adds
    the default folder again on each call).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, and checks the host name
    paths = ssl.get_default_verify_paths()
    if paths.cafile or (paths.capath and _holds_certificates(paths.capath)):
        context.set_default_verify_paths()
    else:
        for candidate in _CA_FILE_CANDIDATES:
            if os.path.isfile(candidate):
                context.load_verify_locations(cafile=candidate)
                break
    return context


def _holds_certificates(folder: str) -> bool:
    try:
        return any(_HASHED_CERT.fullmatch(name) for name in os.listdir(folder))
    except OSError:
        return False


def _ssl_context(cert: str | None, client_cert: str | None, *, verify: bool) -> ssl.SSLContext:
    """The system trust store (as pip: truststore), plus *cert*; *client_cert* presented.

    On macOS and Windows truststore asks the system to verify; elsewhere the system's
    trust is OpenSSL's, loaded once (:func:`_openssl_trust`).
    """
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif sys.platform == "darwin" or sys.platform == "win32":
        try:
            import truststore  # noqa: PLC0415 - optional at import time, as in pip

            context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        except (ImportError, OSError):
            context = ssl.create_default_context()
    else:
        context = _openssl_trust()
    if verify and cert:
        _load(context.load_verify_locations, cert, "cert")
    if client_cert:
        _load(context.load_cert_chain, client_cert, "client_cert")
    return context


def _load(call: Callable[[str], object], path: str, setting: str) -> None:
    from ..errors import ConfigError  # noqa: PLC0415 - only on this path

    try:
        call(path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"{setting} {path} cannot be used: {exc}", source=setting) from exc


_LIVE: weakref.WeakSet[Fetcher] = weakref.WeakSet()


def abort_all() -> None:
    """Abort every live :class:`Fetcher` (the CLI calls this on Ctrl-C, before anything
    waits for a worker thread that may be stuck in a read)."""
    for fetcher in list(_LIVE):
        fetcher.abort()


# -- local files ---------------------------------------------------------------


def open_local(url: str, *, limit: int | None = None) -> BinaryIO | None:
    """Open the regular file a ``file:`` URL names; ``None`` when it does not exist.

    A folder, FIFO, socket or device is refused before it is opened (a FIFO
    would block the open), and the descriptor is checked again after opening
    without blocking, so a file swapped for a FIFO in between is refused too.
    """
    path = url_to_path(url)
    try:
        before = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexFetchError(f"cannot read {path}: {exc.strerror}", url=url) from exc
    _regular(before, path, url)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexFetchError(f"cannot read {path}: {exc.strerror}", url=url) from exc
    handle = os.fdopen(fd, "rb")
    try:
        after = os.fstat(fd)
        _regular(after, path, url)
        if limit is not None and after.st_size > limit:
            raise LimitExceededError(
                f"{path} is {after.st_size} bytes, larger than the {limit} bytes allowed for it",
                url=url,
                bound="page_bytes",
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        handle.close()
        raise
    return handle


def _regular(info: os.stat_result, path: object, url: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a FIFO, socket or device)"
        raise IndexFetchError(
            f"{path} is {what}; wheelwise reads only regular files from file: URLs",
            url=url,
            hint="point the index or --find-links at a folder of distributions",
        )


# -- the client ------------------------------------------------------------------


class Fetcher:
    """GETs with one retry budget, a deadline, range reads and bounded bodies, over HTTP or files.

    :param timeout: idle timeout in seconds: connect, and each wait for bytes
        (pip's ``timeout``).
    :param retries: attempts after the first for transient failures (pip's
        ``retries``), all within the request's deadline.
    :param backoff: first delay in seconds; doubled per attempt, with jitter.
    :param cert: CA bundle added to the system trust store, as pip's ``--cert``.
    :param client_cert: PEM file with the client certificate and key.
    :param trusted_hosts: hosts whose TLS certificates are not verified.
    :param proxy: pip's ``proxy`` setting; else the environment's proxies.
    :param limits: bounds (the defaults and ``WHEELWISE_*`` when ``None``).
    :param credentials: who to be where (netrc and keyring included).
    """

    def __init__(
        self,
        *,
        timeout: float = 15.0,
        retries: int = 3,
        backoff: float = 0.25,
        cert: str | None = None,
        client_cert: str | None = None,
        trusted_hosts: tuple[str, ...] = (),
        proxy: str | None = None,
        max_connections: int = 32,
        limits: NetworkLimits | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.limits = limits or NetworkLimits.from_environ(os.environ)
        self.credentials = credentials or Credentials()
        self.trusted_hosts = {h.split(":")[0] for h in trusted_hosts}
        self.stats = Stats()
        self._watchdog = _Watchdog()
        self._max = max_connections
        self._proxy = proxy
        self._managers: dict[tuple[str | None, bool], urllib3.PoolManager] = {}
        self._managers_lock = threading.Lock()
        self._contexts = {
            True: lambda: _ssl_context(cert, client_cert, verify=True),
            False: lambda: _ssl_context(None, client_cert, verify=False),
        }
        self._made: dict[bool, ssl.SSLContext] = {}
        _LIVE.add(self)

    def close(self) -> None:
        self._watchdog.close()
        with self._managers_lock:
            for manager in self._managers.values():
                manager.clear()
            self._managers.clear()

    def abort(self) -> None:
        """Stop every request now (Ctrl-C): sockets shut, sleeps cut, new requests refused."""
        self._watchdog.abort()

    def public_url(self, url: str) -> str:
        """*url* as it may be cached, written or shown: without credentials."""
        return self.credentials.public(url)

    # -- connections ------------------------------------------------------

    def _manager(self, url: str) -> urllib3.PoolManager:
        parts = urllib.parse.urlsplit(url)
        verify = (parts.hostname or "") not in self.trusted_hosts
        proxy = self._proxy_for(parts)
        key = (proxy, verify)
        with self._managers_lock:
            manager = self._managers.get(key)
            if manager is None:
                context = self._made.get(verify)
                if context is None:
                    context = self._made[verify] = self._contexts[verify]()
                common: dict[str, object] = {
                    "num_pools": 16,
                    "maxsize": self._max,
                    "ssl_context": context,
                    "cert_reqs": ssl.CERT_REQUIRED if verify else ssl.CERT_NONE,
                    "assert_hostname": None if verify else False,
                }
                if proxy:
                    proxy_clean, user, password = _split(proxy)
                    headers = urllib3.make_headers(proxy_basic_auth=f"{user}:{password or ''}") if user else None
                    manager = urllib3.ProxyManager(proxy_clean, proxy_headers=headers, **common)  # type: ignore[arg-type]
                else:
                    manager = urllib3.PoolManager(**common)  # type: ignore[arg-type]
                manager.pool_classes_by_scheme = _POOLS
                self._managers[key] = manager
        return manager

    def _proxy_for(self, parts: urllib.parse.SplitResult) -> str | None:
        if self._proxy:
            return self._proxy if "://" in self._proxy else f"http://{self._proxy}"
        proxies = urllib.request.getproxies_environment()
        if not proxies:
            return None
        host = parts.hostname or ""
        if urllib.request.proxy_bypass_environment(host, proxies):  # type: ignore[attr-defined]
            return None
        return proxies.get(parts.scheme) or proxies.get("all")

    # -- one request, one retry budget -------------------------------------

    def _request(
        self,
        url: str,
        headers: Mapping[str, str],
        read: Callable[[urllib3.BaseHTTPResponse, str], T],
        *,
        ok: tuple[int, ...],
        deadline: float,
        decode: bool = True,
    ) -> T:
        """GET *url* and hand the open response (status in *ok*) to *read*.

        Transient failures (connection errors, idle timeouts, a body cut off,
        5xx and 429) are tried again, *retries* times at most, sleeping between,
        all within *deadline* seconds; the deadline itself, a bound or an
        unexpected status is final.
        """
        if not is_http_url(url):
            raise IndexFetchError(f"{redact(url)} is not an http(s) URL", url=redact(url))
        _requestable(url)
        if self._watchdog.aborted.is_set():
            raise self._fired(url, "aborted", deadline)
        end = time.monotonic() + deadline
        attempt = 0
        while True:
            try:
                with self._watchdog.watching(end) as watch:
                    try:
                        return self._attempt(url, headers, read, ok=ok, end=end, decode=decode)
                    except _Transient:
                        if watch.fired:
                            raise self._fired(url, watch.fired, deadline) from None
                        raise
                    except (HTTPError, OSError) as exc:
                        if watch.fired:
                            raise self._fired(url, watch.fired, deadline) from None
                        raise _Transient(f"failed ({_why(exc)})") from exc
            except _Transient as exc:
                last = exc
            if attempt >= self.retries:
                tries = f"{attempt + 1} attempts" if attempt else "1 attempt"
                raise IndexFetchError(
                    f"GET {redact(url)} {last} after {tries}",
                    url=redact(url),
                    status=last.status,
                    hint="check the network or the index URL; --offline answers from the cache",
                ) from last
            delay = last.retry_after if last.retry_after is not None else self._backoff(attempt)
            if time.monotonic() + delay >= end:
                raise self._fired(url, "deadline", deadline) from last
            if self._watchdog.aborted.wait(delay):
                raise self._fired(url, "aborted", deadline) from last
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        delay = min(self.limits.backoff_cap, self.backoff * 2.0**attempt)
        return delay * (0.5 + random.random())  # noqa: S311 - jitter only

    def _fired(self, url: str, why: str, deadline: float) -> IndexFetchError:
        if why == "aborted":
            return IndexFetchError(f"GET {redact(url)} was cancelled", url=redact(url))
        return LimitExceededError(
            f"GET {redact(url)} took longer than the {deadline:g} s allowed for one request",
            url=redact(url),
            bound="deadline",
            hint="the index is too slow or stalls; try again, or raise WHEELWISE_DEADLINE",
        )

    def _attempt(
        self,
        url: str,
        headers: Mapping[str, str],
        read: Callable[[urllib3.BaseHTTPResponse, str], T],
        *,
        ok: tuple[int, ...],
        end: float,
        decode: bool,
    ) -> T:
        response, final = self._open(url, headers, end, decode=decode)
        done = False
        try:
            if response.status == 401 and self.credentials.after_401(final) is not None:
                # the keyring's login is now known for that host, and only for it: the retry
                # sends it there, never on to another host a redirect names
                _discard(response)
                response, final = self._open(final, headers, end, decode=decode)
            if response.status in _RETRY_STATUSES:
                raise _Transient(f"answered {response.status}", response.status, _retry_after(response))
            self._check(final, response, ok)
            result = read(response, final)
            done = True
            return result
        except DecodeError as exc:
            raise IndexFetchError(
                f"the body of {redact(final)} cannot be decoded "
                f"({response.headers.get('content-encoding', 'no encoding')}): {_why(exc)}",
                url=redact(final),
                status=response.status,
                hint="the index or a proxy sent a broken compressed body",
            ) from exc
        except ProtocolError as exc:
            raise _Transient(f"was cut off ({_why(exc)})") from exc
        finally:
            if done:
                response.release_conn()  # read to its end: the connection is kept for the next request
            else:
                _discard(response)

    def _open(
        self, url: str, headers: Mapping[str, str], end: float, *, decode: bool
    ) -> tuple[urllib3.BaseHTTPResponse, str]:
        """Send the GET, following redirects (http and https only, loops refused)."""
        seen: set[str] = set()
        current = url
        for _ in range(self.limits.redirects + 1):
            seen.add(current)
            target, auth = self.credentials.authorize(current)
            idle = max(0.01, min(self.timeout, end - time.monotonic()))
            try:
                response = self._manager(target).urlopen(
                    "GET",
                    target,
                    headers={
                        "User-Agent": _USER_AGENT,
                        "Accept-Encoding": "gzip, deflate" if decode else "identity",
                        **headers,
                        **auth,
                    },
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    decode_content=decode,
                    timeout=urllib3.Timeout(connect=idle, read=idle),
                )
            except SSLError as exc:
                raise IndexFetchError(
                    f"TLS with {redact(current)} failed: {_why(exc)}",
                    url=redact(current),
                    hint="give the index's CA with --cert (PIP_CERT), or mark the host --trusted-host",
                ) from exc
            except Urllib3Timeout as exc:
                raise _Transient("timed out") from exc
            location = response.headers.get("location")
            if response.status not in _REDIRECTS or not location:
                return response, self.credentials.public(current)
            _discard(response)
            try:
                following = urllib.parse.urljoin(current, location)
            except ValueError:
                following = location
            _requestable(following)
            if not is_http_url(following):
                raise IndexFetchError(
                    f"{redact(current)} redirects to {redact(following)}, which is not http(s)",
                    url=redact(current),
                    status=response.status,
                )
            if following in seen:
                raise LimitExceededError(
                    f"{redact(url)} redirects in a loop (back to {redact(following)})",
                    url=redact(url),
                    bound="redirects",
                    hint="the index or a proxy is misconfigured",
                )
            current = following
        raise LimitExceededError(
            f"{redact(url)} redirects more than {self.limits.redirects} times",
            url=redact(url),
            bound="redirects",
            hint="the index or a proxy is misconfigured",
        )

    def _check(self, url: str, response: urllib3.BaseHTTPResponse, ok: tuple[int, ...]) -> None:
        if response.status in ok:
            return
        hint = None
        if response.status in (401, 403):
            hint = (
                "the index wants credentials: put them in .netrc, in the keyring "
                "(--keyring-provider), or in the index URL in pip's configuration"
            )
        reason = response.reason or ""
        raise IndexFetchError(
            f"GET {redact(url)} answered {response.status} {reason}".rstrip(),
            url=redact(url),
            status=response.status,
            hint=hint,
        )

    # -- bodies -------------------------------------------------------------

    def _body(self, response: urllib3.BaseHTTPResponse, url: str, limit: int, bound: str) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and not response.headers.get("content-encoding"):
            raise self._over(url, limit, bound, int(declared))
        body = bytearray()
        while True:
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            body += chunk
            if len(body) > limit:
                raise self._over(url, limit, bound)
        _complete(response, len(body))
        return bytes(body)

    def _over(self, url: str, limit: int, bound: str, size: int | None = None) -> LimitExceededError:
        what = f"is {size} bytes, larger than" if size is not None else "is larger than"
        hints = {
            "page_bytes": "raise WHEELWISE_MAX_PAGE_BYTES if this index really serves pages that large",
            "range": "the index answered a range request with more than was asked; it is misbehaving",
            "download": "use an index that serves PEP 658 metadata or honours range requests",
        }
        return LimitExceededError(
            f"{redact(url)} {what} the {limit} bytes allowed ({bound})",
            url=redact(url),
            bound=bound,
            hint=hints.get(bound),
        )

    def _sink(
        self, response: urllib3.BaseHTTPResponse, url: str, sink: BinaryIO, limit: int, kind: str
    ) -> int:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._over(url, limit, "download", int(declared))
        size = 0
        while True:
            chunk = response.read1(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise self._over(url, limit, "download")
            sink.write(chunk)
        _complete(response, size)
        self.stats.add(kind, size)
        return size

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
        """GET the whole body (at most *limit*, else the page bound, after decoding);
        statuses outside *ok* raise :class:`IndexFetchError`."""
        bound = limit if limit is not None else self.limits.page_bytes
        name = "page_bytes" if limit is None else f"{kind}_bytes"
        if is_file_url(url):
            return self._get_file(url, kind=kind, limit=bound)

        def read(response: urllib3.BaseHTTPResponse, final: str) -> Response:
            body = self._body(response, final, bound, name)
            self.stats.add(kind, len(body))
            names = {k.lower(): v for k, v in response.headers.items()}
            return Response(final, response.status, names, body)

        return self._request(url, headers or {}, read, ok=ok, deadline=self.limits.deadline)

    def _get_file(self, url: str, *, kind: str, limit: int) -> Response:
        path = url_to_path(url)
        if path.is_dir():
            url = (path / "index.html").as_uri()
        handle = open_local(url, limit=limit)
        if handle is None:
            return Response(url, 404, {}, b"")
        with handle:
            # a regular file (open_local checked): read what it holds, not a buffer of the bound's size
            body = handle.read(min(os.fstat(handle.fileno()).st_size, limit) + 1)
        if len(body) > limit:
            raise self._over(url, limit, "page_bytes")
        self.stats.add(kind, len(body))
        ctype = "text/html" if url.endswith((".html", ".htm")) else "application/octet-stream"
        return Response(url, 200, {"content-type": ctype, "content-length": str(len(body))}, body)

    def get_range(
        self, url: str, start: int | None, end: int, *, full_limit: int, kind: str = "metadata"
    ) -> tuple[int, bytes, int | None]:
        """Read bytes ``[start, end)``, or the last *end* bytes when *start* is None.

        Returns ``(offset, body, total_size)``; the total is ``None`` only when
        the server does not know it (``Content-Range: bytes a-b/*``) and the
        range was not a suffix (a suffix ends at the end of the file, so its
        total is its last byte + 1).  A reply longer than asked is refused
        (:class:`LimitExceededError`, bound ``range``).  When the server ignores
        the range and answers 200, the whole file (at most *full_limit* bytes)
        is streamed into a temporary file and :class:`RangeIgnored` carries it:
        the caller should remember that this index cannot do ranges, unless the range
        asked was the whole file (``whole``).
        """
        header = f"bytes=-{end}" if start is None else f"bytes={start}-{end - 1}"
        asked = end if start is None else end - start

        def read(response: urllib3.BaseHTTPResponse, final: str) -> tuple[int, bytes, int | None]:
            if response.status == 200:
                spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller
                try:
                    self._sink(response, final, spool, full_limit, kind)
                except BaseException:
                    spool.close()
                    raise
                size = spool.tell()
                spool.seek(0)
                raise RangeIgnored(spool, whole=size <= asked and start in (None, 0))
            offset, last, total = _parse_content_range(response.headers.get("content-range", ""))
            if offset is None or last is None:
                raise IndexFetchError(
                    f"{redact(final)} answered 206 without a usable Content-Range",
                    url=redact(final),
                    status=206,
                )
            allowed = asked + self.limits.range_slack
            if last - offset + 1 > allowed:
                raise self._over(final, allowed, "range", last - offset + 1)
            if start is not None and (offset > start or last < min(end, total or end) - 1):
                raise IndexFetchError(
                    f"{redact(final)} answered bytes {offset}-{last} to a request for {start}-{end - 1}",
                    url=redact(final),
                    status=206,
                    hint="the index or a proxy mishandles range requests",
                )
            body = self._body(response, final, allowed, "range")
            if len(body) != last - offset + 1:
                raise _Transient(f"sent {len(body)} bytes for a range of {last - offset + 1}")
            self.stats.add(kind, len(body))
            if total is None and start is None:
                total = last + 1
            return offset, body, total

        return self._request(
            url,
            {"Range": header},
            read,
            ok=(200, 206),
            deadline=self.limits.deadline,
            decode=False,
        )

    def download(self, url: str, sink: BinaryIO, *, limit: int, kind: str = "download") -> int:
        """Stream the whole file at *url* into *sink*, at most *limit* bytes."""
        if is_file_url(url):
            handle = open_local(url, limit=limit)
            if handle is None:
                raise IndexFetchError(f"{url} does not exist", url=url, status=404)
            with handle:
                size = 0
                while chunk := handle.read(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise self._over(url, limit, "download")
                    sink.write(chunk)
            self.stats.add(kind, size)
            return size
        start = sink.tell()

        def read(response: urllib3.BaseHTTPResponse, final: str) -> int:
            sink.seek(start)
            sink.truncate()
            return self._sink(response, final, sink, limit, kind)

        return self._request(url, {}, read, ok=(200,), deadline=self.limits.download_deadline, decode=False)


class _Transient(Exception):
    """A failure worth another attempt within the budget."""

    def __init__(self, what: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.status = status
        self.retry_after = retry_after


def _complete(response: urllib3.BaseHTTPResponse, size: int) -> None:
    """A body shorter than its Content-Length was cut off (worth another attempt)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and not response.headers.get("content-encoding") and size < int(declared):
        raise _Transient(f"was cut off after {size} of {declared} bytes")


def _requestable(url: str) -> None:
    """Refuse a URL that does not parse (a page or a redirect can give one) before any use."""
    why = malformed(url)
    if why is not None:
        raise IndexFetchError(f"{redact(url)} is not a URL that can be requested: {why}", url=redact(url),
                              hint="the index listed (or redirected to) a malformed link")


def _discard(response: urllib3.BaseHTTPResponse) -> None:
    """Close a response whose body is not wanted (its connection is not reused)."""
    with contextlib.suppress(Exception):
        response.close()
        response.release_conn()


def _retry_after(response: urllib3.BaseHTTPResponse) -> float | None:
    value = response.headers.get("retry-after", "")
    return min(float(value), 30.0) if value.isdigit() else None


def _why(exc: BaseException) -> str:
    """An exception's text without the URLs urllib3 puts in it (they may hold secrets)."""
    reason = getattr(exc, "reason", None)
    text = str(reason if isinstance(reason, BaseException) else exc)
    words = [w for w in text.split() if "://" not in w and "@" not in w]
    return " ".join(words)[:200] or type(exc).__name__


def _split(url: str) -> tuple[str, str | None, str | None]:
    from .urls import strip_userinfo  # noqa: PLC0415

    return strip_userinfo(url)


def _parse_content_range(value: str) -> tuple[int | None, int | None, int | None]:
    """``bytes FIRST-LAST/TOTAL`` (TOTAL may be ``*``): first, last, total."""
    unit, _, spec = value.strip().partition(" ")
    span, _, total = spec.partition("/")
    first, _, last = span.partition("-")
    if unit.lower() != "bytes" or not first.strip().isdigit() or not last.strip().isdigit():
        return None, None, None
    start, stop = int(first), int(last)
    if stop < start:
        return None, None, None
    size = int(total) if total.strip().isdigit() else None
    if size is not None and stop >= size:
        return None, None, None
    return start, stop, size

"""A package index served over real HTTP on loopback, for the tests.

It serves project pages as PEP 691 JSON or PEP 503 HTML, distribution files
(with or without range support), PEP 658 ``.metadata`` files (advertised or
not), and injected faults.  Its content is recorded real index data
(``tests/data/index``) and small real distributions the tests build.

Layout: ``/simple/<name>/``, ``/files/<filename>``, ``/files/<filename>.metadata``.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import html
import io
import json
import re
import sys
import threading
import time
import zipfile
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

__all__ = ["Fault", "IndexServer", "ServedFile", "load_recorded"]

RECORDED = Path(__file__).parent.parent / "data" / "index"


@dataclasses.dataclass
class ServedFile:
    filename: str
    content: bytes | None = None  # None: recorded file, only its metadata is known
    metadata: bytes | None = None
    requires_python: str | None = None
    yanked: str | None = None
    sha256: str | None = None
    metadata_sha256: str | None = None
    upload_time: str | None = None

    def __post_init__(self) -> None:
        if self.sha256 is None and self.content is not None:
            self.sha256 = hashlib.sha256(self.content).hexdigest()
        if self.metadata_sha256 is None and self.metadata is not None:
            self.metadata_sha256 = hashlib.sha256(self.metadata).hexdigest()

    @property
    def project(self) -> str:
        if self.filename.endswith("-variants.json"):  # PEP 825 index-level variant metadata
            return canonicalize_name(self.filename[: -len("-variants.json")].rsplit("-", 1)[0])
        if self.filename.endswith(".whl"):
            parts = self.filename[: -len(".whl")].split("-")
            if len(parts) == 7 or (len(parts) == 6 and not parts[2][:1].isdigit()):
                return canonicalize_name(parts[0])  # a PEP 825 variant label ends it: packaging cannot parse it yet
            return canonicalize_name(parse_wheel_filename(self.filename)[0])
        return canonicalize_name(parse_sdist_filename(self.filename)[0])


class _QuietServer(ThreadingHTTPServer):
    """A client that hangs up mid-reply (wheelwise closing its index while reads ahead are
    under way) is no error of the server's: no traceback on stderr, where a test reads the CLI's."""

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@dataclasses.dataclass
class Fault:
    """Misbehaviour for requests whose path matches *pattern* (a regex).

    kinds: ``slow`` (sleep *arg* seconds), ``status`` (answer *arg*),
    ``truncate`` (announce the full length, send half, close), ``body``
    (answer 200 with *arg* as body), ``ignore-range`` (answer 200 to ranges),
    ``whole-range-200`` (answer 200 to a range that covers the whole file, as RFC 9110 allows),
    ``raw`` (*arg* is called with the request handler and writes the whole
    reply itself: hangs, drips, redirects, odd headers).
    *times* limits how often it fires (``None``: always).
    """

    pattern: str
    kind: str
    arg: object = None
    times: int | None = None


@dataclasses.dataclass
class Logged:
    method: str
    path: str
    range: str | None
    status: int
    sent: int


def load_recorded(names: Iterable[str] | None = None, directory: Path = RECORDED) -> list[ServedFile]:
    """Files of recorded projects (all of them when *names* is None).

    Recorded wheels have metadata only (their bytes were never stored);
    recorded sdists are trimmed archives under ``files/``.
    """
    wanted = None if names is None else {canonicalize_name(n) for n in names}
    served: list[ServedFile] = []
    for page in sorted(directory.glob("*.json")):
        data = json.loads(page.read_text())
        if wanted is not None and canonicalize_name(data["name"]) not in wanted:
            continue
        for f in data["files"]:
            digest = f["core-metadata"]["sha256"]
            archive = directory / "files" / f["filename"]
            served.append(
                ServedFile(
                    filename=f["filename"],
                    content=archive.read_bytes() if archive.exists() else None,
                    metadata=data["metadata"][digest].encode(),
                    requires_python=f.get("requires-python"),
                    yanked=f.get("yanked"),
                    sha256=f.get("hashes", {}).get("sha256"),
                    metadata_sha256=digest,
                )
            )
    return served


class IndexServer:
    """Start with ``with IndexServer() as server:``; ``server.url`` is the simple index."""

    def __init__(self, *, mode: str = "json", pep658: bool = True, ranges: bool = True) -> None:
        self.mode = mode
        self.pep658 = pep658
        self.ranges = ranges
        self.files: dict[str, ServedFile] = {}
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self.page_etags = True
        #: when set, every request must carry these Basic credentials (or this query
        #: string, for ``"?..."``) or gets 401
        self.basic_auth: tuple[str, str] | None = None
        self.query_token: str | None = None
        #: Authorization headers seen, to check what the client sent
        self.authorizations: list[str | None] = []
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    # -- set-up -----------------------------------------------------------

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        return f"{self.base}/simple/"

    def add(self, *files: ServedFile) -> None:
        for f in files:
            self.files[f.filename] = f

    def add_wheel(self, filename: str, content: bytes, **kwargs: object) -> ServedFile:
        metadata = None
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            members = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
            if members:
                metadata = zf.read(members[0])
        served = ServedFile(filename, content=content, metadata=metadata, **kwargs)  # type: ignore[arg-type]
        self.add(served)
        return served

    def fault(self, pattern: str, kind: str, arg: object = None, times: int | None = None) -> Fault:
        fault = Fault(pattern, kind, arg, times)
        self.faults.append(fault)
        return fault

    def requests(self, pattern: str = "") -> list[Logged]:
        with self._lock:
            return [entry for entry in self.log if re.search(pattern, entry.path)]

    def clear_log(self) -> None:
        with self._lock:
            self.log.clear()

    def __enter__(self) -> IndexServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- content ----------------------------------------------------------

    def project_page(self, name: str) -> tuple[bytes, str] | None:
        files = [f for f in self.files.values() if f.project == canonicalize_name(name)]
        if not files:
            return None
        if self.mode == "json":
            entries = []
            for f in files:
                entry: dict[str, object] = {
                    "filename": f.filename,
                    "url": f"../../files/{f.filename}",
                    "hashes": {"sha256": f.sha256} if f.sha256 else {},
                }
                if f.requires_python:
                    entry["requires-python"] = f.requires_python
                if f.content is not None:
                    entry["size"] = len(f.content)
                if f.upload_time:
                    entry["upload-time"] = f.upload_time
                if f.yanked is not None:
                    entry["yanked"] = f.yanked or True
                if self.pep658 and f.metadata is not None:
                    entry["core-metadata"] = {"sha256": f.metadata_sha256}
                entries.append(entry)
            doc = {"meta": {"api-version": "1.1"}, "name": name, "files": entries}
            return json.dumps(doc).encode(), "application/vnd.pypi.simple.v1+json"
        anchors = []
        for f in files:
            attrs = f' href="../../files/{f.filename}' + (f'#sha256={f.sha256}"' if f.sha256 else '"')
            if f.requires_python:
                attrs += f' data-requires-python="{html.escape(f.requires_python)}"'
            if f.yanked is not None:
                attrs += f' data-yanked="{html.escape(f.yanked)}"'
            if self.pep658 and f.metadata is not None:
                attrs += f' data-core-metadata="sha256={f.metadata_sha256}"'
            anchors.append(f"<a{attrs}>{f.filename}</a><br/>")
        body = f"<!DOCTYPE html><html><body><h1>Links for {name}</h1>{''.join(anchors)}</body></html>"
        return body.encode(), "text/html"

    # -- HTTP -------------------------------------------------------------

    def _take_raw(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.kind == "raw" and re.search(fault.pattern, path) and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.kind == "raw":
                    continue
                if re.search(fault.pattern, path) and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str = "text/plain", headers: dict[str, str] | None = None) -> None:
                fault = server._take_fault(self.path)
                if fault and fault.kind == "slow":
                    time.sleep(float(fault.arg))  # type: ignore[arg-type]
                elif fault and fault.kind == "status":
                    status, body, headers = int(fault.arg), b"injected failure", {}  # type: ignore[arg-type]
                elif fault and fault.kind == "body":
                    status, body, headers = 200, fault.arg, {}  # type: ignore[assignment]
                truncated = fault is not None and fault.kind == "truncate"
                sent = 0 if self.command == "HEAD" else len(body) // 2 if truncated else len(body)
                # logged before the reply goes out: a client that has read the reply
                # always finds its request in the log (logging after the write raced it)
                with server._lock:
                    server.log.append(Logged(self.command, self.path, self.headers.get("Range"), status, sent))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                if self.command == "HEAD":
                    return
                self.wfile.write(body[:sent])
                if truncated:
                    self.wfile.flush()
                    self.close_connection = True

            def do_GET(self) -> None:  # noqa: N802
                fault = server._take_raw(self.path)
                if fault is not None:
                    with server._lock:
                        server.log.append(Logged(self.command, self.path, self.headers.get("Range"), 0, 0))
                    fault.arg(self)  # type: ignore[operator]
                    return None
                if not self._authorized():
                    return self._send(401, b"who are you?", headers={"WWW-Authenticate": 'Basic realm="index"'})
                path = self.path.split("?")[0]
                if path.startswith("/simple/"):
                    return self._page(path)
                if path.startswith("/files/"):
                    return self._file(path[len("/files/") :])
                self._send(404, b"not found")

            do_HEAD = do_GET  # noqa: N815

            def _authorized(self) -> bool:
                sent = self.headers.get("Authorization")
                with server._lock:
                    server.authorizations.append(sent)
                if server.query_token is not None and server.query_token not in self.path.partition("?")[2].split("&"):
                    return False
                if server.basic_auth is None:
                    return True
                user, password = server.basic_auth
                return sent == "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

            def _page(self, path: str) -> None:
                name = path[len("/simple/") :].strip("/")
                found = server.project_page(name)
                if found is None:
                    return self._send(404, b"no such project")
                body, ctype = found
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if server.page_etags and self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", ctype, {"ETag": etag})
                self._send(200, body, ctype, {"ETag": etag} if server.page_etags else None)

            def _file(self, filename: str) -> None:
                if filename.endswith(".metadata"):
                    served = server.files.get(filename[: -len(".metadata")])
                    if served is None or served.metadata is None or not server.pep658:
                        return self._send(404, b"no metadata")
                    return self._send(200, served.metadata, "application/octet-stream")
                served = server.files.get(filename)
                if served is None or served.content is None:
                    return self._send(404, b"no such file")
                content = served.content
                ignore = server._peek(self.path, "ignore-range")
                spec = self.headers.get("Range")
                if spec and server.ranges and not ignore:
                    start, end = _parse_range(spec, len(content))
                    if start == 0 and end == len(content) - 1 and server._peek(self.path, "whole-range-200"):
                        return self._send(200, content, "application/octet-stream")
                    if start is None:
                        return self._send(416, b"", headers={"Content-Range": f"bytes */{len(content)}"})
                    return self._send(
                        206,
                        content[start : end + 1],
                        "application/octet-stream",
                        {"Content-Range": f"bytes {start}-{end}/{len(content)}", "Accept-Ranges": "bytes"},
                    )
                self._send(200, content, "application/octet-stream")

        return Handler

    def _peek(self, path: str, kind: str) -> bool:
        with self._lock:
            return any(f.kind == kind and re.search(f.pattern, path) for f in self.faults)


def _parse_range(spec: str, size: int) -> tuple[int | None, int]:
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", spec.strip())
    if not match or (not match.group(1) and not match.group(2)):
        return None, 0
    first, last = match.groups()
    if not first:
        length = int(last)
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size:
        return None, 0
    return start, end

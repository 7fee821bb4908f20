"""Network faults, run against wheelwise itself: exit code, message, time, memory, secrets.

Each test starts ``python -m wheelwise check`` as a child process against the
loopback index (tests/helpers/indexserver.py) made to misbehave, and asserts
what a user would see: the exit code (3 for the index), a message naming the
URL and the bound, a wall time within the bound (generous: the machine is
shared), the child's peak memory (``ru_maxrss`` from ``os.wait4``, under
200 MB), and no secret in stdout, stderr or the cache.  Bounds are made small
through the documented variables so that a "hang" costs about two seconds.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer
from helpers.wheels import make_wheel, wheel_filename

MAX_RSS_MB = 200
DEMO = wheel_filename("demo", "1.0")


@dataclasses.dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float
    rss_mb: float

    @property
    def json(self) -> dict[str, object]:
        return json.loads(self.out)  # type: ignore[no-any-return]


# Runs wheelwise in a grandchild and reports its peak RSS.  Not wait4 on a direct child:
# Linux carries a process's ru_maxrss across exec, and a child forked (or vforked) from
# pytest starts with pytest's size; forked from this small wrapper it starts with ~10 MB.
_WRAPPER = """
import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "wheelwise", *sys.argv[1:]])
signal.signal(signal.SIGINT, signal.SIG_IGN)  # the wrapper outlives a Ctrl-C meant for its child
_, status, usage = os.wait4(pid, 0)
with open(os.environ["WW_RSS_FILE"], "w") as out:
    out.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


def wheelwise(*argv: str, env: dict[str, str] | None = None, timeout: float = 60,
              on_start: Callable[[subprocess.Popen[bytes]], None] | None = None,
              tmp: Path) -> Run:
    """Run wheelwise (in its own session, so a test can signal it as a terminal would)."""
    rss_file = tmp / "rss"
    environ = {**os.environ, "PIP_RETRIES": "0", "WW_RSS_FILE": str(rss_file), **(env or {})}
    out_path, err_path = tmp / "stdout", tmp / "stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", _WRAPPER, *argv], stdout=out, stderr=err, env=environ,
                                start_new_session=True)
        if on_start is not None:
            on_start(proc)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            pytest.fail(f"wheelwise {' '.join(argv)} still ran after {timeout} s")
        seconds = time.monotonic() - start
    return Run(code, out_path.read_text(), err_path.read_text(), seconds, int(rss_file.read_text()) / 1024)


def check(server: IndexServer, tmp: Path, *extra: str, index_url: str | None = None, **kwargs: object) -> Run:
    argv = ["check", "demo", "-t", "linux-x86_64", "-p", "3.12", "--no-knowledge",
            "--index-url", index_url or server.url, *extra]
    return wheelwise(*argv, tmp=tmp, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def server(index_server: IndexServer) -> IndexServer:
    index_server.add_wheel(DEMO, make_wheel("demo", "1.0"))
    return index_server


def cache_bytes() -> bytes:
    root = Path(os.environ["WHEELWISE_CACHE_DIR"])
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


# -- raw replies -----------------------------------------------------------------


def reply(status: int, body: bytes, headers: dict[str, str] | None = None) -> Callable[[BaseHTTPRequestHandler], None]:
    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        for key, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
            handler.send_header(key, value)
        handler.end_headers()
        with contextlib.suppress(OSError):
            handler.wfile.write(body)
    return send


def hang(seconds: float, arrived: threading.Event | None = None) -> Callable[[BaseHTTPRequestHandler], None]:
    def send(handler: BaseHTTPRequestHandler) -> None:
        if arrived is not None:
            arrived.set()
        time.sleep(seconds)
        handler.close_connection = True
    return send


def drip(every: float, size: int = 10_000) -> Callable[[BaseHTTPRequestHandler], None]:
    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        try:
            for _ in range(size):
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(every)
        except OSError:
            pass
        handler.close_connection = True
    return send


def gzip_bomb(inflated: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    return b"".join(packer.compress(block) for _ in range(inflated >> 20)) + packer.flush()


def page_html(server: IndexServer, href: str | None = None) -> bytes:
    href = href or f"../../files/{DEMO}"
    return f'<!DOCTYPE html><html><body><a href="{href}">{DEMO}</a></body></html>'.encode()


# -- time --------------------------------------------------------------------------


class TestTime:
    def test_hung_index_is_given_up_after_the_idle_timeout(self, server: IndexServer, tmp_path: Path) -> None:
        server.fault("/simple/demo/", "raw", hang(90))
        run = check(server, tmp_path, env={"PIP_DEFAULT_TIMEOUT": "1"})
        assert run.code == 3, run.err
        assert f"GET {server.url}demo/ timed out after 1 attempt" in run.err
        assert run.seconds < 30 and run.rss_mb < MAX_RSS_MB

    def test_drip_is_stopped_by_the_total_deadline(self, server: IndexServer, tmp_path: Path) -> None:
        # one byte every 0.3 s never trips a 2 s idle timeout: the 2 s deadline stops it
        server.fault("/simple/demo/", "raw", drip(0.3))
        run = check(server, tmp_path, env={"PIP_DEFAULT_TIMEOUT": "2", "WHEELWISE_DEADLINE": "2"})
        assert run.code == 3, run.err
        assert f"GET {server.url}demo/ took longer than the 2 s allowed for one request" in run.err
        assert "WHEELWISE_DEADLINE" in run.err
        assert run.seconds < 30 and run.rss_mb < MAX_RSS_MB

    def test_retries_are_one_budget(self, server: IndexServer, tmp_path: Path) -> None:
        server.fault("/simple/demo/", "status", 503)
        run = check(server, tmp_path, env={"PIP_RETRIES": "2"})
        assert run.code == 3, run.err
        assert "answered 503 after 3 attempts" in run.err
        assert len(server.requests("/simple/demo/")) == 3  # not 3 x 3
        assert run.seconds < 30

    def test_a_body_cut_off_is_retried_within_the_same_budget(self, server: IndexServer, tmp_path: Path) -> None:
        server.fault("/simple/demo/", "truncate")
        run = check(server, tmp_path, env={"PIP_RETRIES": "1"})
        assert run.code == 3, run.err
        assert "cut off" in run.err and "after 2 attempts" in run.err
        assert len(server.requests("/simple/demo/")) == 2

    def test_ctrl_c_during_a_hung_fetch_returns_at_once(self, server: IndexServer, tmp_path: Path) -> None:
        arrived = threading.Event()
        server.fault("/simple/demo/", "raw", hang(60, arrived))
        interrupted: list[float] = []

        def interrupt(proc: subprocess.Popen[bytes]) -> None:
            assert arrived.wait(30), "the request never arrived"
            time.sleep(0.3)
            interrupted.append(time.monotonic())
            os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C does: to the whole foreground group

        run = check(server, tmp_path, env={"PIP_DEFAULT_TIMEOUT": "60"}, on_start=interrupt)
        waited = time.monotonic() - interrupted[0]
        assert run.code == 130 and "interrupted" in run.err
        assert "Traceback" not in run.err
        # about 0.2 s when the machine is idle; generous for a busy one, far from the 60 s hang
        assert waited < 10, f"exit took {waited:.1f} s after SIGINT"

    def test_redirect_loop_is_refused_at_once(self, server: IndexServer, tmp_path: Path) -> None:
        server.fault("/simple/demo/$", "raw", reply(302, b"", {"Location": "/simple/demo/again/"}))
        server.fault("/simple/demo/again/$", "raw", reply(301, b"", {"Location": "/simple/demo/"}))
        run = check(server, tmp_path, env={"PIP_RETRIES": "3"})
        assert run.code == 3, run.err
        assert f"{server.url}demo/ redirects in a loop (back to {server.url}demo/)" in run.err
        assert len(server.requests("/simple/demo/")) == 2

    def test_redirect_to_a_local_file_is_refused(self, server: IndexServer, tmp_path: Path) -> None:
        server.fault("/simple/demo/$", "raw", reply(302, b"", {"Location": "file:///etc/passwd"}))
        run = check(server, tmp_path)
        assert run.code == 3 and "which is not http(s)" in run.err


# -- size --------------------------------------------------------------------------


class TestSize:
    def test_gzip_inflated_page_is_bounded(self, server: IndexServer, tmp_path: Path) -> None:
        # 256 MiB once inflated, sent as 250 KiB: stopped at the default 64 MiB page bound
        bomb = gzip_bomb(256 << 20)
        server.fault("/simple/demo/", "raw", reply(200, bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip"}))
        run = check(server, tmp_path)
        assert run.code == 3, run.err
        assert f"{server.url}demo/ is larger than the {64 << 20} bytes allowed (page_bytes)" in run.err
        assert "WHEELWISE_MAX_PAGE_BYTES" in run.err
        assert run.rss_mb < MAX_RSS_MB, f"{run.rss_mb:.0f} MB"

    def test_page_bound_is_configurable(self, server: IndexServer, tmp_path: Path) -> None:
        server.fault("/simple/demo/", "raw", reply(200, b" " * 5000 + page_html(server), {"Content-Type": "text/html"}))
        run = check(server, tmp_path, env={"WHEELWISE_MAX_PAGE_BYTES": "4096"})
        assert run.code == 3 and "larger than the 4096 bytes allowed (page_bytes)" in run.err

    def test_range_reply_far_larger_than_asked_is_refused(self, tmp_path: Path) -> None:
        with IndexServer(pep658=False) as server:
            server.add_wheel(DEMO, make_wheel("demo", "1.0"))
            huge = b"\0" * (64 << 20)
            server.fault(
                "/files/", "raw",
                reply(206, huge, {"Content-Range": f"bytes 0-{len(huge) - 1}/{len(huge)}"}),
            )
            run = check(server, tmp_path)
        assert run.code == 3, run.err
        allowed = (16 << 10) + (1 << 20)  # the 16 KiB asked for, and Limits.range_slack
        assert f"demo-1.0-py3-none-any.whl is {64 << 20} bytes, larger than the {allowed} bytes allowed (range)" in run.err
        assert run.rss_mb < MAX_RSS_MB


    def test_range_reply_for_another_span_is_refused(self, tmp_path: Path) -> None:
        # METADATA first and 200 KB after it: the tail (16 KiB) cannot hold it, a second range is needed
        content = make_wheel("demo", "1.0", dist_info_first=True, filler=200_000)
        with IndexServer(pep658=False) as server:
            server.add_wheel(DEMO, content)
            # the tail is answered right, every later range with the file's first bytes
            server.fault(f"/files/{DEMO}", "raw", ranges_with_unknown_total(content), times=1)
            server.fault(f"/files/{DEMO}", "raw", reply(206, content[:10], {"Content-Range": f"bytes 0-9/{len(content)}"}))
            run = check(server, tmp_path)
        assert run.code == 3, run.err
        assert "answered bytes 0-9 to a request for" in run.err


# -- malformed replies -------------------------------------------------------------


def ranges_with_unknown_total(content: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    """Honour ranges, but answer ``Content-Range: bytes a-b/*`` (valid: total unknown)."""

    def send(handler: BaseHTTPRequestHandler) -> None:
        spec = handler.headers.get("Range", "")
        first, _, last = spec.removeprefix("bytes=").partition("-")
        if not first:
            start, end = max(0, len(content) - int(last)), len(content) - 1
        else:
            start, end = int(first), min(int(last), len(content) - 1)
        reply(206, content[start : end + 1], {"Content-Range": f"bytes {start}-{end}/*"})(handler)

    return send


class TestMalformed:
    def test_bad_gzip_body(self, server: IndexServer, tmp_path: Path) -> None:
        server.fault("/simple/demo/", "raw", reply(200, b"\x1f\x8bnot gzip at all", {"Content-Encoding": "gzip"}))
        run = check(server, tmp_path)
        assert run.code == 3, run.err
        assert f"the body of {server.url}demo/ cannot be decoded (gzip)" in run.err

    def test_unknown_charset_reads_as_utf8(self, server: IndexServer, tmp_path: Path) -> None:
        server.fault("/simple/demo/", "raw", reply(200, page_html(server), {"Content-Type": "text/html; charset=x-nonesuch"}))
        run = check(server, tmp_path, "--json")
        assert run.code == 0, run.err
        assert run.json["cells"][0]["verdict"] == "ok"  # type: ignore[index]

    def test_content_range_with_unknown_total(self, tmp_path: Path) -> None:
        content = make_wheel("demo", "1.0", requires_dist=["left-pad"], dist_info_first=True, filler=200_000)
        with IndexServer(pep658=False) as server:
            server.add_wheel(DEMO, content)
            server.add_wheel(wheel_filename("left-pad", "1.0"), make_wheel("left-pad", "1.0"))
            server.fault(f"/files/{DEMO}", "raw", ranges_with_unknown_total(content))
            run = check(server, tmp_path, "--json")
            ranged = [r for r in server.requests(f"/files/{DEMO}") if r.range]
        assert run.code == 0, run.err
        assert "left-pad" in run.out  # the metadata was read through the ranges
        assert len(ranged) >= 2 and all(r.range for r in server.requests(f"/files/{DEMO}"))

    @pytest.mark.parametrize("link", ["http://127.0.0.1:port/demo-1.0-py3-none-any.whl", "http://[::1/demo-1.0-py3-none-any.whl"])
    @pytest.mark.parametrize("command", ["check", "show"])
    def test_a_link_that_is_no_url_is_a_clear_error(self, server: IndexServer, tmp_path: Path, link: str, command: str) -> None:
        # a page may list a link whose port is not a number or whose host bracket is unclosed:
        # fetching it is refused with what and where, never a traceback or exit 70
        server.fault("/simple/demo/", "raw", reply(200, page_html(server, link), {"Content-Type": "text/html"}))
        run = (check(server, tmp_path, "--json") if command == "check"
               else wheelwise("show", "demo", "--index-url", server.url, tmp=tmp_path))
        assert run.code in (1, 3), run.err
        assert "Traceback" not in run.err and "unexpectedly" not in run.err
        assert "is not a URL that can be requested" in run.out + run.err


# -- local files -------------------------------------------------------------------


class TestLocalFiles:
    def test_remote_page_cannot_make_wheelwise_read_a_local_file(self, server: IndexServer, tmp_path: Path) -> None:
        fifo = tmp_path / DEMO
        os.mkfifo(fifo)  # opening it would block forever
        server.fault("/simple/demo/", "raw", reply(200, page_html(server, fifo.as_uri()), {"Content-Type": "text/html"}))
        run = check(server, tmp_path, "--json", timeout=30)
        assert run.code == 1, run.err  # no usable file: the link was not followed
        assert run.json["cells"][0]["verdict"] != "ok"  # type: ignore[index]

    @pytest.mark.parametrize("kind", ["fifo", "folder"])
    def test_find_links_folder_entry_that_is_no_regular_file(self, tmp_path: Path, kind: str) -> None:
        links = tmp_path / "links"
        links.mkdir()
        if kind == "fifo":
            os.mkfifo(links / DEMO)
        else:
            (links / DEMO).mkdir()
        run = wheelwise("check", "demo", "-t", "linux-x86_64", "-p", "3.12", "--no-knowledge",
                        "--no-index", "-f", str(links), tmp=tmp_path, timeout=30)
        # never opened for reading (a FIFO would block): that version is unusable, and says why
        assert run.code == 1, run.err
        why = "is listed as a distribution but is not a regular file" if kind == "fifo" else "Is a directory"
        assert f"unreadable metadata: {links / DEMO}" in run.out and why in run.out
        assert run.seconds < 30

    def test_a_local_index_linking_a_missing_wheel_says_so(self, tmp_path: Path) -> None:
        # a file: index page whose link leads nowhere: that version is unusable, and says why
        page = tmp_path / "simple" / "demo"
        page.mkdir(parents=True)
        (page / "index.html").write_text(f'<a href="../../files/{DEMO}">{DEMO}</a>')
        run = wheelwise("check", "demo", "-t", "linux-x86_64", "-p", "3.12", "--no-knowledge",
                        "--index-url", (tmp_path / "simple").as_uri(), tmp=tmp_path, timeout=30)
        assert run.code == 1, run.err
        assert "Traceback" not in run.err and "unexpectedly" not in run.err
        assert f"unreadable metadata: {tmp_path / 'files' / DEMO}" in run.out


# -- secrets -----------------------------------------------------------------------

SECRET = "s3cret-Token-42"


def assert_secret_absent(run: Run, *also: bytes) -> None:
    encoded = base64.b64encode(f"alice:{SECRET}".encode())
    for where, text in (("stdout", run.out.encode()), ("stderr", run.err.encode()), ("cache", cache_bytes()), *also):
        assert SECRET.encode() not in text and encoded not in text, f"the secret is in {where}"


@pytest.fixture
def private(server: IndexServer) -> Iterator[IndexServer]:
    server.basic_auth = ("alice", SECRET)
    yield server


class TestSecrets:
    def test_url_credentials(self, private: IndexServer, tmp_path: Path) -> None:
        url = private.url.replace("http://", f"http://alice:{SECRET}@")
        run = check(private, tmp_path, "--json", index_url=url)
        assert run.code == 0, run.err
        assert run.json["cells"][0]["verdict"] == "ok"  # type: ignore[index]
        assert cache_bytes(), "nothing was cached"
        assert_secret_absent(run)
        # the file itself (same host) was fetched with the index's credentials too
        assert all(sent for sent in private.authorizations)

    def test_netrc(self, private: IndexServer, tmp_path: Path) -> None:
        home = tmp_path / "home"
        home.mkdir()
        netrc = home / ".netrc"
        netrc.write_text(f"machine 127.0.0.1\nlogin alice\npassword {SECRET}\n")
        netrc.chmod(0o600)
        run = check(private, tmp_path, "--json", env={"HOME": str(home)})
        assert run.code == 0, run.err
        assert_secret_absent(run)

    def test_without_credentials_the_hint_says_where_to_put_them(self, private: IndexServer, tmp_path: Path) -> None:
        run = check(private, tmp_path, env={"HOME": str(tmp_path)})
        assert run.code == 3
        assert f"GET {private.url}demo/ answered 401" in run.err and ".netrc" in run.err

    def test_wrong_credentials_are_not_echoed(self, private: IndexServer, tmp_path: Path) -> None:
        url = private.url.replace("http://", "http://alice:wrong-but-secret@")
        run = check(private, tmp_path, "--json", index_url=url)
        assert run.code == 3
        assert "wrong-but-secret" not in run.out + run.err and b"wrong-but-secret" not in cache_bytes()

    def test_query_token_is_sent_but_never_stored_or_shown(self, server: IndexServer, tmp_path: Path) -> None:
        server.query_token = f"token={SECRET}"
        run = check(server, tmp_path, "--json", index_url=f"{server.url}?token={SECRET}")
        assert run.code == 0, run.err
        assert_secret_absent(run)
        server.fault("/simple/demo/", "status", 500)
        failed = check(server, tmp_path, "--refresh", index_url=f"{server.url}?token={SECRET}")
        # shown as the page URL alone: the token is the client's to add, not the message's
        assert failed.code == 3 and f"GET {server.url}demo/ answered 500" in failed.err
        assert_secret_absent(failed)

    def test_keyring_subprocess_after_a_401(self, private: IndexServer, tmp_path: Path) -> None:
        # the keyring command-line contract pip and uv use: `keyring get SERVICE USER`
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        script = bin_dir / "keyring"
        script.write_text(
            f"#!{sys.executable}\nimport sys\n"
            f"if sys.argv[1:2] == ['get'] and sys.argv[3] == 'alice':\n    print({SECRET!r})\n"
            "else:\n    sys.exit(1)\n"
        )
        script.chmod(0o755)
        url = private.url.replace("http://", "http://alice@")
        env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path)}
        run = check(private, tmp_path, "--json", "--keyring-provider", "subprocess", index_url=url, env=env)
        assert run.code == 0, run.err
        assert_secret_absent(run)
        disabled = check(private, tmp_path, "--keyring-provider", "disabled", "--refresh", index_url=url, env=env)
        assert disabled.code == 3 and "answered 401" in disabled.err

    def test_a_keyring_login_is_not_sent_on_to_the_host_a_redirect_names(self, server: IndexServer, tmp_path: Path) -> None:
        # the index answers 401, then (with the keyring's login) redirects to another host: the
        # login is that index's, and the other host never sees it
        elsewhere = IndexServer()
        with elsewhere:
            elsewhere.add_wheel(DEMO, make_wheel("demo", "1.0"))

            login = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()

            def guarded(handler: BaseHTTPRequestHandler) -> None:
                if handler.headers.get("Authorization") != login:
                    reply(401, b"who are you?", {"WWW-Authenticate": 'Basic realm="index"'})(handler)
                else:
                    reply(302, b"", {"Location": f"{elsewhere.url}demo/"})(handler)

            server.fault("/simple/demo/", "raw", guarded)
            bin_dir = tmp_path / "bin"
            bin_dir.mkdir()
            script = bin_dir / "keyring"
            script.write_text(f"#!{sys.executable}\nimport sys\nprint({SECRET!r}) if sys.argv[1:2] == ['get'] else sys.exit(1)\n")
            script.chmod(0o755)
            env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path)}
            run = check(server, tmp_path, "--json", "--keyring-provider", "subprocess",
                        index_url=server.url.replace("http://", "http://alice@"), env=env)
            assert run.code == 0, run.err
            assert elsewhere.requests("/simple/demo/"), "the redirect was followed"
            assert elsewhere.authorizations and not any(elsewhere.authorizations), elsewhere.authorizations
            assert_secret_absent(run)


def test_gzip_helper_inflates_as_announced() -> None:
    assert len(gzip.decompress(gzip_bomb(2 << 20))) == 2 << 20

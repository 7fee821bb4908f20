"""Which HTTP client for index/client.py: httpx 0.28, httpx2 or urllib3 2, measured.

    python bench/http_client.py [--requests 2000] [--repeat 5]

Needs the three installed side by side (``pip install httpx httpx2 urllib3``);
a missing one is skipped.  Everything runs against a loopback server, so the figures are the clients' own\ncost:

- import: wall time of ``python -c "import X"`` (median of --repeat fresh
  interpreters), and what the import adds to the interpreter's RSS;
- sequential: GETs of a 40 KiB page per second on one pooled connection;
- threads: page GETs per second from 16 threads sharing one client;
- range: 64 KiB range reads per second (the metadata path);
- bomb: a 1 MiB gzip body that inflates to 1 GiB, read as a stream until
  1 MiB of decoded bytes has arrived: the largest decoded chunk the client
  handed over (a client that inflates a whole network read at once hands
  over up to ~1000x the read size; one that bounds decompression does not).

Figures are medians; the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import gzip
import importlib.util
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLIENTS = ("httpx", "httpx2", "urllib3")
#: wheelwise's own client (urllib3 with its bounds, deadline watchdog and credentials), measured
#: the same way to show what it adds to a bare urllib3 pool
OURS = "wheelwise.index.client"
# VmRSS, not ru_maxrss: a child's ru_maxrss starts at its parent's size at fork.
_RSS = "import {m}; print(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])"


def import_cost(module: str, repeat: int) -> tuple[float, int]:
    times, rss = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", _RSS.format(m=module)], capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - start)
        rss.append(int(out.stdout))
    base = subprocess.run([sys.executable, "-c", _RSS.format(m="sys")], capture_output=True, text=True, check=True)
    return statistics.median(times), statistics.median(rss) - int(base.stdout)


class _Get:
    """One client, three calls: get(url), get_range(url, header), stream_decoded(url)."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "urllib3":
            import urllib3  # noqa: PLC0415

            self.pool: Any = urllib3.PoolManager(maxsize=16)
        elif name == OURS:
            from wheelwise.index.client import Fetcher  # noqa: PLC0415

            self.pool = Fetcher(max_connections=16, retries=0)
        else:
            module = __import__(name)
            self.pool = module.Client(limits=module.Limits(max_connections=16, max_keepalive_connections=16))

    def get(self, url: str, headers: dict[str, str] | None = None) -> bytes:
        if self.name == OURS:
            return bytes(self.pool.get(url, headers=headers, ok=(200, 206)).content)
        if self.name == "urllib3":
            return bytes(self.pool.request("GET", url, headers=headers).data)
        return bytes(self.pool.get(url, headers=headers).content)

    def largest_decoded_chunk(self, url: str, stop_after: int) -> int:
        largest = got = 0
        if self.name == OURS:
            return -1  # it refuses the body past its page bound instead (tests/test_faults_net.py)
        if self.name == "urllib3":
            response = self.pool.request("GET", url, preload_content=False, headers={"Accept-Encoding": "gzip"})
            while got < stop_after:
                chunk = response.read1(65536)
                if not chunk:
                    break
                largest, got = max(largest, len(chunk)), got + len(chunk)
            response.release_conn()
            return largest
        with self.pool.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
            for chunk in response.iter_bytes():
                largest, got = max(largest, len(chunk)), got + len(chunk)
                if got >= stop_after:
                    break
        return largest


def rate(call: Callable[[], object], count: int, threads: int = 1) -> float:
    start = time.perf_counter()
    if threads == 1:
        for _ in range(count):
            call()
    else:
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda _: call(), range(count)))
    return count / (time.perf_counter() - start)


def serve(page: bytes, file: bytes, bomb: bytes) -> ThreadingHTTPServer:
    """/page, /file (honours ``Range: bytes=-N``) and /bomb (gzip), each reply one write:
    headers and body in separate small writes would meet Nagle's delay on loopback and
    measure that (45 ms a request) instead of the client."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 20  # flushed once per request by BaseHTTPRequestHandler

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            body, status, extra = page, 200, {}
            if self.path == "/file":
                body = file
                spec = self.headers.get("Range", "")
                if spec.startswith("bytes=-"):
                    size = int(spec[len("bytes=-") :])
                    body, status = file[-size:], 206
                    extra["Content-Range"] = f"bytes {len(file) - size}-{len(file) - 1}/{len(file)}"
            elif self.path == "/bomb":
                body, extra = bomb, {"Content-Encoding": "gzip"}
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    present = [c for c in CLIENTS if importlib.util.find_spec(c) is not None]
    if importlib.util.find_spec("wheelwise") is not None:
        present.append(OURS)
    page = "".join(f'<a href="../../files/demo-1.{i}-py3-none-any.whl#sha256={i:064x}">x</a><br/>' for i in range(300))
    server = serve(page.encode(), bytes(range(256)) * 4096, gzip.compress(b"\0" * (1 << 30), compresslevel=9))
    base = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"{'client':8} {'import s':>9} {'RSS MiB':>8} {'seq/s':>7} {'16thr/s':>8} {'range/s':>8} {'bomb chunk':>11}")
    for name in present:
        imp, rss = import_cost(name, args.repeat)
        client = _Get(name)
        seq = statistics.median(rate(lambda c=client: c.get(f"{base}/page"), args.requests) for _ in range(args.repeat))
        par = statistics.median(
            rate(lambda c=client: c.get(f"{base}/page"), args.requests, 16) for _ in range(args.repeat)
        )
        rng = statistics.median(
            rate(lambda c=client: c.get(f"{base}/file", {"Range": "bytes=-65536"}), args.requests)
            for _ in range(args.repeat)
        )
        largest = client.largest_decoded_chunk(f"{base}/bomb", 1 << 20)
        print(f"{name.split('.')[0]:8} {imp:9.3f} {rss / 1024:8.1f} {seq:7.0f} {par:8.0f} {rng:8.0f} {largest:11d}")
    server.shutdown()


if __name__ == "__main__":
    main()

"""Malicious and malformed index data, served from the loopback index to ``wheelwise check``.

Each case runs wheelwise as a process and asserts its exit code, its message (naming
the file's URL and the bound or the defect), its peak memory (``ru_maxrss`` of that
process alone, from ``os.wait4``: goal under 200 MB), its wall time, and that it wrote
nothing outside its cache folder (home, working folder and TMPDIR stay empty).
The bombs are built here, a few kilobytes each; inflated they are 256 MiB to 1 GiB.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.bombs import (
    Member,
    bzip2_bomb,
    deflate_bomb,
    gzip_of_zeros,
    lzma_bomb,
    make_zip,
    tar_with_link,
)
from helpers.indexserver import IndexServer, ServedFile
from helpers.wheels import make_metadata, make_wheel

PEAK_MB = 200
WALL_S = 60
META = make_metadata("demo", "1.0")
WHEEL = "demo-1.0-py3-none-any.whl"
SDIST = "demo-1.0.tar.gz"


@dataclasses.dataclass
class Run:
    code: int
    out: str
    err: str
    peak_mb: float
    wall_s: float

    @property
    def text(self) -> str:
        return self.out + self.err


# ru_maxrss keeps the high-water mark of the memory a process had before exec, which for a
# child of pytest is pytest's own (with vfork, the very same): a small Python in between
# starts wheelwise and reports that grandchild's peak alone.
_MEASURE = (
    "import os, subprocess, sys\n"
    "proc = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(proc.pid, 0)\n"
    "proc.returncode = os.waitstatus_to_exitcode(status)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(proc.returncode)\n"
)


def run_check(tmp_path: Path, *args: str) -> Run:
    """``wheelwise check demo -t linux-x86_64 -p 3.12 ARGS`` in a fresh process and folders."""
    folders = {name: tmp_path / name for name in ("home", "work", "tmp", "cache")}
    for folder in folders.values():
        folder.mkdir()
    env = {**os.environ, "HOME": str(folders["home"]), "TMPDIR": str(folders["tmp"]),
           "WHEELWISE_CACHE_DIR": str(folders["cache"]), "XDG_CACHE_HOME": str(folders["home"] / ".cache")}
    peak = tmp_path / "peak"
    argv = [sys.executable, "-I", "-c", _MEASURE, str(peak),
            sys.executable, "-m", "wheelwise", "check", "demo", "-t", "linux-x86_64", "-p", "3.12", *args]
    with open(tmp_path / "out", "w+") as out, open(tmp_path / "err", "w+") as err:
        start = time.monotonic()
        proc = subprocess.Popen(argv, cwd=folders["work"], env=env, stdout=out, stderr=err)
        killer = threading.Timer(WALL_S * 2, proc.kill)
        killer.start()
        try:
            proc.wait()
        finally:
            killer.cancel()
        wall = time.monotonic() - start
        out.seek(0), err.seek(0)
        run = Run(proc.returncode, out.read(), err.read(), int(peak.read_text()) / 1024, wall)
    for name in ("home", "work", "tmp"):
        left = sorted(str(p.relative_to(folders[name])) for p in folders[name].rglob("*"))
        assert not left, f"wheelwise wrote into {name}: {left}"
    print(f"peak {run.peak_mb:.0f} MB, {run.wall_s:.1f} s")
    assert "Traceback" not in run.text and "report it as a bug" not in run.text, run.text
    assert run.peak_mb < PEAK_MB, f"peak {run.peak_mb:.0f} MB"
    assert run.wall_s < WALL_S, f"took {run.wall_s:.0f} s"
    return run


def bomb_wheel(member: Member) -> bytes:
    return make_zip([Member("demo/__init__.py", b"VALUE = 1\n"), member])


def metadata_member(data: bytes, method: int, **claims: object) -> Member:
    return Member("demo-1.0.dist-info/METADATA", data, method=method, size=len(META), plain=META, **claims)  # type: ignore[arg-type]


BOMBS: dict[str, Callable[[], Member]] = {
    "deflate": lambda: metadata_member(deflate_bomb(1024), 8),
    "bzip2": lambda: metadata_member(bzip2_bomb(256), 12),
    "lzma": lambda: metadata_member(lzma_bomb(256), 14),
}


def serve(server: IndexServer, tmp_path: Path, path: str, filename: str, content: bytes) -> list[str]:
    """The arguments that make wheelwise read *content* by *path*: ``range`` (HTTP ranges),
    ``full`` (the server ignores ranges: the whole file), ``find-links`` (a local folder)."""
    if path == "find-links":
        folder = tmp_path / "links"
        folder.mkdir()
        (folder / filename).write_bytes(content)
        return ["--no-index", "--find-links", str(folder)]
    server.pep658 = False
    server.ranges = path == "range"
    server.add(ServedFile(filename, content=content))
    return ["--index-url", server.url]


@pytest.mark.parametrize(
    ("method", "path"),
    [("bzip2", "range"), ("bzip2", "full"), ("bzip2", "find-links"), ("deflate", "range"), ("deflate", "full"),
     ("deflate", "find-links"), ("lzma", "range")],
)
def test_metadata_bombs_stop_at_the_bound(index_server: IndexServer, tmp_path: Path, method: str, path: str) -> None:
    wheel = bomb_wheel(BOMBS[method]())
    # the case: a wheel of about 1.3 KiB whose METADATA is a bzip2 bomb
    assert len(wheel) < (1400 if method == "bzip2" else 2 << 20)
    run = run_check(tmp_path, *serve(index_server, tmp_path, path, WHEEL, wheel))
    assert run.code == 1  # that version of demo is blocked: its metadata cannot be read
    assert "demo 1.0 has metadata pip cannot read" in run.out
    assert "demo-1.0.dist-info/METADATA decompresses to more than the metadata-bytes bound (10 MiB" in run.out
    where = str(tmp_path / "links" / WHEEL) if path == "find-links" else f"{index_server.base}/files/{WHEEL}"
    assert where in run.out


@pytest.mark.parametrize(
    ("kind", "path", "big_first"),
    [(tarfile.SYMTYPE, "full", True), (tarfile.LNKTYPE, "find-links", False)],
    ids=["symlink-after-the-member", "hardlink-before-it"],
)
def test_sdist_pkg_info_linked_to_a_512_mib_member(
    index_server: IndexServer, tmp_path: Path, kind: bytes, path: str, big_first: bool
) -> None:
    sdist = tar_with_link("demo-1.0", kind=kind, big_mib=512, big_first=big_first)
    assert len(sdist) < (1 << 20)
    run = run_check(tmp_path, *serve(index_server, tmp_path, path, SDIST, sdist))
    assert run.code == 1
    target = "data.bin" if kind == tarfile.SYMTYPE else "demo-1.0/data.bin"
    assert "demo-1.0/PKG-INFO is a" in run.out and f"link (to '{target}'), not a file" in run.out


def test_sdist_gzip_bomb_stops_at_the_unpacked_bound(index_server: IndexServer, tmp_path: Path) -> None:
    header = tarfile.TarInfo("demo-1.0/data.bin")
    header.size = 1100 << 20
    sdist = gzip_of_zeros(header.tobuf(), 1100, bytes(1024))
    run = run_check(tmp_path, *serve(index_server, tmp_path, "full", SDIST, sdist))
    assert run.code == 1
    assert "unpacks to more than the sdist-unpacked-bytes bound (1 GiB" in run.out


def test_sdist_pax_header_bomb(index_server: IndexServer, tmp_path: Path) -> None:
    # tarfile reads a pax header's body whole: one that claims 600 MiB is refused unread
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, 600 << 20
    sdist = gzip_of_zeros(header.tobuf(format=tarfile.GNU_FORMAT), 600, bytes(1024))
    run = run_check(tmp_path, *serve(index_server, tmp_path, "full", SDIST, sdist))
    assert run.code == 1
    assert "629,145,600-byte extended header is over the tar-header-bytes bound (1 MiB" in run.out


def _zip64_without_record() -> bytes:
    wheel = make_zip([Member("demo-1.0.dist-info/METADATA", META)], zip64=True)
    return wheel.replace(b"PK\x06\x06", b"PK\x00\x00")


MALFORMED: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "encrypted": (WHEEL, lambda: bomb_wheel(metadata_member(META, 0, flags=0x801)), "METADATA is encrypted"),
    "zstd": (WHEEL, lambda: bomb_wheel(metadata_member(META, 93)), "compression method 93"),
    "zip64": (WHEEL, _zip64_without_record, "malformed zip64 records"),
    "truncated": (WHEEL, lambda: make_wheel("demo", "1.0")[:-200], "not a zip archive"),
    "members": (WHEEL, lambda: make_zip([Member(f"d/{n}", b"") for n in range(100_001)], zip64=True),
                "archive-members bound"),
    "dangling-symlink": (SDIST, lambda: tar_with_link("demo-1.0", kind=tarfile.SYMTYPE, big_mib=0, target="nowhere"),
                         "PKG-INFO is a symbolic link (to 'nowhere')"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_archives_are_typed_errors(index_server: IndexServer, tmp_path: Path, case: str) -> None:
    filename, build, message = MALFORMED[case]
    run = run_check(tmp_path, *serve(index_server, tmp_path, "range", filename, build()))
    assert run.code == 1
    assert message in run.out and f"{index_server.base}/files/{filename}" in run.out


def _page(files: object, **extra: object) -> bytes:
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "demo", "files": files, **extra}).encode()


GOOD = {"filename": WHEEL, "url": f"../../files/{WHEEL}", "hashes": {}}
PAGES: dict[str, tuple[bytes, str]] = {
    "hashes-string": (_page([{**GOOD, "hashes": "abc"}]), "files[0].hashes must be an object of strings, not a string"),
    "files-null": (_page(None), "the page's files must be an array, not null"),
    "deep": (b'{"meta": {"api-version": "1.1"}, "files": [], "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
             "nested deeper than the json-depth bound (32 levels"),
    "requires-python-number": (_page([{**GOOD, "requires-python": 3.8}]), "files[0].requires-python must be a string"),
    "yanked-list": (_page([{**GOOD, "yanked": ["x"]}]), "files[0].yanked must be a boolean or a string, not an array"),
    "size-negative": (_page([{**GOOD, "size": -1}]), "files[0].size must be a non-negative integer"),
    "meta-string": (json.dumps({"meta": "1.1", "files": []}).encode(), "the page's meta must be an object, not a string"),
    "not-json": (b'{"meta": {"api-version": "1.1"}, "files": [', "malformed PEP 691 JSON"),
}


@pytest.mark.parametrize("case", list(PAGES))
def test_malformed_pep691_pages_exit_3(index_server: IndexServer, tmp_path: Path, case: str) -> None:
    body, message = PAGES[case]
    index_server.add(ServedFile(WHEEL, content=make_wheel("demo", "1.0")))
    index_server.fault(r"^/simple/demo/$", "body", body)
    run = run_check(tmp_path, "--index-url", index_server.url)
    assert run.code == 3
    assert f"{index_server.url}demo/ is not a valid project page" in run.err and message in run.err


def test_too_many_links_on_a_page_exit_3(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.mode = "html"
    index_server.add(ServedFile(WHEEL, content=make_wheel("demo", "1.0")))
    anchors = "".join(f'<a href="../../files/demo-1.{n}.tar.gz">x</a>' for n in range(200_001))
    index_server.fault(r"^/simple/demo/$", "body", f"<html><body>{anchors}</body></html>".encode())
    run = run_check(tmp_path, "--index-url", index_server.url)
    assert run.code == 3
    assert "lists 200,001 files, over the links-per-page bound (200,000 links" in run.err

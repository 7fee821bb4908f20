"""The bounded archive readers (index/archives.py) on real, lying and broken archives."""

from __future__ import annotations

import bz2
import io
import tarfile
import tracemalloc
import zipfile
import zlib

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
from helpers.wheels import make_metadata, make_sdist, make_wheel

from wheelwise.index.archives import (
    ArchiveError,
    FileSource,
    read_directory,
    read_member,
    read_tar,
    walk_central_directory,
    zip_directory,
)
from wheelwise.index.limits import LIMITS, Limit, Limits

META = make_metadata("demo", "1.0", requires_dist=["six"])


def entries(archive: bytes) -> tuple[FileSource, dict[str, object]]:
    source = FileSource(io.BytesIO(archive))
    directory = zip_directory(source)
    return source, {e.name: e for e in walk_central_directory(read_directory(source, directory), directory)}


def read_metadata(archive: bytes, name: str = "demo-1.0.dist-info/METADATA") -> bytes:
    source, found = entries(archive)
    return read_member(source, found[name], LIMITS.metadata_bytes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA],
    ids=["stored", "deflate", "bzip2", "lzma"],
)
def test_every_method_zipfile_writes_is_read(compression: int) -> None:
    wheel = make_wheel("demo", "1.0", metadata=META, compression=compression)
    assert read_metadata(wheel) == META


def test_zip64_records_are_followed() -> None:
    wheel = make_zip([Member("demo/__init__.py", b""), Member("demo-1.0.dist-info/METADATA", META)], zip64=True)
    assert zipfile.ZipFile(io.BytesIO(wheel)).read("demo-1.0.dist-info/METADATA") == META  # a valid zip64
    assert read_metadata(wheel) == META


BOMBS = {
    "deflate": lambda: Member("demo-1.0.dist-info/METADATA", deflate_bomb(1024), method=8, size=len(META), plain=META),
    "bzip2": lambda: Member("demo-1.0.dist-info/METADATA", bzip2_bomb(256), method=12, size=len(META), plain=META),
    "lzma": lambda: Member("demo-1.0.dist-info/METADATA", lzma_bomb(256), method=14, size=len(META), plain=META),
}


@pytest.mark.parametrize("method", list(BOMBS))
def test_a_bomb_that_lies_about_its_size_stops_at_the_bound(method: str) -> None:
    wheel = make_zip([BOMBS[method]()])
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveError, match="decompresses to more than the metadata-bytes bound") as raised:
            read_metadata(wheel)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert raised.value.limit is LIMITS.metadata_bytes
    assert peak < 4 * LIMITS.metadata_bytes.value  # the cap plus a chunk, not the bomb


def test_a_declared_size_over_the_bound_is_refused_before_reading() -> None:
    wheel = make_zip([Member("demo-1.0.dist-info/METADATA", META, size=20 << 20)])
    with pytest.raises(ArchiveError, match=r"20,971,520 bytes, over the metadata-bytes bound \(10 MiB"):
        read_metadata(wheel)


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (Member("demo-1.0.dist-info/METADATA", META, flags=0x801), "is encrypted"),
        (Member("demo-1.0.dist-info/METADATA", META, method=93), "compression method 93, which wheelwise does not read"),
        (Member("demo-1.0.dist-info/METADATA", META, method=9), "compression method 9"),
        (Member("demo-1.0.dist-info/METADATA", META, crc=1), "corrupt"),
        (Member("demo-1.0.dist-info/METADATA", b"\xff" * 40, method=8, plain=META), "corrupt"),
        (Member("demo-1.0.dist-info/METADATA", b"BZh9garbage", method=12, plain=META), "corrupt"),
        (Member("demo-1.0.dist-info/METADATA", b"\x09\x14\x05\x00\xff", method=14, plain=META), "lzma member is cut off"),
    ],
    ids=["encrypted", "zstd", "deflate64", "crc", "bad-deflate", "bad-bzip2", "short-lzma"],
)
def test_unreadable_members_are_typed_errors(member: Member, message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        read_metadata(make_zip([member]))


def _zip64_locator_at(archive: bytes) -> int:
    return archive.rindex(b"PK\x06\x07")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda z: z[: _zip64_locator_at(z)] + b"XXXX" + z[_zip64_locator_at(z) + 4 :], "no zip64 locator"),
        (lambda z: z.replace(b"PK\x06\x06", b"PK\x00\x00"), "no zip64 end record"),
        (lambda z: z[: _zip64_locator_at(z) + 8] + (1 << 60).to_bytes(8, "little") + z[_zip64_locator_at(z) + 16 :],
         "points past itself"),
        (lambda z: z.replace(b"\x01\x00\x18\x00", b"\x01\x00\x08\x00"), "malformed zip64"),
        (lambda z: z.replace(b"\x01\x00\x18\x00", b"\x07\x00\x18\x00"), "no zip64 extra field"),
    ],
    ids=["no-locator", "no-record", "locator-far", "short-extra", "no-extra"],
)
def test_malformed_zip64_records(damage: object, message: str) -> None:
    wheel = make_zip([Member("demo-1.0.dist-info/METADATA", META)], zip64=True)
    with pytest.raises(ArchiveError, match=message):
        read_metadata(damage(wheel))  # type: ignore[operator]


@pytest.mark.parametrize("keep", [0, 10, 100, 0.5, 0.9, -30, -1])
def test_truncated_wheels_are_typed_errors(keep: float) -> None:
    wheel = make_wheel("demo", "1.0", metadata=META)
    cut = wheel[: int(len(wheel) * keep)] if isinstance(keep, float) else wheel[:keep]
    with pytest.raises(ArchiveError):
        read_metadata(cut)


def test_member_count_bound_by_walking_not_by_the_declared_count() -> None:
    small = Limits(archive_members=Limit("archive-members", 50, "members", "in one wheel or sdist"))
    archive = make_zip([Member(f"demo/m{n}.py", b"") for n in range(51)])
    source = FileSource(io.BytesIO(archive))
    with pytest.raises(ArchiveError, match="declares 51 members, over the archive-members bound"):
        zip_directory(source, small)
    # an end record that lies (1 member) does not let the walk go past the bound
    lying = archive[:-14] + (1).to_bytes(2, "little") * 2 + archive[-10:]
    source = FileSource(io.BytesIO(lying))
    directory = zip_directory(source, small)
    with pytest.raises(ArchiveError, match="more than 50 members"):
        list(walk_central_directory(read_directory(source, directory), directory, small))


def test_central_directory_bound() -> None:
    small = Limits(central_directory_bytes=Limit("central-directory-bytes", 1024, "bytes", "of a directory"))
    archive = make_zip([Member(f"demo/module_{n}.py", b"") for n in range(40)])
    with pytest.raises(ArchiveError, match="over the central-directory-bytes bound"):
        zip_directory(FileSource(io.BytesIO(archive)), small)


# -- tar sdists -----------------------------------------------------------------


def own(name: str) -> bool:
    return name.startswith("demo-1.0/")


def walk(archive: bytes, limits: Limits = LIMITS) -> object:
    return read_tar(io.BytesIO(archive), own, lambda n: n.endswith(".so"), binaries=4, header=64, limits=limits)


def test_a_plain_sdist_is_read_with_its_names() -> None:
    got = walk(make_sdist("demo", "1.0", files={"demo/_speed.c": b"int x;", "demo/x.so": b"\x7fELF" + bytes(80)}))
    assert got.metadata.startswith(b"Metadata-Version: 2.2\nName: demo")  # type: ignore[attr-defined]
    assert "demo-1.0/demo/_speed.c" in got.names and got.headers == [b"\x7fELF" + bytes(60)]  # type: ignore[attr-defined]
    assert got.complete  # type: ignore[attr-defined]


@pytest.mark.parametrize("compress", [bz2.compress, lambda b: __import__("lzma").compress(b), lambda b: b],
                         ids=["bz2", "xz", "plain"])
def test_every_tar_compression(compress: object) -> None:
    plain = gzip_of_zeros(b"", 0, b"")  # an empty gzip: the helper's own check
    assert zlib.decompress(plain, 31) == b""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = make_metadata("demo", "1.0")
        info = tarfile.TarInfo("demo-1.0/PKG-INFO")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert walk(compress(raw.getvalue())).metadata == make_metadata("demo", "1.0")  # type: ignore[operator, attr-defined]


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE], ids=["symlink", "hardlink"])
@pytest.mark.parametrize("big_first", [True, False], ids=["big-first", "link-first"])
def test_pkg_info_as_a_link_to_a_huge_member_is_refused(kind: bytes, big_first: bool) -> None:
    archive = tar_with_link("demo-1.0", kind=kind, big_mib=64, big_first=big_first)
    with pytest.raises(ArchiveError, match=r"PKG-INFO is a (symbolic|hard) link \(to '(demo-1.0/)?data.bin'\)"):
        walk(archive)


def test_a_dangling_symlink_is_refused() -> None:
    archive = tar_with_link("demo-1.0", kind=tarfile.SYMTYPE, big_mib=0, target="../../nowhere")
    with pytest.raises(ArchiveError, match="symbolic link"):
        walk(archive)


def test_a_gzip_bomb_stops_at_the_unpacked_bound_and_after_pkg_info_leaves_native_unknown() -> None:
    small = Limits(sdist_unpacked_bytes=Limit("sdist-unpacked-bytes", 8 << 20, "bytes", "of a tar sdist"))
    header = tarfile.TarInfo("demo-1.0/data.bin")
    header.size = 64 << 20
    bomb = gzip_of_zeros(header.tobuf(), 64, bytes(1024))
    with pytest.raises(ArchiveError, match="unpacks to more than the sdist-unpacked-bytes bound"):
        walk(bomb, small)
    data = make_metadata("demo", "1.0")
    first = tarfile.TarInfo("demo-1.0/PKG-INFO")
    first.size = len(data)
    prefix = first.tobuf() + data + bytes(-len(data) % 512) + header.tobuf()
    got = walk(gzip_of_zeros(prefix, 64, bytes(1024)), small)
    assert got.metadata == data and not got.complete  # type: ignore[attr-defined]


@pytest.mark.parametrize("keep", [0.05, 0.3, 0.5, 0.8])
def test_truncated_tars_are_typed_errors(keep: float) -> None:
    archive = make_sdist("demo", "1.0", files={"demo/data.py": bytes(range(256)) * 64})
    with pytest.raises(ArchiveError):
        walk(archive[: int(len(archive) * keep)])


def test_garbage_is_not_a_tar() -> None:
    with pytest.raises(ArchiveError):
        walk(b"\x1f\x8b" + bytes(100))


def test_the_readme_states_every_bound() -> None:
    from pathlib import Path

    from wheelwise.index.limits import _amount

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for limit in LIMITS.all():
        assert f"| `{limit.name}` | {_amount(limit.value, limit.unit)} | {limit.what} |" in readme


@pytest.mark.parametrize("kind", [tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME], ids=["pax", "gnu-long-name"])
def test_an_extended_header_with_a_huge_body_is_refused_before_tarfile_reads_it(kind: bytes) -> None:
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = kind, 64 << 20
    bomb = gzip_of_zeros(header.tobuf(format=tarfile.GNU_FORMAT), 64, bytes(1024))
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveError, match="67,108,864-byte extended header is over the tar-header-bytes bound"):
            walk(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < (8 << 20)


def test_tar_member_count_bound_keeps_memory_flat() -> None:
    small = Limits(archive_members=Limit("archive-members", 20_000, "members", "in one wheel or sdist"))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for n in range(20_001):
            tar.addfile(tarfile.TarInfo(f"demo-1.0/m{n}"))
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveError, match="more than 20,000 members, over the archive-members bound"):
            walk(raw.getvalue(), small)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < (8 << 20)  # names only: no TarInfo is kept

"""Malicious and malformed archives, built in the test (small on disk, huge when inflated).

A zip is written record by record here (not with zipfile) so that a record can lie:
a METADATA member that declares 300 bytes and inflates to a gibibyte, an encrypted
flag, a compression method nobody reads, zip64 records that point nowhere.
"""

from __future__ import annotations

import bz2
import dataclasses
import functools
import io
import lzma
import struct
import tarfile
import zlib

__all__ = [
    "Member",
    "bzip2_bomb",
    "deflate_bomb",
    "gzip_of_zeros",
    "lzma_bomb",
    "make_zip",
    "tar_with_link",
]

_MiB = 1 << 20


@dataclasses.dataclass
class Member:
    """One zip member as written: *data* already compressed with *method*.

    *size* and *crc* are what the records claim (by default the truth about *plain*).
    """

    name: str
    data: bytes
    method: int = 0
    size: int | None = None
    crc: int | None = None
    flags: int = 0x800
    plain: bytes | None = None

    def claims(self) -> tuple[int, int]:
        plain = self.plain if self.plain is not None else self.data
        size = len(plain) if self.size is None else self.size
        crc = zlib.crc32(plain) if self.crc is None else self.crc
        return size, crc


def make_zip(members: list[Member], *, zip64: bool = False, comment: bytes = b"") -> bytes:
    """A zip archive of *members*; with *zip64*, sizes and offsets go in zip64 extra fields
    and the end records are the zip64 ones (as for a wheel over 4 GiB)."""
    out = io.BytesIO()
    central = io.BytesIO()
    for m in members:
        size, crc = m.claims()
        name = m.name.encode()
        offset = out.tell()
        out.write(struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, m.flags, m.method, 0, 0x21, crc,
                              len(m.data), size, len(name), 0))
        out.write(name + m.data)
        if zip64:
            extra = struct.pack("<HHQQQ", 1, 24, size, len(m.data), offset)
            fields = (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF)
        else:
            extra, fields = b"", (len(m.data), size, offset)
        central.write(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 20, m.flags, m.method, 0, 0x21, crc,
                                  fields[0], fields[1], len(name), len(extra), 0, 0, 0, 0, fields[2]))
        central.write(name + extra)
    cd_offset, cd = out.tell(), central.getvalue()
    out.write(cd)
    if zip64:
        record = out.tell()
        out.write(struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, len(members), len(members),
                              len(cd), cd_offset))
        out.write(struct.pack("<4sIQI", b"PK\x06\x07", 0, record, 1))
        counts, cd_fields = 0xFFFF, (0xFFFFFFFF, 0xFFFFFFFF)
    else:
        counts, cd_fields = len(members), (len(cd), cd_offset)
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, counts, counts, *cd_fields, len(comment)) + comment)
    return out.getvalue()


@functools.cache
def deflate_bomb(mib: int = 1024) -> bytes:
    """Raw deflate of *mib* MiB of zeros (about 1 KiB per MiB): each MiB is compressed once
    and repeated, which a full flush makes valid (it empties the window)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(bytes(_MiB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return piece * mib + compressor.flush()


@functools.cache
def gzip_of_zeros(prefix: bytes, mib: int, suffix: bytes) -> bytes:
    """A gzip file of *prefix*, *mib* MiB of zeros and *suffix*, built in little time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    piece = compressor.compress(bytes(_MiB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(suffix) + compressor.flush()
    crc, zeros = zlib.crc32(prefix), bytes(_MiB)
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    crc = zlib.crc32(suffix, crc)
    size = (len(prefix) + mib * _MiB + len(suffix)) & 0xFFFFFFFF
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + head + piece * mib + tail + struct.pack("<II", crc, size)


@functools.cache
def bzip2_bomb(mib: int = 1024) -> bytes:
    """One bzip2 stream of *mib* MiB of zeros (bzip2's run-length step makes it a few
    dozen bytes per 45 MiB: the whole gibibyte is about a kilobyte)."""
    compressor = bz2.BZ2Compressor(9)
    zeros = bytes(8 * _MiB)
    parts = [compressor.compress(zeros) for _ in range(mib // 8)]
    return b"".join(parts) + compressor.flush()


@functools.cache
def lzma_bomb(mib: int = 256) -> bytes:
    """A zip LZMA member (APPNOTE 5.8.8 header, then raw LZMA1) of *mib* MiB of zeros."""
    filters = [{"id": lzma.FILTER_LZMA1, "preset": 1, "dict_size": 1 << 26}]
    compressor = lzma.LZMACompressor(lzma.FORMAT_RAW, filters=filters)
    zeros = bytes(8 * _MiB)
    body = b"".join(compressor.compress(zeros) for _ in range(mib // 8)) + compressor.flush()
    # properties: lc=3, lp=0, pb=2 -> (2 * 5 + 0) * 9 + 3 = 93; dictionary size
    return struct.pack("<BBH", 9, 20, 5) + bytes([93]) + struct.pack("<I", 1 << 26) + body


def tar_with_link(top: str, *, kind: bytes, big_mib: int = 512, big_first: bool = True,
                  target: str | None = None) -> bytes:
    """A ``.tar.gz`` sdist whose ``TOP/PKG-INFO`` is a link (*kind*: tarfile.SYMTYPE or
    LNKTYPE) to *target* (default: a member of *big_mib* MiB of zeros in the archive)."""
    def header(name: str, size: int, typeflag: bytes, linkname: str = "") -> bytes:
        info = tarfile.TarInfo(name)
        info.size, info.type, info.linkname, info.mode = size, typeflag, linkname, 0o644
        return info.tobuf(format=tarfile.PAX_FORMAT)

    big = f"{top}/data.bin"
    # a symbolic link is relative to its folder; a hard link names a member of the archive
    default = "data.bin" if kind == tarfile.SYMTYPE else big
    link = header(f"{top}/PKG-INFO", 0, kind, target if target is not None else default)
    small = b'[build-system]\nrequires = ["setuptools"]\n'
    pyproject = header(f"{top}/pyproject.toml", len(small), tarfile.REGTYPE) + small + bytes(-len(small) % 512)
    big_header = header(big, big_mib * _MiB, tarfile.REGTYPE)
    if big_first:
        prefix, suffix = big_header, link + pyproject + bytes(1024)
    else:
        prefix, suffix = link + pyproject + big_header, bytes(1024)
    return gzip_of_zeros(prefix, big_mib, suffix)

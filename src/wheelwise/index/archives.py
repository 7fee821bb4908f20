"""Bounded readers of the archives an index serves: zip (wheels, zip sdists) and tar sdists.

Every byte count an archive states (member sizes, central-directory size, member
count) is a claim: each is checked against :data:`.limits.LIMITS` before it is
acted on, and decompression is incremental with a cap on its output (zlib, bz2 and
lzma decompressor objects with ``max_length``), so a bomb of any compression method
stops at the bound instead of filling memory.  Nothing here reads a whole member
with ``.read()``; nothing follows a link inside an archive.

The zip reader reads raw records (end of central directory, zip64 records, central
directory, local header) from a :class:`Source`, so the same code serves a remote
wheel read through HTTP ranges and a file on disk.  Problems are raised as
:class:`ArchiveError` (words only); :mod:`.metadata` adds the URL.
"""

from __future__ import annotations

import bz2
import dataclasses
import io
import lzma
import re
import struct
import tarfile
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from 3.11; an annotation only

from .limits import LIMITS, Limit, Limits

__all__ = [
    "ArchiveError",
    "FileSource",
    "Source",
    "TarContents",
    "ZipDirectory",
    "ZipEntry",
    "find_record",
    "parse_record",
    "read_directory",
    "read_member",
    "read_tar",
    "walk_central_directory",
    "zip_directory",
]

#: Bytes read first from a zip's end: the end record, and small archives whole.
TAIL_BYTES = 16 << 10
_EOCD, _EOCD64, _LOCATOR = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
_CENTRAL, _LOCAL = b"PK\x01\x02", b"PK\x03\x04"
_STORED, _DEFLATED, _BZIP2, _LZMA = 0, 8, 12, 14
_METHODS = {_STORED: "stored", _DEFLATED: "deflate", _BZIP2: "bzip2", _LZMA: "lzma"}
_CHUNK = 64 << 10


class ArchiveError(Exception):
    """An archive is malformed, uses what wheelwise does not read, or exceeds a bound.

    :param limit: the bound that was hit, when that is the problem.
    """

    def __init__(self, message: str, limit: Limit | None = None) -> None:
        super().__init__(message)
        self.limit = limit


class Source(Protocol):
    """Random access to an archive's bytes (a file, or an HTTP resource read by ranges)."""

    size: int

    def read_at(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``, all of them, or :class:`ArchiveError`."""
        ...

    def want(self, start: int, end: int) -> None:
        """A hint that ``[start, end)`` is read soon (a remote source fetches it at once)."""
        ...


class FileSource:
    """A :class:`Source` over a seekable binary file."""

    def __init__(self, fileobj: BinaryIO) -> None:
        self.fileobj = fileobj
        self.size = fileobj.seek(0, io.SEEK_END)

    def read_at(self, start: int, end: int) -> bytes:
        if start < 0 or end > self.size or start > end:
            raise ArchiveError(f"a record points outside the archive (bytes {start}-{end} of {self.size})")
        self.fileobj.seek(start)
        data = self.fileobj.read(end - start)
        if len(data) != end - start:
            raise ArchiveError("the archive is truncated")
        return data

    def want(self, start: int, end: int) -> None:
        pass


# -- zip: directory ----------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class ZipDirectory:
    """Where a zip's central directory lies, and how many members it declares.

    :param shift: bytes prepended before the archive proper (zipfile's ``concat``).
    """

    offset: int
    size: int
    members: int
    shift: int


@dataclasses.dataclass(frozen=True, slots=True)
class ZipEntry:
    """One central-directory record; *header* is the absolute offset of its local header."""

    name: str
    flags: int
    method: int
    crc: int
    compressed: int
    size: int
    header: int


def zip_directory(source: Source, limits: Limits = LIMITS) -> ZipDirectory:
    """Read and check the end records of a zip.

    :raises ArchiveError: not a zip, malformed (zip64) end records, or a directory
        over the central-directory or member-count bounds.
    """
    tail_start = max(0, source.size - TAIL_BYTES)
    tail = source.read_at(tail_start, source.size)
    at = _find_eocd(tail)
    if at < 0 and tail_start > 0:
        tail_start = max(0, source.size - (22 + 0xFFFF))
        tail = source.read_at(tail_start, source.size)
        at = _find_eocd(tail)
    if at < 0:
        raise ArchiveError("it is not a zip archive (no end of central directory record)")
    disk, cd_disk, _here, members, cd_size, cd_offset = struct.unpack_from("<HHHHII", tail, at + 4)
    end_record = tail_start + at
    if disk or cd_disk:
        raise ArchiveError("it is a multi-disk zip archive")
    if members == 0xFFFF or 0xFFFFFFFF in (cd_size, cd_offset):
        members, cd_size, cd_offset, end_record = _zip64_end(source, tail, at, tail_start)
    shift = end_record - cd_size - cd_offset
    if shift < 0:
        raise ArchiveError("its central directory lies outside the archive")
    limit = limits.central_directory_bytes
    if cd_size > limit.value:
        raise ArchiveError(f"its central directory is {cd_size:,} bytes, over {limit.describe()}", limit)
    if members > limits.archive_members.value:
        limit = limits.archive_members
        raise ArchiveError(f"it declares {members:,} members, over {limit.describe()}", limit)
    return ZipDirectory(cd_offset + shift, cd_size, members, shift)


def _find_eocd(tail: bytes) -> int:
    at = tail.rfind(_EOCD)
    while at >= 0 and len(tail) - at < 22:
        at = tail.rfind(_EOCD, 0, at)
    return at


def _zip64_end(source: Source, tail: bytes, at: int, tail_start: int) -> tuple[int, int, int, int]:
    """(members, directory size, directory offset, record position) from the zip64 records."""
    locator = at - 20
    if locator < 0 or tail[locator : locator + 4] != _LOCATOR:
        raise ArchiveError("malformed zip64 records: the end record overflows but no zip64 locator precedes it")
    _disk, record, _disks = struct.unpack_from("<IQI", tail, locator + 4)
    position = tail_start + locator
    if record + 56 > position:
        raise ArchiveError("malformed zip64 records: the locator points past itself")
    # Bytes prepended to the archive shift the record as they shift everything else.
    data = source.read_at(position - 56, position)
    if data[:4] != _EOCD64:
        data = source.read_at(record, record + 56)
        position = record
        if data[:4] != _EOCD64:
            raise ArchiveError("malformed zip64 records: no zip64 end record where the locator points")
    else:
        position -= 56
    members, _all, cd_size, cd_offset = struct.unpack_from("<QQQQ", data, 24)
    return members, cd_size, cd_offset, position


def read_directory(source: Source, directory: ZipDirectory) -> bytes:
    """The central directory's bytes (bounded by :func:`zip_directory`)."""
    return source.read_at(directory.offset, directory.offset + directory.size)


def walk_central_directory(
    central: bytes, directory: ZipDirectory, limits: Limits = LIMITS
) -> Iterator[ZipEntry]:
    """Each record of a central directory, checking its structure and the member bound."""
    at, count = 0, 0
    while at < len(central):
        count += 1
        if count > limits.archive_members.value:
            limit = limits.archive_members
            raise ArchiveError(f"it has more than {limit.value:,} members, over {limit.describe()}", limit)
        entry, at = parse_record(central, at, directory.shift)
        yield entry


def parse_record(central: bytes, at: int, shift: int) -> tuple[ZipEntry, int]:
    """The central-directory record at *at*, and where the next one starts."""
    if central[at : at + 4] != _CENTRAL or at + 46 > len(central):
        raise ArchiveError("its central directory is malformed (a record has a bad signature or is cut off)")
    (flags, method, _time, _date, crc, compressed, size, name_len, extra_len, comment_len,
     _disk, _internal, _external, header) = struct.unpack_from("<8xHHHHIIIHHHHHII", central, at)
    end = at + 46 + name_len + extra_len + comment_len
    if end > len(central):
        raise ArchiveError("its central directory is malformed (a record runs past its end)")
    raw_name = central[at + 46 : at + 46 + name_len]
    name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
    if 0xFFFFFFFF in (compressed, size, header):
        extra = central[at + 46 + name_len : at + 46 + name_len + extra_len]
        size, compressed, header = _zip64_extra(extra, size, compressed, header)
    entry = ZipEntry(name, flags, method, crc, compressed, size, header + shift)
    return entry, end


def _zip64_extra(extra: bytes, size: int, compressed: int, header: int) -> tuple[int, int, int]:
    """Sizes and header offset from a zip64 extra field (only those that overflowed are there)."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, at)
        if kind == 1:
            field = extra[at + 4 : at + 4 + length]
            values = list(struct.unpack_from(f"<{len(field) // 8}Q", field))
            wanted = [v == 0xFFFFFFFF for v in (size, compressed, header)]
            if sum(wanted) > len(values):
                raise ArchiveError("malformed zip64 records: an extra field lacks the sizes it should hold")
            got = iter(values)
            size, compressed, header = (next(got) if w else v for w, v in zip(wanted, (size, compressed, header), strict=True))
            return size, compressed, header
        at += 4 + length
    raise ArchiveError("malformed zip64 records: a member's sizes overflow but it has no zip64 extra field")


def find_record(central: bytes, leaf: bytes) -> Iterator[int]:
    """Offsets in *central* of records whose name ends with *leaf*, found by searching the
    raw bytes (a part of the directory can be searched without walking it)."""
    hit = central.find(leaf)
    while hit >= 0:
        floor = max(0, hit - 46 - 1024)
        begin = central.rfind(_CENTRAL, floor, hit)
        while begin >= 0:
            if begin + 46 <= len(central):
                (name_len,) = struct.unpack_from("<H", central, begin + 28)
                if begin + 46 + name_len == hit + len(leaf):
                    yield begin
                    break
            begin = central.rfind(_CENTRAL, floor, begin)
        hit = central.find(leaf, hit + 1)


# -- zip: one member ----------------------------------------------------------


def read_member(source: Source, entry: ZipEntry, limit: Limit, *, prefix: int | None = None) -> bytes:
    """A member's bytes, decompressed incrementally and never past *limit*.

    :param prefix: read only this many first bytes (no size or CRC check).
    :raises ArchiveError: encrypted, an unsupported method, corrupt, or over *limit*.
    """
    what = entry.name
    if entry.flags & 0x1:
        raise ArchiveError(f"{what} is encrypted")
    if entry.method not in _METHODS:
        raise ArchiveError(f"{what} uses compression method {entry.method}, which wheelwise does not read")
    cap = limit.value if prefix is None else prefix
    if prefix is None and entry.size > cap:
        raise ArchiveError(f"{what} is {entry.size:,} bytes, over {limit.describe()}", limit)
    compressed_cap = LIMITS.metadata_compressed_bytes
    if prefix is None and entry.compressed > max(compressed_cap.value, cap + cap // 8):
        raise ArchiveError(f"{what} is {entry.compressed:,} bytes compressed, over {compressed_cap.describe()}", compressed_cap)
    length = entry.compressed if prefix is None else min(entry.compressed, _prefix_input(entry.method, prefix))
    if entry.header + 30 > source.size:
        raise ArchiveError(f"{what}: its local header lies outside the archive")
    source.want(entry.header, min(source.size, entry.header + 30 + 1024 + length))
    local = source.read_at(entry.header, entry.header + 30)
    if local[:4] != _LOCAL:
        raise ArchiveError(f"{what}: the central directory points at no local header")
    name_len, extra_len = struct.unpack_from("<HH", local, 26)
    start = entry.header + 30 + name_len + extra_len
    if start + length > source.size:
        raise ArchiveError(f"{what} runs past the end of the archive")
    data = source.read_at(start, start + length)
    out = _decompress(entry.method, data, cap, what, limit if prefix is None else None)
    if prefix is not None:
        return out[:prefix]
    if len(out) != entry.size or zlib.crc32(out) != entry.crc:
        raise ArchiveError(f"{what} is corrupt (its size or CRC does not match its record)")
    return out


def _prefix_input(method: int, wanted: int) -> int:
    # Enough compressed input for *wanted* output bytes of any method (bzip2 works in blocks).
    return wanted if method == _STORED else max(wanted * 4, 1 << 20)


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def needs_input(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Zlib:
    """zlib's decompressobj with the ``needs_input`` interface of bz2 and lzma."""

    def __init__(self, wbits: int) -> None:
        self._d = zlib.decompressobj(wbits)
        self._tail = b""

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def needs_input(self) -> bool:
        return not self._tail and not self._d.eof

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        out = self._d.decompress(self._tail + data, max(0, max_length))
        self._tail = self._d.unconsumed_tail
        return out


def _lzma_member(data: bytes, cap: int) -> tuple[_Decompressor, bytes]:
    """A raw LZMA1 decompressor for a zip member (APPNOTE 5.8.8: version, properties size,
    properties, stream); the dictionary is capped, for no distance can exceed the output."""
    if len(data) < 9:
        raise ArchiveError("an lzma member is cut off")
    (props_len,) = struct.unpack_from("<H", data, 2)
    if props_len != 5:
        raise ArchiveError("an lzma member has malformed properties")
    byte, dict_size = data[4], struct.unpack_from("<I", data, 5)[0]
    if byte >= 9 * 5 * 5:
        raise ArchiveError("an lzma member has malformed properties")
    lc, rest = byte % 9, byte // 9
    lp, pb = rest % 5, rest // 5
    dict_size = max(4096, min(dict_size, cap + 1))
    lzma_filter = {"id": lzma.FILTER_LZMA1, "dict_size": dict_size, "lc": lc, "lp": lp, "pb": pb}
    return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma_filter]), data[9:]


def _decompress(method: int, data: bytes, cap: int, what: str, limit: Limit | None) -> bytes:
    if method == _STORED:
        return data[: cap + 1] if limit is None else data
    decompressor: _Decompressor
    if method == _DEFLATED:
        decompressor = _Zlib(-15)
    elif method == _BZIP2:
        decompressor = bz2.BZ2Decompressor()
    else:
        decompressor, data = _lzma_member(data, cap)
    out = bytearray()
    view = memoryview(data)
    try:
        for at in range(0, max(len(data), 1), _CHUNK):
            chunk = bytes(view[at : at + _CHUNK])
            while not decompressor.eof:
                out += decompressor.decompress(chunk, cap + 1 - len(out))
                chunk = b""
                if len(out) > cap:
                    if limit is None:
                        return bytes(out)
                    raise ArchiveError(f"{what} decompresses to more than {limit.describe()}", limit)
                if decompressor.needs_input:
                    break
            if decompressor.eof:
                break
    except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError) as exc:
        raise ArchiveError(f"{what} is corrupt ({_METHODS[method]}: {exc})") from exc
    return bytes(out)


# -- tar sdists ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TarContents:
    """What a tar sdist holds, as far as read.

    :param metadata: the chosen PKG-INFO's bytes, or None when there is none.
    :param names: every member name read (complete only when *complete*).
    :param headers: the first bytes of members that may be prebuilt binaries.
    :param complete: False when a bound stopped the walk after PKG-INFO was found.
    """

    metadata: bytes | None
    names: list[str]
    headers: list[bytes]
    complete: bool


class _Inflating(io.RawIOBase):
    """A file's bytes decompressed on the fly (gzip, bzip2, xz or none), capped in total."""

    def __init__(self, raw: BinaryIO, limit: Limit) -> None:
        super().__init__()
        self.raw, self.limit, self.total = raw, limit, 0
        head = raw.read(6)
        raw.seek(0)
        self._factory: Callable[[], _Decompressor] | None
        if head[:2] == b"\x1f\x8b":
            self._factory = lambda: _Zlib(16 + 15)
        elif head[:3] == b"BZh":
            self._factory = bz2.BZ2Decompressor
        elif head == b"\xfd7zXZ\x00":
            self._factory = lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=128 << 20)
        else:
            self._factory = None
        self._d: _Decompressor | None = self._factory() if self._factory else None
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        if not len(buffer):
            return 0
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        self.total += len(data)
        if self.total > self.limit.value:
            raise ArchiveError(f"it unpacks to more than {self.limit.describe()}", self.limit)
        return len(data)

    def _read(self, n: int) -> bytes:
        if self._d is None or self._factory is None:
            return self.raw.read(n)
        while True:
            if self._d.eof:
                rest = self._d.unused_data + self._pending
                self._pending = b""
                if not rest:
                    rest = self.raw.read(_CHUNK)
                if not rest.strip(b"\x00"):
                    return b""
                self._d = self._factory()  # another gzip, bzip2 or xz member follows
                self._pending = rest
            if self._d.needs_input:
                data = self._pending or self.raw.read(_CHUNK)
                self._pending = b""
                if not data:
                    raise EOFError("the compressed stream ends early")
            else:
                data = b""
            out = self._d.decompress(data, n)
            if out:
                return out


_PKG_INFO = re.compile(r"[^/]+/PKG-INFO")
#: header members whose whole body tarfile reads into memory (pax, GNU long names)
_HEADER_TYPES = frozenset(
    {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}
)


def _bounded_tarinfo(limit: Limit) -> type[tarfile.TarInfo]:
    """A TarInfo that refuses a pax or long-name header larger than *limit*: tarfile reads
    such a header's body whole, so a lying size would otherwise be an allocation."""

    class Bounded(tarfile.TarInfo):
        @classmethod
        def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
            info = super().frombuf(buf, encoding, errors)
            if info.type in _HEADER_TYPES and info.size > limit.value:
                raise ArchiveError(f"a {info.size:,}-byte extended header is over {limit.describe()}", limit)
            return info

    return Bounded


def read_tar(fileobj: BinaryIO, own: Callable[[str], bool], may_be_binary: Callable[[str], bool],
             *, binaries: int, header: int, limits: Limits = LIMITS) -> TarContents:
    """Walk a tar sdist once, as a stream, keeping names, binaries' headers and PKG-INFO.

    PKG-INFO must be a regular member (a link is refused, never followed).  The project's
    own ``NAME-VER/PKG-INFO`` wins over another top folder's.

    :param own: whether a top folder's PKG-INFO is the project's own.
    :raises ArchiveError: malformed, over a bound before PKG-INFO was read, or PKG-INFO a link.
    """
    names: list[str] = []
    headers: list[bytes] = []
    chosen: tuple[bool, bytes] | None = None
    complete = True
    try:
        stream = _Inflating(fileobj, limits.sdist_unpacked_bytes)
        with tarfile.open(fileobj=stream, mode="r|", tarinfo=_bounded_tarinfo(limits.tar_header_bytes)) as tar:
            for info in tar:
                names.append(info.name)
                # A stream is read once and links are never followed: keep no TarInfo, so
                # memory stays flat however many members there are (tarfile keeps them all).
                del tar.members[:]  # type: ignore[attr-defined]
                if len(names) > limits.archive_members.value:
                    limit = limits.archive_members
                    raise ArchiveError(f"it has more than {limit.value:,} members, over {limit.describe()}", limit)
                if _PKG_INFO.fullmatch(info.name) and (chosen is None or (not chosen[0] and own(info.name))):
                    chosen = (own(info.name), _tar_member(tar, info, limits.metadata_bytes))
                elif info.isfile() and may_be_binary(info.name) and len(headers) < binaries:
                    member = tar.extractfile(info)
                    if member is not None:
                        headers.append(member.read(header))
    except ArchiveError as exc:
        if exc.limit is None or chosen is None:
            raise
        complete = False
    except (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError, ValueError) as exc:
        raise ArchiveError(f"it is not a readable tar archive ({exc or type(exc).__name__})") from exc
    return TarContents(chosen[1] if chosen else None, names, headers, complete)


def _tar_member(tar: tarfile.TarFile, info: tarfile.TarInfo, limit: Limit) -> bytes:
    if info.issym() or info.islnk():
        kind = "symbolic" if info.issym() else "hard"
        raise ArchiveError(f"{info.name} is a {kind} link (to {info.linkname!r}), not a file; links are not followed")
    if not info.isfile():
        raise ArchiveError(f"{info.name} is not a regular file")
    if info.size > limit.value:
        raise ArchiveError(f"{info.name} is {info.size:,} bytes, over {limit.describe()}", limit)
    member = tar.extractfile(info)
    if member is None:  # pragma: no cover - a regular file always has one
        raise ArchiveError(f"{info.name} cannot be read")
    data = member.read(limit.value + 1)
    if len(data) != info.size:
        raise ArchiveError(f"{info.name} is cut off")
    return data

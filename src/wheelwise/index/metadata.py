"""Core metadata of one distribution file, with as few bytes as possible.

Order, as uv's ``registry_client.rs`` does it:

1. the PEP 658 ``.metadata`` file when the index advertises it (hash checked);
2. for a wheel, HTTP range reads: the last 16 KiB (end of central directory,
   and for small wheels everything), then the rest of the central directory if
   needed, then the ``METADATA`` member alone;
3. when the server ignores ``Range`` (answers 200), the whole file, streamed
   and bounded, hash checked; the caller remembers that index can't do ranges.

Sdists are opened (never built): ``PKG-INFO`` counts only when static
(Metadata-Version >= 2.2 and Requires-Dist not Dynamic).  The file list says
whether the sdist carries native sources (C, C++, Cython, Rust, Fortran).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import struct
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import IO, BinaryIO

from packaging.metadata import parse_email
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import HashMismatchError, MetadataError
from ..probes.host import binary_architectures
from .client import Fetcher, RangeIgnored, open_local
from .simple import DistFile
from .urls import is_file_url, redact, url_to_path

__all__ = [
    "MAX_METADATA_BYTES",
    "CoreMetadata",
    "FetchedMetadata",
    "fetch_metadata",
    "parse_core_metadata",
]

#: Largest METADATA / PKG-INFO accepted (real ones with a long README reach ~1 MiB).
MAX_METADATA_BYTES = 10 << 20
#: First range read: holds the end of central directory, and small wheels whole.
TAIL_BYTES = 16 << 10
NATIVE_SUFFIXES = (".c", ".cc", ".cpp", ".cxx", ".pyx", ".rs", ".f", ".f90", ".cu", ".m", ".mm")
NATIVE_FILES = ("Cargo.toml", "CMakeLists.txt", "meson.build")
#: names of members that may be prebuilt binaries (their headers are read to tell)
BINARY_SUFFIXES = (".so", ".dylib", ".pyd", ".dll", ".exe", ".bundle")
#: members whose headers are read at most, and the bytes read of each
MAX_BINARIES_READ = 64
BINARY_HEADER = 4096
_BINARY_FORMATS = {"elf": ("Linux", "ELF"), "mach-o": ("macOS", "Mach-O"), "pe": ("Windows", "PE")}


@dataclasses.dataclass(frozen=True)
class CoreMetadata:
    """The fields of core metadata that resolution and diagnosis need."""

    name: str
    version: str
    metadata_version: str
    requires_dist: tuple[str, ...] = ()
    requires_python: str | None = None
    provides_extra: tuple[str, ...] = ()
    dynamic: tuple[str, ...] = ()

    @property
    def static_requirements(self) -> bool:
        """Whether Requires-Dist can be trusted without running a build (PEP 643)."""
        try:
            recent = Version(self.metadata_version) >= Version("2.2")
        except InvalidVersion:
            recent = False
        return recent and "requires-dist" not in {d.lower() for d in self.dynamic}


@dataclasses.dataclass(frozen=True)
class FetchedMetadata:
    """Metadata plus how it was obtained.

    :param how: ``pep658``, ``range``, ``full``, ``local`` or ``cache``.
    :param native_sources: for an sdist, whether it carries native code; else None.
    :param range_ignored: the server ignored a Range header (remember it).
    """

    raw: bytes
    how: str
    native_sources: bool | None = None
    #: prebuilt binaries an sdist ships, e.g. ``Linux x86_64 (ELF)`` (read from their headers)
    binaries: tuple[str, ...] = ()
    range_ignored: bool = False

    @functools.cached_property
    def metadata(self) -> CoreMetadata:
        """Parsed once (a frozen dataclass still has an instance dict for this)."""
        return parse_core_metadata(self.raw)


def parse_core_metadata(raw: bytes) -> CoreMetadata:
    """Parse METADATA / PKG-INFO bytes, leniently (as pip does).

    :raises ValueError: when Name or Version is missing.
    """
    fields, _unparsed = parse_email(raw)
    name, version = fields.get("name"), fields.get("version")
    if not name or not version:
        raise ValueError("core metadata without Name or Version")
    return CoreMetadata(
        name=name,
        version=version,
        metadata_version=fields.get("metadata_version", "1.0"),
        requires_dist=tuple(fields.get("requires_dist", [])),
        requires_python=fields.get("requires_python"),
        provides_extra=tuple(fields.get("provides_extra", [])),
        dynamic=tuple(fields.get("dynamic", [])),
    )


def _verify(url: str, data: bytes | IO[bytes], hashes: Mapping[str, str], what: str) -> None:
    for algo in ("sha256", "sha512", "sha384"):
        if algo in hashes:
            break
    else:
        return
    digest = hashlib.new(algo)
    if isinstance(data, bytes):
        digest.update(data)
    else:
        data.seek(0)
        for chunk in iter(lambda: data.read(1 << 20), b""):
            digest.update(chunk)
        data.seek(0)
    if digest.hexdigest() != hashes[algo].lower():
        raise HashMismatchError(
            f"{what} of {redact(url)} does not match the {algo} the index published",
            url=redact(url),
            hint="the index or a proxy served altered bytes; nothing from it was used",
        )


def _check_size(url: str, size: int) -> None:
    if size > MAX_METADATA_BYTES:
        raise MetadataError(
            f"the metadata of {redact(url)} is {size} bytes, over the {MAX_METADATA_BYTES} allowed",
            url=redact(url),
        )


# -- zip members read through range requests ------------------------------


class _Need(Exception):  # noqa: N818 - control flow, never escapes this module
    def __init__(self, start: int, end: int) -> None:
        super().__init__(start, end)
        self.start, self.end = start, end


class _SparseFile(io.RawIOBase):
    """A read-only file of known size of which only some byte ranges are known.

    Reading an unknown byte raises :class:`_Need`, which the caller answers
    with a range request and a retry.  zipfile reads it as any file.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.pos = 0
        self.spans: list[tuple[int, bytes]] = []

    def add(self, start: int, data: bytes) -> None:
        self.spans.append((start, data))
        self.spans.sort(key=lambda s: s[0])
        merged: list[tuple[int, bytes]] = []
        for s, d in self.spans:
            if merged and s <= merged[-1][0] + len(merged[-1][1]):
                ms, md = merged[-1]
                merged[-1] = (ms, md + d[ms + len(md) - s :])
            else:
                merged.append((s, d))
        self.spans = merged

    def get(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``; :class:`_Need` when some are not known."""
        self.seek(start)
        return self.read(end - start)

    def covered(self, start: int, end: int) -> bool:
        return any(s <= start and end <= s + len(d) for s, d in self.spans)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def read(self, n: int | None = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        for s, d in self.spans:
            if s <= self.pos and end <= s + len(d):
                out = d[self.pos - s : end - s]
                self.pos = end
                return out
        if self.pos >= end:
            return b""
        raise _Need(self.pos, end)

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _member_name(names: list[str], project: str, leaf: str, dist_info: bool) -> str | None:
    """The METADATA (wheel) or PKG-INFO (sdist) member, preferring the project's own."""
    if dist_info:
        found = [n for n in names if n.count("/") == 1 and n.endswith(f".dist-info/{leaf}")]
    else:
        found = [n for n in names if n.count("/") == 1 and n.endswith(f"/{leaf}")]
    return next((name for name in found if _own(name, project)), found[0] if found else None)


def _own(member: str, project: str) -> bool:
    """Whether ``NAME-VER.dist-info/...`` (or ``NAME-VER/...``) is *project*'s."""
    return canonicalize_name(member.split("/")[0].split("-")[0]) == canonicalize_name(project)


def _read_from_zip(
    zf: zipfile.ZipFile, file: DistFile, prefetch: Callable[[zipfile.ZipInfo], None] | None = None
) -> tuple[bytes, list[str]]:
    names = zf.namelist()
    member = _member_name(names, file.name, "METADATA" if file.is_wheel else "PKG-INFO", file.is_wheel)
    if member is None:
        leaf = ".dist-info/METADATA" if file.is_wheel else "PKG-INFO"
        raise MetadataError(
            f"{file.filename} holds no {leaf}: it is not a valid distribution",
            url=redact(file.url),
        )
    info = zf.getinfo(member)
    _check_size(file.url, info.file_size)
    if prefetch is not None:
        prefetch(info)
    return zf.read(member), names


def _range_metadata(fetcher: Fetcher, file: DistFile, full_limit: int) -> FetchedMetadata:
    offset, tail, total = fetcher.get_range(file.url, None, TAIL_BYTES, full_limit=full_limit)
    if total is None:
        raise MetadataError(f"{redact(file.url)} gave no file size for a range request", url=redact(file.url))
    sparse = _SparseFile(total)
    sparse.add(offset, tail)

    def fetch(start: int, end: int) -> None:
        got_offset, body, _ = fetcher.get_range(file.url, start, end, full_limit=full_limit)
        sparse.add(got_offset, body)

    def prefetch(info: zipfile.ZipInfo) -> None:
        # The local header repeats name and extra field; allow for a longer extra.
        start = info.header_offset
        end = min(total, start + 30 + len(info.orig_filename.encode()) + len(info.extra) + info.compress_size + 1024)
        if not sparse.covered(start, end):
            fetch(start, end)

    if file.is_wheel:
        # zipfile would build an object per member of the central directory (tensorflow has
        # ~20,000): find the one METADATA record in the raw bytes instead.
        raw = _wheel_metadata(sparse, file, fetch)
        if raw is not None:
            return FetchedMetadata(raw=raw, how="range")
    for _ in range(6):
        try:
            with zipfile.ZipFile(sparse) as zf:
                raw, names = _read_from_zip(zf, file, prefetch)
            return FetchedMetadata(raw=raw, how="range", native_sources=_native(names, file))
        except _Need as need:
            fetch(need.start, need.end)
        except zipfile.BadZipFile as exc:
            raise MetadataError(f"{file.filename} is not a valid zip file: {exc}", url=redact(file.url)) from exc
    raise MetadataError(f"{file.filename}: its zip layout needed too many range reads", url=redact(file.url))


_EOCD, _EOCD64, _EOCD64_LOCATOR = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
_CENTRAL, _LOCAL = b"PK\x01\x02", b"PK\x03\x04"
_METADATA_TAIL = b".dist-info/METADATA"


def _wheel_metadata(sparse: _SparseFile, file: DistFile, fetch: Callable[[int, int], None]) -> bytes | None:
    """METADATA of a remote wheel from its raw zip records: end of central directory,
    the one record named ``*.dist-info/METADATA`` (in the tail already read, else in
    the whole central directory, fetched), then that member's bytes alone.

    None when the layout is anything but plain (a zip comment hiding the end record,
    encryption, a compression other than stored/deflate): zipfile then reads it.
    """
    end = sparse.size
    tail_start = max(0, end - TAIL_BYTES)
    try:
        tail = sparse.get(tail_start, end)
    except _Need:
        return None
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return None
    cd_size, cd_offset = struct.unpack_from("<II", tail, at + 12)
    if 0xFFFFFFFF in (cd_size, cd_offset):
        locator = at - 20
        if locator < 0 or tail[locator : locator + 4] != _EOCD64_LOCATOR:
            return None
        (record,) = struct.unpack_from("<Q", tail, locator + 8)
        record -= tail_start
        if record < 0 or tail[record : record + 4] != _EOCD64:
            return None
        cd_size, cd_offset = struct.unpack_from("<QQ", tail, record + 40)
    if cd_offset + cd_size > end:
        return None
    # Wheels list their .dist-info last, so the tail read usually holds the METADATA record:
    # then the rest of the central directory (megabytes for tensorflow) is never fetched.
    known = max(cd_offset, tail_start)
    central = sparse.get(known, cd_offset + cd_size) if known < cd_offset + cd_size else b""
    record_at = _metadata_record(central, file.name, own_only=True)
    if record_at is None:
        if not sparse.covered(cd_offset, cd_offset + cd_size):
            fetch(cd_offset, cd_offset + cd_size)
        central = sparse.get(cd_offset, cd_offset + cd_size)
        record_at = _metadata_record(central, file.name)
        if record_at is None:
            return None
    flags, method, _time, _date, crc, size, _usize, name_len, extra_len = struct.unpack_from("<HHHHIIIHH", central, record_at + 8)
    (header,) = struct.unpack_from("<I", central, record_at + 42)
    extra = central[record_at + 46 + name_len : record_at + 46 + name_len + extra_len]
    if 0xFFFFFFFF in (size, header):
        size, header = _zip64_sizes(extra, size, _usize, header)
    if flags & 1 or method not in (0, 8) or header + 30 > end:
        return None
    _check_size(file.url, _usize)
    guess = min(end, header + 30 + name_len + extra_len + size + 1024)
    if not sparse.covered(header, guess):
        fetch(header, guess)
    local = sparse.get(header, header + 30)
    if local[:4] != _LOCAL:
        return None
    local_name, local_extra = struct.unpack_from("<HH", local, 26)
    start = header + 30 + local_name + local_extra
    if start + size > end:
        return None
    if not sparse.covered(start, start + size):
        fetch(start, start + size)
    data = sparse.get(start, start + size)
    try:
        raw = zlib.decompressobj(-15).decompress(data, MAX_METADATA_BYTES + 1) if method == 8 else data
    except zlib.error:
        return None
    _check_size(file.url, len(raw))
    if zlib.crc32(raw) != crc:
        return None
    return raw


def _metadata_record(central: bytes, project: str, *, own_only: bool = False) -> int | None:
    """Offset of the central-directory record for ``NAME-VER.dist-info/METADATA``, the project's own first.

    :param own_only: only the project's own (when *central* is a part of the directory).
    """
    found: list[tuple[int, str]] = []
    hit = central.find(_METADATA_TAIL)
    while hit >= 0:
        start = central.rfind(_CENTRAL, max(0, hit - 46 - 512), hit)
        if start >= 0:
            (name_len,) = struct.unpack_from("<H", central, start + 28)
            if start + 46 + name_len == hit + len(_METADATA_TAIL):
                name = central[start + 46 : hit + len(_METADATA_TAIL)].decode("utf-8", "replace")
                if name.count("/") == 1:
                    found.append((start, name))
        hit = central.find(_METADATA_TAIL, hit + 1)
    member = _member_name([n for _, n in found], project, "METADATA", True)
    if own_only and (member is None or not _own(member, project)):
        return None
    return next((s for s, n in found if n == member), None)


def _zip64_sizes(extra: bytes, size: int, usize: int, header: int) -> tuple[int, int]:
    """Compressed size and header offset from a zip64 extra field (those that overflowed)."""
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, at)
        if kind == 1:
            values = iter(struct.unpack_from(f"<{length // 8}Q", extra, at + 4))
            if usize == 0xFFFFFFFF:
                next(values, None)
            if size == 0xFFFFFFFF:
                size = next(values, size)
            if header == 0xFFFFFFFF:
                header = next(values, header)
            break
        at += 4 + length
    return size, header


def _native(names: list[str], file: DistFile, binaries: tuple[str, ...] = ()) -> bool | None:
    if file.is_wheel:
        return None
    return bool(binaries) or any(n.endswith(NATIVE_SUFFIXES) or n.rsplit("/", 1)[-1] in NATIVE_FILES for n in names)


def _may_be_binary(name: str) -> bool:
    leaf = name.rsplit("/", 1)[-1]
    return leaf.endswith(BINARY_SUFFIXES) or ".so." in leaf


def _binaries(headers: Iterable[bytes]) -> tuple[str, ...]:
    """``Linux x86_64 (ELF)``, ``macOS arm64 (Mach-O)``, ``Windows x86_64 (PE)``: what prebuilt
    binaries are for, read from their headers (an sdist that ships them is not pure Python)."""
    found: set[str] = set()
    for header in headers:
        parsed = binary_architectures(header)
        if parsed is None:
            continue
        kind, archs = parsed
        system, label = _BINARY_FORMATS[kind]
        found.update(f"{system} {arch} ({label})" for arch in archs)
    return tuple(sorted(found))


def _from_archive(fileobj: BinaryIO, file: DistFile, how: str) -> FetchedMetadata:
    """Metadata from a complete wheel or sdist archive (for an sdist, what binaries it ships)."""
    headers: list[bytes] = []
    try:
        if file.filename.endswith((".whl", ".zip")):
            with zipfile.ZipFile(fileobj) as zf:
                raw, names = _read_from_zip(zf, file)
                if not file.is_wheel:
                    for name in [n for n in names if _may_be_binary(n)][:MAX_BINARIES_READ]:
                        with zf.open(name) as member:
                            headers.append(member.read(BINARY_HEADER))
        else:
            raw, names = _read_from_tar(fileobj, file, headers)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise MetadataError(f"{file.filename} cannot be opened: {exc}", url=redact(file.url)) from exc
    binaries = _binaries(headers)
    return FetchedMetadata(raw=raw, how=how, native_sources=_native(names, file, binaries), binaries=binaries)


def _read_from_tar(fileobj: BinaryIO, file: DistFile, headers: list[bytes]) -> tuple[bytes, list[str]]:
    with tarfile.open(fileobj=fileobj, mode="r:*") as tf:
        members = tf.getmembers()
        names = [m.name for m in members]
        for m in [m for m in members if m.isfile() and _may_be_binary(m.name)][:MAX_BINARIES_READ]:
            binary = tf.extractfile(m)
            if binary is not None:
                headers.append(binary.read(BINARY_HEADER))
        member = _member_name(names, file.name, "PKG-INFO", dist_info=False)
        if member is None:
            raise MetadataError(f"{file.filename} holds no PKG-INFO", url=redact(file.url))
        info = tf.getmember(member)
        _check_size(file.url, info.size)
        extracted = tf.extractfile(info)
        if extracted is None:
            raise MetadataError(f"{file.filename}: PKG-INFO is not a regular file", url=redact(file.url))
        return extracted.read(), names


def _full_metadata(fetcher: Fetcher, file: DistFile, full_limit: int) -> FetchedMetadata:
    with tempfile.TemporaryFile() as spool:
        fetcher.download(file.url, spool, limit=full_limit)
        _verify(file.url, spool, file.hashes, "the file")
        return _from_archive(spool, file, "full")


def fetch_metadata(
    fetcher: Fetcher,
    file: DistFile,
    *,
    use_658: bool = True,
    use_range: bool = True,
    full_limit: int = 1 << 30,
) -> FetchedMetadata:
    """Core metadata of *file* by the cheapest way the index allows.

    :param use_range: ``False`` once the index is known to ignore ranges.
    :param full_limit: largest full download accepted (default 1 GiB).
    :raises MetadataError: missing, oversized or malformed metadata.
    :raises HashMismatchError: bytes that do not match the published hash.
    :raises IndexFetchError: the index could not be reached.
    """
    if is_file_url(file.url):
        return _local_metadata(file)
    if use_658 and file.core_metadata:
        response = fetcher.get(file.metadata_url, kind="metadata", limit=MAX_METADATA_BYTES)
        if isinstance(file.core_metadata, Mapping):
            _verify(file.metadata_url, response.content, file.core_metadata, "the metadata file")
        return _checked(FetchedMetadata(raw=response.content, how="pep658"), file)
    if use_range and file.filename.endswith((".whl", ".zip")):
        try:
            return _checked(_range_metadata(fetcher, file, full_limit), file)
        except RangeIgnored as ignored:
            with ignored.file:
                _verify(file.url, ignored.file, file.hashes, "the file")
                got = _from_archive(ignored.file, file, "full")
            return _checked(dataclasses.replace(got, range_ignored=True), file)
    return _checked(_full_metadata(fetcher, file, full_limit), file)


def _local_metadata(file: DistFile) -> FetchedMetadata:
    handle = open_local(file.url)  # a regular file only: never blocks on a FIFO or device
    if handle is None:
        path = url_to_path(file.url)
        raise MetadataError(f"{path} is listed by the index but does not exist", url=file.url)
    with handle:
        return _checked(_from_archive(handle, file, "local"), file)


def _checked(got: FetchedMetadata, file: DistFile) -> FetchedMetadata:
    """Refuse metadata that does not parse or names another project."""
    try:
        meta = got.metadata
    except ValueError as exc:
        raise MetadataError(f"the metadata of {file.filename} is malformed: {exc}", url=redact(file.url)) from exc
    if canonicalize_name(meta.name) != file.name:
        raise MetadataError(
            f"the metadata of {file.filename} names another project ({meta.name})",
            url=redact(file.url),
        )
    return got

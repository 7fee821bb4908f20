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

Every path reads archives through the bounded readers of :mod:`.archives` (the
bounds are in :mod:`.limits`): whatever a file claims, memory stays within them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from typing import IO, BinaryIO

from packaging.metadata import parse_email
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..errors import HashMismatchError, MetadataError
from ..probes.host import binary_architectures
from .archives import (
    TAIL_BYTES,
    ArchiveError,
    FileSource,
    Source,
    ZipEntry,
    find_record,
    parse_record,
    read_directory,
    read_member,
    read_tar,
    walk_central_directory,
    zip_directory,
)
from .client import Fetcher, RangeIgnored
from .limits import LIMITS, Limits
from .simple import DistFile
from .urls import is_file_url, redact, url_to_path

__all__ = [
    "MAX_METADATA_BYTES",
    "CoreMetadata",
    "FetchedMetadata",
    "fetch_metadata",
    "parse_core_metadata",
]

#: Largest METADATA / PKG-INFO accepted (the ``metadata-bytes`` bound of :mod:`.limits`).
MAX_METADATA_BYTES = LIMITS.metadata_bytes.value
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
    #: read by ranges: how many bytes from the end of the file it took (a hint for the next file)
    tail_needed: int | None = None

    @functools.cached_property
    def metadata(self) -> CoreMetadata:
        """Parsed once (a frozen dataclass still has an instance dict for this)."""
        return parse_core_metadata(self.raw)

    def parsed(self) -> FetchedMetadata:
        """The same answer, parsed, without its bytes: what an index keeps for the rest of a run
        (a check reads a thousand files or more; their parsed fields are what is asked again).
        Metadata that does not parse keeps its bytes, to fail the same way when it is read."""
        try:
            parsed = self.metadata
        except Exception:  # noqa: BLE001 - whatever parsing raises is raised again to the reader
            return self
        slim = dataclasses.replace(self, raw=b"")
        slim.__dict__["metadata"] = parsed
        return slim


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


# -- archives ------------------------------------------------------------


class _RemoteSource:
    """A remote file read by HTTP ranges: the bytes asked for are fetched once and kept.

    The first read is the file's last *tail* bytes (at least :data:`TAIL_BYTES`: the end
    records, and small wheels whole); each later one costs a request, at most
    ``range-reads`` in all.  :attr:`needed` is how far from the end the reads went.
    """

    def __init__(self, fetcher: Fetcher, url: str, full_limit: int, limits: Limits = LIMITS, tail: int = TAIL_BYTES) -> None:
        self.fetcher, self.url, self.full_limit, self.limits = fetcher, url, full_limit, limits
        self.reads = 1
        self.spans: list[tuple[int, bytes]] = []
        offset, tail_bytes, total = fetcher.get_range(url, None, max(TAIL_BYTES, tail), full_limit=full_limit)
        if total is None:
            raise MetadataError(f"{redact(url)} gave no file size for a range request", url=redact(url))
        self.size = total
        self._add(offset, tail_bytes)

    @property
    def needed(self) -> int:
        return self.size - min(begin for begin, _ in self.spans)

    def _add(self, start: int, data: bytes) -> None:
        spans = sorted([*self.spans, (start, data)], key=lambda span: span[0])
        merged: list[tuple[int, bytes]] = []
        for begin, chunk in spans:
            if merged and begin <= merged[-1][0] + len(merged[-1][1]):
                first, known = merged[-1]
                merged[-1] = (first, known + chunk[first + len(known) - begin :])
            else:
                merged.append((begin, chunk))
        self.spans = merged

    def _known(self, start: int, end: int) -> bytes | None:
        for begin, chunk in self.spans:
            if begin <= start and end <= begin + len(chunk):
                return chunk[start - begin : end - begin]
        return None

    def want(self, start: int, end: int) -> None:
        if self._known(start, end) is None:
            self._fetch(start, end)

    def read_at(self, start: int, end: int) -> bytes:
        if start < 0 or end > self.size or start > end:
            raise ArchiveError(f"a record points outside the archive (bytes {start}-{end} of {self.size})")
        known = self._known(start, end)
        if known is None:
            self._fetch(start, end)
            known = self._known(start, end)
        if known is None:
            raise ArchiveError(f"the server answered a range request for bytes {start}-{end - 1} with other bytes")
        return known

    def _fetch(self, start: int, end: int) -> None:
        limit = self.limits.range_reads
        self.reads += 1
        if self.reads > limit.value:
            raise ArchiveError(f"its layout needs more range requests than {limit.describe()}", limit)
        offset, body, _total = self.fetcher.get_range(self.url, start, end, full_limit=self.full_limit)
        self._add(offset, body[: max(0, end - offset)] if offset <= start else body)


def _archive_error(file: DistFile, exc: ArchiveError) -> MetadataError:
    hint = (
        "a real distribution stays far below this bound: the file is malformed or hostile; nothing from it was used"
        if exc.limit is not None
        else "the file is damaged or not a distribution wheelwise can read; nothing from it was used"
    )
    return MetadataError(f"{file.filename} ({redact(file.url)}): {exc}", url=redact(file.url), hint=hint)


def _member_name(names: Iterable[str], project: str, leaf: str, dist_info: bool) -> str | None:
    """The METADATA (wheel) or PKG-INFO (sdist) member, preferring the project's own."""
    suffix = f".dist-info/{leaf}" if dist_info else f"/{leaf}"
    found = [n for n in names if n.count("/") == 1 and n.endswith(suffix)]
    return next((name for name in found if _own(name, project)), found[0] if found else None)


def _own(member: str, project: str) -> bool:
    """Whether ``NAME-VER.dist-info/...`` (or ``NAME-VER/...``) is *project*'s."""
    return canonicalize_name(member.split("/")[0].split("-")[0]) == canonicalize_name(project)


_METADATA_TAIL = b".dist-info/METADATA"


def _zip_metadata(source: Source, file: DistFile, *, headers: list[bytes] | None = None) -> tuple[bytes, list[str]]:
    """METADATA (wheel) or PKG-INFO (zip sdist) from a zip, and the member names read.

    A wheel's record is first looked for in the directory's last part (already read with
    the end records: most wheels list .dist-info last), then in its first part (repaired
    wheels list it first), so tensorflow's megabytes of directory are fetched only when it
    is in neither.  *headers*, when given, gets the first bytes
    of members that may be prebuilt binaries (an sdist read whole).
    """
    directory = zip_directory(source)
    end = directory.offset + directory.size
    if file.is_wheel:
        # most wheels list .dist-info last; auditwheel-repaired and meson-python wheels list it
        # first (tensorflow's Linux wheels: entry 4 of 19,000, 2 MB of directory after it)
        last = max(directory.offset, min(end, source.size - TAIL_BYTES))
        parts = [(last, end)] if last == directory.offset else [(last, end), (directory.offset, min(end, directory.offset + TAIL_BYTES))]
        for start, stop in parts:  # a small directory is read whole at once: searched once
            part = source.read_at(start, stop)
            try:
                records = [parse_record(part, at, directory.shift)[0] for at in find_record(part, _METADATA_TAIL)]
            except ArchiveError:
                continue  # a record cut off at the edge of this part: the whole directory is read below
            chosen = _member_name([r.name for r in records], file.name, "METADATA", True)
            if chosen is not None and _own(chosen, file.name):
                entry = next(r for r in records if r.name == chosen)
                return read_member(source, entry, LIMITS.metadata_bytes), []
    leaf = "METADATA" if file.is_wheel else "PKG-INFO"
    names: list[str] = []
    wanted: dict[str, ZipEntry] = {}
    binaries: list[ZipEntry] = []
    for entry in walk_central_directory(read_directory(source, directory), directory):
        names.append(entry.name)
        if entry.name.endswith("/" + leaf):
            wanted.setdefault(entry.name, entry)
        elif headers is not None and _may_be_binary(entry.name) and len(binaries) < MAX_BINARIES_READ:
            binaries.append(entry)
    member = _member_name(wanted, file.name, leaf, file.is_wheel)
    if member is None:
        what = ".dist-info/METADATA" if file.is_wheel else "PKG-INFO"
        raise ArchiveError(f"it holds no {what}: it is not a valid distribution")
    raw = read_member(source, wanted[member], LIMITS.metadata_bytes)
    if headers is not None:
        headers.extend(read_member(source, entry, LIMITS.metadata_bytes, prefix=BINARY_HEADER) for entry in binaries)
    return raw, names


def _range_metadata(fetcher: Fetcher, file: DistFile, full_limit: int, tail: int) -> FetchedMetadata:
    source = _RemoteSource(fetcher, file.url, full_limit, tail=tail)
    try:
        raw, names = _zip_metadata(source, file)
    except ArchiveError as exc:
        raise _archive_error(file, exc) from exc
    return FetchedMetadata(raw=raw, how="range", native_sources=_native(names, file), tail_needed=source.needed)


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
    native: bool | None = None
    try:
        if file.filename.endswith((".whl", ".zip")):
            raw, names = _zip_metadata(FileSource(fileobj), file, headers=None if file.is_wheel else headers)
            complete = True
        else:
            raw, names, complete = _read_from_tar(fileobj, file, headers)
    except ArchiveError as exc:
        raise _archive_error(file, exc) from exc
    except OSError as exc:
        raise MetadataError(f"{file.filename} cannot be read: {exc}", url=redact(file.url)) from exc
    binaries = _binaries(headers)
    native = _native(names, file, binaries)
    if not complete and not native:
        native = None  # a bound stopped the walk: what lies further is unknown
    return FetchedMetadata(raw=raw, how=how, native_sources=native, binaries=binaries)


def _read_from_tar(fileobj: BinaryIO, file: DistFile, headers: list[bytes]) -> tuple[bytes, list[str], bool]:
    got = read_tar(
        fileobj,
        lambda member: _own(member, file.name),
        _may_be_binary,
        binaries=MAX_BINARIES_READ,
        header=BINARY_HEADER,
    )
    if got.metadata is None:
        raise ArchiveError("it holds no PKG-INFO")
    headers.extend(got.headers)
    return got.metadata, got.names, got.complete


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
    full_limit: int = LIMITS.full_download_bytes.value,
    tail: int = TAIL_BYTES,
) -> FetchedMetadata:
    """Core metadata of *file* by the cheapest way the index allows.

    :param use_range: ``False`` once the index is known to ignore ranges.
    :param tail: bytes to read from the end of a wheel at first (what another wheel of the
        project needed: one request instead of two when its directory is big).
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
            return _checked(_range_metadata(fetcher, file, full_limit, tail), file)
        except RangeIgnored as ignored:
            with ignored.file:
                _verify(file.url, ignored.file, file.hashes, "the file")
                got = _from_archive(ignored.file, file, "full")
            return _checked(dataclasses.replace(got, range_ignored=not ignored.whole), file)
    return _checked(_full_metadata(fetcher, file, full_limit), file)


def _local_metadata(file: DistFile) -> FetchedMetadata:
    path = url_to_path(file.url)
    try:
        # O_NONBLOCK: a FIFO listed as a distribution must not hang the open; it is refused below.
        handle = os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)), "rb")
    except FileNotFoundError as exc:
        raise MetadataError(f"{path} is listed by the index but does not exist", url=file.url) from exc
    except OSError as exc:
        raise MetadataError(f"{path} cannot be read: {exc.strerror}", url=file.url) from exc
    with handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise MetadataError(f"{path} is listed as a distribution but is not a regular file", url=file.url)
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

"""A plan's pins as files installers accept: requirements.txt with hashes, and pylock.toml.

Both name the exact file pip picks for each pin on the target, with its
sha256: from the index page when it gives one, else computed by reading the
file (a ``file:`` URL, a find-links folder) or streaming it (bounded by
:data:`HASH_LIMIT`).  pip and uv then install with ``--require-hashes``.

The PEP 751 lock is built with :mod:`packaging.pylock` and read back through
it before it is written, so a file packaging (and pip, which vendors it)
rejects never reaches the disk.  Its ``environments`` marker says where it
installs: the target's platform and machine and, on macOS, the lowest macOS
release every pinned wheel accepts (``platform_release`` is the Darwin
version); a glibc floor has no marker and is stated in ``[tool.wheelwise]``.

Every URL written is :func:`~wheelwise.index.urls.public_url`: no userinfo
and no token in the query.  Nothing here prints.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
import json
import os
import stat
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, BinaryIO, cast

from packaging.markers import Marker
from packaging.pylock import Package, PackageSdist, PackageWheel, Pylock, PylockValidationError
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from .compat import os_floor
from .errors import IndexFetchError
from .index import DistFile, PackageIndex
from .index.simple import parse_filename
from .index.urls import is_file_url, public_url, redact, url_to_path
from .resolve import Candidate
from .target import Target

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "HASH_LIMIT", "LockError", "LockedFile", "LockedPin", "environment_marker", "lock_pins", "pylock", "pylock_text",
    "requirement_lines",
]

#: the largest file wheelwise reads to hash it (CUDA wheels of torch and jaxlib pass 2 GiB)
HASH_LIMIT = 8 << 30
_CHUNK = 1 << 20


class LockError(IndexFetchError):
    """What the index gave cannot make a valid lock file (exit 3)."""

    reference = "bad-lock"


@dataclasses.dataclass(frozen=True)
class LockedFile:
    """One distribution file as the lock files write it (every URL public).

    :param index: the index whose page listed the file; ``None`` for find-links.
    """

    filename: str
    url: str
    sha256: str
    index: str | None = None
    size: int | None = None
    upload_time: datetime.datetime | None = None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


@dataclasses.dataclass(frozen=True)
class LockedPin:
    """A pin with the file pip installs on the target, and the other hashes its index vouches for."""

    name: str
    version: Version
    file: LockedFile
    other_hashes: tuple[str, ...] = ()

    @property
    def hashes(self) -> list[str]:
        return [self.file.sha256, *self.other_hashes]


def lock_pins(index: PackageIndex, pins: Mapping[str, Candidate], limit: int = HASH_LIMIT) -> list[LockedPin]:
    """Each pin with its chosen file hashed (computing what the index does not give)."""
    chosen = [(name, candidate, candidate.file) for name, candidate in sorted(pins.items())]
    missing = [f for _, _, f in chosen if f is not None and "sha256" not in f.hashes]
    hashed = cast("list[tuple[str, int]]", index.map(lambda f: _sha256(index, f, limit), missing))
    computed = {f.filename: found for f, found in zip(missing, hashed, strict=True)}
    locked = []
    for name, candidate, file in chosen:
        if file is None:
            raise LockError(f"{name} {candidate.version} has no file to lock", url="")
        digest, size = computed.get(file.filename, (file.hashes.get("sha256", ""), file.size))
        source = index.index_of(file)
        others = sorted(
            {
                f.hashes["sha256"]
                for f in index.project(name).files_of(candidate.version)
                if f.filename != file.filename and "sha256" in f.hashes
            }
            - {digest}
        )
        locked.append(
            LockedPin(
                canonicalize_name(name),
                candidate.version,
                LockedFile(
                    file.filename,
                    public_url(file.url),
                    digest,
                    index=public_url(source) if source else None,
                    size=size,
                    upload_time=_timestamp(file.upload_time),
                ),
                tuple(others),
            )
        )
    return locked


def _sha256(index: PackageIndex, file: DistFile, limit: int) -> tuple[str, int]:
    """The sha256 and size of *file*, read locally or streamed from its index (bounded)."""
    digest = hashlib.sha256()
    if is_file_url(file.url):
        source = index.index_of(file)
        if source is not None and not is_file_url(source):
            raise LockError(
                f"the page of {redact(source)} points at a local file ({file.filename}); wheelwise does not read it",
                url=redact(source),
                hint="a remote index lists remote files; check the index URL",
            )
        path = url_to_path(file.url)
        try:
            with open(path, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode):
                    raise LockError(f"{path} is not a regular file", url=file.url)
                if info.st_size > limit:
                    raise LockError(f"{path} is {info.st_size} bytes, over the {limit} wheelwise hashes", url=file.url)
                size = 0
                while chunk := handle.read(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise LockError(f"{path} grew past the {limit} bytes wheelwise hashes", url=file.url)
                    digest.update(chunk)
        except OSError as exc:
            raise LockError(f"cannot read {path} to hash it: {exc.strerror}", url=file.url) from exc
        return digest.hexdigest(), size
    sink = _HashSink()
    size = index.fetcher.download(file.url, cast(BinaryIO, sink), limit=limit, kind="hash")
    return sink.digest.hexdigest(), size


class _HashSink(io.RawIOBase):
    """A write-only file that hashes what it is given; rewound to its start (the client does
    that before it retries a download), it hashes from the beginning again."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if (offset, whence) != (0, io.SEEK_SET):
            raise io.UnsupportedOperation("a hash can only start again from the beginning")
        self.digest = hashlib.sha256()
        self.size = 0
        return 0

    def truncate(self, size: int | None = None) -> int:
        return self.size

    def write(self, data: Any) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def _timestamp(text: str | None) -> datetime.datetime | None:
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


# -- requirements.txt ----------------------------------------------------------------------------


def requirement_lines(pins: Sequence[LockedPin], shown: Mapping[str, str]) -> list[str]:
    """``name==version --hash=sha256:…`` for each pin (*shown*: a pin's name with its extras)."""
    lines = []
    for pin in pins:
        hashes = " \\\n    ".join(f"--hash=sha256:{h}" for h in pin.hashes)
        lines.append(f"{shown.get(pin.name, pin.name)}=={pin.version} \\\n    {hashes}")
    return lines


# -- pylock.toml ---------------------------------------------------------------------------------


def environment_marker(target: Target, files: Iterable[LockedFile]) -> tuple[str, str | None]:
    """The marker of the machines the lock installs on, and an OS floor no marker can state."""
    markers = target.markers
    parts = [f"sys_platform == '{markers['sys_platform']}'", f"platform_machine == '{markers['platform_machine']}'"]
    files = list(files)
    floors = [floor for f in files if f.is_wheel and (floor := _floor(f.filename, target)) is not None]
    if any(t.interpreter.startswith("cp") for f in files for t in parse_filename(f.filename)[2]):
        parts.insert(0, "platform_python_implementation == 'CPython'")
    unstated = None
    if floors:
        kind, version = max(floors)
        if kind == "macOS":
            # a macOS target's marker environment knows the Darwin release of its version (the
            # architecture does not change it; a preset's is taken, whatever a host reports)
            at_floor = Target("macos-arm64", "macos", "arm64", version, target.python)
            parts.append(f"platform_release >= '{at_floor.markers['platform_release']}'")
        else:
            unstated = f"{kind} >= {version[0]}.{version[1]}"
    return " and ".join(parts), unstated


def _floor(filename: str, target: Target) -> tuple[str, tuple[int, int]] | None:
    """The lowest OS version among the wheel's platform tags that the target accepts."""
    tags = [t for t in parse_filename(filename)[2] if t in target.tag_rank]
    floors = [floor for t in tags if (floor := os_floor(t.platform)) is not None]
    return min(floors) if floors and len(floors) == len(tags) else None


def pylock(pins: Sequence[LockedPin], target: Target) -> Pylock:
    """The PEP 751 lock of *pins* for *target*, validated by :mod:`packaging.pylock`."""
    marker, unstated = environment_marker(target, [p.file for p in pins])
    packages = []
    for pin in pins:
        f = pin.file
        fields: dict[str, Any] = {"url": f.url, "size": f.size, "upload_time": f.upload_time, "hashes": {"sha256": f.sha256}}
        packages.append(
            Package(
                name=canonicalize_name(pin.name),
                version=pin.version,
                index=f.index,
                wheels=[PackageWheel(name=f.filename, **fields)] if f.is_wheel else None,
                sdist=None if f.is_wheel else PackageSdist(name=f.filename, **fields),
            )
        )
    tool: dict[str, Any] = {"target": target.label}
    if unstated:
        tool["needs"] = unstated
    lock = Pylock(
        lock_version=Version("1.0"),
        environments=[Marker(marker)],
        requires_python=SpecifierSet(f"=={target.python_str}.*"),
        created_by="wheelwise",
        packages=packages,
        tool={"wheelwise": tool},
    )
    try:
        lock.validate()
    except PylockValidationError as exc:
        raise LockError(f"the lock file would be invalid: {exc}", url="", hint="report it as a bug") from exc
    return lock


def pylock_text(lock: Pylock) -> str:
    """*lock* as TOML, read back through :mod:`packaging.pylock` to prove it is the same lock."""
    text = _toml(lock.to_dict())
    try:
        again = Pylock.from_dict(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, PylockValidationError) as exc:
        raise LockError(f"the written lock file would not read back: {exc}", url="", hint="report it as a bug") from exc
    if again != lock:
        raise LockError("the written lock file reads back as another lock", url="", hint="report it as a bug")
    return text


# TOML out: the few shapes a lock has (tables, arrays of tables, inline tables of scalars)


def _toml(data: Mapping[str, Any]) -> str:
    lines: list[str] = []
    _table(data, [], lines)
    return "\n".join(lines).strip() + "\n"


def _table(data: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    nested = []
    for key, value in data.items():
        if _is_table(value):
            nested.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in nested:
        if isinstance(value, Mapping):
            lines += ["", f"[{'.'.join(_key(k) for k in [*path, key])}]"]
            _table(value, [*path, key], lines)
        else:
            for item in value:
                lines += ["", f"[[{'.'.join(_key(k) for k in [*path, key])}]]"]
                _table(item, [*path, key], lines)


def _is_table(value: Any) -> bool:
    """A table or an array of tables (a mapping of scalars is written inline, as hashes are)."""
    if isinstance(value, Mapping):
        return any(isinstance(v, Mapping | list) for v in value.values())
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _key(key: str) -> str:
    return key if key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key) else _string(key)


def _string(text: str) -> str:
    # a JSON string is a TOML basic string once DEL is escaped too
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__}")

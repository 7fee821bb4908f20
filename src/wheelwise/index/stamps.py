"""What a check read, written down so that a later run can tell whether it is all still the same.

A *stamp* is a small tuple of plain values (it is stored as JSON with a remembered check
result, see :mod:`wheelwise.check.memo`):

- ``("page", url, fetched, status, etag, last_modified, crc)``: a project page from the
  cache, as its row stood when it was used (``crc``: the CRC-32 of its body's UTF-8 bytes,
  so a row altered in place shows too); the row changes whenever the page is fetched or
  revalidated again;
- ``("file", path, mtime_ns, size, inode)``: a local file or folder (a ``file:`` index page,
  a find-links folder, a local distribution), stat'ed *before* it was read, so that a change
  made while it was read still shows; all ``None`` when it did not exist;
- ``("uncached", url)``: something read from the network that no cache row vouches for (a
  remote find-links page): a result that depends on it cannot be remembered.

This module is stdlib-only and imports nothing of the index client: the memo's fast path
checks stamps without it.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

__all__ = ["Stamp", "body_crc", "file_stamp", "folder_page_stamps", "page_stamp", "uncached_stamp"]

#: a stamp: its kind first, then plain values
Stamp = tuple[str | int | float | None, ...]


def file_stamp(path: str | os.PathLike[str]) -> Stamp:
    """The stat signature of a local file or folder (a folder's changes when an entry is
    added, removed or renamed); all ``None`` when there is nothing there."""
    try:
        info = os.stat(path)
    except OSError:
        return ("file", os.fspath(path), None, None, None)
    return ("file", os.fspath(path), info.st_mtime_ns, info.st_size, info.st_ino)


def page_stamp(url: str, fetched: float, status: int, etag: str | None, last_modified: str | None,
               body: str | bytes) -> Stamp:
    """A cached page's row as it stood when it was used."""
    return ("page", url, fetched, status, etag, last_modified, body_crc(body))


def body_crc(body: str | bytes) -> int:
    """The CRC-32 of a stored page body (text as the cache stores it: UTF-8)."""
    return zlib.crc32(body.encode() if isinstance(body, str) else body)


def uncached_stamp(url: str) -> Stamp:
    """A network read no cache row vouches for: whatever depends on it is not remembered."""
    return ("uncached", url)


def folder_page_stamps(path: Path) -> list[Stamp]:
    """Stamps of a local page that may be a folder read through its ``index.html``."""
    return [file_stamp(path), file_stamp(path / "index.html")]

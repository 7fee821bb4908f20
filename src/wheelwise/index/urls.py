"""URL helpers shared by the index modules: redaction and local paths."""

from __future__ import annotations

import os
import re
import urllib.parse
import urllib.request
from pathlib import Path

__all__ = ["is_file_url", "origin", "path_to_url", "public_url", "redact", "to_url", "url_to_path"]


def redact(url: str) -> str:
    """Return *url* with any password (or lone token) replaced by ``****``.

    ``https://user:secret@host/`` becomes ``https://user:****@host/``; a token
    given as the user part alone (``https://TOKEN@host/``) is hidden whole,
    as pip does.
    """
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user, sep, _password = userinfo.partition(":")
    shown = f"{user}:****" if sep else "****"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{shown}@{host}"))


#: query parameters that carry a secret (a token in the index URL), by name
_SECRET_PARAM = re.compile(r"token|key|secret|passw|pwd|auth|sig|credential|session", re.IGNORECASE)


def public_url(url: str) -> str:
    """*url* as it may be written down: no userinfo, no secret-bearing query parameters.

    For files that others read (lock files, printed commands): pip and uv take
    credentials for a host from ``~/.netrc`` or a keyring instead.
    """
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = urllib.parse.urlencode(
        [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if not _SECRET_PARAM.search(k)]
    )
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))


def is_file_url(url: str) -> bool:
    return url.startswith("file:")


def url_to_path(url: str) -> Path:
    """The local path of a ``file:`` URL."""
    parts = urllib.parse.urlsplit(url)
    return Path(urllib.request.url2pathname(urllib.parse.unquote(parts.path)))


def path_to_url(path: str | os.PathLike[str]) -> str:
    return Path(os.path.abspath(path)).as_uri()


def to_url(location: str, *, base_dir: str | None = None) -> str:
    """Turn a pip location (URL or local path) into a URL.

    pip accepts plain paths for ``--find-links`` and ``--index-url``; a
    relative path is taken from *base_dir* (the current directory by default).
    """
    if "://" in location or location.startswith("file:"):
        return location
    path = Path(os.path.expanduser(location))
    if not path.is_absolute():
        path = Path(base_dir or os.getcwd()) / path
    return path_to_url(path)


def origin(url: str) -> str:
    """``scheme://host:port`` of *url*: the unit whose abilities are remembered."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}:{parts.port or ''}"

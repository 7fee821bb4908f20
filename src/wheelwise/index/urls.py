"""URL helpers shared by the index modules: redaction, credentials and local paths.

Secrets travel in two places of a URL: the userinfo (``https://user:pass@host``,
or a lone token ``https://TOKEN@host``) and the query string (``?token=...``,
signed URLs' ``X-Amz-Signature=...``).  :func:`redact` hides both for display;
:func:`strip_userinfo` and :func:`public_url` take them out so that what is
cached or written never holds them (the client puts them back per request).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

__all__ = [
    "is_file_url",
    "is_http_url",
    "origin",
    "path_to_url",
    "project_url",
    "public_url",
    "redact",
    "strip_userinfo",
    "to_url",
    "url_to_path",
]


def redact(url: str) -> str:
    """Return *url* with any password, lone token or query value replaced by ``****``.

    ``https://user:secret@host/`` becomes ``https://user:****@host/``; a token
    given as the user part alone (``https://TOKEN@host/``) is hidden whole,
    as pip does.  Every query value is hidden too (``?token=****``): an index
    URL's query is where tokens go, and nothing in it helps to read an error.
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<a malformed URL>"
    netloc, query = parts.netloc, parts.query
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, sep, _password = userinfo.partition(":")
        netloc = f"{user}:****@{host}" if sep else f"****@{host}"
    if query:
        query = "&".join(
            f"{name}=****" if sep else "****"
            for name, sep, _value in (item.partition("=") for item in query.split("&"))
        )
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))


def strip_userinfo(url: str) -> tuple[str, str | None, str | None]:
    """``(url without userinfo, user, password)``; user and password percent-decoded.

    A lone ``https://TOKEN@host/`` gives the token as the user and an empty
    password, as pip sends it.
    """
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, sep, password = userinfo.partition(":")
    clean = urllib.parse.urlunsplit(parts._replace(netloc=host))
    return clean, urllib.parse.unquote(user), urllib.parse.unquote(password) if sep else None


def project_url(index_url: str, name: str) -> str:
    """The project page URL of *name* on *index_url*; a query on the index URL is kept.

    ``https://host/simple?token=x`` gives ``https://host/simple/demo/?token=x``.
    """
    parts = urllib.parse.urlsplit(index_url)
    path = parts.path.rstrip("/") + f"/{urllib.parse.quote(name)}/"
    return urllib.parse.urlunsplit(parts._replace(path=path, fragment=""))


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
    return url[:5].lower() == "file:"


def is_http_url(url: str) -> bool:
    return url.split(":", 1)[0].lower() in ("http", "https")


def url_to_path(url: str) -> Path:
    """The local path of a ``file:`` URL."""
    parts = urllib.parse.urlsplit(url)
    from urllib.request import url2pathname  # http.client and email come with it: only when needed

    return Path(url2pathname(urllib.parse.unquote(parts.path)))


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
    """``scheme://host:port`` of *url*: the unit whose abilities are remembered (a URL that
    does not parse is its own origin: fetching it fails with a clear error)."""
    try:
        parts = urllib.parse.urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}:{parts.port or ''}"
    except ValueError:
        return url


def malformed(url: str) -> str | None:
    """Why *url* cannot be requested (a bad port, an unclosed ``[``), or ``None``."""
    try:
        urllib.parse.urlsplit(url).port  # noqa: B018 - the port is checked when read
    except ValueError as exc:
        return str(exc)
    return None

"""Index credentials as pip finds them, kept in memory only.

Order, as pip's ``network/auth.py`` (``MultiDomainBasicAuth``) has it:

1. credentials in the URL itself (``https://user:pass@host/``, a lone token
   ``https://TOKEN@host/``), remembered for that host;
2. credentials of a configured index URL (``--index-url``, ``PIP_INDEX_URL``...)
   on the same host;
3. ``~/.netrc`` (or the file ``NETRC`` names), by host name, as requests does;
4. after a 401, the keyring, when ``keyring-provider`` allows it: ``import``
   (the ``keyring`` module), ``subprocess`` (the ``keyring`` command, which
   needs the user name in the URL, as pip and uv say), ``auto`` (import, else
   the command when on ``PATH``) or ``disabled``.  keyring is optional.

The URLs handed to the rest of wheelwise carry none of this: cache keys, stored
pages and messages hold the bare URL, and :meth:`Credentials.authorize` adds an
``Authorization`` header (and an index URL's query, where its token may be)
per request.
"""

from __future__ import annotations

import base64
import dataclasses
import netrc
import os
import shutil
import subprocess
import threading
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError
from .urls import strip_userinfo

__all__ = ["KEYRING_PROVIDERS", "Credentials"]

KEYRING_PROVIDERS = ("auto", "disabled", "import", "subprocess")
#: Seconds a ``keyring`` command may take (it may unlock a desktop keyring).
_KEYRING_TIMEOUT = 30.0


@dataclasses.dataclass(frozen=True)
class _Login:
    user: str
    password: str

    def header(self) -> str:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"


def _origin(url: str) -> tuple[str, str]:
    return urllib.parse.urlsplit(url).scheme.lower(), _netloc(url)


def _netloc(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return (parts.hostname or "") + (f":{parts.port}" if parts.port else "")


class Credentials:
    """Who to be on which host, learned from settings, netrc and the keyring.

    :param environ: where ``HOME`` and ``NETRC`` are read (``os.environ``).
    :param keyring_provider: one of :data:`KEYRING_PROVIDERS`.
    """

    def __init__(self, *, environ: Mapping[str, str] | None = None, keyring_provider: str = "auto") -> None:
        if keyring_provider not in KEYRING_PROVIDERS:
            raise ConfigError(
                f"keyring-provider must be one of {', '.join(KEYRING_PROVIDERS)}, not {keyring_provider!r}"
            )
        self._environ = os.environ if environ is None else environ
        self._provider = keyring_provider
        self._lock = threading.Lock()
        self._by_host: dict[str, _Login] = {}
        self._users: dict[str, str] = {}
        #: index URL prefix -> its query (a token); written under the lock, read from snapshots
        self._queries: dict[str, str] = {}
        self._netrc: netrc.netrc | None | bool = False  # False: not read yet

    # -- learning ---------------------------------------------------------

    def register(self, url: str) -> str:
        """Remember the secrets of a configured URL; the URL without them.

        Userinfo is kept per host (pip sends an index's credentials to its
        files on the same host).  A query is kept per URL prefix and put back
        on requests under that prefix, and on query-less requests to the same
        host: ``https://host/simple?token=x`` makes ``https://host/simple/demo/``
        ask with ``?token=x``.
        """
        clean, user, password = strip_userinfo(url)
        parts = urllib.parse.urlsplit(clean)
        if user is not None:
            with self._lock:
                host = _netloc(clean)
                if password is None:
                    self._users.setdefault(host, user)
                    password = ""
                self._by_host.setdefault(host, _Login(user, password))
        if parts.query:
            bare = urllib.parse.urlunsplit(parts._replace(query="", fragment=""))
            with self._lock:
                self._queries[bare.rstrip("/") + "/"] = parts.query
            return bare
        return clean

    def public(self, url: str) -> str:
        """*url* as it may be stored or shown: no userinfo, no registered query."""
        if "@" not in url and "?" not in url:  # the usual file link: nothing to take off (no parsing)
            return url
        clean, _user, _password = strip_userinfo(url)
        parts = urllib.parse.urlsplit(clean)
        if parts.query and parts.query in list(self._queries.values()):
            clean = urllib.parse.urlunsplit(parts._replace(query=""))
        return clean

    # -- using ------------------------------------------------------------

    def authorize(self, url: str) -> tuple[str, dict[str, str]]:
        """The URL to request (registered query added) and the headers with credentials."""
        clean, user, password = strip_userinfo(url)
        request_url = self._with_query(clean)
        host = _netloc(clean)
        if user is not None:
            login = _Login(user, password or "")
            with self._lock:
                self._by_host.setdefault(host, login)
            return request_url, {"Authorization": login.header()}
        found = self._known(host) or self._from_netrc(clean)
        return request_url, ({"Authorization": found.header()} if found else {})

    def after_401(self, url: str) -> dict[str, str] | None:
        """Headers to try once more after a 401, from the keyring; ``None`` when it has none."""
        clean, user, _password = strip_userinfo(url)
        host = _netloc(clean)
        username = user or self._users.get(host)
        login = self._from_keyring(self._index_prefix(clean), username) or self._from_keyring(host, username)
        if login is None:
            return None
        with self._lock:
            self._by_host[host] = login
        return {"Authorization": login.header()}

    def _known(self, host: str) -> _Login | None:
        with self._lock:
            return self._by_host.get(host)

    def _with_query(self, url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        if parts.query:
            return url
        for prefix, query in list(self._queries.items()):
            if url.startswith(prefix) or url.rstrip("/") + "/" == prefix:
                return urllib.parse.urlunsplit(parts._replace(query=query))
        # the index's files on its own host get its token too, as its Basic credentials do
        here = _origin(url)
        for prefix, query in list(self._queries.items()):
            if _origin(prefix) == here:
                return urllib.parse.urlunsplit(parts._replace(query=query))
        return url

    def _index_prefix(self, url: str) -> str:
        for prefix in list(self._queries):
            if url.startswith(prefix):
                return prefix
        return url

    def _from_netrc(self, url: str) -> _Login | None:
        with self._lock:
            if self._netrc is False:
                self._netrc = self._read_netrc()
            rc = self._netrc
        if not isinstance(rc, netrc.netrc):
            return None
        host = urllib.parse.urlsplit(url).hostname or ""
        found = rc.authenticators(host)
        if not found:
            return None
        login, _account, password = found
        if not login and not password:
            return None  # a half-written entry: nothing to send
        return _Login(login or "", password or "")

    def _read_netrc(self) -> netrc.netrc | None:
        """The netrc file, as requests finds it (``NETRC``, else ``~/.netrc``, ``~/_netrc``)."""
        if "NETRC" in self._environ:
            candidates = [Path(self._environ["NETRC"])]
        else:
            home = Path(self._environ.get("HOME") or os.path.expanduser("~"))
            candidates = [home / ".netrc", home / "_netrc"]
        for path in candidates:
            if path.is_file():
                try:
                    return netrc.netrc(str(path))
                except (OSError, netrc.NetrcParseError):
                    return None  # as requests does: a broken netrc is no netrc
        return None

    def _from_keyring(self, service: str, username: str | None) -> _Login | None:
        provider = self._provider
        if provider in ("auto", "import"):
            found = _keyring_import(service, username)
            if found is not None or provider == "import":
                return found
        if provider in ("auto", "subprocess") and username is not None:
            return _keyring_subprocess(service, username, self._environ)
        return None


def _keyring_import(service: str, username: str | None) -> _Login | None:
    try:
        import keyring  # type: ignore[import-not-found]  # noqa: PLC0415 - optional
    except ImportError:
        return None
    try:
        found = keyring.get_credential(service, username)
    except Exception:  # noqa: BLE001 - a keyring backend may raise anything; no answer then
        return None
    if found is None:
        return None
    return _Login(str(found.username), str(found.password))


def _keyring_subprocess(service: str, username: str, environ: Mapping[str, str]) -> _Login | None:
    """``keyring get SERVICE USER`` (the command pip and uv call); its first line is the password."""
    command = shutil.which("keyring", path=environ.get("PATH"))
    if command is None:
        return None
    env = {**environ, "PYTHONIOENCODING": "utf-8"}
    try:
        done = subprocess.run(
            [command, "get", service, username],
            capture_output=True,
            text=True,
            env=env,
            timeout=_KEYRING_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0 or not done.stdout.strip():
        return None
    return _Login(username, done.stdout.splitlines()[0])

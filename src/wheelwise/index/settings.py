"""Index settings as pip has them: config files, ``PIP_*`` variables, then flags.

pip's precedence (``pip/_internal/configuration.py``) is reproduced: files in
the order global < user < site < ``PIP_CONFIG_FILE``, inside each the section
``[global]`` then ``[install]``, and ``PIP_*`` environment variables over all
files.  Command-line flags override the lot (:meth:`IndexSettings.override`).

The default index is not written anywhere in wheelwise: it is read from the
pip that is installed, at run time (:func:`pip_default_index`).
"""

from __future__ import annotations

import configparser
import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from ..errors import ConfigError
from .auth import KEYRING_PROVIDERS
from .urls import redact, to_url

__all__ = ["IndexSettings", "config_files", "load_pip_settings", "pip_default_index"]

#: Sections pip reads for ``pip install``, lowest priority first.
_SECTIONS = ("global", "install")
_MULTI = {"extra-index-url", "find-links", "trusted-host"}
#: pip's option names that are one setting (``--timeout`` is also ``--default-timeout``,
#: hence ``PIP_DEFAULT_TIMEOUT``): whichever is set last wins, as in pip.
_ALIASES = {"default-timeout": "timeout"}
_TRUE = {"1", "yes", "true", "on"}
_FALSE = {"0", "no", "false", "off", ""}


@dataclasses.dataclass(frozen=True)
class IndexSettings:
    """Where packages come from, and how to talk to those places.

    :param index_url: the main index URL; ``None`` means pip's default.
    :param origins: for each setting, where its value came from (a file and
        section, or a variable), so that errors can say where to fix it.
    """

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    cert: str | None = None
    client_cert: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    timeout: float = 15.0
    retries: int = 5
    proxy: str | None = None
    keyring_provider: str = "auto"
    origins: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)

    def override(
        self,
        *,
        index_url: str | None = None,
        extra_index_urls: Sequence[str] = (),
        find_links: Sequence[str] = (),
        no_index: bool | None = None,
        keyring_provider: str | None = None,
    ) -> IndexSettings:
        """Apply command-line flags: ``--index-url`` replaces, the lists add up."""
        origins = dict(self.origins)
        if keyring_provider is not None:
            origins["keyring-provider"] = "command line"
        for key, given in (
            ("index-url", index_url),
            ("extra-index-url", extra_index_urls),
            ("find-links", find_links),
        ):
            if given:
                origins[key] = "command line"
        return dataclasses.replace(
            self,
            index_url=to_url(index_url) if index_url else self.index_url,
            extra_index_urls=self.extra_index_urls + tuple(to_url(u) for u in extra_index_urls),
            find_links=self.find_links + tuple(to_url(u) for u in find_links),
            no_index=self.no_index if no_index is None else no_index,
            keyring_provider=keyring_provider or self.keyring_provider,
            origins=origins,
        )

    def index_urls(self) -> list[str]:
        """Every index to ask, main first; empty under ``--no-index``."""
        if self.no_index:
            return []
        main = self.index_url or pip_default_index()
        return [main, *[u for u in self.extra_index_urls if u != main]]

    def describe(self) -> dict[str, object]:
        """The settings with credentials hidden, for display."""
        return {
            "index_url": redact(self.index_url) if self.index_url else "(pip's default)",
            "extra_index_urls": [redact(u) for u in self.extra_index_urls],
            "find_links": [redact(u) for u in self.find_links],
            "no_index": self.no_index,
            "timeout": self.timeout,
            "retries": self.retries,
            "keyring_provider": self.keyring_provider,
            "proxy": redact(self.proxy) if self.proxy else None,
            "origins": dict(self.origins),
        }


def config_files(environ: Mapping[str, str], prefix: str = sys.prefix) -> list[Path]:
    """pip's configuration files, lowest priority first (existing or not)."""
    env_file = environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    home = Path(environ.get("HOME", os.path.expanduser("~")))
    files: list[Path] = []
    if sys.platform == "win32":
        program_data = environ.get("PROGRAMDATA", r"C:\ProgramData")
        appdata = environ.get("APPDATA", str(home / "AppData" / "Roaming"))
        files += [Path(program_data, "pip", "pip.ini"), Path(appdata, "pip", "pip.ini")]
        site_name = "pip.ini"
    else:
        xdg_dirs = environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
        files += [Path(d, "pip", "pip.conf") for d in xdg_dirs if d]
        if sys.platform == "darwin":
            files.append(Path("/Library/Application Support/pip/pip.conf"))
        files.append(Path("/etc/pip.conf"))
        if not (env_file and Path(env_file).exists()):
            files.append(home / ".pip" / "pip.conf")
            if sys.platform == "darwin":
                files.append(home / "Library" / "Application Support" / "pip" / "pip.conf")
            xdg_home = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
            files.append(Path(xdg_home, "pip", "pip.conf"))
        site_name = "pip.conf"
    files.append(Path(prefix, site_name))
    if env_file:
        files.append(Path(env_file))
    return files


def _read_file(path: Path, values: dict[str, str], origins: dict[str, str]) -> None:
    parser = configparser.RawConfigParser()
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle, source=str(path))
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigError(
            f"pip's configuration file cannot be read: {exc}",
            source=str(path),
            hint="fix or remove the file, or set PIP_CONFIG_FILE to another one",
        ) from exc
    for section in _SECTIONS:
        if parser.has_section(section):
            for key, value in parser.items(section):
                name = key.lstrip("-").replace("_", "-")
                name = _ALIASES.get(name, name)
                values[name] = value
                origins[name] = f"{path} [{section}]"


def _bool(name: str, raw: str, origin: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be yes or no, not {raw!r}", source=origin)


def load_pip_settings(
    environ: Mapping[str, str] | None = None,
    files: Iterable[Path] | None = None,
    *,
    base_dir: str | None = None,
) -> IndexSettings:
    """Read pip's index settings as ``pip install`` would see them.

    :param environ: the environment (``os.environ`` when ``None``).
    :param files: configuration files to read instead of pip's own list.
    :param base_dir: directory that relative paths are taken from.
    """
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    origins: dict[str, str] = {}
    for path in config_files(env) if files is None else files:
        _read_file(Path(path), values, origins)
    for key, value in env.items():
        if key.startswith("PIP_") and key != "PIP_CONFIG_FILE":
            name = key[4:].lower().replace("_", "-")
            name = _ALIASES.get(name, name)
            values[name] = value
            origins[name] = key

    def many(name: str) -> tuple[str, ...]:
        return tuple(values.get(name, "").split())

    def urls(name: str) -> tuple[str, ...]:
        return tuple(to_url(u, base_dir=base_dir) for u in many(name))

    timeout = _number(values, origins, ("timeout",), 15.0, "a number of seconds")
    retries = int(_number(values, origins, ("retries",), 5, "a whole number of attempts", whole=True))
    keyring_provider = values.get("keyring-provider", "auto").strip().lower() or "auto"
    if keyring_provider not in KEYRING_PROVIDERS:
        raise ConfigError(
            f"keyring-provider must be one of {', '.join(KEYRING_PROVIDERS)}, not {keyring_provider!r}",
            source=origins.get("keyring-provider"),
        )
    index_url = values.get("index-url")
    return IndexSettings(
        index_url=to_url(index_url, base_dir=base_dir) if index_url else None,
        extra_index_urls=urls("extra-index-url"),
        find_links=urls("find-links"),
        no_index=_bool("no-index", values["no-index"], origins["no-index"])
        if "no-index" in values
        else False,
        cert=values.get("cert") or None,
        client_cert=values.get("client-cert") or None,
        trusted_hosts=many("trusted-host"),
        timeout=timeout,
        retries=retries,
        proxy=values.get("proxy") or None,
        keyring_provider=keyring_provider,
        origins=origins,
    )


def _number(
    values: Mapping[str, str],
    origins: Mapping[str, str],
    names: tuple[str, ...],
    default: float,
    what: str,
    *,
    whole: bool = False,
) -> float:
    """The first of *names* that is set, as a non-negative number (pip's ``timeout``, ``retries``)."""
    name = next((n for n in names if n in values), None)
    if name is None:
        return default
    raw = values[name].strip()
    try:
        value = float(int(raw)) if whole else float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0 or value != value:  # negative, or NaN
        raise ConfigError(f"{name} must be {what}, not {raw!r}", source=origins.get(name))
    return value


_PROBE = "from pip._internal.models.index import PyPI; print(PyPI.simple_url)"


def pip_default_index() -> str:
    """The index pip uses when none is configured, read from pip itself.

    pip keeps it in ``pip._internal.models.index.PyPI``; wheelwise asks the
    pip importable here, else the one beside ``python3`` on ``PATH``.
    """
    try:
        from pip._internal.models.index import PyPI  # noqa: PLC0415 - optional
    except ImportError:
        pass
    else:
        return str(PyPI.simple_url)
    for python in (sys.executable, shutil.which("python3"), shutil.which("python")):
        if not python:
            continue
        try:
            out = subprocess.run(
                [python, "-c", _PROBE], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            continue
        if out:
            return out
    raise ConfigError(
        "cannot tell which index pip uses by default: no pip was found",
        hint="install pip, or give the index with --index-url (or PIP_INDEX_URL)",
    )

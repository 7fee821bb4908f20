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
from ..selection import Selection
from .auth import KEYRING_PROVIDERS
from .urls import redact, to_url

__all__ = [
    "CHOICE_OPTIONS",
    "IndexSettings",
    "PipChoices",
    "Setting",
    "config_files",
    "honoured_settings",
    "load_pip_choices",
    "load_pip_settings",
    "pip_default_index",
    "pip_values",
]

#: Sections pip reads for ``pip install``, lowest priority first.
_SECTIONS = ("global", "install")
_MULTI = {"extra-index-url", "find-links", "trusted-host"}
#: pip's option names that are one setting (``--timeout`` is also ``--default-timeout``,
#: hence ``PIP_DEFAULT_TIMEOUT``): whichever is set last wins, as in pip.
_ALIASES = {"default-timeout": "timeout"}
_TRUE = {"1", "y", "yes", "t", "true", "on"}  # pip's strtobool
_FALSE = {"0", "n", "no", "f", "false", "off", ""}


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


# -- settings that change which files and versions are chosen ------------------------------------
# (kept apart from the index settings above: they shape the answer, not where it is fetched)

#: the pip options that change an answer, besides where packages come from
CHOICE_OPTIONS = ("constraint", "only-binary", "no-binary", "prefer-binary", "require-hashes")


@dataclasses.dataclass(frozen=True)
class Setting:
    """One setting as pip would apply it: its name, value and where it came from."""

    name: str
    value: str
    origin: str


@dataclasses.dataclass(frozen=True)
class PipChoices:
    """pip settings that change which versions and files are chosen.

    :param constraints: constraints files (``constraint`` / ``PIP_CONSTRAINT`` / ``-c``).
    :param selection: format control, ``prefer-binary`` (hashes come from requirements files).
    :param settings: each of them as read, in the order pip applies them.
    """

    constraints: tuple[str, ...] = ()
    selection: Selection = Selection()
    settings: tuple[Setting, ...] = ()

    def with_flags(
        self,
        *,
        constraints: Sequence[str] = (),
        formats: Sequence[tuple[str, str]] = (),
        prefer_binary: bool = False,
        require_hashes: bool = False,
    ) -> PipChoices:
        """Command-line flags on top: ``-c`` adds files, format flags apply after the config's."""
        added = [Setting("constraint", c, "command line") for c in constraints]
        added += [Setting(option, value, "command line") for option, value in formats]
        selection = self.selection.with_formats(formats)
        if prefer_binary:
            selection = dataclasses.replace(selection, prefer_binary=True)
            added.append(Setting("prefer-binary", "yes", "command line"))
        if require_hashes:
            selection = dataclasses.replace(selection, require_hashes=True)
            added.append(Setting("require-hashes", "yes", "command line"))
        return PipChoices((*self.constraints, *constraints), selection, (*self.settings, *added))


def _sections(path: Path) -> list[tuple[str, str, str]]:
    """``(section, name, value)`` of the sections pip reads for ``install``, in file order."""
    parser = configparser.RawConfigParser()
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle, source=str(path))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigError(
            f"pip's configuration file cannot be read: {exc}",
            source=str(path),
            hint="fix or remove the file, or set PIP_CONFIG_FILE to another one",
        ) from exc
    return [
        (section, key.lstrip("-").replace("_", "-"), value)
        for section in _SECTIONS if parser.has_section(section)
        for key, value in parser.items(section)
    ]


def pip_values(environ: Mapping[str, str] | None = None, files: Iterable[Path] | None = None) -> list[Setting]:
    """Every value pip's files and ``PIP_*`` variables give ``pip install``, in pip's order.

    As pip's ``ConfigOptionParser``: files merge into one table (a later file replaces a key
    of the same section), then values are applied section by section, ``[global]``, then
    ``[install]``, then the environment; a later value of a key replaces an earlier one,
    except that each ``only-binary``/``no-binary`` value is applied in turn.
    """
    env = os.environ if environ is None else environ
    merged: dict[tuple[str, str], Setting] = {}
    for path in config_files(env) if files is None else files:
        for section, name, value in _sections(Path(path)):
            merged[(section, name)] = Setting(name, value, f"{path} [{section}]")
    for key, value in env.items():
        if key.startswith("PIP_") and key != "PIP_CONFIG_FILE":
            name = key[4:].lower().replace("_", "-")
            merged[(":env:", name)] = Setting(name, value, key)
    order = {section: rank for rank, section in enumerate((*_SECTIONS, ":env:"))}
    ranked = sorted(enumerate(merged.items()), key=lambda item: (order[item[1][0][0]], item[0]))
    return [setting for _, (_, setting) in ranked]


def load_pip_choices(
    environ: Mapping[str, str] | None = None,
    files: Iterable[Path] | None = None,
    *,
    base_dir: str | None = None,
) -> PipChoices:
    """Constraints, format control and ``prefer-binary`` as ``pip install`` would see them."""
    constraints: tuple[str, ...] = ()
    selection = Selection()
    used: dict[str, Setting] = {}
    formats: list[Setting] = []
    for setting in pip_values(environ, files):
        if setting.name == "constraint":
            base = Path(base_dir) if base_dir else Path.cwd()
            constraints = tuple(str(base / p) if not Path(p).is_absolute() else p for p in setting.value.split())
            used["constraint"] = setting
        elif setting.name in ("only-binary", "no-binary"):
            # one value, split on commas only (pip hands the whole string to its callback)
            selection = _format(selection, setting, setting.value.strip())
            formats.append(setting)
        elif setting.name in ("prefer-binary", "require-hashes"):
            value = _bool(setting.name, setting.value, setting.origin)
            if setting.name == "prefer-binary":
                selection = dataclasses.replace(selection, prefer_binary=value)
            else:
                selection = dataclasses.replace(selection, require_hashes=value)
            used[setting.name] = setting
    ordered = [s for s in (used.get("constraint"), *formats, used.get("prefer-binary"), used.get("require-hashes"))
               if s is not None]
    return PipChoices(constraints, selection, tuple(ordered))


def _format(selection: Selection, setting: Setting, value: str) -> Selection:
    if value.startswith("-"):
        raise ConfigError(
            f"{setting.name} {value!r}: expected :all:, :none: or project names",
            source=setting.origin,
        )
    return selection.with_format(setting.name, value)


def honoured_settings(index: IndexSettings, choices: PipChoices) -> list[Setting]:
    """Every setting wheelwise honours with its value (credentials hidden) and where it came from.

    Settings left at pip's default are listed with the origin ``default``.
    """
    origins = index.origins

    def row(name: str, value: str) -> Setting:
        return Setting(name, value, origins.get(name, "default"))

    rows = [
        row("index-url", redact(index.index_url) if index.index_url else "(pip's default)"),
        row("extra-index-url", " ".join(redact(u) for u in index.extra_index_urls)),
        row("find-links", " ".join(redact(u) for u in index.find_links)),
        row("no-index", "yes" if index.no_index else "no"),
        row("cert", index.cert or ""),
        row("trusted-host", " ".join(index.trusted_hosts)),
        Setting("timeout", f"{index.timeout:g}",
                origins.get("timeout", origins.get("default-timeout", "default"))),
        row("retries", str(index.retries)),
        row("client-cert", index.client_cert or ""),
        row("proxy", redact(index.proxy) if index.proxy else ""),
        row("keyring-provider", index.keyring_provider),
    ]
    chosen = {s.name for s in choices.settings}
    rows += [redacted(s) for s in choices.settings]
    rows += [Setting(name, "no" if name in ("prefer-binary", "require-hashes") else "", "default")
             for name in CHOICE_OPTIONS if name not in chosen]
    return rows


def redacted(setting: Setting) -> Setting:
    """A setting whose value may hold a URL, with its credentials hidden."""
    return dataclasses.replace(setting, value=" ".join(redact(w) if "://" in w else w for w in setting.value.split()))

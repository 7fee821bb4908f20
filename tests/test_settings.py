from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wheelwise.errors import ConfigError
from wheelwise.index.settings import config_files, load_pip_settings, pip_default_index


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_later_files_and_install_section_win(tmp_path: Path) -> None:
    low = write(tmp_path / "global.conf", "[global]\nindex-url = https://low.invalid/simple\ntimeout = 5\n")
    high = write(
        tmp_path / "user.conf",
        "[global]\nindex-url = https://high.invalid/simple\n[install]\nextra-index-url =\n"
        "    https://a.invalid/simple\n    https://b.invalid/simple\n",
    )
    settings = load_pip_settings({}, [low, high])
    assert settings.index_url == "https://high.invalid/simple"
    assert settings.extra_index_urls == ("https://a.invalid/simple", "https://b.invalid/simple")
    assert settings.timeout == 5.0
    assert settings.origins["index-url"] == f"{high} [global]"
    assert settings.origins["extra-index-url"] == f"{high} [install]"


def test_environment_variables_beat_files(tmp_path: Path) -> None:
    conf = write(tmp_path / "pip.conf", "[global]\nindex-url = https://file.invalid/simple\nno-index = no\n")
    env = {
        "PIP_INDEX_URL": "https://env.invalid/simple",
        "PIP_FIND_LINKS": "wheels /abs/wheels",
        "PIP_NO_INDEX": "yes",
        "PIP_TRUSTED_HOST": "env.invalid",
        "PIP_CERT": "/etc/ca.pem",
        "PIP_DEFAULT_TIMEOUT": "42",
    }
    settings = load_pip_settings(env, [conf], base_dir=str(tmp_path))
    assert settings.index_url == "https://env.invalid/simple"
    assert settings.find_links == ((tmp_path / "wheels").as_uri(), "file:///abs/wheels")
    assert settings.no_index is True and settings.index_urls() == []
    assert settings.trusted_hosts == ("env.invalid",)
    assert settings.cert == "/etc/ca.pem"
    assert settings.timeout == 42.0
    assert settings.origins["index-url"] == "PIP_INDEX_URL"


def test_flags_override_and_add(tmp_path: Path) -> None:
    settings = load_pip_settings({"PIP_EXTRA_INDEX_URL": "https://one.invalid/simple"}, []).override(
        index_url="https://flag.invalid/simple",
        extra_index_urls=["https://two.invalid/simple"],
        find_links=[str(tmp_path)],
    )
    assert settings.index_urls() == [
        "https://flag.invalid/simple",
        "https://one.invalid/simple",
        "https://two.invalid/simple",
    ]
    assert settings.find_links == (tmp_path.as_uri(),)
    assert settings.origins["index-url"] == "command line"


def test_pip_config_file_variable_and_devnull(tmp_path: Path) -> None:
    conf = write(tmp_path / "custom.conf", "[global]\nindex-url = https://custom.invalid/simple\n")
    files = config_files({"PIP_CONFIG_FILE": str(conf), "HOME": str(tmp_path)}, prefix=str(tmp_path / "venv"))
    assert files[-1] == conf
    assert tmp_path / ".config" / "pip" / "pip.conf" not in files  # pip skips user files then
    assert config_files({"PIP_CONFIG_FILE": os.devnull}) == []


def test_user_file_is_found_under_xdg_config_home(tmp_path: Path) -> None:
    conf = write(tmp_path / "xdg" / "pip" / "pip.conf", "[global]\nfind-links = /srv/wheels\n")
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert conf in config_files(env)
    assert load_pip_settings(env).find_links == ("file:///srv/wheels",)


@pytest.mark.parametrize(
    ("content", "env", "fragment"),
    [
        pytest.param("[global]\ntimeout = soon\n", {}, "timeout must be a number", id="bad-timeout"),
        pytest.param("[global]\nno-index = maybe\n", {}, "no-index must be yes or no", id="bad-bool"),
        pytest.param("index-url = x\n", {}, "cannot be read", id="no-section-header"),
    ],
)
def test_bad_configuration_names_the_file(tmp_path: Path, content: str, env: dict[str, str], fragment: str) -> None:
    conf = write(tmp_path / "pip.conf", content)
    with pytest.raises(ConfigError) as info:
        load_pip_settings(env, [conf])
    assert fragment in info.value.message
    assert str(conf) in info.value.message


def test_default_index_is_read_from_pip() -> None:
    url = pip_default_index()
    assert url.startswith("https://") and url.endswith("/simple")
    # the same answer as pip's own models, asked in a separate interpreter
    probe = "from pip._internal.models.index import PyPI; print(PyPI.simple_url)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == url

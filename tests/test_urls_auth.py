"""URL redaction, credentials and Content-Range parsing: the pure parts of the client."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from wheelwise.errors import ConfigError
from wheelwise.index.auth import Credentials
from wheelwise.index.client import NetworkLimits, Response, _parse_content_range
from wheelwise.index.settings import load_pip_settings
from wheelwise.index.urls import project_url, redact, strip_userinfo


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:pw@host/simple/", "https://alice:****@host/simple/"),
        ("https://TOKEN@host/simple/", "https://****@host/simple/"),
        ("https://host/simple/?token=abc&x=1", "https://host/simple/?token=****&x=****"),
        ("https://host/f.whl?X-Amz-Signature=abc#sha256=00", "https://host/f.whl?X-Amz-Signature=****#sha256=00"),
        ("https://host/simple/", "https://host/simple/"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_strip_userinfo_decodes() -> None:
    assert strip_userinfo("https://al%40ice:he%2F%2Fo@host:8443/s/") == ("https://host:8443/s/", "al@ice", "he//o")
    assert strip_userinfo("https://TOKEN@host/") == ("https://host/", "TOKEN", None)


def test_project_url_keeps_the_query() -> None:
    assert project_url("https://host/simple?token=x", "demo") == "https://host/simple/demo/?token=x"
    assert project_url("file:///srv/simple/", "demo") == "file:///srv/simple/demo/"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class TestCredentials:
    def test_index_credentials_go_to_its_host_only(self, tmp_path: Path) -> None:
        creds = Credentials(environ={"HOME": str(tmp_path)}, keyring_provider="disabled")
        assert creds.register("https://alice:pw@host/simple/") == "https://host/simple/"
        assert creds.authorize("https://host/files/a.whl") == ("https://host/files/a.whl", {"Authorization": basic("alice", "pw")})
        assert creds.authorize("https://elsewhere/files/a.whl") == ("https://elsewhere/files/a.whl", {})

    def test_query_is_put_back_and_taken_off(self, tmp_path: Path) -> None:
        creds = Credentials(environ={"HOME": str(tmp_path)}, keyring_provider="disabled")
        clean = creds.register("https://host/simple/?token=t0k")
        assert clean == "https://host/simple/"
        assert creds.authorize(project_url(clean, "demo"))[0] == "https://host/simple/demo/?token=t0k"
        assert creds.public("https://u:p@host/simple/demo/?token=t0k") == "https://host/simple/demo/"

    def test_netrc_by_host(self, tmp_path: Path) -> None:
        (tmp_path / ".netrc").write_text("machine host\nlogin bob\npassword pw2\n")
        creds = Credentials(environ={"HOME": str(tmp_path)}, keyring_provider="disabled")
        assert creds.authorize("https://host/simple/")[1] == {"Authorization": basic("bob", "pw2")}
        assert creds.authorize("https://other/simple/")[1] == {}

    def test_broken_netrc_is_no_netrc(self, tmp_path: Path) -> None:
        (tmp_path / ".netrc").write_text("machine host login\n")
        creds = Credentials(environ={"HOME": str(tmp_path)}, keyring_provider="disabled")
        assert creds.authorize("https://host/simple/")[1] == {}

    def test_unknown_keyring_provider(self) -> None:
        with pytest.raises(ConfigError, match="keyring-provider must be one of"):
            Credentials(keyring_provider="bogus")


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("bytes 100-199/1000", (100, 199, 1000)),
        ("bytes 100-199/*", (100, 199, None)),
        ("bytes 100-99/1000", (None, None, None)),
        ("bytes 100-1000/1000", (None, None, None)),
        ("items 1-2/3", (None, None, None)),
        ("", (None, None, None)),
    ],
)
def test_content_range(value: str, parsed: tuple[int | None, int | None, int | None]) -> None:
    assert _parse_content_range(value) == parsed


def test_charset() -> None:
    body = "é".encode("latin-1")
    assert Response("u", 200, {"content-type": "text/html; charset=latin-1"}, body).text() == "é"
    assert Response("u", 200, {"content-type": "text/html; charset=nonesuch"}, b"ok").text() == "ok"


class TestSettings:
    def test_pip_timeout_retries_and_keyring(self) -> None:
        env = {"PIP_DEFAULT_TIMEOUT": "180", "PIP_RETRIES": "2", "PIP_KEYRING_PROVIDER": "subprocess",
               "PIP_CLIENT_CERT": "/c.pem"}
        settings = load_pip_settings(env, files=[])
        assert (settings.timeout, settings.retries, settings.keyring_provider) == (180.0, 2, "subprocess")
        assert settings.client_cert == "/c.pem"

    def test_env_timeout_beats_a_file(self, tmp_path: Path) -> None:
        conf = tmp_path / "pip.conf"
        conf.write_text("[global]\ntimeout = 5\n")
        assert load_pip_settings({"PIP_DEFAULT_TIMEOUT": "7"}, files=[conf]).timeout == 7.0

    @pytest.mark.parametrize("env", [{"PIP_RETRIES": "-1"}, {"PIP_TIMEOUT": "soon"}, {"PIP_KEYRING_PROVIDER": "x"}])
    def test_bad_values(self, env: dict[str, str]) -> None:
        with pytest.raises(ConfigError):
            load_pip_settings(env, files=[])

    def test_limits_from_environ(self) -> None:
        limits = NetworkLimits.from_environ({"WHEELWISE_DEADLINE": "2.5", "WHEELWISE_MAX_PAGE_BYTES": "4096"})
        assert (limits.deadline, limits.page_bytes) == (2.5, 4096)
        with pytest.raises(ConfigError, match="WHEELWISE_DEADLINE must be a positive number"):
            NetworkLimits.from_environ({"WHEELWISE_DEADLINE": "0"})

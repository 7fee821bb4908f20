"""TLS against a loopback index: the CA given as pip's ``cert``, ``trusted-host``, client certificates.

Certificates are made per test run with the ``openssl`` command (skipped where it is missing).
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer
from helpers.wheels import make_wheel, wheel_filename

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed server certificate for 127.0.0.1, and a client certificate from its own CA."""
    d = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.pem",
            "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", cwd=d)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.crt",
            "-days", "2", "-subj", "/CN=wheelwise-test-client", cwd=d)
    (d / "client.pem").write_bytes((d / "client.crt").read_bytes() + (d / "client.key").read_bytes())
    return d


def serve_tls(pki: Path, *, want_client_cert: bool = False) -> IndexServer:
    server = IndexServer()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    if want_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki / "client.crt")
    server._httpd.socket = context.wrap_socket(server._httpd.socket, server_side=True)  # noqa: SLF001
    server.add_wheel(wheel_filename("demo", "1.0"), make_wheel("demo", "1.0"))
    return server


@pytest.fixture
def https(pki: Path) -> Iterator[IndexServer]:
    with serve_tls(pki) as server:
        yield server


def check(url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wheelwise", "check", "demo", "-t", "linux-x86_64", "-p", "3.12",
         "--no-knowledge", "--index-url", url],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PIP_RETRIES": "0", **env},
    )


def test_an_unknown_ca_is_refused_with_a_hint(https: IndexServer) -> None:
    done = check(https.url.replace("http://", "https://"))
    assert done.returncode == 3, done.stderr
    assert f"TLS with {https.url.replace('http://', 'https://')}demo/ failed" in done.stderr
    assert "--cert (PIP_CERT)" in done.stderr and "Traceback" not in done.stderr


def test_cert_adds_a_ca(https: IndexServer, pki: Path) -> None:
    done = check(https.url.replace("http://", "https://"), PIP_CERT=str(pki / "server.pem"))
    assert done.returncode == 0, done.stderr


def test_trusted_host_skips_verification(https: IndexServer) -> None:
    done = check(https.url.replace("http://", "https://"), PIP_TRUSTED_HOST="127.0.0.1")
    assert done.returncode == 0, done.stderr


def test_client_certificate(pki: Path) -> None:
    with serve_tls(pki, want_client_cert=True) as server:
        url = server.url.replace("http://", "https://")
        without = check(url, PIP_CERT=str(pki / "server.pem"))
        with_cert = check(url, PIP_CERT=str(pki / "server.pem"), PIP_CLIENT_CERT=str(pki / "client.pem"))
    assert without.returncode == 3 and "Traceback" not in without.stderr
    assert with_cert.returncode == 0, with_cert.stderr


def test_unreadable_cert_is_a_configuration_error(https: IndexServer, tmp_path: Path) -> None:
    done = check(https.url.replace("http://", "https://"), PIP_CERT=str(tmp_path / "missing.pem"))
    assert done.returncode == 2
    assert "missing.pem cannot be used" in done.stderr


def test_system_trust_is_openssls_default_paths(https: IndexServer, pki: Path) -> None:
    """Where OpenSSL verifies (not macOS or Windows), the system's trust is OpenSSL's default
    paths, which SSL_CERT_FILE moves: the server's CA placed there is trusted without --cert."""
    if sys.platform in ("darwin", "win32"):
        pytest.skip("the system verifies here, not OpenSSL's default paths")
    done = check(https.url.replace("http://", "https://"), SSL_CERT_FILE=str(pki / "server.pem"))
    assert done.returncode == 0, done.stderr


def test_trust_is_loaded_once_for_many_connections(
    https: IndexServer, pki: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixteen threads, each on its own connection, load the trust store once between them
    (truststore loaded it again, under one lock, for every connection)."""
    from concurrent.futures import ThreadPoolExecutor

    from wheelwise.index.client import Fetcher

    loads: list[str] = []
    for method in ("set_default_verify_paths", "load_verify_locations"):
        original = getattr(ssl.SSLContext, method)

        def counted(self: ssl.SSLContext, *args: object, _original: object = original, _name: str = method,
                    **kwargs: object) -> object:
            loads.append(_name)
            return _original(self, *args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(ssl.SSLContext, method, counted)
    fetcher = Fetcher(cert=str(pki / "server.pem"), retries=0)
    url = https.url.replace("http://", "https://") + "demo/"
    try:
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda _: fetcher.get(url).status, range(48)))
    finally:
        fetcher.close()
    assert statuses == [200] * 48
    assert len(https.requests("/simple/demo/")) == 48
    expected = 2 if sys.platform not in ("darwin", "win32") else 1  # the system's store, then --cert
    assert len(loads) <= expected, loads

"""Shared fixtures: a hermetic environment and a loopback package index."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from helpers.indexserver import IndexServer  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-network", action="store_true", help="run tests that use the live package index")
    parser.addoption("--run-gpu", action="store_true", help="run tests that need an accelerator")


def pytest_report_header(config: pytest.Config) -> str:
    return f"host: {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for marker, option in (("network", "--run-network"), ("gpu", "--run-gpu")):
        if config.getoption(option):
            continue
        skip = pytest.mark.skip(reason=f"needs {option}")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def hermetic(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No pip configuration of this machine, and a fresh cache, for every test."""
    if "network" in request.keywords:
        monkeypatch.setenv("WHEELWISE_CACHE_DIR", str(tmp_path / "cache"))
        return
    for key in list(os.environ):
        if key.startswith("PIP_") or key.lower() in {"http_proxy", "https_proxy", "all_proxy"}:
            monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("WHEELWISE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_COLOR", "1")


@pytest.fixture
def index_server() -> Iterator[IndexServer]:
    with IndexServer() as server:
        yield server

"""The package index: settings, pages, metadata and the cached facade over them."""

from __future__ import annotations

from .client import Fetcher, Stats
from .metadata import CoreMetadata, FetchedMetadata, fetch_metadata, parse_core_metadata
from .repository import PackageIndex
from .settings import IndexSettings, load_pip_settings, pip_default_index
from .simple import DistFile, ProjectPage

__all__ = [
    "CoreMetadata",
    "DistFile",
    "FetchedMetadata",
    "Fetcher",
    "IndexSettings",
    "PackageIndex",
    "ProjectPage",
    "Stats",
    "fetch_metadata",
    "load_pip_settings",
    "parse_core_metadata",
    "pip_default_index",
]

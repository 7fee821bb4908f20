"""The package index: settings, pages, metadata and the cached facade over them.

Settings and pages (:mod:`.settings`, :mod:`.simple`) are imported with the package; the
client, metadata reading and :class:`PackageIndex` (urllib3, TLS) when first asked for, so
that a check answered from its memo never loads them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .settings import IndexSettings, load_pip_settings, pip_default_index
from .simple import DistFile, ProjectPage

if TYPE_CHECKING:
    from .client import Fetcher, Stats
    from .metadata import CoreMetadata, FetchedMetadata, fetch_metadata, parse_core_metadata
    from .repository import PackageIndex

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

#: names imported when first asked for, and their modules
_LAZY = {
    "Fetcher": "client", "Stats": "client", "CoreMetadata": "metadata", "FetchedMetadata": "metadata",
    "fetch_metadata": "metadata", "parse_core_metadata": "metadata", "PackageIndex": "repository",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)

"""Command-line options shared by the commands that read an index."""

from __future__ import annotations

import argparse

from ..cache import Cache, default_cache_dir
from ..index import IndexSettings, PackageIndex, load_pip_settings
from ..index.repository import ProgressHook

__all__ = ["add_index_options", "open_index"]


def add_index_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("index (defaults come from pip's configuration)")
    group.add_argument("-i", "--index-url", metavar="URL", help="main index, instead of pip's")
    group.add_argument(
        "--extra-index-url", metavar="URL", action="append", default=[], help="another index (repeatable)"
    )
    group.add_argument(
        "-f", "--find-links", metavar="PATH", action="append", default=[], help="a folder or page of files"
    )
    group.add_argument("--no-index", action="store_true", default=None, help="use find-links only")
    group.add_argument(
        "--keyring-provider",
        choices=("auto", "disabled", "import", "subprocess"),
        default=None,
        help="where to ask for index credentials after a 401, as pip (default: pip's setting, else auto)",
    )
    group.add_argument("--offline", action="store_true", help="answer from the cache only")
    group.add_argument("--refresh", action="store_true", help="revalidate every cached page now")


def index_settings(args: argparse.Namespace, base: IndexSettings | None = None) -> IndexSettings:
    """pip's settings (or *base*), then these flags over them."""
    return (base or load_pip_settings()).override(
        index_url=args.index_url,
        extra_index_urls=args.extra_index_url,
        find_links=args.find_links,
        no_index=args.no_index,
        keyring_provider=getattr(args, "keyring_provider", None),
    )


def open_index(
    args: argparse.Namespace, progress: ProgressHook | None = None, settings: IndexSettings | None = None
) -> PackageIndex:
    """A :class:`PackageIndex` configured by pip's settings (or *settings*) and these flags."""
    return PackageIndex(
        index_settings(args, settings),
        cache=Cache(default_cache_dir()),
        offline=args.offline,
        refresh=args.refresh,
        progress=progress,
    )

"""Command-line options shared by the commands that read an index."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..errors import BadInputError
from ..index.settings import IndexSettings, PipChoices, load_pip_choices, load_pip_settings
from .cache import open_cache

if TYPE_CHECKING:
    from ..index.repository import PackageIndex, ProgressHook

__all__ = ["add_choice_options", "add_index_options", "index_settings", "open_index", "pip_choices"]


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
    from ..index.repository import PackageIndex  # the network client: only when an index is read

    return PackageIndex(
        index_settings(args, settings),
        cache=open_cache(),
        offline=args.offline,
        refresh=args.refresh,
        progress=progress,
    )


def add_choice_options(parser: argparse.ArgumentParser) -> None:
    """pip's options that change which files and versions are chosen (defaults: pip's config)."""
    group = parser.add_argument_group("choosing files (defaults come from pip's configuration)")
    group.add_argument("-c", "--constraint", metavar="FILE", action="append", default=[],
                       help="a constraints file (repeatable; adds to pip's 'constraint')")
    group.add_argument("--only-binary", metavar="NAMES", dest="formats", action="append", default=[],
                       type=lambda value: ("only-binary", value),
                       help="wheels only for these projects (comma-separated), :all: or :none:")
    group.add_argument("--no-binary", metavar="NAMES", dest="formats", action="append", default=[],
                       type=lambda value: ("no-binary", value),
                       help="sdists only for these projects (comma-separated), :all: or :none:")
    group.add_argument("--prefer-binary", action="store_true", help="the newest wheel over a newer sdist")
    group.add_argument("--require-hashes", action="store_true",
                       help="pip's hash-checking mode: every pin needs a --hash (given in -r files)")


def pip_choices(args: argparse.Namespace) -> PipChoices:
    """pip's configuration for choosing files, then these flags over it (pip's order)."""
    for option, value in args.formats:
        if value.startswith("-"):
            raise BadInputError(f"--{option} {value!r}: expected :all:, :none: or project names")
    return load_pip_choices().with_flags(
        constraints=args.constraint, formats=args.formats, prefer_binary=args.prefer_binary,
        require_hashes=args.require_hashes,
    )

"""``wheelwise cache dir|clear``."""

from __future__ import annotations

import argparse

from ..cache import Cache, default_cache_dir
from .render import console

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("cache", help="where the cache is, or empty it")
    parser.add_argument("action", choices=["dir", "clear"])
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    directory = default_cache_dir()
    if args.action == "dir":
        console().print(str(directory))
    else:
        Cache(directory).clear()
        console().print(f"emptied the cache in {directory}")
    return 0

"""``wheelwise cache dir|clear``, and the cache every command opens (its warnings go to stderr)."""

from __future__ import annotations

import argparse
import sys

from rich.markup import escape

from ..cache import Cache, CacheUnusableError, default_cache_dir
from ..errors import BadInputError
from .render import console

__all__ = ["open_cache", "register"]

_said: set[str] = set()


def _warn(message: str) -> None:
    """Say each cache problem once per process, on stderr (``--json`` keeps stdout clean)."""
    if message not in _said:
        _said.add(message)
        console(sys.stderr).print(f"[yellow]warning[/]: {escape(message)}")


def open_cache() -> Cache:
    """The user's cache; when it cannot be used, a warning and an answer all the same."""
    return Cache(default_cache_dir(), warn=_warn)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("cache", help="where the cache is, or empty it")
    parser.add_argument("action", choices=["dir", "clear"])
    parser.set_defaults(run=run)


def _size(count: int) -> str:
    return f"{count / 1e6:.1f} MB" if count >= 100_000 else f"{count / 1e3:.1f} kB"


def run(args: argparse.Namespace) -> int:
    directory = default_cache_dir()
    if args.action == "dir":
        console().print(str(directory))
        return 0
    cache = open_cache()
    before = cache.size()
    try:
        cache.clear()
    except CacheUnusableError as exc:
        raise BadInputError(
            f"could not empty the cache in {directory}: {exc}",
            hint="check the folder's permissions and free space, or delete the folder yourself",
        ) from exc
    console().print(f"emptied the cache in {escape(str(directory))} ({_size(before)} → {_size(cache.size())})")
    return 0

"""``wheelwise config``: pip's settings as wheelwise applies them, each with where it came from.

Like ``pip config list``, but resolved: every setting that changes what wheelwise
fetches or answers, after pip's precedence (files, then ``PIP_*``, then flags),
credentials hidden.
"""

from __future__ import annotations

import argparse
import os

from rich.markup import escape
from rich.table import Table

from ..index.settings import config_files, honoured_settings
from .options import add_choice_options, add_index_options, index_settings, pip_choices
from .render import console, print_json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "config",
        help="the pip settings wheelwise honours, their values and where each came from",
        description=(
            "List every pip setting that changes what wheelwise fetches or answers, as resolved from pip's "
            "configuration files, PIP_* variables and the flags given here (credentials hidden)."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    add_index_options(parser)
    add_choice_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    rows = honoured_settings(index_settings(args), pip_choices(args))
    files = [(str(path), path.is_file()) for path in config_files(os.environ)]
    if args.json:
        print_json({
            "command": "config",
            "settings": [{"name": r.name, "value": r.value, "origin": r.origin} for r in rows],
            "files": [{"path": path, "exists": exists} for path, exists in files],
        })
        return 0
    out = console()
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for column in ("setting", "value", "from"):
        table.add_column(column)
    for row in rows:
        table.add_row(escape(row.name), escape(row.value or "-"), escape(row.origin))
    out.print(table)
    out.print()
    if os.environ.get("PIP_CONFIG_FILE") == os.devnull:
        out.print("pip's configuration files: none (PIP_CONFIG_FILE is the null device)")
        return 0
    out.print("pip's configuration files, lowest priority first:")
    for path, exists in files:
        out.print(f"  {escape(path)}{'' if exists else '  (absent)'}")
    return 0

"""The command line: ``main(argv) -> int``; the library never prints, this does.

Exit codes (DESIGN.md): 0 all good; 1 the answer is "no"; 2 bad input;
3 the index could not be reached or answered wrongly; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence

from .. import __version__
from ..errors import WheelwiseError
from ..index.client import abort_all
from . import cache, check, doctor, explain, install, plan, show, verify
from .render import print_error

__all__ = ["entrypoint", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage with exit code 2 and a hint, as wheelwise does."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"error: {message}\nhint: see '{self.prog} --help'\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wheelwise", description="Get ML frameworks installed and working.")
    parser.add_argument("--version", action="version", version=f"wheelwise {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in (check, doctor, plan, install, verify, explain, show, cache):
        module.register(sub)
    return parser


def _on_sigint(signum: int, frame: object) -> None:
    # Shut down every fetch first: worker threads stuck in a read then end at once, so
    # nothing that waits for them (a thread pool's exit) holds Ctrl-C up.
    abort_all()
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ours = threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if ours:
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        return _run(args)
    finally:
        if ours:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args))
    except WheelwiseError as exc:
        print_error(exc)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (``| head``); stay quiet as other CLI tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: a message, not a traceback
        if os.environ.get("WHEELWISE_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(
            f"error: wheelwise failed unexpectedly: {type(exc).__name__}: {exc}\n"
            "hint: set WHEELWISE_DEBUG=1 for the traceback, and report it as a bug\n"
        )
        return 70


def entrypoint() -> None:
    raise SystemExit(main())

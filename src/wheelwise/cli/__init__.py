"""The command line: ``main(argv) -> int``; the library never prints, this does.

Exit codes (DESIGN.md): 0 all good; 1 the answer is "no"; 2 bad input;
3 the index could not be reached or answered wrongly; 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence

from .. import __version__
from ..errors import WheelwiseError
from .output import add_common_options, wants_json
from .render import configure, error_document, print_error, print_json

__all__ = ["entrypoint", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage with exit code 2 and a hint, as wheelwise does (and, when
    the command line asks for JSON, as a JSON error document on stdout too)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        hint = f"see '{self.prog} --help'"
        sys.stderr.write(f"error: {message}\nhint: {hint}\n")
        if wants_json(sys.argv[1:] if _ARGV is None else _ARGV):
            print_json(error_document(UsageError(message, hint=hint)))
        raise SystemExit(2)


class UsageError(WheelwiseError):
    """The command line itself is wrong (exit 2)."""

    reference = "usage"


#: the command line being parsed (``main``'s *argv*), for errors raised while parsing it
_ARGV: Sequence[str] | None = None


#: each command's module in cli/, in the order ``--help`` lists them
COMMANDS = ("check", "doctor", "plan", "install", "verify", "explain", "show", "cache", "config", "completion")


def _command_of(argv: Sequence[str] | None) -> str | None:
    """The command *argv* runs when that is plain (its first word, no ``--help`` before it)."""
    for word in argv or ():
        if not word.startswith("-"):
            return word if word in COMMANDS else None
        if word in ("-h", "--help"):
            return None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; given the *argv* it will parse, only the module of the command
    it runs is imported; the others get a bare parser of their name, never shown (a warm
    ``check`` starts without the doctor's, installer's or resolver's imports)."""
    parser = _Parser(prog="wheelwise", description="Get ML frameworks installed and working.")
    parser.add_argument("--version", action="version", version=f"wheelwise {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    running = _command_of(argv)
    for name in COMMANDS:
        if running is None or name == running:
            importlib.import_module(f".{name}", __name__).register(sub)
        else:
            sub.add_parser(name)
    for command in sub.choices.values():
        add_common_options(command)
    return parser


def _on_sigint(signum: int, frame: object) -> None:
    # Shut down every fetch first: worker threads stuck in a read then end at once, so
    # nothing that waits for them (a thread pool's exit) holds Ctrl-C up.
    client = sys.modules.get("wheelwise.index.client")  # never imported: nothing to shut down
    if client is not None:
        client.abort_all()
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    global _ARGV
    _ARGV = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(_ARGV).parse_args(_ARGV)
    configure(color=args.color, quiet=args.quiet, verbose=args.verbose)
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
        if wants_json(_ARGV or ()):
            print_json(error_document(exc))
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


#: glibc's mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
#: what the CLI sets them to (see :func:`_tune_malloc`)
_MALLOPT = {_M_ARENA_MAX: ("MALLOC_ARENA_MAX", 2), _M_MMAP_THRESHOLD: ("MALLOC_MMAP_THRESHOLD_", 128 << 10)}


def _tune_malloc() -> None:
    """Keep what a check frees from staying in the process (glibc only).

    A check reads the index from a pool of threads, and holds megabyte pages for a moment
    while it parses them.  glibc gives each thread its own arena, and after the first large
    block is freed it raises its mmap threshold so that later ones come from the heap, where
    freed memory stays spread and is rarely given back.  Two arenas and a fixed 128 KiB
    threshold (as ``MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072`` would set) cost no
    measurable time and take 20-55 MB off a one-cell check's peak.  The user's own variables
    win; elsewhere this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt  # this process's own C library
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return
    for parameter, (variable, value) in _MALLOPT.items():
        if variable not in os.environ:
            mallopt(parameter, value)


def entrypoint() -> None:
    _tune_malloc()
    raise SystemExit(main())

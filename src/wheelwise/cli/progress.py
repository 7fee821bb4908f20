"""Progress on stderr for work that takes more than a second.

On a terminal: one live status line. Anywhere else (CI logs, a pipe): a plain line every few seconds
saying what has been done so far, so a long cold run is never silent. Nothing with ``-q``. With
``-v``: one line per page and metadata file read, as they are read.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.markup import escape

from .render import _isatty, console, style

__all__ = ["FIRST_LINE_AFTER", "LINE_EVERY", "Progress", "progress"]

#: seconds before a non-terminal stream gets its first progress line ("anything over a second")
FIRST_LINE_AFTER = 1.0
#: seconds between later progress lines on a non-terminal stream
LINE_EVERY = 5.0


class Progress:
    """Counts what a command has done; :meth:`hook` is a :data:`~wheelwise.index.repository.ProgressHook`."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.counts: dict[str, int] = {}
        self.last = ""
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self.on_event: list[Callable[[str, str], object]] = []

    def hook(self, kind: str, name: str) -> None:
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.last = name
        for listener in self.on_event:
            listener(kind, name)

    def line(self) -> str:
        with self._lock:
            done = ", ".join(f"{n} {_plural(kind, n)} read" for kind, n in self.counts.items())
            last = self.last
        elapsed = time.monotonic() - self.started
        text = self.label + (f": {done}" if done else "")
        if last:
            text += f" (last: {last})"
        return f"{text} [{elapsed:.0f} s]"


def _plural(kind: str, n: int) -> str:
    word = {"page": "page", "metadata": "metadata file"}.get(kind, kind)
    return word if n == 1 else word + "s"


@contextmanager
def progress(label: str) -> Iterator[Progress]:
    """Report *label* and its counts on stderr while the body runs, as the style allows."""
    state = Progress(label)
    current = style()
    if current.quiet:
        yield state
        return
    err = console(sys.stderr)
    if current.verbose:
        state.on_event.append(lambda kind, name: err.print(f"[dim]read {kind} {escape(name)}[/]"))
    if _isatty(sys.stderr):
        with err.status(escape(label)) as status:
            state.on_event.append(lambda kind, name: status.update(escape(state.line())))
            yield state
        return
    done = threading.Event()

    def report() -> None:
        wait = FIRST_LINE_AFTER
        while not done.wait(wait):
            err.print(escape(state.line()))
            wait = LINE_EVERY

    thread = threading.Thread(target=report, name="wheelwise-progress", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        done.set()
        thread.join()

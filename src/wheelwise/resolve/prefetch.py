"""Reading ahead of the resolver: the only code here that submits background work.

As uv does: once a candidate's metadata arrives from the network, its
dependencies' pages are fetched, then the metadata of their newest usable
candidates, and so on down the tree, so that the network never waits for the
resolver's turn.  When the resolver refuses versions of a project one after
another (it is backtracking), the next ones' metadata is read in parallel.

Threading model: the index's pool runs every fetch (single flight per page and
per metadata file, see :class:`~wheelwise.index.PackageIndex`); callbacks here
only queue more fetches.  Results land in the shared memos, which tolerate two
threads computing the same entry.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any

from ..index import PackageIndex
from .dependencies import Dependencies
from .finder import Finder
from .model import Candidate, Req
from .ranges import to_range

__all__ = ["BELOW_AHEAD", "READ_AHEAD_MAX", "SPECULATE_MAX", "Prefetcher"]

#: candidates per target and sdist mode whose dependencies are read ahead of the resolver
SPECULATE_MAX = 400
#: versions of one project whose metadata is read in parallel while the resolver refuses them
READ_AHEAD_MAX = 24
#: versions below a range whose every version conflicted, read before the resolver asks for them
BELOW_AHEAD = 4


class Prefetcher:
    """Read-ahead for one target and sdist mode (shared by every resolution there)."""

    def __init__(
        self, index: PackageIndex, finder: Finder, dependencies: Callable[[Candidate], Dependencies],
        budget: int = SPECULATE_MAX,
    ) -> None:
        self.index = index
        #: candidates whose dependencies are read ahead at most
        self.budget = budget
        self.finder = finder
        self.dependencies = dependencies
        self._speculated: set[Candidate] = set()
        self._lock = threading.Lock()

    def pages(self, names: list[str]) -> None:
        self.index.prefetch(names=names)

    def versions(self, name: str, candidates: list[Candidate]) -> None:
        """Read these candidates' metadata in parallel (the resolver refused newer ones)."""
        self.index.prefetch(files=[c.file for c in candidates[:READ_AHEAD_MAX] if c.file is not None])

    def chosen(self, candidate: Candidate) -> None:
        """The resolver took *candidate*: read down its tree once its metadata arrives."""
        if candidate.file is None:
            return
        with self._lock:
            if candidate in self._speculated or len(self._speculated) >= self.budget:
                return
            self._speculated.add(candidate)

        def arrived(future: concurrent.futures.Future[Any]) -> None:
            # from the cache the resolver is quick enough: no read-ahead needed
            if future.exception() is None and future.result().how != "cache":
                self.index.spawn(self._down, candidate)

        self.index.metadata_future(candidate.file).add_done_callback(arrived)

    def _down(self, candidate: Candidate) -> None:
        wanted = [d for d in self.dependencies(candidate).requires if not d.name.startswith("<")]
        for future, dep in zip(self.index.page_futures(d.name for d in wanted), wanted, strict=True):

            def arrived(future: concurrent.futures.Future[Any], dep: Req = dep) -> None:
                if future.exception() is None:
                    self.index.spawn(self._newest, dep)

            future.add_done_callback(arrived)

    def _newest(self, dep: Req) -> None:
        spec = dep.specifier
        for version, file in self.finder.choose(dep.name, to_range(spec)):
            self.chosen(Candidate(dep.name, version, dep.extras, file))
            return

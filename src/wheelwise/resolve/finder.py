"""Which file of a version a target takes, and why none when none does.

pip's selection rules, per version: yanked files only when the version is
pinned with ``==`` (PEP 592), ``Requires-Python`` against the target's Python,
then the best-ranked compatible wheel, then (when sdists are allowed) an sdist.
Per project: newest first; pre-releases when the requirements ask for one, or
when no final release in range has a usable file for this target (pip and uv
filter incompatible files first, then fall back to pre-releases).
The user's :class:`~wheelwise.selection.Selection` comes first: ``--no-binary``
drops a project's wheels, ``--only-binary`` its sdists, and ``--hash`` keeps
only the files with an allowed hash (a version none of whose usable files
matches is a :attr:`~wheelwise.compat.Reason.HASH_MISMATCH`).

:class:`Files` holds what is the same for every target (a project's files by
version); :class:`Finder` answers for one target and one "are sdists allowed",
and every memo it fills is keyed by both.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections.abc import Container, Iterator, Mapping, Sequence

from nab_resolver.types import RangeProtocol
from packaging.tags import Tag
from packaging.version import InvalidVersion, Version

from ..compat import Compatible, Reason, Verdict, requires_python_ok, wheel_verdict
from ..index import PackageIndex
from ..index.simple import DistFile, ProjectPage
from ..index.variants import VariantPick, pick_variant
from ..selection import DEFAULT_SELECTION, Selection
from ..target import Target

__all__ = ["Files", "Finder", "Miss", "Releases"]


@dataclasses.dataclass(frozen=True)
class Miss:
    """Why a version (or a range of versions) has no file for the target; nearest miss wins.

    :param needs: for :attr:`Reason.OS_TOO_OLD`, the lowest OS or glibc version that would do.
    """

    reason: Reason
    needs: tuple[int, int] | None = None

    def nearer(self, other: Miss | None) -> Miss:
        if other is None or self.reason > other.reason:
            return self
        if self.reason == other.reason == Reason.OS_TOO_OLD and self.needs and other.needs:
            return self if self.needs < other.needs else other
        return other


#: ranges remembered per target before the memo starts over
WITHIN_MAX = 1 << 16


@functools.lru_cache(maxsize=65536)
def _version(text: str) -> Version:
    return Version(text)


class Releases(Mapping[Version, tuple[DistFile, ...]]):
    """One project's files by version, newest first; a version's files are read from its page
    when first asked for (a check looks at a few versions of each project)."""

    def __init__(self, page: ProjectPage) -> None:
        self._page = page
        grouped: dict[Version, list[str]] = {}
        for text in page.version_texts():
            try:
                grouped.setdefault(_version(text), []).append(text)
            except InvalidVersion:
                continue  # the page parser admits only valid names; be safe
        self._texts = {v: tuple(texts) for v, texts in sorted(grouped.items(), reverse=True)}
        self._files: dict[Version, tuple[DistFile, ...]] = {}

    def __getitem__(self, version: Version) -> tuple[DistFile, ...]:
        found = self._files.get(version)
        if found is None:
            texts = self._texts[version]
            found = self._page.release(texts[0]) if len(texts) == 1 else tuple(
                f for text in texts for f in self._page.release(text)
            )
            self._files[version] = found
        return found

    def __iter__(self) -> Iterator[Version]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def __contains__(self, version: object) -> bool:
        return version in self._texts


class Files:
    """Files of each project by version, newest first: the same for every target of a run."""

    def __init__(self, index: PackageIndex) -> None:
        self.index = index
        self._by_name: dict[str, Releases] = {}

    def __call__(self, name: str) -> Releases:
        found = self._by_name.get(name)
        if found is None:
            found = self._by_name[name] = Releases(self.index.project(name))
        return found


class Finder:
    """The file pip would take for each version of a project on one target.

    Threads may share it (cells of a matrix resolve in threads): at worst two of
    them compute the same entry.
    """

    def __init__(
        self, files: Files, target: Target, *, allow_sdists: bool | frozenset[str], selection: Selection = DEFAULT_SELECTION,
    ) -> None:
        self.files = files
        self.target = target
        #: the user's format control and hashes (the same for every finder of a run)
        self.selection = selection
        #: which projects may be built from an sdist: none, all, or these
        self.allow_sdists = allow_sdists
        self._picks: dict[tuple[str, Version, bool], DistFile | Miss] = {}
        #: versions passed over for want of a wheel although an sdist would do
        self.sdist_instead: set[tuple[str, Version]] = set()
        self._lock = threading.Lock()
        self._platforms = frozenset(target.platforms()) | {"any"}
        self._within: dict[tuple[str, object], tuple[Version, ...]] = {}
        self._verdicts: dict[frozenset[Tag], tuple[Verdict, bool]] = {}

    def pick(self, name: str, version: Version, *, pinned: bool = False) -> DistFile | Miss:
        """The file pip would install for *version* here, or why there is none."""
        key = (name, version, pinned)
        found = self._picks.get(key)
        if found is None:
            files = self.files(name).get(version, ())
            found = self._select(name, files, pinned, version)
            if isinstance(found, Miss) and found.reason > Reason.REQUIRES_PYTHON and self._has_sdist(name, files, pinned):
                with self._lock:
                    self.sdist_instead.add((name, version))
            self._picks[key] = found
        return found

    def _select(self, name: str, files: Sequence[DistFile], pinned: bool, version: Version) -> DistFile | Miss:
        """The user's selection first (format control, hashes), then pip's rules."""
        chosen = self.selection
        sdist_ok = self.sdist_allowed(name) and chosen.sdists_allowed(name)
        if not chosen.wheels_allowed(name):
            files = [f for f in files if not f.is_wheel]
            if not files:
                return Miss(Reason.NO_BINARY)
        if chosen.allowed_hashes(name) is None:
            return self._pick(files, pinned, sdist_ok, (name, version))
        matching = [f for f in files if chosen.hash_matches(name, f.hashes) is not False]
        picked = self._pick(matching, pinned, sdist_ok, (name, version)) if matching else Miss(Reason.HASH_MISMATCH)
        if isinstance(picked, Miss) and not isinstance(self._pick(files, pinned, sdist_ok, (name, version)), Miss):
            return Miss(Reason.HASH_MISMATCH)  # a file would install; its hash is not allowed
        return picked

    def _has_sdist(self, name: str, files: Sequence[DistFile], pinned: bool) -> bool:
        """Whether an sdist of the version would do, were sdists allowed (pip would build it)."""
        chosen = self.selection
        if not chosen.sdists_allowed(name):
            return False
        return any(
            not f.is_wheel and (f.yanked is None or pinned) and requires_python_ok(f.requires_python, self.target)
            and chosen.hash_matches(name, f.hashes) is not False
            for f in files
        )

    def _verdict(self, tags: frozenset[Tag]) -> tuple[Verdict, bool]:
        """A wheel's verdict here, and whether one of its platforms is this target's: remembered
        per tag set (a matrix asks it for the same few sets over thousands of files)."""
        found = self._verdicts.get(tags)
        if found is None:
            verdict = wheel_verdict(tags, self.target)
            found = self._verdicts[tags] = (verdict, any(t.platform in self._platforms for t in tags))
        return found

    def sdist_allowed(self, name: str) -> bool:
        sdists = self.allow_sdists
        return sdists if isinstance(sdists, bool) else name in sdists

    def _pick(self, files: Sequence[DistFile], pinned: bool, sdist_ok: bool, release: tuple[str, Version]) -> DistFile | Miss:
        usable = [f for f in files if f.yanked is None or pinned]
        if not usable:
            return Miss(Reason.YANKED)
        fitting = [f for f in usable if requires_python_ok(f.requires_python, self.target)]
        if not fitting:
            return Miss(Reason.REQUIRES_PYTHON)
        compatible: list[tuple[int, DistFile]] = []
        here: Miss | None = None  # the nearest miss among wheels for this platform
        elsewhere: Miss | None = None
        sdist: DistFile | None = None
        for f in fitting:
            if not f.is_wheel:
                sdist = sdist or f
                continue
            verdict, on_platform = self._verdict(f.tags)
            if isinstance(verdict, Compatible):
                compatible.append((verdict.rank, f))
            elif on_platform:
                here = Miss(verdict.reason, verdict.needs).nearer(here)
            else:
                elsewhere = Miss(verdict.reason, verdict.needs).nearer(elsewhere)
        if compatible:
            chosen = self._best(compatible, release)
            if chosen is not None:
                return chosen
            here = Miss(Reason.VARIANT)
        if sdist is not None and sdist_ok:
            return sdist
        if here is not None:
            return here  # wheels for this platform, for other Pythons or ABIs
        if elsewhere is not None:
            # none for this platform: it is the platform, or only the OS floor
            return elsewhere if elsewhere.reason == Reason.OS_TOO_OLD else Miss(Reason.PLATFORM)
        return Miss(Reason.SDIST_ONLY)

    def _best(self, compatible: Sequence[tuple[int, DistFile]], release: tuple[str, Version]) -> DistFile | None:
        """The best-ranked compatible wheel, as a variant-aware installer chooses when some are
        PEP 825 variants (the index's variants.json read then, and only then)."""
        if all(f.variant is None for _, f in compatible):
            return min(compatible, key=lambda item: item[0])[1]
        return self.variant_pick(compatible, release).file

    def variant_pick(self, compatible: Sequence[tuple[int, DistFile]], release: tuple[str, Version]) -> VariantPick:
        """What a variant-aware and a legacy installer take of one version's compatible wheels."""
        meta = self.files.index.variants(*release)
        return pick_variant(compatible, meta, self.target.properties)

    def legacy_and_variants(self, name: str, version: Version) -> VariantPick | None:
        """For a version with variant wheels here: both installers' choices; ``None`` without variants."""
        compatible = [
            (verdict.rank, f)
            for f in self.files(name).get(version, ())
            if f.is_wheel and isinstance(verdict := self._verdict(f.tags)[0], Compatible)
        ]
        if all(f.variant is None for _, f in compatible):
            return None
        return self.variant_pick(compatible, (name, version))

    def within(self, name: str, versions: RangeProtocol[Version]) -> tuple[Version, ...]:
        """The versions of *name* in a (hashable) range, newest first; remembered per range, as
        the resolver asks about the same few ranges thousands of times."""
        key = (name, versions)
        found = self._within.get(key)
        if found is None:
            if len(self._within) > WITHIN_MAX:
                self._within.clear()  # a long-lived process (the library) must not keep every range
            found = self._within[key] = tuple(v for v in self.files(name) if v in versions)
        return found

    def choose(
        self,
        name: str,
        versions: RangeProtocol[Version],
        *,
        pinned: Container[Version] = (),
        prereleases: bool = False,
    ) -> Iterator[tuple[Version, DistFile]]:
        """Usable versions in a (hashable) range, newest first, as pip orders and filters them.

        Pre-releases come first only when *prereleases* (a requirement names one); otherwise
        after every usable final release, so that a caller taking the first gets a
        pre-release only when no final release in range installs here.
        """
        later: list[tuple[Version, DistFile]] = []
        for version in self.within(name, versions):
            picked = self.pick(name, version, pinned=version in pinned)
            if isinstance(picked, Miss):
                continue
            if version.is_prerelease and not prereleases:
                later.append((version, picked))
                continue
            yield version, picked
        yield from later

    def why_none(self, name: str, versions: RangeProtocol[Version], *, pinned: Container[Version] = ()) -> Miss:
        """Why no version of *name* in the range installs here: not on any index, no release
        in range, or the nearest miss of those in range (a conflict when one would install)."""
        if not self.files(name):
            return Miss(Reason.NOT_FOUND)
        in_range = self.within(name, versions)
        if not in_range:
            return Miss(Reason.NO_VERSION)
        return self.why_not(name, in_range, pinned=pinned) or Miss(Reason.CONFLICT)

    def why_not(self, name: str, versions: Sequence[Version], *, pinned: Container[Version] = ()) -> Miss | None:
        """The nearest miss over *versions* (``None`` when one of them is usable)."""
        nearest: Miss | None = None
        for version in versions:
            picked = self.pick(name, version, pinned=version in pinned)
            if not isinstance(picked, Miss):
                return None
            nearest = picked.nearer(nearest)
        return nearest

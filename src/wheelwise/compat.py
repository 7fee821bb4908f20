"""Wheel verdicts: can this file install on that target, and if not, why.

Pure and data first (as uv's ``IncompatibleTag``): a verdict is
:class:`Compatible` with a rank, or :class:`Incompatible` with a
:class:`Reason`.  Reasons are ordered so that the nearest miss is the largest:
a wheel built for this Python, ABI, OS and architecture that only needs a
newer macOS or glibc is nearer than one for another platform, which is nearer
than one built for another Python.  Words are for the renderers.

:func:`availability` says what a project does have files for, platform by
platform (never pooled: "Linux for 3.7–3.9 and macOS for 3.11" is not
"Linux and macOS for 3.7–3.11").
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable
from functools import lru_cache

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag

from .target import PRESETS, Target

__all__ = [
    "Availability",
    "Compatible",
    "Incompatible",
    "PlatformFiles",
    "Reason",
    "Verdict",
    "availability",
    "os_floor",
    "platform_label",
    "requires_python_ok",
    "wheel_verdict",
]


class Reason(enum.IntEnum):
    """Why a file (or a version) does not install, nearest miss last.

    The order is the one vocabulary for "how close was it": a larger value is
    a nearer miss.  :attr:`OS_TOO_OLD` is the nearest of all: the wheel is
    built for the right Python, ABI, OS and architecture, and only needs a
    newer OS version (macOS) or C library (glibc) than the target has; hence
    it is last.  :attr:`PLATFORM` is right Python and ABI, another OS or
    architecture; :attr:`ABI` is the right Python, another ABI; :attr:`PYTHON`
    is built for another Python.  :attr:`VARIANT` is nearer still: wheels with the right tags
    exist, all of them variants (PEP 825) that need accelerator or CPU properties the target
    lacks (and no null variant).  :attr:`YANKED`, :attr:`REQUIRES_PYTHON` and
    :attr:`SDIST_ONLY` are decided by resolution, not by a wheel's tags.
    :attr:`NO_BINARY` and :attr:`HASH_MISMATCH` come after them all: a file
    would install, and the user's own settings refuse it.
    """

    YANKED = 1  #: every file of the version is yanked
    REQUIRES_PYTHON = 2  #: Requires-Python excludes the target's Python
    SDIST_ONLY = 3  #: no wheel at all, only an sdist
    PYTHON = 4  #: built for another Python (interpreter tag)
    ABI = 5  #: right Python, another ABI
    PLATFORM = 6  #: right Python and ABI, another OS or architecture
    OS_TOO_OLD = 7  #: right Python, ABI, OS and architecture; needs a newer OS or glibc
    VARIANT = 8  #: right tags, variant wheels only (PEP 825); none fits the machine's properties
    # The user's settings refuse files that would install (pip's --no-binary, --hash):
    NO_BINARY = 9  #: --no-binary refuses its wheels, and it has no sdist
    HASH_MISMATCH = 10  #: no file that would install has a hash the requirement's --hash allows
    # Reasons about a project rather than its files (no nearer or farther among them):
    NOT_FOUND = 20  #: no configured index lists the project
    NO_VERSION = 21  #: no release in the required range
    CONFLICT = 22  #: each requirement alone has versions; no version satisfies all at once
    FORBIDDEN = 23  #: a cited knowledge rule forbids it with what else is installed
    INVALID_METADATA = 24  #: a version's metadata cannot be read or parsed
    LIMIT = 25  #: the resolver reached its round limit before an answer

    @property
    def about_files(self) -> bool:
        """Whether this is a file's miss (the ordered part: nearest miss last)."""
        return self <= Reason.HASH_MISMATCH

    @classmethod
    def from_slug(cls, slug: str) -> Reason | None:
        """The reason a JSON word names; ``None`` for a word that is none."""
        return _BY_SLUG.get(slug)

    @property
    def slug(self) -> str:
        """The JSON word: ``yanked``, ``requires-python``, ..., ``os-too-old``."""
        return self.name.lower().replace("_", "-")


_BY_SLUG = {reason.slug: reason for reason in Reason}


@dataclasses.dataclass(frozen=True)
class Compatible:
    """Installs; lower *rank* is preferred (pip's tag priority)."""

    rank: int


@dataclasses.dataclass(frozen=True)
class Incompatible:
    """Does not install; *tags* are the wheel's own, for the message.

    :param needs: for :attr:`Reason.OS_TOO_OLD`, the lowest OS version (macOS
        ``(14, 0)``) or glibc version (``(2, 34)``) among the wheel's tags
        that would install; ``None`` otherwise.
    """

    reason: Reason
    tags: tuple[str, ...]
    needs: tuple[int, int] | None = None


Verdict = Compatible | Incompatible


# -- platform tags -------------------------------------------------------------------------------

#: largest glibc minor or macOS major taken for a real OS floor (see _needs)
MAX_FLOOR_PART = 99
_LEGACY_GLIBC = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}
_PLATFORM = re.compile(
    r"(?P<family>manylinux|musllinux|macosx)_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>.+)"
    r"|(?P<legacy>manylinux2014|manylinux2010|manylinux1)_(?P<legacy_arch>.+)"
    r"|linux_(?P<linux_arch>.+)"
)
#: macOS binary formats → the architectures a label names (as packaging accepts them)
_MAC_ARCHS = {
    "universal2": ("arm64", "x86_64"),
    "intel": ("x86_64",),
    "universal": ("x86_64",),
    "fat3": ("x86_64",),
    "fat64": ("x86_64",),
}
_WINDOWS = {"win32": "Windows x86", "win_amd64": "Windows amd64", "win_arm64": "Windows arm64"}
_FLOOR_KIND = {"manylinux": "glibc", "musllinux": "musl", "macosx": "macOS"}
#: a target's OS → the kind of floor its os_version is (musl Linux: "musl")
_TARGET_FLOOR = {"linux": "glibc", "macos": "macOS"}


def os_floor(platform_tag: str) -> tuple[str, tuple[int, int]] | None:
    """The OS or C library version a platform tag needs, if it names one.

    ``manylinux_2_34_aarch64`` → ``("glibc", (2, 34))``; ``manylinux2014_x86_64`` →
    ``("glibc", (2, 17))``; ``musllinux_1_2_x86_64`` → ``("musl", (1, 2))``;
    ``macosx_11_0_arm64`` → ``("macOS", (11, 0))`` (from macOS 11 on the
    floor is the major version); ``win_amd64``, ``linux_x86_64``, ``any`` → ``None``.
    """
    found = _PLATFORM.fullmatch(platform_tag)
    if found is None:
        return None
    if found["legacy"]:
        return "glibc", _LEGACY_GLIBC[found["legacy"]]
    if not found["family"]:
        return None
    major, minor = int(found["major"]), int(found["minor"])
    if found["family"] == "macosx" and major >= 11:
        minor = 0
    return _FLOOR_KIND[found["family"]], (major, minor)


def platform_label(platform: str) -> set[str]:
    """The machines a platform tag names, in words.

    ``macosx_11_0_universal2`` → {``macOS arm64``, ``macOS x86_64``};
    ``manylinux_2_17_x86_64`` → {``Linux x86_64``}; ``musllinux_1_2_aarch64``
    → {``Linux aarch64 (musl)``}; ``win_amd64`` → {``Windows amd64``};
    ``any`` → {``any``}.
    """
    if platform == "any":
        return {"any"}
    found = _PLATFORM.fullmatch(platform)
    if found is not None:
        family = found["family"]
        if family == "macosx":
            return {f"macOS {a}" for a in _MAC_ARCHS.get(found["arch"], (found["arch"],))}
        if family == "musllinux":
            return {f"Linux {found['arch']} (musl)"}
        return {f"Linux {found['arch'] or found['legacy_arch'] or found['linux_arch']}"}
    return {_WINDOWS.get(platform, platform)}


# -- verdicts ------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _accepted(target: Target) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    tags = target.tags
    return frozenset(t.interpreter for t in tags), frozenset((t.interpreter, t.abi) for t in tags)


@lru_cache(maxsize=256)
def _tags_at(target: Target, os_version: tuple[int, int]) -> frozenset[Tag]:
    """Every tag *target* would accept with another OS (or glibc) version."""
    return frozenset(dataclasses.replace(target, os_version=os_version).tags)


def _reason(tag: Tag, target: Target) -> Reason:
    interpreters, pairs = _accepted(target)
    if tag.interpreter not in interpreters:
        return Reason.PYTHON
    if (tag.interpreter, tag.abi) not in pairs:
        # cp39-cp39 on 3.11 is built for another Python (cp39 is accepted only
        # through abi3); cp311-cp311d on 3.11 is the right Python, another ABI.
        version = re.match(r"cp(\d+)", tag.abi)
        if version and version.group(1) != f"{target.python[0]}{target.python[1]}":
            return Reason.PYTHON
        return Reason.ABI
    return Reason.PLATFORM


def _needs(tag: Tag, target: Target) -> tuple[int, int] | None:
    """The newer OS version with which *target* would accept *tag*, if only that is missing.

    Only for a target that is a value (a preset with an OS version): a real
    interpreter's accepted platforms are what they are.
    """
    if target.os_version is None or target.host_platforms is not None or target.host_tags:
        return None
    floor = os_floor(tag.platform)
    kind = "musl" if target.libc == "musl" else _TARGET_FLOOR.get(target.os)
    if floor is None or floor[0] != kind or floor[1] <= target.os_version:
        return None
    if max(floor[1]) > MAX_FLOOR_PART:
        # a file name from a page can say manylinux_2_999999: the tags of such a target would be
        # millions; no real OS is that new, so it is simply another platform
        return None
    # packaging decides which architectures a format covers (universal2 on
    # arm64 and x86_64, intel on x86_64) and which floors exist at all
    return floor[1] if tag in _tags_at(target, floor[1]) else None


def wheel_verdict(tags: Iterable[Tag], target: Target) -> Verdict:
    """The verdict for a wheel with these tags (from its filename) on *target*.

    The nearest miss among the tags wins; :attr:`Reason.OS_TOO_OLD` comes
    with :attr:`Incompatible.needs`, the lowest OS version that would do.
    """
    return _verdict(tags if isinstance(tags, frozenset) else frozenset(tags), target)


@lru_cache(maxsize=1 << 16)
def _verdict(tags: frozenset[Tag], target: Target) -> Verdict:
    # a matrix asks this for the same few tag sets over thousands of files
    ranks = [target.tag_rank[t] for t in tags if t in target.tag_rank]
    if ranks:
        return Compatible(min(ranks))
    shown = tuple(sorted(str(t) for t in tags))
    reasons = {t: _reason(t, target) for t in tags}
    needs = [
        floor
        for t, reason in reasons.items()
        if reason is Reason.PLATFORM and (floor := _needs(t, target)) is not None
    ]
    if needs:
        return Incompatible(Reason.OS_TOO_OLD, shown, needs=min(needs))
    return Incompatible(max(reasons.values(), default=Reason.PYTHON), shown)


@lru_cache(maxsize=4096)
def _specifier(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def requires_python_ok(requires_python: str | None, target: Target) -> bool:
    """Whether a ``Requires-Python`` admits the target's Python.

    An invalid specifier is ignored, as pip ignores it.
    """
    if not requires_python:
        return True
    return _python_ok(requires_python, target.python)


@lru_cache(maxsize=1 << 12)
def _python_ok(requires_python: str, python: tuple[int, int]) -> bool:
    spec = _specifier(requires_python)
    return spec is None or spec.contains(f"{python[0]}.{python[1]}.0", prereleases=True)


# -- availability --------------------------------------------------------------------------------

#: platform groups :meth:`Availability.describe` names before "and N more platforms"
MAX_DESCRIBED = 8
#: labels of the standard targets: kept first when there are too many platforms to name
_PRESET_LABELS = frozenset(p.label for p in PRESETS.values())


@dataclasses.dataclass(frozen=True)
class PlatformFiles:
    """What one platform has wheels for.

    :param label: ``macOS arm64``, ``Linux x86_64``, ``Linux x86_64 (musl)``,
        ``Windows amd64``; ``any`` for pure wheels.
    :param floor: the lowest OS floor among its wheels, e.g. ``("glibc", (2, 17))``;
        ``None`` where there is none (Windows, ``linux_*``, pure wheels).
    :param cpython: CPython versions with version-specific wheels, sorted.
    :param abi3_from: the oldest CPython of abi3 wheels (they serve every newer one).
    :param generic_from: the oldest Python 3 of ``py3``/``py3X`` wheels;
        ``(3, 0)`` for plain ``py3`` (any Python 3).
    :param pypy: PyPy versions with wheels, sorted.
    """

    label: str
    floor: tuple[str, tuple[int, int]] | None = None
    cpython: tuple[tuple[int, int], ...] = ()
    abi3_from: tuple[int, int] | None = None
    generic_from: tuple[int, int] | None = None
    pypy: tuple[tuple[int, int], ...] = ()

    @property
    def heading(self) -> str:
        """``Linux aarch64 (glibc ≥ 2.34)``, ``Linux x86_64 (musl ≥ 1.2)``, ``any platform``."""
        if self.label == "any":
            return "any platform"
        if self.floor is None:
            return self.label
        kind, (major, minor) = self.floor
        base = self.label.removesuffix(" (musl)") if kind == "musl" else self.label
        return f"{base} ({kind} ≥ {major}.{minor})"

    def pythons(self) -> str:
        """``CPython 3.9–3.12 and CPython 3.8+ (abi3)``; ``any Python 3``."""
        parts = []
        if self.cpython:
            parts.append(f"CPython {_ranges(self.cpython)}")
        if self.abi3_from:
            parts.append(f"CPython {_version(self.abi3_from)}+ (abi3)")
        if self.pypy:
            parts.append(f"PyPy {_ranges(self.pypy)}")
        if self.generic_from:
            generic = self.generic_from
            parts.append("any Python 3" if generic == (3, 0) else f"Python {_version(generic)}+")
        return " and ".join(parts) if parts else "other Pythons only"

    def describe(self) -> str:
        return f"{self.heading}: {self.pythons()}"


@dataclasses.dataclass(frozen=True)
class Availability:
    """What a set of files does have, platform by platform, for "where would it work".

    :param by_platform: one entry per platform, sorted by label, ``any`` last.
    :param sdist: there is an sdist (installable by building).
    """

    by_platform: tuple[PlatformFiles, ...]
    sdist: bool

    @property
    def platforms(self) -> frozenset[str]:
        """The platform labels, ``any`` for pure wheels."""
        return frozenset(p.label for p in self.by_platform)

    def describe(self) -> str:
        """Each platform with its own OS floor and Pythons, e.g.

        ``Linux aarch64 (glibc ≥ 2.34): CPython 3.9–3.11; macOS arm64 (macOS ≥ 11.0):
        CPython 3.9–3.12 and CPython 3.8+ (abi3); Windows amd64: CPython 3.10;
        any platform: any Python 3; an sdist``.  At most :data:`MAX_DESCRIBED`
        platforms are named (standard targets' platforms and ``any`` first),
        then ``, and N more platforms``.
        """
        if not self.by_platform:
            return "an sdist only" if self.sdist else "no files"
        specific = [p for p in self.by_platform if p.label != "any"]
        pure = [p for p in self.by_platform if p.label == "any"]
        room = MAX_DESCRIBED - len(pure)
        first = sorted(specific, key=lambda p: (p.label not in _PRESET_LABELS, _order(p)))
        kept = set(first[:room])
        text = "; ".join(p.describe() for p in specific if p in kept)
        if len(specific) > len(kept):
            more = len(specific) - len(kept)
            text += f", and {more} more platform{'s' if more > 1 else ''}"
        text = "; ".join(t for t in [text, *(p.describe() for p in pure)] if t)
        return text + "; an sdist" if self.sdist else text


def _order(files: PlatformFiles) -> tuple[bool, str, str]:
    return files.label == "any", files.label.lower(), files.label


def _version(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def _ranges(versions: Iterable[tuple[int, int]]) -> str:
    """``[(3, 7), (3, 8), (3, 9), (3, 11)]`` → ``3.7–3.9, 3.11``."""
    runs: list[list[tuple[int, int]]] = []
    for v in sorted(set(versions)):
        if runs and runs[-1][-1] == (v[0], v[1] - 1):
            runs[-1].append(v)
        else:
            runs.append([v])
    return ", ".join(
        _version(run[0]) + ("" if len(run) == 1 else f"–{_version(run[-1])}") for run in runs
    )


@dataclasses.dataclass
class _Group:
    floors: list[tuple[str, tuple[int, int]] | None] = dataclasses.field(default_factory=list)
    cpython: set[tuple[int, int]] = dataclasses.field(default_factory=set)
    abi3: set[tuple[int, int]] = dataclasses.field(default_factory=set)
    generic: set[tuple[int, int]] = dataclasses.field(default_factory=set)
    pypy: set[tuple[int, int]] = dataclasses.field(default_factory=set)

    def add(self, tag: Tag) -> None:
        cpython = re.fullmatch(r"cp(\d)(\d+)", tag.interpreter)
        pypy = re.fullmatch(r"pp(3)(\d{1,2})|pp(2)(7)", tag.interpreter)
        generic = re.fullmatch(r"py3(\d*)", tag.interpreter)
        if cpython and tag.abi == "abi3":
            self.abi3.add((int(cpython[1]), int(cpython[2])))
        elif cpython:
            self.cpython.add((int(cpython[1]), int(cpython[2])))
        elif pypy:
            found = [int(g) for g in pypy.groups() if g is not None]
            self.pypy.add((found[0], found[1]))
        elif generic:
            self.generic.add((3, int(generic[1] or 0)))

    def files(self, label: str) -> PlatformFiles:
        known = [f for f in self.floors if f is not None]
        # a wheel with no floor (linux_x86_64) asks for no particular version
        floor = min(known) if known and len(known) == len(self.floors) else None
        return PlatformFiles(
            label=label,
            floor=floor,
            cpython=tuple(sorted(self.cpython)),
            abi3_from=min(self.abi3, default=None),
            generic_from=min(self.generic, default=None),
            pypy=tuple(sorted(self.pypy)),
        )


def availability(filenames_tags: Iterable[tuple[str, Iterable[Tag]]]) -> Availability:
    """Summarise ``(filename, tags)`` pairs platform by platform; an sdist is not a ``.whl``."""
    groups: dict[str, _Group] = {}
    sdist = False
    for filename, tags in filenames_tags:
        if not filename.endswith(".whl"):
            sdist = True
            continue
        for tag in tags:
            floor = os_floor(tag.platform)
            for label in platform_label(tag.platform):
                group = groups.setdefault(label, _Group())
                # a universal2 wheel from macOS 10.9 still needs macOS 11 on Apple silicon
                arm = label == "macOS arm64" and floor is not None and floor[1] < (11, 0)
                group.floors.append(("macOS", (11, 0)) if arm else floor)
                group.add(tag)
    return Availability(
        tuple(sorted((g.files(label) for label, g in groups.items()), key=_order)), sdist
    )

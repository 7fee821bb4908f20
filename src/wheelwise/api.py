"""The library's front door: ``check``, ``doctor`` and ``explain`` in one call each.

Each returns a typed result (:class:`~wheelwise.check.CheckReport`, :class:`~wheelwise.doctor.Report`,
a list of :class:`~wheelwise.explain.Match`) with ``to_dict()`` giving the same document as the CLI's
``--json``; errors are :class:`~wheelwise.errors.WheelwiseError` subclasses. Nothing is printed.
Index settings default to pip's own configuration, as on the command line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import PAGE_TTL, Cache, default_cache_dir
from .check.memo import question_key, recall, remember
from .doctor import NewestRelease, Report, diagnose
from .explain import Host, Match, host_context
from .explain import explain as find_signatures
from .facts import collect, validate
from .index.settings import IndexSettings, load_pip_settings
from .knowledge import load, load_constraints
from .requirements import PythonBound, SourcedRequirement, parse_requirement_line
from .resolve.model import DEFAULT_MAX_ROUNDS
from .selection import DEFAULT_SELECTION, Selection
from .target import Target, host_target, parse_pythons, parse_target, with_properties

if TYPE_CHECKING:
    from .check import CheckReport
    from .index.repository import PackageIndex, ProgressHook

__all__ = ["check", "doctor", "explain", "matrix"]


def matrix(names: Iterable[str] = ("host",), pythons: Iterable[str] = (), python: str | None = None) -> list[Target]:
    """The matrix of *names* (``host``, ``macos-arm64@14``, ``linux-x86_64+cuda=12.8``, a uv triple
    or a pip platform tag ...) by *pythons* (``3.12``, ``3.14t``, ``all``).

    :param python: the interpreter ``host`` means (default: this one); also the default Python.
    """
    versions: list[tuple[tuple[int, int], bool]] = []
    for text in pythons:
        versions += [p for p in parse_pythons(text) if p not in versions]
    names = list(names) or ["host"]
    wants_host = any(_is_host(n) for n in names)
    # the interpreter is only run when its tags or (given by --python) its version are needed
    host = host_target(python) if wants_host or (not versions and python) else None
    default = (host.python, host.free_threaded) if host else ((sys.version_info[0], sys.version_info[1]), False)
    cells: list[Target] = []
    for name in names:
        if _is_host(name):
            assert host is not None
            here = with_properties(host, name.strip().split("+")[1:])
            cells += [here.with_python(p, ft) for p, ft in versions] if versions else [here]
        else:
            cells += [parse_target(name, p, ft) for p, ft in versions or [default]]
    return list(dict.fromkeys(cells))


def _is_host(name: str) -> bool:
    """``host`` or ``host+cuda=12.8``."""
    return name.strip().lower().partition("+")[0] == "host"


def _requirements(items: Iterable[str | SourcedRequirement], source: str) -> list[SourcedRequirement]:
    return [r if isinstance(r, SourcedRequirement) else parse_requirement_line(r, source) for r in items]


def check(
    requirements: Iterable[str | SourcedRequirement],
    targets: Sequence[Target] | Iterable[str] = ("host",),
    pythons: Iterable[str] = (),
    *,
    constraints: Iterable[str | SourcedRequirement] = (),
    settings: IndexSettings | None = None,
    knowledge: bool = True,
    nearest: bool = True,
    max_rounds: int = DEFAULT_MAX_ROUNDS,
    offline: bool = False,
    refresh: bool = False,
    cache_dir: Path | None = None,
    progress: ProgressHook | None = None,
    index: PackageIndex | None = None,
    selection: Selection = DEFAULT_SELECTION,
    python_bounds: Sequence[PythonBound] = (),
    memo: bool = True,
    cache: Cache | None = None,
    opened: Callable[[PackageIndex], object] | None = None,
) -> CheckReport:
    """Will *requirements* install on each target and Python, and if not, why.

    >>> report = check(["tensorflow", "tensorflow-metal"], ["macos-arm64"], ["3.12"])  # doctest: +SKIP
    >>> report.all_install, report.cells[0].verdict  # doctest: +SKIP

    :param targets: :class:`Target` objects, or names crossed with *pythons* (see :func:`matrix`).
    :param index: an open index to use (its settings, cache and progress hook win over these).
    :param settings: where packages come from (default: pip's configuration).
    :param knowledge: apply wheelwise's cited compatibility rules and name the successors of blocked
        requested projects (the CLI's ``--no-knowledge`` is False).
    :param selection: pip's ``--only-binary``/``--no-binary``/``--prefer-binary``/``--hash`` (default:
        pip's defaults; the CLI reads them from pip's configuration, flags and files).
    :param python_bounds: a project's or lock's own Requires-Python (see :func:`~wheelwise.requirements.read_project`).
    :param memo: give the answer an identical earlier check stored while every page, folder and
        file it read is unchanged and fresh (see :mod:`wheelwise.check.memo`), and store this one;
        ``refresh`` recomputes (and stores) whatever is remembered.
    :param cache: the cache to use (default: the one in *cache_dir*, else the user's).
    :param opened: called with the index a computed answer opened (not on a remembered one).
    """
    items = list(targets)
    cells = [t for t in items if isinstance(t, Target)]
    names = [t for t in items if isinstance(t, str)]
    if names:
        cells += matrix(names, pythons)
    wanted = _requirements(requirements, "requirements")
    limits = _requirements(constraints, "constraints")
    if index is not None:
        settings, cache, offline, refresh = index.settings, index.cache, index.offline, index.refresh
    settings = settings or load_pip_settings()
    cache = cache or Cache(cache_dir or default_cache_dir())
    key = ""
    if memo:
        key = question_key(
            requirements=wanted, constraints=limits, targets=cells, python_bounds=python_bounds, selection=selection,
            knowledge=knowledge, nearest=nearest, max_rounds=max_rounds, index_urls=settings.index_urls(),
            find_links=settings.find_links,
        )
        if not refresh:
            found = recall(cache, key, ttl=index.ttl if index is not None else PAGE_TTL, offline=offline)
            if found is not None:
                return found  # type: ignore[no-any-return]
    from .index.repository import PackageIndex  # noqa: PLC0415 - the network client, only when an answer is computed

    with contextlib.ExitStack() as stack:
        if index is None:
            index = stack.enter_context(
                PackageIndex(settings, cache=cache, offline=offline, refresh=refresh, progress=progress)
            )
        if opened is not None:
            opened(index)
        # the requested projects' pages come first whatever the rules say: read while the rules load
        index.prefetch(r.requirement.name for r in wanted)
        rules = load_constraints() if knowledge else ()
        successors = load().replacements if knowledge else ()
        from .check import check as check_cells  # noqa: PLC0415 - the resolver, likewise
        report = check_cells(index, cells, wanted, limits, rules, replacements=successors, nearest=nearest,
                             max_rounds=max_rounds, selection=selection, python_bounds=python_bounds,
                             knowledge=knowledge)
        if memo:
            remember(cache, key, report, index.stamps())
    return report


def doctor(
    python: str | None = None, facts: Mapping[str, Any] | None = None, newest: Mapping[str, NewestRelease] | None = None
) -> Report:
    """What is wrong with *python*'s ML setup (default: the active venv's, else python3 on PATH),
    or with *facts* collected elsewhere (``wheelwise doctor --collect``).

    :param newest: what the index says of the newest framework releases
        (:func:`wheelwise.doctor.newest_releases`); without it the dated table speaks.
    """
    return diagnose(validate(facts, "facts") if facts is not None else collect(python), load(), newest)


def explain(text: str, facts: Mapping[str, Any] | None = None) -> list[Match]:
    """The known errors in a pasted log *text*, each with cause, fix and sources; with *facts*
    (``wheelwise doctor --collect``), each says what that machine shows about its subjects."""
    if facts is not None:
        facts = validate(facts, "facts")
    matches = find_signatures(text, load().signatures, Host.from_facts(facts))
    return [dataclasses.replace(m, context=host_context(m.signature, facts)) for m in matches]

"""The library's front door: ``check``, ``doctor`` and ``explain`` in one call each.

Each returns a typed result (:class:`~wheelwise.check.CheckReport`, :class:`~wheelwise.doctor.Report`,
a list of :class:`~wheelwise.explain.Match`) with ``to_dict()`` giving the same document as the CLI's
``--json``; errors are :class:`~wheelwise.errors.WheelwiseError` subclasses. Nothing is printed.
Index settings default to pip's own configuration, as on the command line.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .cache import Cache, default_cache_dir
from .check import CheckReport
from .check import check as check_cells
from .doctor import NewestRelease, Report, diagnose
from .explain import Host, Match, host_context
from .explain import explain as find_signatures
from .facts import collect, validate
from .index import IndexSettings, PackageIndex, load_pip_settings
from .index.repository import ProgressHook
from .knowledge import load, load_constraints
from .requirements import PythonBound, SourcedRequirement, parse_requirement_line
from .resolve import DEFAULT_MAX_ROUNDS
from .selection import DEFAULT_SELECTION, Selection
from .target import Target, host_target, parse_pythons, parse_target, with_properties

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
) -> CheckReport:
    """Will *requirements* install on each target and Python, and if not, why.

    >>> report = check(["tensorflow", "tensorflow-metal"], ["macos-arm64"], ["3.12"])  # doctest: +SKIP
    >>> report.all_install, report.cells[0].verdict  # doctest: +SKIP

    :param targets: :class:`Target` objects, or names crossed with *pythons* (see :func:`matrix`).
    :param index: an open index to use (its settings, cache and progress hook win over these).
    :param settings: where packages come from (default: pip's configuration).
    :param knowledge: apply wheelwise's cited compatibility rules (the CLI's ``--no-knowledge`` is False).
    :param selection: pip's ``--only-binary``/``--no-binary``/``--prefer-binary``/``--hash`` (default:
        pip's defaults; the CLI reads them from pip's configuration, flags and files).
    :param python_bounds: a project's or lock's own Requires-Python (see :func:`~wheelwise.requirements.read_project`).
    """
    items = list(targets)
    cells = [t for t in items if isinstance(t, Target)]
    names = [t for t in items if isinstance(t, str)]
    if names:
        cells += matrix(names, pythons)
    wanted = _requirements(requirements, "requirements")
    rules = load_constraints() if knowledge else ()
    limits = _requirements(constraints, "constraints")
    if index is not None:
        return check_cells(index, cells, wanted, limits, rules, nearest=nearest, max_rounds=max_rounds,
                           selection=selection, python_bounds=python_bounds)
    opened = PackageIndex(
        settings or load_pip_settings(),
        cache=Cache(cache_dir or default_cache_dir()),
        offline=offline,
        refresh=refresh,
        progress=progress,
    )
    with opened:
        return check_cells(opened, cells, wanted, limits, rules, nearest=nearest, max_rounds=max_rounds,
                           selection=selection, python_bounds=python_bounds)


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

"""Root causes read off PubGrub's derivation: the proof that nothing installs.

The resolver's failure is a tree of incompatibilities whose leaves are facts:
a requested project (``ROOT``), "version V of X depends on Y in R"
(``DEPENDENCY``), "no usable version of Y in R" (``NO_VERSIONS``), a ``-c``
constraint that hid the versions (``CONSTRAINT``) and the provider's
knowledge clauses.  The root causes are the leaves that are not plain
dependencies: each missing version (with the finder's reason for the target),
each knowledge rule; when there are none, the requirements that conflict.
The dependency leaves give the chain from the request to each cause.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from nab_resolver.types import Incompatibility, IncompatibilityCause, Term
from packaging.version import Version

from ..compat import Reason
from .finder import Miss
from .model import INVALID, PYTHON, Req, RootCause
from .provider import Provider, split_key
from .ranges import to_range

__all__ = ["root_causes"]

Clause = Incompatibility[Any, Version]


def _leaves(root: Clause) -> list[Clause]:
    return [node for node in root.walk() if node.cause is not IncompatibilityCause.DERIVED]


class _Graph:
    """Who depends on what, from the derivation's dependency leaves (and the roots)."""

    def __init__(self, provider: Provider, leaves: Iterable[Clause], roots: dict[str, Req]) -> None:
        self.provider = provider
        self.roots = roots
        #: dependency key → [(parent package, parent version, requirement)]
        self.parents: dict[str, list[tuple[str, Version, Req]]] = {}
        decided: dict[str, list[tuple[Version, dict[str, Req]]]] = {}
        for (package, version), edges in provider.edges.items():
            decided.setdefault(package, []).append((version, edges))
        for leaf in leaves:
            if leaf.cause is not IncompatibilityCause.DEPENDENCY or len(leaf.terms) != 2:
                continue
            parent, dep = leaf.terms
            if dep.is_positive():
                continue  # a knowledge clause
            found = [
                (str(parent.package), version, edges[dep.package])
                for version, edges in decided.get(str(parent.package), ())
                if version in parent.constraint and dep.package in edges
            ]
            if found:
                # a widened clause stands for every version in its range with the same dependencies
                name = split_key(str(parent.package))[0]
                taken = {version for _p, version, _r in found}
                found += [
                    (str(parent.package), v, found[0][2])
                    for v in provider.finder.within(name, parent.constraint)
                    if v not in taken and not isinstance(provider.finder.pick(name, v), Miss)
                ]
            known = self.parents.setdefault(dep.package, [])
            seen = set(map(_edge_key, known))
            known += [edge for edge in found if _edge_key(edge) not in seen]

    def requirement(self, package: str) -> Req | None:
        if package in self.roots:
            return self.roots[package]
        found = self.parents.get(package)
        return found[0][2] if found else None

    def root_versions(self, package: str) -> tuple[str, ...]:
        """Versions of requested projects from which *package* is reached, newest first."""
        found: set[Version] = set()
        seen: set[str] = set()
        todo = [package]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            for parent, version, _req in self.parents.get(node, ()):
                if parent in self.roots:
                    found.add(version)
                else:
                    todo.append(parent)
        return tuple(str(v) for v in sorted(found, reverse=True))


def _edge_key(edge: tuple[str, Version, Req]) -> tuple[str, Version, str]:
    return edge[0], edge[1], edge[2].text


def _chain_steps(graph: _Graph, package: str, req: Req | None = None) -> tuple[str, ...]:
    """``("top 1.0", "middle 1.0", "bottom>=0.5")``: each step a version, the last the requirement
    (*req*, when given: the one of *package*'s requirements to follow)."""
    if package in graph.roots and (req is None or graph.roots[package] == req):
        return (graph.roots[package].text,)
    path: list[tuple[str, Version, Req]] = []
    seen = {package}
    node = package
    while node not in graph.roots or (req is not None and not path):
        above = sorted(graph.parents.get(node, ()), key=lambda p: p[1], reverse=True)
        if req is not None and not path:
            above = [p for p in above if p[2] == req] or above
        if not above:
            break
        path.insert(0, above[0])
        node = above[0][0]
        if node in seen:
            break
        seen.add(node)
    if not path:
        return ()
    return (*(f"{p} {v}" for p, v, _ in path), path[-1][2].text)


def root_causes(
    provider: Provider, error: Clause, roots: dict[str, Req],
) -> tuple[tuple[RootCause, ...], frozenset[str], tuple[tuple[str, Any], ...]]:
    """The root causes of a failed resolution, every project the proof involves, and the
    ranges it found no usable version in."""
    leaves = _leaves(error)
    graph = _Graph(provider, leaves, roots)
    involved = frozenset(split_key(t.package)[0] for leaf in leaves for t in leaf.terms if isinstance(t.package, str))
    causes: list[RootCause] = []
    for leaf in leaves:
        cause = _cause(provider, graph, leaf)
        if cause is not None and cause not in causes:
            causes.append(cause)
    if not causes:
        causes = _conflicts(graph, leaves)
    missing = tuple(
        (split_key(str(leaf.terms[0].package))[0], leaf.terms[0].constraint)
        for leaf in leaves
        if leaf.cause in (IncompatibilityCause.NO_VERSIONS, IncompatibilityCause.CONSTRAINT)
    )
    return tuple(causes), involved, missing


def _cause(provider: Provider, graph: _Graph, leaf: Clause) -> RootCause | None:
    if leaf.cause is IncompatibilityCause.DEPENDENCY and id(leaf) in provider.rule_clauses:
        rule = provider.rule_clauses[id(leaf)]
        trigger, other = leaf.terms
        return RootCause(
            str(other.package), Reason.FORBIDDEN, _label(provider, trigger),
            _chain_steps(graph, str(trigger.package)), graph.root_versions(str(trigger.package)), rule=rule,
        )
    if leaf.cause is IncompatibilityCause.CONSTRAINT:
        (term,) = leaf.terms
        return _missing(provider, graph, term, constrained=True)
    if leaf.cause is IncompatibilityCause.NO_VERSIONS:
        (term,) = leaf.terms
        return _missing(provider, graph, term)
    return None


def _label(provider: Provider, term: Term[Any, Version]) -> str:
    """``core 3.0`` for the version the resolver took (else the term's range)."""
    taken = [v for (p, v) in provider.candidates if p == term.package and v in term.constraint]
    return f"{term.package} {max(taken)}" if taken else f"{term.package}{term.constraint}"


def _missing(provider: Provider, graph: _Graph, term: Term[Any, Version], *, constrained: bool = False) -> RootCause | None:
    """No usable version of the term's project in its range: which, and why."""
    package = str(term.package)
    if package == PYTHON:
        return _requires_python(provider, graph, graph.requirement(package))
    if package.startswith(INVALID):
        return _invalid(graph, package)
    name, _ = split_key(package)
    req = graph.requirement(package)
    text = req.text if req is not None else package
    chain, versions = _chain_steps(graph, package), graph.root_versions(package)
    reqs = _requirements_on(graph, package)
    if constrained:
        spec = " and ".join(sorted({r.text for r in reqs}))
        return RootCause(name, Reason.NO_VERSION, text, chain, versions, detail=f"a -c constraint excludes every version {spec} allows")
    pinned = provider.pinned.get(name, ())
    # A root cause only where a requirement by itself admits nothing usable here; otherwise the
    # versions it admits were ruled out by other facts of the proof, which are causes themselves.
    hopeless = [r for r in reqs if next(provider.finder.choose(name, to_range(r.specifier), pinned=pinned), None) is None]
    if reqs and not hopeless:
        return _conflict(graph, package)
    if hopeless:
        text, chain = hopeless[0].text, _chain_steps(graph, package, hopeless[0])
    miss = provider.finder.why_none(name, to_range(hopeless[0].specifier) if hopeless else term.constraint, pinned=pinned)
    return RootCause(name, miss.reason, text, chain, versions, needs=miss.needs)


def _requirements_on(graph: _Graph, package: str) -> list[Req]:
    found = [req for _p, _v, req in graph.parents.get(package, ())]
    if package in graph.roots:
        found.append(graph.roots[package])
    return found


def _requires_python(provider: Provider, graph: _Graph, req: Req | None) -> RootCause:
    parents = graph.parents.get(PYTHON, [])
    parent, version, dep = max(parents, key=lambda p: p[1]) if parents else ("", Version("0"), req)
    spec = dep.text[len("Python"):] if dep is not None else ""
    chain = _chain_steps(graph, parent) if parent else ()
    label = f"{parent} {version}" if parent else "python"
    return RootCause(
        split_key(parent)[0] or "python", Reason.REQUIRES_PYTHON, label,
        chain[:-1] + (label,) if chain and parent not in graph.roots else (label,),
        tuple(str(v) for _p, v, _r in sorted(parents, key=lambda p: p[1], reverse=True)) if parent in graph.roots else graph.root_versions(parent),
        detail=f"Python {provider.target.python_str} is outside Requires-Python {spec}",
        requires_python=spec,
    )


def _invalid(graph: _Graph, package: str) -> RootCause:
    parents = graph.parents.get(package, [])
    if not parents:
        return RootCause(package, Reason.INVALID_METADATA, package)
    parent, version, req = parents[0]
    chain = _chain_steps(graph, parent)
    label = f"{parent} {version}"
    return RootCause(
        split_key(parent)[0], Reason.INVALID_METADATA, label,
        chain[:-1] + (label,) if chain and parent not in graph.roots else (label,),
        (str(version),) if parent in graph.roots else graph.root_versions(parent), detail=req.text,
    )


def _conflicts(graph: _Graph, leaves: list[Clause]) -> list[RootCause]:
    """No version is missing: requirements on some project cannot all hold at once."""
    packages = [str(leaf.terms[-1].package) for leaf in leaves if leaf.cause is IncompatibilityCause.ROOT]
    packages += list(graph.parents)
    causes = (_conflict(graph, p) for p in dict.fromkeys(packages) if not p.startswith("<"))
    return [c for c in causes if c is not None]


def _conflict(graph: _Graph, package: str) -> RootCause | None:
    """The requirements on *package* when no usable version here satisfies them all; ``None``
    when one does (or there are fewer than two)."""
    origins: dict[str, list[str]] = {}
    if package in graph.roots:
        origins.setdefault(graph.roots[package].text, []).append("requested")
    for parent, version, req in graph.parents.get(package, ()):
        origins.setdefault(req.text, []).append(f"from {parent} {version}")
    if len(origins) < 2:
        return None
    name = split_key(package)[0]
    finder = graph.provider.finder
    pinned = graph.provider.pinned.get(name, ())
    reqs = _requirements_on(graph, package)
    together = [v for v in finder.files(name) if all(r.specifier.contains(v, prereleases=True) for r in reqs)]
    if any(not isinstance(finder.pick(name, v, pinned=v in pinned), Miss) for v in together):
        return None  # these requirements agree on a version that installs: not where it breaks
    said = " vs ".join(f"{text} ({', '.join(dict.fromkeys(where))})" for text, where in origins.items())
    return RootCause(name, Reason.CONFLICT, said, (), graph.root_versions(package))

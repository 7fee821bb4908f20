"""Whole ``check`` answers, remembered in the cache and given again while nothing they rest on changed.

A warm matrix spends its time loading pages and resolving 30 cells to the same answer as last time.
The memo keeps the finished :class:`~wheelwise.check.CheckReport` under a digest of *everything the
answer depends on* (:func:`question_key`), with a stamp of every page, folder and local file the
computation read (:mod:`wheelwise.index.stamps`).  An answer is given again only while each stamp
still holds: a cached page row exactly as it was (a refetch or a revalidation changes it) and still
within its TTL (``--offline`` answers from stale pages anyway, so it skips the TTL), a local file or
folder with the same stat signature.  ``--refresh`` never reads a memo; it recomputes and rewrites it.
Metadata rows are keyed by file hash and never change, so they need no stamp.

The stored form is JSON written by :func:`encode` and read back by :func:`decode`: a closed set of
wheelwise's own result dataclasses (named by module and class), the few ``packaging`` types they hold
(rebuilt from their text) and builtin containers.  Nothing from the file is ever called or imported:
a class not on the list, a field missing or extra, a value of another type than the field declares,
a size over :data:`MAX_MEMO_BYTES` are all a miss, never an error.  What is stored holds no secret:
page URLs are stored without credentials, and the key is a digest of index URLs without them.

This module runs on the fast path of a warm CLI run: it imports nothing of the resolver or the
network client, and neither may the classes it rebuilds.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sys
import time
import types
import typing
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence, Set
from importlib import resources
from typing import Any

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import Specifier, SpecifierSet
from packaging.tags import Tag
from packaging.version import Version

from ..cache import Cache
from ..index.stamps import Stamp, body_crc, file_stamp

__all__ = ["MAX_MEMO_BYTES", "decode", "encode", "knowledge_digest", "question_key", "recall", "remember"]

#: the stored form's version: a memo of another is a miss
FORMAT = 2
#: largest stored answer or stamp list read back (bytes)
MAX_MEMO_BYTES = 32 << 20
#: most objects one stored answer may hold (a 30-cell matrix holds a few thousand)
MAX_NODES = 2_000_000
#: most stamps one answer may rest on
MAX_STAMPS = 100_000

#: what a cell, a nearby cell or a successor may be (the renderers look each one up)
VERDICTS = frozenset({"ok", "build", "blocked", "unknown"})

_BY_TEXT: dict[str, type] = {
    "Version": Version, "SpecifierSet": SpecifierSet, "Specifier": Specifier, "Requirement": Requirement,
    "Marker": Marker,
}


class _Miss(Exception):
    """The stored form is not what this wheelwise writes."""


# -- the question -------------------------------------------------------------


def _describe(value: object, depth: int = 0) -> object:
    """A canonical JSON-able form of *value* for the key: every field of a dataclass (by name),
    packaging objects by text, sets sorted."""
    if depth > 50:
        raise ValueError("nested too deep to describe")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"class": type(value).__qualname__,
                **{f.name: _describe(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}}
    if isinstance(value, (Version, SpecifierSet, Specifier, Requirement, Marker, Tag)):
        return [type(value).__name__, str(value)]
    if isinstance(value, Mapping):
        return ["mapping", sorted(([_describe(k, depth + 1), _describe(v, depth + 1)] for k, v in value.items()), key=repr)]
    if isinstance(value, (set, frozenset)):
        return ["set", sorted((_describe(v, depth + 1) for v in value), key=repr)]
    if isinstance(value, (list, tuple)):
        return [_describe(v, depth + 1) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"cannot describe a {type(value).__name__} for the memo key")


def _public(url: str) -> str:
    """*url* as the page cache names it: no userinfo, no query (the client keeps those per request)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment=""))


@functools.cache
def knowledge_digest() -> str:
    """A digest of wheelwise's knowledge data files (rules, replacements, support tables)."""
    digest = hashlib.sha256()
    folder = resources.files("wheelwise.knowledge")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_file() and not entry.name.endswith((".py", ".pyc")):
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.cache
def code_digest() -> str:
    """A digest of the name, size and modification time of every file of this wheelwise: an
    edited checkout answers afresh although its version number did not change."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    entries = []
    folders = [root]
    while folders:
        with os.scandir(folders.pop()) as found:
            for entry in found:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        folders.append(entry.path)
                elif entry.name.endswith((".py", ".toml")):
                    info = entry.stat()
                    entries.append(f"{os.path.relpath(entry.path, root)}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()


def question_key(
    *,
    requirements: Sequence[object],
    constraints: Sequence[object],
    targets: Sequence[object],
    python_bounds: Sequence[object],
    selection: object,
    knowledge: bool,
    nearest: bool,
    max_rounds: int,
    index_urls: Iterable[str],
    find_links: Iterable[str],
) -> str:
    """The digest of everything a check's answer depends on.

    Requirements and constraints with their sources; each target whole (OS version, Python,
    free-threading, properties, spelling); the project's Python bounds; the selection (format
    control, hashes, prefer-binary); knowledge on or off and a digest of its data files;
    nearest on or off; the round limit; the indexes and find-links (without credentials); this
    wheelwise's version, its files (:func:`code_digest`) and the memo's format.
    """
    from .. import __version__  # noqa: PLC0415 - the package imports this module's package

    question = {
        "format": FORMAT,
        "wheelwise": __version__,
        "code": code_digest(),
        "requirements": _describe(list(requirements)),
        "constraints": _describe(list(constraints)),
        "targets": _describe(list(targets)),
        "python_bounds": _describe(list(python_bounds)),
        "selection": _describe(selection),
        "knowledge": knowledge_digest() if knowledge else None,
        "nearest": nearest,
        "max_rounds": max_rounds,
        "index_urls": [_public(u) for u in index_urls],
        "find_links": [_public(u) for u in find_links],
    }
    text = json.dumps(question, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


# -- the stored form ----------------------------------------------------------


@functools.cache
def _classes() -> dict[str, type]:
    """The dataclasses an answer is made of, by ``module:qualname``: the only ones ever rebuilt."""
    from ..index.simple import DistFile  # noqa: PLC0415 - imported when a memo is used
    from ..knowledge import Replacement  # noqa: PLC0415
    from ..knowledge.rules import Exclusion, Forbid, MacOSRange, Needs, Require  # noqa: PLC0415
    from ..properties import Properties  # noqa: PLC0415
    from ..requirements import PythonBound, SourcedRequirement  # noqa: PLC0415
    from ..resolve.model import Candidate, Held  # noqa: PLC0415
    from ..target import Target  # noqa: PLC0415
    from . import BuildItem, Cell, CheckReport, Unmet, VariantChoice  # noqa: PLC0415
    from .blockers import Blocker  # noqa: PLC0415
    from .nearest import Nearby  # noqa: PLC0415
    from .successors import Successor  # noqa: PLC0415

    found: list[type] = [
        CheckReport, Cell, BuildItem, Unmet, VariantChoice, Blocker, Nearby, Successor, Target, Properties, DistFile,
        Candidate, Held, SourcedRequirement, PythonBound, Replacement, Require, Forbid, Needs, MacOSRange, Exclusion,
    ]
    return {f"{c.__module__}:{c.__qualname__}": c for c in found}


@functools.cache
def _hints(cls: type) -> dict[str, object]:
    """Each field's declared type, resolved (a name that does not resolve: any value)."""
    names: dict[str, object] = {c.__name__: c for c in _classes().values()}
    names |= _BY_TEXT | {"Tag": Tag}
    hints: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        for name, text in getattr(klass, "__annotations__", {}).items():
            try:
                hints[name] = eval(text, vars(sys.modules[klass.__module__]), names) if isinstance(text, str) else text  # noqa: S307 - our own source's annotations, never the file's
            except Exception:  # noqa: BLE001 - a name only type checkers see
                hints[name] = Any
    return hints


def encode(report: object) -> bytes:
    """The stored form of *report*; :class:`TypeError` for anything outside the closed set."""
    # each class's fields looked up once (``dataclasses.fields`` per value was a tenth of
    # the time the cold matrix spent remembering its answer)
    classes = {c: (name, tuple(f.name for f in dataclasses.fields(c))) for name, c in _classes().items()}

    def walk(value: object) -> object:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        kind = type(value)
        if kind in classes:
            name, names = classes[kind]
            return {"C": name, "v": {field: walk(getattr(value, field)) for field in names}}
        if kind in _BY_TEXT.values():
            return {"P": kind.__name__, "v": str(value)}
        if kind is Tag:
            assert isinstance(value, Tag)
            return {"G": [value.interpreter, value.abi, value.platform]}
        if kind is list:
            return {"L": [walk(v) for v in value]}  # type: ignore[attr-defined]
        if kind is tuple:
            return {"T": [walk(v) for v in value]}  # type: ignore[attr-defined]
        if kind in (set, frozenset):
            return {"S" if kind is set else "F": [walk(v) for v in value]}  # type: ignore[attr-defined]
        if kind in (dict, types.MappingProxyType):
            pairs = [[walk(k), walk(v)] for k, v in value.items()]  # type: ignore[attr-defined]
            return {"D" if kind is dict else "M": pairs}
        raise TypeError(f"a {kind.__module__}.{kind.__qualname__} is not part of a remembered answer")

    return json.dumps({"format": FORMAT, "report": walk(report)}, separators=(",", ":"), allow_nan=False).encode()


def decode(blob: bytes) -> Any:
    """The answer in *blob*; :class:`_Miss` for anything :func:`encode` does not write."""
    if len(blob) > MAX_MEMO_BYTES:
        raise _Miss("too big")
    try:
        document = json.loads(blob)
    except (ValueError, RecursionError) as exc:
        raise _Miss("not JSON") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT or set(document) != {"format", "report"}:
        raise _Miss("another format")
    classes = _classes()
    count = 0

    def walk(item: object) -> object:
        nonlocal count
        count += 1
        if count > MAX_NODES:
            raise _Miss("too many objects")
        if item is None or isinstance(item, (bool, int, float, str)):
            return item
        if not isinstance(item, dict) or not item:
            raise _Miss("a bare list or object")
        tag = next(iter(item))
        body = item[tag]
        if tag == "C" and set(item) == {"C", "v"}:
            return _rebuild(classes, body, item["v"], walk)
        if tag == "P" and set(item) == {"P", "v"} and isinstance(item["v"], str) and body in _BY_TEXT:
            return _BY_TEXT[body](item["v"])
        if len(item) != 1 or not isinstance(body, list):
            raise _Miss(f"unknown entry {tag!r}")
        if tag == "G" and len(body) == 3 and all(isinstance(p, str) for p in body):
            return Tag(*body)
        values = [walk(v) for v in body] if tag in "LTSF" else None
        if tag == "L":
            return values
        if tag == "T":
            return tuple(values or ())
        if tag in "SF":
            return (set if tag == "S" else frozenset)(values or ())
        if tag in "DM":
            pairs = {}
            for pair in body:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise _Miss("a mapping entry is not a pair")
                pairs[walk(pair[0])] = walk(pair[1])
            return pairs if tag == "D" else types.MappingProxyType(pairs)
        raise _Miss(f"unknown entry {tag!r}")

    try:
        return walk(document["report"])
    except _Miss:
        raise
    except (TypeError, ValueError, RecursionError) as exc:  # a packaging text that does not parse, an unhashable key
        raise _Miss(str(exc)) from exc


def _rebuild(classes: Mapping[str, type], name: object, values: object, walk: typing.Callable[[object], object]) -> object:
    """An instance of an allowed dataclass with exactly its fields, each of its declared type;
    no ``__init__`` runs (nothing of the file is called)."""
    cls = classes.get(name) if isinstance(name, str) else None
    if cls is None or not isinstance(values, dict):
        raise _Miss(f"{name!r} is not part of a remembered answer")
    fields = {f.name for f in dataclasses.fields(cls)}
    if set(values) != fields:
        raise _Miss(f"{name}: other fields")
    hints = _hints(cls)
    made: object = object.__new__(cls)
    for field, raw in values.items():
        value = walk(raw)
        if not _conforms(value, hints.get(field, Any)):
            raise _Miss(f"{name}.{field}: a value of another type")
        object.__setattr__(made, field, value)
    return made


#: what each container type of an annotation may be, as stored
_CONTAINERS: dict[object, tuple[type, ...]] = {
    list: (list,), tuple: (tuple,), set: (set,), frozenset: (frozenset,), dict: (dict,),
    Mapping: (dict, types.MappingProxyType), Sequence: (list, tuple), Set: (set, frozenset),
}


def _conforms(value: object, hint: object) -> bool:
    """Whether *value* is of the declared type *hint* (containers checked item by item)."""
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin is None:
        if not isinstance(hint, type):
            return True  # a TypeVar, a protocol: not part of results
        if hint is float:
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if hint is int and isinstance(value, bool):
            return False
        return isinstance(value, hint)
    if origin is typing.ClassVar:
        return True
    kinds = _CONTAINERS.get(origin)
    if kinds is None or not isinstance(value, kinds):
        return False
    if isinstance(value, (dict, types.MappingProxyType)):
        key, item = args if len(args) == 2 else (Any, Any)
        return all(_conforms(k, key) and _conforms(v, item) for k, v in value.items())
    assert isinstance(value, (list, tuple, set, frozenset))
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        return len(value) == len(args) and all(_conforms(v, a) for v, a in zip(value, args, strict=True))
    item = args[0] if args else Any
    return all(_conforms(v, item) for v in value)


# -- in the cache -------------------------------------------------------------


def _stamps_hold(cache: Cache, stamps: object, *, ttl: float, offline: bool, now: float) -> bool:
    """Whether every page, folder and file the answer was computed from is still as it was."""
    if not isinstance(stamps, list) or len(stamps) > MAX_STAMPS:
        return False
    for stamp in stamps:
        if not isinstance(stamp, list) or not stamp or not isinstance(stamp[1] if len(stamp) > 1 else None, str):
            return False
        kind, where = stamp[0], stamp[1]
        if kind == "page" and len(stamp) == 7:
            row = cache.page_row(where)
            if row is None or [*row[:4], body_crc(row[4])] != stamp[2:]:
                return False
            if not offline and not 0 <= now - row[0] < ttl:
                return False
        elif kind == "file" and len(stamp) == 5:
            if list(file_stamp(where)) != stamp:
                return False
        else:  # "uncached" is never stored; anything else is not ours
            return False
    return True


def recall(cache: Cache, key: str, *, ttl: float, offline: bool = False) -> Any:
    """The answer remembered under *key* if every stamp still holds, else ``None`` (also for a
    row that is missing, too big, damaged or planted: a miss, never an error)."""
    found = cache.get_memo(key, MAX_MEMO_BYTES)
    if found is None:
        return None
    text, blob = found
    try:
        stamps = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not _stamps_hold(cache, stamps, ttl=ttl, offline=offline, now=time.time()):
        return None
    try:
        report = decode(blob)
    except _Miss:
        return None
    from . import CheckReport  # noqa: PLC0415 - see _classes

    if not isinstance(report, CheckReport):
        return None
    verdicts = [v for c in report.cells for v in (c.verdict, *(n.verdict for n in c.nearest),
                                                  *(s.verdict for s in c.replacements))]
    if not VERDICTS.issuperset(verdicts):
        return None
    try:
        report.to_dict()  # every value the renderers read is there and of its type
    except Exception:  # noqa: BLE001 - a planted row that passed the type checks: still only a miss
        return None
    return report


def remember(cache: Cache, key: str, report: object, stamps: Sequence[Stamp]) -> bool:
    """Store *report* under *key* with what it was computed from; ``False`` when it cannot be
    (it rests on something no stamp can vouch for, or holds a value outside the stored form)."""
    if any(s[0] not in ("page", "file") for s in stamps) or len(stamps) > MAX_STAMPS:
        return False
    try:
        blob = encode(report)
    except (TypeError, ValueError, RecursionError):
        return False
    text = json.dumps(sorted(stamps, key=repr), separators=(",", ":"))
    if len(blob) > MAX_MEMO_BYTES or len(text) > MAX_MEMO_BYTES:
        return False
    cache.put_memo(key, text, blob)
    return True

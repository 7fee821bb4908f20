"""Property tests (hypothesis) over everything that reads what strangers or users wrote.

The property, everywhere: a value, or the project's typed error, never anything else
(which the CLI would turn into exit 70).  For the pure page parsers the typed error is
``SimpleParseError`` (the index wraps it into an ``IndexFetchError``, exit 3); for the
archive readers ``MetadataError``; for requirements and facts ``BadInputError`` (exit 2).

Budget: the ``ci`` profile (default) runs a fixed, derandomised set of examples in a
few seconds; ``HYPOTHESIS_PROFILE=long`` runs many more, random each time:
``HYPOTHESIS_PROFILE=long python -m pytest tests/test_fuzz.py``.  A crash found
becomes a regression test (the ``@example`` lines and ``test_regression_*`` below).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
from helpers.bombs import Member, make_zip
from helpers.wheels import make_metadata, make_sdist, make_wheel
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from wheelwise.doctor import diagnose
from wheelwise.errors import MetadataError, WheelwiseError
from wheelwise.facts import load_facts
from wheelwise.index import Fetcher
from wheelwise.index.metadata import fetch_metadata
from wheelwise.index.simple import (
    _CHECK,
    DistFile,
    ProjectPage,
    SimpleParseError,
    _Fields,
    _Joiner,
    _json_file,
    _plain_json_file,
    _quick_json_page,
    parse_html,
    parse_json,
)
from wheelwise.knowledge import load as load_knowledge
from wheelwise.requirements import read_project, read_requirements

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=5000, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FUZZ = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
PAGE_URL = "https://index.invalid/simple/demo/"
SCRATCH = Path(tempfile.mkdtemp(prefix="wheelwise-fuzz-"))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


# -- pages ----------------------------------------------------------------------


def _parsed_page(parse: Any, *args: Any) -> None:
    try:
        files = parse(*args)
    except SimpleParseError:
        return
    for f in files:
        assert isinstance(f, DistFile) and isinstance(f.filename, str) and isinstance(f.url, str)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in f.hashes.items())
        assert f.requires_python is None or isinstance(f.requires_python, str)
        assert f.yanked is None or isinstance(f.yanked, str)
        assert f.size is None or (isinstance(f.size, int) and f.size >= 0)


GOOD_FILE = {"filename": "demo-1.0-py3-none-any.whl", "url": "../../files/demo-1.0-py3-none-any.whl",
             "hashes": {"sha256": "ab"}, "requires-python": ">=3.8", "yanked": False,
             "core-metadata": {"sha256": "cd"}, "size": 10}
FILE_KEYS = [*GOOD_FILE, "dist-info-metadata", "upload-time", "gpg-sig"]


@FUZZ
@given(key=st.sampled_from(FILE_KEYS), value=json_values, name=st.sampled_from([None, "demo", "other"]))
@example(key="hashes", value="abc", name="demo")
@example(key="url", value="http://[::1/x.whl", name=None)
@example(key="size", value=True, name=None)
def test_json_page_with_one_field_of_any_value(key: str, value: object, name: str | None) -> None:
    page = {"meta": {"api-version": "1.1"}, "name": "demo", "files": [{**GOOD_FILE, key: value}]}
    _parsed_page(parse_json, json.dumps(page), PAGE_URL, name)


PLAIN_FILE = {**GOOD_FILE, "url": "https://files.invalid/demo-1.0-py3-none-any.whl", "core-metadata": True,
              "upload-time": "2020-01-01T00:00:00Z"}


@FUZZ
@given(key=st.sampled_from(FILE_KEYS), value=json_values, name=st.sampled_from([None, "demo", "other"]))
@example(key="yanked", value="", name=None)
@example(key="yanked", value=True, name=None)
@example(key="url", value="https://files.invalid/a/../demo-1.0.tar.gz", name=None)
@example(key="url", value="https://files.invalid/demo-1.0.tar.gz#sha256=ef", name=None)
@example(key="hashes", value={}, name="demo")
@example(key="size", value=0, name=None)
def test_the_quick_json_entry_reader_agrees_with_the_checked_one(key: str, value: object, name: str | None) -> None:
    # the usual entry skips the field-by-field checks: where it answers, it must answer alike
    raw = {**PLAIN_FILE, key: value}
    wanted = canonicalize_name(name) if name else None
    quick = _plain_json_file(raw, wanted)
    if quick is _CHECK:
        return
    assert quick == _json_file(_Fields(raw, "files[0]"), _Joiner(PAGE_URL), wanted)


#: values of the PEP's types for each field (drawn half the time, so most pages are usual ones)
USUAL_VALUES: dict[str, list[object]] = {
    "filename": ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz", "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl"],
    "url": ["https://files.invalid/a/demo-1.0-py3-none-any.whl", "http://files.invalid/demo-1.0-py3-none-any.whl",
            "https://files.invalid/download/1/"],
    "hashes": [{"sha256": "ab"}, {}, {"sha256": "ab", "md5": "cd"}, None],
    "requires-python": [">=3.8", "", None],
    "yanked": [True, False, "", "broken", None],
    "core-metadata": [True, False, {"sha256": "cd"}, None],
    "dist-info-metadata": [True, False, {"sha256": "cd"}, None],
    "size": [0, 10, None],
    "upload-time": ["2020-01-01T00:00:00Z", None],
    "gpg-sig": [True, False],
}


@FUZZ
@given(key=st.sampled_from(FILE_KEYS), data=st.data(), second=st.sampled_from(["demo-2.0.tar.gz", "other-1.0.tar.gz", "demo-1.0-variants.json"]))
def test_a_usual_json_page_kept_as_rows_equals_the_checked_reading(key: str, data: st.DataObject, second: str) -> None:
    # pages whose entries are all usual are grouped straight from the JSON: the same page as
    # the checked reader makes, file for file (an unusual page is the checked reader's alone)
    value = data.draw(st.sampled_from(USUAL_VALUES[key]) | json_values)
    other = {"filename": second, "url": f"https://files.invalid/x/{second}", "hashes": {"sha256": "00", "md5": "11"}}
    text = json.dumps({"meta": {"api-version": "1.1"}, "files": [{**PLAIN_FILE, key: value}, other]})
    quick = _quick_json_page(json.loads(text), PAGE_URL, "demo")
    assume(quick is not None)
    assert quick is not None and quick == ProjectPage(canonicalize_name("demo"), PAGE_URL, parse_json(text, PAGE_URL, "demo"))
    assert ProjectPage.from_json(quick.to_json()) == quick


@FUZZ
@given(document=json_values)
@example(document={"meta": {"api-version": "1.0"}, "files": None})
@example(document={"meta": {"api-version": 1}, "files": []})
def test_json_page_of_any_document(document: object) -> None:
    _parsed_page(parse_json, json.dumps(document), PAGE_URL, None)


@FUZZ
@given(text=st.text(max_size=200))
@example(text='{"meta": {"api-version": "1.0"}, "files": [' + "[" * 5000 + "]" * 5000 + "]}")
@example(text="[" * 100_000)
def test_json_page_of_any_text(text: str) -> None:
    _parsed_page(parse_json, text, PAGE_URL, None)


HTML_PIECES = ["<a ", "<A HREF=", "href=", '"', "'", ">", "</a>", "<base href=", " data-yanked", " data-yanked=",
               " data-core-metadata=", " data-dist-info-metadata=", " data-requires-python=", "<!--", "-->",
               "<![CDATA[", "<![if x]>", "<!DOCTYPE html>", "<script>", "</script>", "<title>", "</title>", "&amp;",
               "&#x", "&#", ";", "demo-1.0.tar.gz", "demo-1.0-py3-none-any.whl", "#sha256=", "http://[", "../",
               "/", "?", "%", "%zz", " ", "\n", "=", "true", "sha256=ab", "file:///etc/", "<", "/>", "\x00"]


@FUZZ
@given(pieces=st.lists(st.sampled_from(HTML_PIECES) | st.text(max_size=6), max_size=40), fast=st.booleans(),
       name=st.sampled_from([None, "demo"]))
@example(pieces=['<a href="http://[::1/demo-1.0.tar.gz">'], fast=True, name=None)
@example(pieces=["<![if x]>"], fast=False, name=None)
@example(pieces=["<base href=", "http://[", ">"], fast=False, name=None)  # found: urljoin's ValueError escaped
def test_html_page_of_any_markup(pieces: list[str], fast: bool, name: str | None) -> None:
    _parsed_page(lambda *a: parse_html(*a, fast=fast), "".join(pieces), PAGE_URL, name)


# -- archives -------------------------------------------------------------------


def _read_archive(filename: str, data: bytes) -> None:
    """Metadata of a local file holding *data*: a value or MetadataError."""
    path = SCRATCH / filename
    path.write_bytes(data)
    file = DistFile(filename=filename, url=path.as_uri())
    try:
        got = fetch_metadata(FETCHER, file)  # a file: URL, read from disk, no network
    except MetadataError:
        return
    assert got.metadata.name == "demo"


FETCHER = Fetcher()


WHEEL = make_wheel("demo", "1.0", metadata=make_metadata("demo", "1.0", requires_dist=["six"]))


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, len(WHEEL) - 1), st.integers(0, 255)), max_size=8),
       keep=st.integers(0, len(WHEEL)), tail=st.booleans())
def test_mutated_wheels(edits: list[tuple[int, int]], keep: int, tail: bool) -> None:
    data = bytearray(WHEEL)
    for at, byte in edits:
        # half of the edits hit the last 150 bytes: the directory and its end records
        data[len(data) - 1 - at % 150 if tail else at] = byte
    _read_archive("demo-1.0-py3-none-any.whl", bytes(data[:keep] if keep > len(data) // 2 else data))


members = st.builds(
    Member,
    name=st.sampled_from(["demo-1.0.dist-info/METADATA", "other-1.0.dist-info/METADATA", "demo/x.py", "a/b/c"]),
    data=st.binary(max_size=64),
    method=st.sampled_from([0, 8, 12, 14, 9, 93, 99]),
    size=st.none() | st.integers(0, 2**32 - 1),
    crc=st.none() | st.integers(0, 2**32 - 1),
    flags=st.integers(0, 0xFFFF),
)


@FUZZ
@given(entries=st.lists(members, max_size=4), zip64=st.booleans(), sdist=st.booleans())
def test_zips_of_lying_members(entries: list[Member], zip64: bool, sdist: bool) -> None:
    if sdist:
        for m in entries:
            m.name = m.name.replace(".dist-info/METADATA", "/PKG-INFO")
    _read_archive("demo-1.0.zip" if sdist else "demo-1.0-py3-none-any.whl", make_zip(entries, zip64=zip64))


tar_members = st.tuples(
    st.sampled_from(["demo-1.0/PKG-INFO", "other-1.0/PKG-INFO", "demo-1.0/x.so", "demo-1.0/x.c", "PKG-INFO"]),
    st.sampled_from([tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE, tarfile.FIFOTYPE,
                     tarfile.CHRTYPE, b"x"]),
    st.binary(max_size=64) | st.just(make_metadata("demo", "1.0")),
    st.sampled_from(["", "PKG-INFO", "demo-1.0/PKG-INFO", "../../etc/passwd", "/dev/zero"]),
)


@FUZZ
@given(entries=st.lists(tar_members, max_size=4), edits=st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)),
       max_size=4), compress=st.booleans())
def test_tars_of_any_members(entries: list[tuple[str, bytes, bytes, str]], edits: list[tuple[int, int]],
                             compress: bool) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, kind, data, link in entries:
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.size = kind, link, len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    data = bytearray(raw.getvalue())
    for at, byte in edits:
        data[at % len(data)] = byte
    _read_archive("demo-1.0.tar.gz" if compress else "demo-1.0.tar", gzip.compress(bytes(data)) if compress else bytes(data))


@FUZZ
@given(tail=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
@example(tail=b"\nRequires-Dist: \xff\xfe")
@example(tail=b"Name: other\n")
def test_any_pkg_info(tail: bytes) -> None:
    _read_archive("demo-1.0.tar.gz", make_sdist("demo", "1.0", files={"PKG-INFO": b"Metadata-Version: 2.2\n" + tail}))


# -- requirements files, pyproject.toml, facts ------------------------------------

REQ_PIECES = ["-r ", "-c ", "--index-url ", "-i ", "--extra-index-url ", "-e ", "--hash=sha256:ab", "-f ",
              "--find-links=", "--no-index", "--pre", "demo", "Demo_X", "[", "]", "extra", ">=1", "==1.*", "~=",
              "!=", ";", " python_version", "<", "'3.8'", " and ", "\\\n", "#", " ", "\n", "${HOME}", "${NOPE}",
              "@ ", "file:", "http://", ",", ".", "-", "--", "=", "nope.txt", "\t", "\r\n", "\x00"]


@FUZZ
@given(pieces=st.lists(st.sampled_from(REQ_PIECES) | st.text(max_size=5), max_size=30),
       encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_requirements_file_of_any_text(pieces: list[str], encoding: str) -> None:
    path = SCRATCH / "requirements.txt"
    path.write_bytes("".join(pieces).encode(encoding, "replace"))
    try:
        read_requirements(path, environ={"HOME": "/home/someone"})
    except WheelwiseError as exc:
        assert exc.exit_code == 2


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"
    return repr(value)


toml_values = st.recursive(
    st.booleans() | st.integers(-(2**40), 2**40) | st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]),
                                                           max_size=12) | st.sampled_from(["demo>=1", "x; y"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text("abcdemo", max_size=5), inner, max_size=3),
    max_leaves=8,
)


@FUZZ
@given(key=st.sampled_from(["dependencies", "optional-dependencies", "dynamic", "name"]), value=toml_values,
       extras=st.lists(st.sampled_from(["gpu", "demo", ""]), max_size=2))
@example(key="dependencies", value="demo", extras=[])
@example(key="dependencies", value=False, extras=[])  # TypeError: 'bool' object is not iterable
@example(key="dynamic", value=False, extras=[])  # TypeError: argument of type 'bool' is not iterable
@example(key="optional-dependencies", value=["gpu"], extras=["gpu"])  # AttributeError: 'list' ... 'items'
@example(key="optional-dependencies", value={"gpu": "demo"}, extras=["gpu"])
@example(key="dynamic", value="dependencies", extras=[])
def test_pyproject_with_any_field(key: str, value: object, extras: list[str]) -> None:
    folder = SCRATCH / "project"
    folder.mkdir(exist_ok=True)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "x"\n{key} = {_toml(value)}\n')
    try:
        found = read_project(folder, extras)
    except WheelwiseError as exc:
        assert exc.exit_code == 2
        return
    assert all(isinstance(r.name, str) for r in found.requirements)
    if key == "dependencies" and isinstance(value, str):
        raise AssertionError("a string of dependencies was read as requirements")  # d, e, m, o


FACTS = sorted((Path(__file__).parent / "data" / "facts").glob("*.json"))
KNOWLEDGE = load_knowledge()


def _paths(node: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(node, dict):
        return [prefix] + [p for k, v in node.items() for p in _paths(v, (*prefix, k))]
    return [prefix]


def _diagnose_with(facts: Path, path: tuple[str, ...], value: object) -> None:
    data = json.loads(facts.read_text())
    *parents, leaf = path
    node = data
    for key in parents:
        node = node[key]
    node[leaf] = value
    written = SCRATCH / "facts.json"
    written.write_text(json.dumps(data))
    try:
        diagnose(load_facts(str(written)), KNOWLEDGE)
    except WheelwiseError as exc:
        assert exc.exit_code == 2


@FUZZ
@given(which=st.integers(0, len(FACTS) - 1), pick=st.integers(0, 10_000), value=json_values)
def test_facts_with_one_field_of_any_value(which: int, pick: int, value: object) -> None:
    paths = [p for p in _paths(json.loads(FACTS[which].read_text())) if p]
    _diagnose_with(FACTS[which], paths[pick % len(paths)], value)


#: crashes the long profile found (doctor.py / facts.py read fields without checking their type)
FACTS_CRASHES = [
    ("m1pro-native-tf-metal.json", ("interpreter", "build_archs"), [1]),  # TypeError: sequence item 0
    ("m1pro-x86-extension.json", ("extensions",), 5),  # TypeError: 'int' object is not iterable
    ("m1pro-x86-extension.json", ("extensions",), [None]),  # AttributeError: 'NoneType' ... 'get'
    ("linux-cpu-only.json", ("errors",), [None]),  # AttributeError
    ("linux-cpu-only.json", ("distributions",), {"a": {}}),  # AttributeError: 'str' ... 'get'
    ("intel-mac.json", ("tags",), [1]),  # AttributeError: 'list' ... 'get'
    ("m1pro-rosetta.json", ("tags", "first"), {"a": 1}),  # KeyError: 0
    ("linux-nvidia-cuda-torch.json", ("accelerators", "nvidia", "gpus"), [None]),  # AttributeError
    ("linux-nvidia-cuda-torch.json", ("hardware", "cpu_features"), [1]),  # AttributeError: 'list' ... 'items'
    ("linux-nvidia-cuda-torch.json", ("frameworks", "torch"), [1]),  # AttributeError: 'list' ... 'get'
]


@pytest.mark.parametrize(("name", "path", "value"), FACTS_CRASHES)
def test_regression_facts_field(name: str, path: tuple[str, ...], value: object) -> None:
    _diagnose_with(Path(__file__).parent / "data" / "facts" / name, path, value)


@pytest.mark.parametrize("data", [b"\xff\xfe{", "{}".encode("utf-16")])
def test_facts_file_not_utf8(data: bytes) -> None:
    path = SCRATCH / "facts.json"
    path.write_bytes(data)
    with pytest.raises(WheelwiseError):
        load_facts(str(path))


# -- version ranges ---------------------------------------------------------------

_VERSIONS = st.sampled_from(["0.9", "1.0", "1.0rc1", "1.5", "2.0", "2.0.post1", "3.0"])
_SPECIFIERS = st.builds(lambda op, v: f"{op}{v}", st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "~="]), _VERSIONS)


@st.composite
def _ranges(draw: st.DrawFn) -> object:
    """Unions of intersections of specifiers (a resolver's terms: many holes and pieces)."""
    from packaging.specifiers import SpecifierSet

    from wheelwise.resolve.ranges import Versions, to_range

    found = Versions.empty()
    for _ in range(draw(st.integers(0, 4))):
        found = found | to_range(SpecifierSet(",".join(draw(st.lists(_SPECIFIERS, max_size=3)))))
    return ~found if draw(st.booleans()) else found


@FUZZ
@given(a=_ranges(), b=_ranges())
def test_a_range_relation_is_subset_and_disjoint_as_packaging_says(a: Any, b: Any) -> None:
    # the relation is taken from one intersection and remembered per pair: the same answer twice
    from nab_resolver.types import RangeRelation

    expected = {(True, True): RangeRelation.EMPTY, (True, False): RangeRelation.SUBSET,
                (False, True): RangeRelation.DISJOINT, (False, False): RangeRelation.OVERLAPPING}[
        (a.inner.is_subset(b.inner), a.inner.is_disjoint(b.inner))]
    assert a.relation(b) == expected
    assert a.relation(b) == expected

from __future__ import annotations

import json

import pytest
from helpers.indexserver import IndexServer, ServedFile, load_recorded
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from wheelwise.index.simple import (
    DistFile,
    ProjectPage,
    SimpleParseError,
    _fast_tags,
    _quick_json_page,
    merge_pages,
    parse_filename,
    parse_html,
    parse_json,
    parse_page,
)

PAGE = "https://example.invalid/simple/demo/"


class TestParseHtml:
    def test_reads_hashes_requires_python_yanked_and_metadata(self) -> None:
        text = """<!DOCTYPE html><html><body>
        <a href="../../files/demo-1.0-py3-none-any.whl#sha256=abc" data-requires-python="&gt;=3.8"
           data-core-metadata="sha256=def">demo-1.0-py3-none-any.whl</a>
        <a href="../../files/demo-0.9.tar.gz#sha256=123" data-yanked="broken build">demo-0.9.tar.gz</a>
        <a href="../../files/demo-0.8.tar.gz" data-yanked>demo-0.8.tar.gz</a>
        <a href="../../files/demo-0.7-py3-none-any.whl" data-dist-info-metadata="true">x</a>
        </body></html>"""
        files = {f.filename: f for f in parse_html(text, PAGE, "demo")}
        wheel = files["demo-1.0-py3-none-any.whl"]
        assert wheel.url == "https://example.invalid/files/demo-1.0-py3-none-any.whl"
        assert wheel.hashes == {"sha256": "abc"}
        assert wheel.requires_python == ">=3.8"
        assert wheel.core_metadata == {"sha256": "def"}
        assert wheel.yanked is None
        assert files["demo-0.9.tar.gz"].yanked == "broken build"
        assert files["demo-0.8.tar.gz"].yanked == ""
        assert files["demo-0.7-py3-none-any.whl"].core_metadata is True
        assert files["demo-0.8.tar.gz"].core_metadata is False

    def test_base_href_and_foreign_projects(self) -> None:
        text = (
            '<html><head><base href="https://mirror.invalid/pkgs/"></head><body>'
            '<a href="demo-2.0.tar.gz">a</a><a href="other-1.0.tar.gz">b</a>'
            '<a href="notes.txt">c</a></body></html>'
        )
        files = parse_html(text, PAGE, "Demo")
        assert [f.url for f in files] == ["https://mirror.invalid/pkgs/demo-2.0.tar.gz"]
        assert len(parse_html(text, PAGE)) == 2  # find-links pages keep every project

    def test_name_is_normalised_as_pep_503_says(self) -> None:
        text = '<a href="/f/Foo_Bar-1.0-py3-none-any.whl">x</a><a href="/f/foo.bar-2.0.tar.gz">y</a>'
        assert [str(f.version) for f in parse_html(text, PAGE, "FOO-bar")] == ["1.0", "2.0"]

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("this is not html at all", id="no-markup"),
            pytest.param('<html><body><a href="demo-1.0.tar.gz">demo</a><a href="demo-', id="cut-inside-tag"),
        ],
    )
    def test_malformed_pages_are_errors(self, text: str) -> None:
        with pytest.raises(SimpleParseError):
            parse_html(text, PAGE, "demo")


class TestParseJson:
    def test_reads_every_field(self) -> None:
        doc = {
            "meta": {"api-version": "1.1"},
            "name": "demo",
            "files": [
                {
                    "filename": "demo-1.0-cp312-cp312-macosx_12_0_arm64.whl",
                    "url": "../../files/demo-1.0-cp312-cp312-macosx_12_0_arm64.whl",
                    "hashes": {"sha256": "aa"},
                    "requires-python": ">=3.9",
                    "core-metadata": {"sha256": "bb"},
                    "yanked": "bad",
                    "size": 10,
                    "upload-time": "2025-01-31T00:00:00Z",
                },
                {"filename": "demo-0.1.tar.gz", "url": "https://x.invalid/demo-0.1.tar.gz", "hashes": {},
                 "dist-info-metadata": True, "yanked": True},
            ],
        }
        first, second = parse_json(json.dumps(doc), PAGE, "demo")
        assert first.url == "https://example.invalid/files/demo-1.0-cp312-cp312-macosx_12_0_arm64.whl"
        assert (first.requires_python, first.yanked, first.size) == (">=3.9", "bad", 10)
        assert first.core_metadata == {"sha256": "bb"}
        assert {str(t) for t in first.tags} == {"cp312-cp312-macosx_12_0_arm64"}
        assert second.yanked == "" and second.core_metadata is True

    @pytest.mark.parametrize(
        "text",
        [
            pytest.param("{not json", id="syntax"),
            pytest.param('{"meta": {"api-version": "1.0"}}', id="no-files"),
            pytest.param('{"meta": {"api-version": "2.0"}, "files": []}', id="future-major-version"),
            pytest.param('{"meta": {"api-version": "1.0"}, "files": [{"url": "x"}]}', id="entry-without-filename"),
        ],
    )
    def test_malformed_documents_are_errors(self, text: str) -> None:
        with pytest.raises(SimpleParseError):
            parse_json(text, PAGE, "demo")


def test_parse_page_dispatches_on_content_type_and_round_trips() -> None:
    html_page = parse_page('<a href="demo-1.0.tar.gz#sha256=00">x</a>', "text/html; charset=utf-8", PAGE, "demo")
    json_page = parse_page(
        '{"meta": {"api-version": "1.0"}, "files": [{"filename": "demo-1.0.tar.gz", "url": "demo-1.0.tar.gz", "hashes": {"sha256": "00"}}]}',
        "application/vnd.pypi.simple.v1+json",
        PAGE,
        "demo",
    )
    assert html_page.files == json_page.files
    assert ProjectPage.from_json(html_page.to_json()) == html_page


def test_merge_keeps_first_listing_of_each_file() -> None:
    a = parse_page('<a href="https://a.invalid/demo-1.0.tar.gz">x</a>', "text/html", PAGE, "demo")
    b = parse_page('<a href="https://b.invalid/demo-1.0.tar.gz">x</a><a href="https://b.invalid/demo-2.0.tar.gz">y</a>', "text/html", PAGE, "demo")
    merged = merge_pages("demo", [a, b])
    assert {f.url for f in merged.files} == {"https://a.invalid/demo-1.0.tar.gz", "https://b.invalid/demo-2.0.tar.gz"}
    assert [str(v) for v in merged.versions()] == ["2.0", "1.0"]


class TestFastHtmlReading:
    """Plain pages are read with regular expressions; the result must be html.parser's, file for file."""

    PLAIN = [
        pytest.param('<a href="/f/demo-1.0.tar.gz">x</a>', id="minimal"),
        pytest.param('<A HREF="/f/demo-1.0.tar.gz" Data-Yanked>x</A>', id="upper-case-tag-and-names"),
        pytest.param("<a href='/f/demo-1.0.tar.gz' data-requires-python='>=3.9'>x</a>", id="single-quotes-raw-gt"),
        pytest.param('<a href=/f/demo-1.0.tar.gz data-yanked=old>x</a>', id="unquoted"),
        pytest.param('<a\n  href="/f/demo-1.0.tar.gz"\n  data-requires-python="&gt;=3.8,&lt;4"\n>x</a>', id="newlines-entities"),
        pytest.param('<a href="/f/demo-1.0.tar.gz" href="/g/demo-1.0.tar.gz">x</a>', id="duplicate-attribute"),
        pytest.param('<a href="/f/demo-1.0.tar.gz" data-yanked="">x</a><a href="/f/demo-1.1.tar.gz"/>', id="empty-and-self-closing"),
        pytest.param('<html><head><base href="https://m.invalid/p/"></head><a href="demo-2.0.tar.gz">a</a>', id="base"),
        pytest.param('<a href="https://h.invalid/x/../f/demo-1.0.tar.gz#sha256=ab&amp;md5=cd">x</a>', id="dot-segments-fragment"),
        pytest.param('<a href="../../f/demo%2B1-1.0.tar.gz">x</a><a href="./demo-1.0-py3-none-any.whl?x=1">y</a>', id="quoted-query"),
        pytest.param('<abbr>a</abbr><a href="/f/demo-1.0.tar.gz" data-dist-info-metadata="true">x</a>', id="other-tags"),
        pytest.param('<html><head><title>Links for demo</title></head><body><h1>Links for demo</h1>\n'
                     '<a href="/f/demo-1.0.tar.gz#sha256=00">demo-1.0.tar.gz</a><br/>\n</body></html>', id="pep-503-page"),
    ]
    UNSURE = [
        pytest.param('<!-- <a href="/f/demo-0.1.tar.gz"> --><a href="/f/demo-1.0.tar.gz">x</a>', id="comment"),
        pytest.param('<script>"<a href=\'/f/demo-0.1.tar.gz\'>"</script><a href="/f/demo-1.0.tar.gz">x</a>', id="script"),
        pytest.param('<a title="<a b" href="/f/demo-1.0.tar.gz">x</a>', id="tag-in-attribute"),
        pytest.param('<a href="/f/demo-1.0.tar.gz"data-yanked>x</a>', id="no-space-between-attributes"),
        pytest.param('<a href=/f/demo-1.0.tar.gz?a=b>x</a>', id="unquoted-with-equals"),
        pytest.param('<title><a href="/f/demo-0.1.tar.gz"></title><a href="/f/demo-1.0.tar.gz">x</a>', id="markup-in-title"),
    ]

    @pytest.mark.parametrize("text", PLAIN)
    def test_plain_pages_take_the_fast_path_and_agree(self, text: str) -> None:
        assert _fast_tags(text) is not None
        fast = parse_html(text, PAGE, "demo")
        assert fast and fast == parse_html(text, PAGE, "demo", fast=False)

    @pytest.mark.parametrize("text", UNSURE)
    def test_other_pages_go_to_html_parser(self, text: str) -> None:
        assert _fast_tags(text) is None
        assert parse_html(text, PAGE, "demo") == parse_html(text, PAGE, "demo", fast=False)

    def test_every_recorded_project_page_agrees(self) -> None:
        files = load_recorded()
        by_project: dict[str, list[ServedFile]] = {}
        for f in files:
            by_project.setdefault(f.project, []).append(f)
        projects = sorted(by_project)
        total = 0
        with IndexServer(mode="html", pep658=True) as server:
            for name in projects:
                server.files.clear()  # one project at a time: the server renders by scanning all
                server.add(*by_project[name])
                page = server.project_page(name)
                assert page is not None
                text = page[0].decode()
                assert _fast_tags(text) is not None, name
                fast = parse_html(text, f"{server.url}/{name}/", name)
                assert fast == parse_html(text, f"{server.url}/{name}/", name, fast=False), name
                total += len(fast)
        assert len(projects) > 100 and total == len(files)


@pytest.mark.parametrize(
    "filename",
    [
        "demo-1.0-py3-none-any.whl",
        "Demo_Pkg-2.0.post1-1build-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "demo-1.0-py2.py3-none-macosx_10_9_x86_64.macosx_11_0_arm64.whl",
        # a build tag must start with a digit, and a PEP 825 variant label is lower case
        # ("...-any-extra.whl" is a variant wheel packaging cannot read yet: tests/test_variants.py)
        "demo-1.0-py3-none-any-EXTRA.whl",
        "demo-py3-none-any.whl",  # no version
        "demo-1.0-none-any.whl",  # a tag part missing
        "de__mo-1.0-py3-none-any.whl",  # a name packaging refuses
        "demo-1.x.y-py3-none-any.whl",  # an invalid version
    ],
)
def test_wheel_names_read_as_packaging_reads_them(filename: str) -> None:
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        with pytest.raises(InvalidWheelFilename):
            parse_filename(filename)
    else:
        assert parse_filename(filename) == (name, version, tags)


def test_a_stored_page_keeps_every_field_and_decodes_a_version_only_when_asked() -> None:
    files = [
        DistFile("demo-1.0-py3-none-any.whl", "https://a.invalid/x/demo-1.0-py3-none-any.whl",
                 {"sha256": "aa", "md5": "bb"}, ">=3.8", "", {"sha256": "cc"}, 0, "2020-01-01T00:00:00Z"),
        DistFile("demo-1.0.tar.gz", "https://a.invalid/get?file=demo-1.0.tar.gz", {"sha256": "dd"}, yanked="bad", core_metadata=True),
        DistFile("demo 2.0.tar.gz".replace(" ", "-"), "https://a.invalid/d/demo%2D2.0.tar.gz", size=12),
        DistFile("demo-1.0-variants.json", "https://a.invalid/demo-1.0-variants.json"),
        DistFile("demo-3.0.tar.gz", "https://a.invalid/download/3/"),  # a URL that ends with "/" itself
    ]
    page = ProjectPage(canonicalize_name("demo"), PAGE, files)
    stored = ProjectPage.from_json(page.to_json())
    assert stored == page
    assert stored.variants_json == (files[3],)
    assert stored.release("1.0") == tuple(files[:2]) and stored.release("2.0") == (files[2],)
    assert stored.release("4.0") == ()
    assert stored.release("3.0") == (files[4],) and stored.release("3.0")[0].url == "https://a.invalid/download/3/"
    assert [str(v) for v in stored.versions()] == ["3.0", "2.0", "1.0"]
    assert stored.lists("demo-1.0.tar.gz") and not stored.lists("demo-4.0.tar.gz")


def test_merge_decodes_only_the_versions_several_sources_list() -> None:
    a = parse_page('<a href="https://a.invalid/demo-1.0.tar.gz">x</a><a href="https://a.invalid/demo-3.0.tar.gz">x</a>',
                   "text/html", PAGE, "demo")
    b = parse_page('<a href="https://b.invalid/demo-1.0.tar.gz">x</a><a href="https://b.invalid/demo-1.0-py3-none-any.whl">x</a>'
                   '<a href="https://b.invalid/demo-2.0.tar.gz">y</a>', "text/html", PAGE, "demo")
    merged = merge_pages("demo", [a, b])
    assert [f.url for f in merged.release("1.0")] == ["https://a.invalid/demo-1.0.tar.gz", "https://b.invalid/demo-1.0-py3-none-any.whl"]
    assert ProjectPage.from_json(merged.to_json()) == merged
    assert sorted(merged.version_texts()) == ["1.0", "2.0", "3.0"]


def test_a_page_with_pep_658_metadata_hashes_is_read_the_quick_way_once() -> None:
    # the public index gives most files' core-metadata hashes: such pages must not fall back to
    # the checked reader (which would load the JSON a second time)
    entry = {"filename": "demo-1.0-py3-none-any.whl", "url": "https://files.invalid/demo-1.0-py3-none-any.whl",
             "hashes": {"sha256": "ab"}, "core-metadata": {"sha256": "cd"}, "size": 10}
    text = json.dumps({"meta": {"api-version": "1.1"}, "files": [entry]})
    quick = _quick_json_page(json.loads(text), PAGE, "demo")
    assert quick is not None
    assert quick == ProjectPage(canonicalize_name("demo"), PAGE, parse_json(text, PAGE, "demo"))
    assert quick.release("1.0")[0].core_metadata == {"sha256": "cd"}


@pytest.mark.parametrize("filename", [
    "demo-1.0-py3-none-any.whl", "Demo_-1.0-py3-none-any.whl", "demo-1.0-py3-none-any-x.whl", "demo-1.0--none-any.whl",
    "demo-one-py3-none-any.whl", "demo__x-1.0-py3-none-any.whl", "other-1.0-py3-none-any.whl", "demo-1.0-1-py3-none-any.whl",
    "demo-1.0-py3.py2-none-any.whl", "demo-1.0-3x-none-any.whl", "demo-1.0.tar.gz", "demo-1.0-variants.json", "demo.whl",
])
def test_the_quick_page_keeps_the_names_the_checked_reader_keeps(filename: str) -> None:
    # the quick reader checks the usual wheel name's parts itself: the same names kept, under the same versions
    entries = [{"filename": filename, "url": f"https://files.invalid/x/{filename}", "hashes": {"sha256": "ab"}},
               {"filename": "demo-2.0-py3-none-any.whl", "url": "https://files.invalid/x/demo-2.0-py3-none-any.whl"}]
    text = json.dumps({"meta": {"api-version": "1.1"}, "files": entries})
    quick = _quick_json_page(json.loads(text), PAGE, "demo")
    assert quick is not None
    assert quick == ProjectPage(canonicalize_name("demo"), PAGE, parse_json(text, PAGE, "demo"))
    assert quick.version_texts() == ProjectPage(canonicalize_name("demo"), PAGE, parse_json(text, PAGE, "demo")).version_texts()

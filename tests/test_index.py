"""The index client against a real HTTP index on loopback: every way to metadata, every fault."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer, ServedFile
from helpers.wheels import make_metadata, make_sdist, make_wheel, wheel_filename

from wheelwise.cache import Cache
from wheelwise.errors import HashMismatchError, IndexFetchError, MetadataError
from wheelwise.index import Fetcher, IndexSettings, PackageIndex
from wheelwise.index.metadata import MAX_METADATA_BYTES, FetchedMetadata
from wheelwise.index.repository import MAX_TAIL_HINT
from wheelwise.index.urls import origin


def open_index(server: IndexServer, **kwargs: object) -> PackageIndex:
    fetcher = Fetcher(timeout=kwargs.pop("timeout", 5.0), retries=kwargs.pop("retries", 2), backoff=0.01)  # type: ignore[arg-type]
    settings = IndexSettings(index_url=server.url)
    return PackageIndex(settings, cache=kwargs.pop("cache", Cache(None)), fetcher=fetcher, **kwargs)  # type: ignore[arg-type]


def add_demo(server: IndexServer, *, filler: int = 0, version: str = "1.0", **fields: object) -> ServedFile:
    content = make_wheel("demo", version, filler=filler, requires_dist=["six>=1.0", 'numpy; python_version>"3.9"'], **fields)
    return server.add_wheel(wheel_filename("demo", version), content)


@pytest.mark.parametrize("mode", ["json", "html"])
def test_pep658_metadata_needs_no_wheel_bytes(index_server: IndexServer, mode: str) -> None:
    index_server.mode = mode
    add_demo(index_server, filler=200_000)
    with open_index(index_server) as index:
        page = index.project("Demo")
        (file,) = page.files
        assert file.core_metadata == {"sha256": index_server.files[file.filename].metadata_sha256}
        got = index.metadata(file)
    assert got.how == "pep658"
    assert got.metadata.requires_dist == ("six>=1.0", 'numpy; python_version>"3.9"')
    assert [r.path for r in index_server.requests("/files/")] == [f"/files/{file.filename}.metadata"]


@pytest.mark.parametrize("mode", ["json", "html"])
def test_range_requests_read_a_fraction_of_a_big_wheel(index_server: IndexServer, mode: str) -> None:
    index_server.mode, index_server.pep658 = mode, False
    served = add_demo(index_server, filler=2_000_000)
    with open_index(index_server) as index:
        got = index.metadata(index.project("demo").files[0])
    assert got.how == "range"
    assert got.metadata.name == "demo"
    reads = index_server.requests(r"\.whl$")
    assert reads and all(r.range for r in reads) and len(reads) <= 3
    assert sum(r.sent for r in reads) < len(served.content) / 50  # type: ignore[arg-type]


def test_small_wheel_is_read_in_one_range_request(index_server: IndexServer) -> None:
    index_server.pep658 = False
    add_demo(index_server)
    with open_index(index_server) as index:
        assert index.metadata(index.project("demo").files[0]).how == "range"
    assert len(index_server.requests(r"\.whl$")) == 1


def test_range_reads_cope_with_a_large_central_directory(index_server: IndexServer) -> None:
    index_server.pep658 = False
    many = {f"demo/mod{i:04d}.py": b"x = 1\n" for i in range(1500)}
    index_server.add_wheel(wheel_filename("demo", "1.0"), make_wheel("demo", "1.0", files=many, filler=500_000))
    with open_index(index_server) as index:
        assert index.metadata(index.project("demo").files[0]).metadata.version == "1.0"
    assert 2 <= len(index_server.requests(r"\.whl$")) <= 3


def test_the_next_wheel_of_a_project_is_read_in_one_request_when_the_first_needed_two(index_server: IndexServer) -> None:
    # a framework's wheels have a big directory and RECORD after METADATA: the 16 KiB tail finds
    # the directory, a second request the member; the project's next wheel asks for that span at once
    index_server.pep658 = False
    many = {f"demo/mod{i:04d}.py": b"x = 1\n" for i in range(1500)}
    for version in ("1.0", "1.1", "1.2"):
        index_server.add_wheel(wheel_filename("demo", version), make_wheel("demo", version, files=many, filler=500_000))
    with open_index(index_server) as index:
        files = {f.filename: f for f in index.project("demo").files}
        per_wheel = []
        for version in ("1.2", "1.1", "1.0"):
            index_server.clear_log()
            assert index.metadata(files[wheel_filename("demo", version)]).metadata.version == version
            per_wheel.append(len(index_server.requests(r"\.whl$")))
    assert per_wheel[0] >= 2 and per_wheel[1:] == [1, 1], per_wheel
    assert max(r.sent for r in index_server.requests(r"\.whl$")) < 500_000  # the span, never the filler


def test_a_project_whose_metadata_lies_far_from_the_end_is_read_in_small_requests(index_server: IndexServer) -> None:
    # tens of thousands of members (a framework): the METADATA lies past the hint's bound from the
    # end, so the next wheel is not asked for that whole span at once but read as the first was
    index_server.pep658 = False
    many = {f"demo/{'package/' * 6}module_{i:05d}.py": b"" for i in range(6000)}
    for version in ("1.1", "1.0"):
        index_server.add_wheel(wheel_filename("demo", version), make_wheel("demo", version, files=many))
    with open_index(index_server) as index:
        files = {f.filename: f for f in index.project("demo").files}
        sent = []
        for version in ("1.1", "1.0"):
            index_server.clear_log()
            assert index.metadata(files[wheel_filename("demo", version)]).metadata.version == version
            sent.append([r.sent for r in index_server.requests(r"\.whl$")])
    assert len(sent[1]) == 2, sent
    assert max(sent[1]) < MAX_TAIL_HINT // 4, sent  # small reads, never the span to the METADATA


def test_what_the_resolver_reads_ahead_runs_before_what_is_read_ahead_of_need(index_server: IndexServer) -> None:
    # one worker, busy with a slow read; four more reads ahead of need (down a tree) wait behind
    # it; then the resolver asks for the metadata of its next step: that runs next, not fifth
    for minor in range(6):
        add_demo(index_server, version=f"1.{minor}")
    index_server.fault(r"demo-1\.0-.*\.metadata$", "slow", 0.5)
    with open_index(index_server, workers=1) as index:
        files = sorted(index.project("demo").files, key=lambda f: f.filename)
        ahead = [index.metadata_future(f) for f in files[:5]]
        index.prefetch(files=[files[5]])
        for future in ahead:
            future.result()
        assert index.metadata(files[5]).metadata.version == "1.5"
    order = [r.path.rsplit("/", 1)[-1] for r in index_server.requests(r"\.metadata$")]
    assert len(order) == 6, order
    assert order.index(f"{files[5].filename}.metadata") < order.index(f"{files[1].filename}.metadata"), order


def test_the_index_keeps_metadata_parsed_and_unreadable_metadata_as_read() -> None:
    # a check keeps a thousand files' metadata for its run: parsed, without their bytes
    kept = FetchedMetadata(raw=make_metadata("demo", "1.0", requires_dist=["six"]), how="range").parsed()
    assert kept.raw == b"" and kept.metadata.name == "demo" and kept.metadata.requires_dist == ("six",)
    # metadata without a Name keeps its bytes, and reading it fails as it did
    bad = FetchedMetadata(raw=b"Metadata-Version: 2.1\nVersion: 1.0\n", how="range").parsed()
    assert bad.raw
    with pytest.raises(ValueError, match="without Name"):
        _ = bad.metadata


def test_a_wheel_that_lists_its_dist_info_first_is_read_without_its_whole_directory(index_server: IndexServer) -> None:
    # auditwheel-repaired and meson-python wheels list .dist-info first: tensorflow's Linux wheels
    # have 2 MB of directory after it; the directory's first part has the record
    index_server.pep658 = False
    many = {f"demo/{'package/' * 6}module_{i:05d}.py": b"" for i in range(6000)}
    content = make_wheel("demo", "1.0", files=many, dist_info_first=True)
    index_server.add_wheel(wheel_filename("demo", "1.0"), content)
    directory = zipfile.ZipFile(io.BytesIO(content))
    listed = sum(46 + len(i.filename.encode()) + len(i.extra) + len(i.comment) for i in directory.infolist())
    with open_index(index_server) as index:
        assert index.metadata(index.project("demo").files[0]).metadata.version == "1.0"
    reads = index_server.requests(r"\.whl$")
    assert len(reads) == 3, reads  # the end, the directory's first part, the member
    assert sum(r.sent for r in reads) < listed / 4


@pytest.mark.parametrize(
    ("layout", "options"),
    [
        ("deflated", {}),
        ("stored", {"compression": zipfile.ZIP_STORED}),
        ("bzip2 (zipfile reads it)", {"compression": zipfile.ZIP_BZIP2}),
        ("lzma (zipfile reads it)", {"compression": zipfile.ZIP_LZMA}),
        ("archive comment", {"comment": b"PK signed by a tool " * 40}),
        ("70,000 members: zip64 end record", {"files": {f"demo/m{i}.py": b"" for i in range(70_000)}}),
        ("vendored dist-info first", {"files": {"other-2.0.dist-info/METADATA": make_metadata("other", "2.0")}}),
        ("dist-info first, 3,000 members after", {"dist_info_first": True, "files": {f"demo/m{i}.py": b"" for i in range(3000)}}),
    ],
)
def test_range_reads_find_metadata_in_every_zip_layout(index_server: IndexServer, layout: str, options: dict[str, object]) -> None:
    index_server.pep658 = False
    content = make_wheel("demo", "1.0", filler=300_000, requires_dist=["six"], **options)  # type: ignore[arg-type]
    index_server.add_wheel(wheel_filename("demo", "1.0"), content)
    with open_index(index_server) as index:
        file = index.project("demo").files[0]
        got = index.metadata(file)
        stored = index.cache.get_metadata(index.metadata_key(file))  # the bytes read, as cached
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        assert stored is not None and stored[0] == zf.read("demo-1.0.dist-info/METADATA"), layout
    assert got.how == "range" and got.metadata.requires_dist == ("six",)
    reads = index_server.requests(r"\.whl$")
    # the 300 kB of filler (incompressible, before the metadata) is not read, bar the 16 KiB tail
    assert all(r.range for r in reads) and len(reads) <= 3
    if "zipfile reads it" not in layout and "first," not in layout:
        # the METADATA record is in the tail (dist-info comes last): at most its bytes are read
        # after that, never the rest of the central directory
        assert len(reads) <= 2, [r.range for r in reads]
    assert sum(r.sent for r in reads) < len(content) - 280_000  # type: ignore[arg-type]


def test_server_ignoring_ranges_falls_back_to_full_download_and_is_remembered(index_server: IndexServer) -> None:
    index_server.pep658 = False
    index_server.fault(r"\.whl$", "ignore-range")
    add_demo(index_server, filler=50_000, version="1.0")
    add_demo(index_server, filler=50_000, version="2.0")
    cache = Cache(None)
    with open_index(index_server, cache=cache) as index:
        first, second = sorted(index.project("demo").files, key=lambda f: f.filename)
        assert index.metadata(first).how == "full"
        assert index.metadata(second).how == "full"
    reads = index_server.requests(r"\.whl$")
    assert [bool(r.range) for r in reads] == [True, False]  # the second asks for no range at all
    assert cache.no_range(origin(f"{index_server.base}/files/any.whl"))


def test_a_whole_file_range_answered_200_is_no_sign_of_ignored_ranges(index_server: IndexServer) -> None:
    """A wheel smaller than the first read: the range asked is the whole file, which a server
    may answer with 200 (RFC 9110, 14.2); the next, bigger wheel is still read by ranges."""
    index_server.pep658 = False
    index_server.fault(r"\.whl$", "whole-range-200")
    add_demo(index_server, version="1.0")  # a few hundred bytes: under the 16 KiB first read
    add_demo(index_server, filler=300_000, version="2.0")
    cache = Cache(None)
    with open_index(index_server, cache=cache) as index:
        small, big = sorted(index.project("demo").files, key=lambda f: f.filename)
        assert index.metadata(small).metadata.version == "1.0"
        assert index.metadata(big).how == "range"
    assert not cache.no_range(origin(f"{index_server.base}/files/any.whl"))
    assert [r.status for r in index_server.requests(r"demo-1\.0.*\.whl$")] == [200]


def test_full_download_checks_the_hash(index_server: IndexServer) -> None:
    index_server.pep658, index_server.ranges = False, False
    served = add_demo(index_server)
    served.sha256 = "0" * 64
    with open_index(index_server) as index, pytest.raises(HashMismatchError) as info:
        index.metadata(index.project("demo").files[0])
    assert "does not match the sha256" in info.value.message and index_server.base in info.value.url


def test_wrong_metadata_hash_is_refused(index_server: IndexServer) -> None:
    add_demo(index_server)
    index_server.fault(r"\.metadata$", "body", make_metadata("demo", "1.0", requires_dist=["evil"]))
    with open_index(index_server) as index, pytest.raises(HashMismatchError):
        index.metadata(index.project("demo").files[0])


def test_oversized_metadata_is_refused(index_server: IndexServer) -> None:
    add_demo(index_server)
    index_server.fault(r"\.metadata$", "body", make_metadata("demo", "1.0", description="x" * (MAX_METADATA_BYTES + 10)))
    with open_index(index_server) as index, pytest.raises(IndexFetchError) as info:
        index.metadata(index.project("demo").files[0])
    assert "larger than" in info.value.message


@pytest.mark.parametrize("pep658", [True, False])
def test_wheel_without_metadata_is_a_clear_error(index_server: IndexServer, pep658: bool) -> None:
    index_server.pep658 = pep658
    index_server.add_wheel(wheel_filename("demo", "1.0"), make_wheel("demo", "1.0", omit_metadata=True))
    with open_index(index_server) as index, pytest.raises(MetadataError) as info:
        index.metadata(index.project("demo").files[0])
    assert "holds no .dist-info/METADATA" in info.value.message


def test_metadata_naming_another_project_is_refused(index_server: IndexServer) -> None:
    index_server.pep658 = False
    index_server.add_wheel(wheel_filename("demo", "1.0"), make_wheel("demo", "1.0", metadata=make_metadata("other", "1.0")))
    with open_index(index_server) as index, pytest.raises(MetadataError, match="names another project"):
        index.metadata(index.project("demo").files[0])


class TestSdists:
    def test_static_pkg_info_is_read_and_pure_python_is_told(self, index_server: IndexServer) -> None:
        index_server.add(ServedFile("demo-1.0.tar.gz", content=make_sdist("demo", "1.0", requires_dist=["attrs"])))
        with open_index(index_server) as index:
            got = index.metadata(index.project("demo").files[0])
        assert got.how == "full" and got.native_sources is False
        assert got.metadata.static_requirements and got.metadata.requires_dist == ("attrs",)

    def test_dynamic_requirements_and_native_code(self, index_server: IndexServer) -> None:
        content = make_sdist(
            "demo", "1.0", dynamic=["Requires-Dist"], files={"src/fast.c": b"int f(void){return 1;}\n"}
        )
        index_server.add(ServedFile("demo-1.0.tar.gz", content=content))
        with open_index(index_server) as index:
            got = index.metadata(index.project("demo").files[0])
        assert got.native_sources is True
        assert not got.metadata.static_requirements

    def test_old_metadata_version_is_not_static(self, index_server: IndexServer) -> None:
        index_server.add(ServedFile("demo-1.0.tar.gz", content=make_sdist("demo", "1.0", metadata_version="2.1")))
        with open_index(index_server) as index:
            assert not index.metadata(index.project("demo").files[0]).metadata.static_requirements


class TestFaults:
    def test_transient_500_is_retried(self, index_server: IndexServer) -> None:
        add_demo(index_server)
        index_server.fault("/simple/demo/", "status", 503, times=2)
        with open_index(index_server, retries=2) as index:
            assert len(index.project("demo").files) == 1
        assert [r.status for r in index_server.requests("/simple/demo/")] == [503, 503, 200]

    def test_persistent_500_names_the_url_and_status(self, index_server: IndexServer) -> None:
        index_server.fault("/simple/demo/", "status", 500)
        with open_index(index_server, retries=1) as index, pytest.raises(IndexFetchError) as info:
            index.project("demo")
        assert info.value.status == 500 and info.value.url == f"{index_server.url}demo/"
        assert "answered 500" in info.value.message

    def test_timeout_is_reported_after_retries(self, index_server: IndexServer) -> None:
        index_server.fault("/simple/demo/", "slow", 1.0)
        with open_index(index_server, timeout=0.2, retries=1) as index, pytest.raises(IndexFetchError) as info:
            index.project("demo")
        assert "timed out after 2 attempts" in info.value.message
        assert info.value.exit_code == 3

    def test_missing_project_is_an_empty_page(self, index_server: IndexServer) -> None:
        with open_index(index_server) as index:
            assert index.project("nothing-here").files == ()

    def test_truncated_body_is_an_error_not_a_short_page(self, index_server: IndexServer) -> None:
        add_demo(index_server)
        index_server.fault("/simple/demo/", "truncate")
        with open_index(index_server, retries=1) as index, pytest.raises(IndexFetchError) as info:
            index.project("demo")
        assert "demo" in info.value.url

    def test_truncation_once_is_retried(self, index_server: IndexServer) -> None:
        add_demo(index_server)
        index_server.fault("/simple/demo/", "truncate", times=1)
        with open_index(index_server, retries=1) as index:
            assert len(index.project("demo").files) == 1

    @pytest.mark.parametrize(
        ("mode", "body"),
        [("json", b'{"meta": {"api-version": "1.0"}, "files": [{"url'), ("html", b"\x00\x01 binary junk")],
    )
    def test_malformed_page(self, index_server: IndexServer, mode: str, body: bytes) -> None:
        index_server.mode = mode
        add_demo(index_server)
        index_server.fault("/simple/demo/", "body", body)
        with open_index(index_server) as index, pytest.raises(IndexFetchError, match="not a valid project page"):
            index.project("demo")

    def test_credentials_never_appear_in_errors(self, index_server: IndexServer) -> None:
        index_server.fault("/simple/demo/", "status", 401)
        secret_url = index_server.url.replace("http://", "http://alice:s3cret@")
        fetcher = Fetcher(timeout=5, retries=0)
        with PackageIndex(IndexSettings(index_url=secret_url), fetcher=fetcher) as index, \
                pytest.raises(IndexFetchError) as info:
            index.project("demo")
        shown = f"{info.value.message} {info.value.url} {info.value.hint}"
        # the client sends credentials in a header: the URLs it shows carry none at all
        assert "s3cret" not in shown
        assert f"{index_server.url}demo/" in shown


def test_extra_index_and_find_links_are_merged(index_server: IndexServer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    add_demo(index_server, version="1.0")
    (tmp_path / wheel_filename("demo", "3.0")).write_bytes(make_wheel("demo", "3.0"))
    (tmp_path / "unrelated.txt").write_text("not a distribution")
    local_index = tmp_path / "simple" / "demo"
    local_index.mkdir(parents=True)
    (tmp_path / "demo-2.0.tar.gz").write_bytes(make_sdist("demo", "2.0"))
    (local_index / "index.html").write_text('<html><body><a href="../../demo-2.0.tar.gz">demo-2.0.tar.gz</a></body></html>')
    settings = IndexSettings(index_url=index_server.url).override(
        extra_index_urls=[(tmp_path / "simple").as_uri()], find_links=[str(tmp_path)]
    )
    with PackageIndex(settings) as index:
        page = index.project("demo")
        assert [str(v) for v in page.versions()] == ["3.0", "2.0", "1.0"]
        local = next(f for f in page.files if f.filename.endswith("3.0-py3-none-any.whl"))
        assert index.metadata(local).how == "local"
        assert index.project("absent").files == ()


def test_a_find_links_file_is_listed_by_no_index_though_its_project_is(index_server: IndexServer, tmp_path: Path) -> None:
    # plan asks which index listed a pinned file: a find-links wheel of a project that one index
    # also lists is that index's only when the index lists that very file
    add_demo(index_server, version="1.0")
    local = tmp_path / "links"
    local.mkdir()
    (local / wheel_filename("demo", "2.0")).write_bytes(make_wheel("demo", "2.0"))
    fetcher = Fetcher(timeout=5.0, retries=2, backoff=0.01)
    with PackageIndex(IndexSettings(index_url=index_server.url, find_links=(local.as_uri(),)), fetcher=fetcher) as index:
        files = {f.filename: f for f in index.project("demo").files}
        assert set(files) == {wheel_filename("demo", "1.0"), wheel_filename("demo", "2.0")}
        assert index.index_of(files[wheel_filename("demo", "2.0")]) is None
        assert index.index_of(files[wheel_filename("demo", "1.0")]) is not None


def test_a_find_links_page_is_read_once_however_many_pages_ask_at_once(index_server: IndexServer) -> None:
    for name in ("a", "b", "c", "d", "e", "f", "g", "h"):
        index_server.add_wheel(wheel_filename(name, "1.0"), make_wheel(name, "1.0"))
    links = f'<a href="{index_server.base}/files/{wheel_filename("a", "1.0")}">a</a>'.encode()
    index_server.fault("/links/", "body", links)
    fetcher = Fetcher(timeout=5.0, retries=2, backoff=0.01)
    settings = IndexSettings(index_url=index_server.url, find_links=(f"{index_server.base}/links/",))
    with PackageIndex(settings, fetcher=fetcher) as index:
        pages = [future.result() for future in index.page_futures("abcdefgh")]
    assert [len(page.files) for page in pages] == [1] * 8
    assert len(index_server.requests("/links/")) == 1

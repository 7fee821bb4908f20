"""Wheel variants (PEP 825): file names, variants.json, ordering, and which file a target gets.

The loopback index serves small real wheels under the variant labels of
``tests/data/variants/torch-2.10.0-variants.json`` (modelled on the WheelNext example index and
PyTorch's 2.10 variant sets; see the README beside it) and that file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer, ServedFile
from helpers.wheels import make_wheel

from wheelwise.cli import main
from wheelwise.errors import MetadataError
from wheelwise.index.simple import DistFile, ProjectPage, parse_filename, parse_html, variant_label
from wheelwise.index.variants import order_variants, parse_variants_json
from wheelwise.properties import Properties

DATA = Path(__file__).parent / "data" / "variants"
META = (DATA / "torch-2.10.0-variants.json").read_bytes()
PLATFORM = "cp312-cp312-manylinux_2_28_x86_64"


# -- file names ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("filename", "label"),
    [
        ("torch-2.10.0-cp312-cp312-manylinux_2_28_x86_64-cu128.whl", "cu128"),
        ("torch-2.10.0-cp312-cp312-manylinux_2_28_x86_64-null.whl", "null"),
        ("torch-2.8.0-cp310-cp310-win_amd64-00000000.whl", "00000000"),
        ("numpy-2.3.2-1-cp313-cp313t-musllinux_1_2_x86_64-x86_64_v3.whl", "x86_64_v3"),
        ("numpy-2.3.2-1-cp313-cp313t-musllinux_1_2_x86_64.whl", None),  # a build tag, not a label
        ("numpy-2.3.2-cp313-cp313t-musllinux_1_2_x86_64.whl", None),
    ],
)
def test_variant_file_names_parse(filename: str, label: str | None) -> None:
    assert variant_label(filename) == label
    name, _version, tags = parse_filename(filename)
    assert name in ("torch", "numpy") and len(tags) == 1


def test_a_page_keeps_variants_json_apart_from_its_files() -> None:
    page_html = "".join(
        f'<a href="/files/{n}">{n}</a>'
        for n in ["torch-2.10.0-variants.json", "torch-2.10.0-cp312-cp312-manylinux_2_28_x86_64-cu128.whl",
                  "torch-2.10.0-cp312-cp312-manylinux_2_28_x86_64.whl", "torch-2.10.0-cp312-cp312-win_amd64-CU.whl"]
    )
    files = parse_html(page_html, "http://index/simple/torch/", "torch")
    page = ProjectPage("torch", "u", tuple(files))  # type: ignore[arg-type]
    assert [f.filename for f in page.variants_json] == ["torch-2.10.0-variants.json"]
    assert [f.variant for f in page.files] == ["cu128", None]  # an upper-case label is no wheel at all
    assert ProjectPage.from_json(page.to_json()) == page


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "is not JSON"[:6]),
        (b'{"variants": {"CU128": {}}}', "not a variant label"),
        (b'{"variants": {"cu128": {"nvidia": {"sm_arch": "90_real"}}}}', "must be a list"),
        (b'{"default-priorities": []}', "not an object"),
        (b" " * (2 << 20), "bytes allowed"),
        (b"[" * 200_000 + b"]" * 200_000, "is not PEP 825 variant metadata"),  # nested past Python's recursion
    ],
)
def test_malformed_variants_json_is_index_data_error(raw: bytes, fragment: str) -> None:
    with pytest.raises(MetadataError) as info:
        parse_variants_json(raw, "http://index/torch-2.10.0-variants.json")
    assert fragment in info.value.message and info.value.exit_code == 3


# -- ordering --------------------------------------------------------------------------------------

LABELS = ["null", "cu126", "cu128", "cu130"]


@pytest.mark.parametrize(
    ("properties", "order"),
    [
        (Properties(), ["null"]),
        (Properties(cuda=(12, 6), sm=(8, 6)), ["cu126", "null"]),
        (Properties(cuda=(12, 8)), ["cu128", "cu126", "null"]),  # no +sm: architecture taken as covered
        (Properties(cuda=(13, 0), sm=(9, 0)), ["cu130", "cu128", "cu126", "null"]),
        (Properties(cuda=(12, 8), sm=(6, 1)), ["cu126", "null"]),  # Pascal: only cu126 has 60_real
        (Properties(cuda=(13, 0), sm=(3, 5)), ["null"]),  # Kepler: no build covers it
        (Properties(cuda=(13, 0), sm=(12, 1)), ["cu130", "cu128", "null"]),  # 12.1 runs 12.0 machine code
        (Properties(cuda=(11, 8), sm=(8, 6)), ["null"]),  # driver too old for every build
    ],
)
def test_order_follows_pep_825(properties: Properties, order: list[str]) -> None:
    assert order_variants(parse_variants_json(META), LABELS, properties) == order


def _variantlib_order(meta: bytes, props: Properties) -> list[str]:
    """The reference implementation's order, given the same supported values ours derives."""
    variantlib = pytest.importorskip("variantlib.resolver.lib")
    from variantlib.models.variant import VariantDescription, VariantProperty

    from wheelwise.index.variants import supported_values

    data = json.loads(meta)
    by_feature: dict[tuple[str, str], set[str]] = {}
    for variant in data["variants"].values():
        for ns, features in variant.items():
            for feature, values in features.items():
                by_feature.setdefault((ns, feature), set()).update(values)
    supported = [VariantProperty(ns, f, v) for (ns, f), vals in sorted(by_feature.items())
                 for v in supported_values(props, ns, f, sorted(vals))]
    descs = {label: VariantDescription([VariantProperty(ns, f, v) for ns, fs in p.items() for f, vs in fs.items() for v in vs])
             for label, p in data["variants"].items()}
    ordered = variantlib.sort_and_filter_supported_variants(
        list(descs.values()), supported, namespace_priorities=data["default-priorities"]["namespace"])
    labels = {id(d): label for label, d in descs.items()}
    return [labels.get(id(d), "null") for d in ordered]


@pytest.mark.parametrize("props", [Properties(), Properties(cuda=(12, 6), sm=(8, 6)), Properties(cuda=(13, 0), sm=(9, 0)),
                                   Properties(cuda=(12, 8), sm=(6, 1)), Properties(cuda=(13, 0), sm=(12, 1))])
def test_order_is_variantlibs(props: Properties) -> None:
    assert order_variants(parse_variants_json(META), LABELS, props) == _variantlib_order(META, props)


# -- a loopback index with variant wheels -----------------------------------------------------------

def _serve(server: IndexServer, *, variants_json: bytes | None = META, labels: tuple[str, ...] = (*LABELS, "")) -> None:
    for label in labels:
        suffix = f"-{label}" if label else ""
        filename = f"torch-2.10.0-{PLATFORM}{suffix}.whl"
        server.add_wheel(filename, make_wheel("torch", "2.10.0", PLATFORM, requires_dist=["filelock"]))
    server.add_wheel("filelock-3.0-py3-none-any.whl", make_wheel("filelock", "3.0"))
    if variants_json is not None:
        server.add(ServedFile("torch-2.10.0-variants.json", content=variants_json))


def _cells(server: IndexServer, capsys: pytest.CaptureFixture[str], *targets: str) -> tuple[int, list[dict[str, object]]]:
    argv = ["check", "torch", "-p", "3.12", "--index-url", server.url, "--json", "--no-nearest"]
    for t in targets:
        argv += ["-t", t]
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)["cells"]


WHEEL = f"torch-2.10.0-{PLATFORM}"


@pytest.mark.parametrize("mode", ["json", "html"])
def test_each_target_gets_its_variant_and_a_legacy_installer_the_plain_wheel(
    mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with IndexServer(mode=mode) as server:
        _serve(server)
        code, cells = _cells(server, capsys, "linux-x86_64", "linux-x86_64+cuda=12.6+sm=86", "linux-x86_64+cuda=12.8",
                             "linux-x86_64+cuda=13.0+sm=90", "linux-x86_64+cuda=12.8+sm=61")
        fetched = server.requests("variants.json")
    assert code == 0
    chosen = {c["label"]: (c["variants"][0]["variant"], c["files"]["torch"], c["variants"][0]["legacy_file"]) for c in cells}
    assert chosen == {
        "linux-x86_64@2.28 / 3.12": ("null", f"{WHEEL}-null.whl", f"{WHEEL}.whl"),
        "linux-x86_64@2.28+cuda=12.6+sm=86 / 3.12": ("cu126", f"{WHEEL}-cu126.whl", f"{WHEEL}.whl"),
        "linux-x86_64@2.28+cuda=12.8 / 3.12": ("cu128", f"{WHEEL}-cu128.whl", f"{WHEEL}.whl"),
        "linux-x86_64@2.28+cuda=13.0+sm=90 / 3.12": ("cu130", f"{WHEEL}-cu130.whl", f"{WHEEL}.whl"),
        # the GPU architecture cu128 does not cover: cu126 (it has 60_real) on a CUDA 12.8 driver
        "linux-x86_64@2.28+cuda=12.8+sm=61 / 3.12": ("cu126", f"{WHEEL}-cu126.whl", f"{WHEEL}.whl"),
    }
    cu128 = next(c for c in cells if "cuda=12.8 /" in str(c["label"]))
    assert cu128["variants"][0]["properties"] == [  # type: ignore[index]
        "nvidia :: cuda_version_lower_bound :: 12.8", "nvidia :: sm_arch :: not checked (the target names no +sm)"]
    pascal = next(c for c in cells if "sm=61" in str(c["label"]))
    assert pascal["variants"][0]["properties"] == [  # type: ignore[index]
        "nvidia :: cuda_version_lower_bound :: 12.0", "nvidia :: sm_arch :: 60_real"]
    assert len(fetched) == 1  # read once for the whole matrix


def test_text_output_shows_both_installers(capsys: pytest.CaptureFixture[str]) -> None:
    with IndexServer() as server:
        _serve(server)
        assert main(["check", "torch", "-t", "linux-x86_64+cuda=12.8", "-p", "3.12", "--index-url", server.url]) == 0
    out = capsys.readouterr().out
    assert "✓ ok torch cu128 · legacy: plain" in out.splitlines()[2]
    assert "torch 2.10.0: variant cu128 (nvidia :: cuda_version_lower_bound :: 12.8, nvidia :: sm_arch :: not checked" in out
    assert f"a variant-aware installer takes {WHEEL}-cu128.whl; one without variant support: {WHEEL}.whl" in out


def test_variant_wheels_only_block_a_target_without_the_properties(capsys: pytest.CaptureFixture[str]) -> None:
    with IndexServer() as server:
        _serve(server, labels=("cu126", "cu128"))
        code, cells = _cells(server, capsys, "linux-x86_64", "linux-x86_64+cuda=12.8")
    assert code == 1
    cpu, gpu = cells
    assert cpu["verdict"] == "blocked" and cpu["blockers"][0]["reason"] == "variant"  # type: ignore[index]
    assert gpu["verdict"] == "ok" and gpu["variants"][0]["variant"] == "cu128"  # type: ignore[index]
    assert gpu["variants"][0]["legacy_file"] is None  # type: ignore[index]


def test_without_variants_json_variant_wheels_are_not_used(capsys: pytest.CaptureFixture[str]) -> None:
    with IndexServer() as server:
        _serve(server, variants_json=None)
        _, cells = _cells(server, capsys, "linux-x86_64+cuda=12.8")
    assert cells[0]["files"]["torch"] == f"{WHEEL}.whl"  # type: ignore[index]


def test_a_variants_json_that_does_not_match_its_hash_is_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    with IndexServer() as server:
        _serve(server)
        server.files["torch-2.10.0-variants.json"].sha256 = "0" * 64
        code = main(["check", "torch", "-t", "linux-x86_64+cuda=12.8", "-p", "3.12", "--index-url", server.url])
    assert code == 3
    assert "does not match the sha256" in capsys.readouterr().err


def test_variant_wheels_leave_other_files_alone(capsys: pytest.CaptureFixture[str]) -> None:
    """A project without variants: no variants.json is asked for, no variant reported."""
    with IndexServer() as server:
        server.add_wheel("filelock-3.0-py3-none-any.whl", make_wheel("filelock", "3.0"))
        code = main(["check", "filelock", "-t", "linux-x86_64+cuda=12.8", "-p", "3.12", "--index-url", server.url, "--json"])
        asked = server.requests("variants")
    assert code == 0 and not asked
    assert json.loads(capsys.readouterr().out)["cells"][0]["variants"] == []


def test_distfile_variant_property() -> None:
    assert DistFile("torch-2.10.0-cp312-cp312-win_amd64-cu130.whl", "u").variant == "cu130"
    assert DistFile("torch-2.10.0-variants.json", "u").is_variants_json


def test_show_names_the_file_a_target_takes_and_why_not_the_others(capsys: pytest.CaptureFixture[str]) -> None:
    with IndexServer() as server:
        _serve(server)
        for tag in ("cp312-cp312-macosx_14_0_arm64", "cp311-cp311-manylinux_2_28_x86_64", "cp312-cp312-manylinux_2_34_x86_64"):
            server.add_wheel(f"torch-2.10.0-{tag}.whl", make_wheel("torch", "2.10.0", tag))
        code = main(["show", "torch", "-t", "x86_64-manylinux_2_28+cuda=12.8+sm=61", "-p", "3.12", "--index-url", server.url,
                     "--json"])
        doc = json.loads(capsys.readouterr().out)
        assert code == 0 and doc["target"]["label"] == "linux-x86_64@2.28+cuda=12.8+sm=61 (x86_64-manylinux_2_28) / 3.12"
        why = {c["filename"]: c["why"] for c in doc["target"]["files"]}
        assert doc["target"]["files"][0] == {"filename": f"{WHEEL}-cu126.whl", "why": "taken", "rank": 0, "needs": None}
        assert why == {
            f"{WHEEL}-cu126.whl": "taken",
            f"{WHEEL}-null.whl": "variant-not-chosen",
            f"{WHEEL}-cu128.whl": "variant",  # no code for sm_61
            f"{WHEEL}-cu130.whl": "variant",  # needs a CUDA 13 driver
            f"{WHEEL}.whl": "plain-not-chosen",
            "torch-2.10.0-cp312-cp312-macosx_14_0_arm64.whl": "platform",
            "torch-2.10.0-cp311-cp311-manylinux_2_28_x86_64.whl": "python",
            "torch-2.10.0-cp312-cp312-manylinux_2_34_x86_64.whl": "os-too-old",
        }
        assert main(["show", "torch", "-t", "linux-x86_64", "-p", "3.12", "--index-url", server.url]) == 0
    out = capsys.readouterr().out
    assert f"takes {WHEEL}-null.whl" in out
    assert "torch-2.10.0-cp312-cp312-manylinux_2_34_x86_64.whl: needs glibc 2.34 or newer" in out
    assert f"not {WHEEL}-cu128.whl: a variant for properties the target does not have" in out

from __future__ import annotations

import pytest
from packaging.utils import parse_wheel_filename

from wheelwise.compat import Compatible, Incompatible, Reason, availability, requires_python_ok, wheel_verdict
from wheelwise.target import parse_target


def verdict(filename: str, target: str, python: tuple[int, int]):  # type: ignore[no-untyped-def]
    return wheel_verdict(parse_wheel_filename(filename)[3], parse_target(target, python))


@pytest.mark.parametrize(
    ("filename", "target", "python", "reason"),
    [
        # tensorflow-metal publishes macOS arm64 wheels only: on Linux it is the platform, not the ABI
        ("tensorflow_metal-1.2.0-cp312-cp312-macosx_12_0_arm64.whl", "linux-x86_64", (3, 12), Reason.PLATFORM),
        ("tensorflow_metal-1.2.0-cp312-cp312-macosx_12_0_arm64.whl", "windows-amd64", (3, 12), Reason.PLATFORM),
        # scann 1.2.6: cp37-cp39 manylinux x86_64 only
        ("scann-1.2.6-cp39-cp39-manylinux2014_x86_64.whl", "linux-x86_64", (3, 11), Reason.PYTHON),
        ("scann-1.2.6-cp39-cp39-manylinux2014_x86_64.whl", "macos-arm64", (3, 9), Reason.PLATFORM),
        # a debug-ABI build for the right Python
        ("demo-1.0-cp311-cp311d-manylinux_2_17_x86_64.whl", "linux-x86_64", (3, 11), Reason.ABI),
        # needs a newer macOS than the target
        ("numpy-2.3.0-cp312-cp312-macosx_14_0_arm64.whl", "macos-arm64@13", (3, 12), Reason.PLATFORM),
        # needs a newer glibc than the target
        ("demo-1.0-cp312-cp312-manylinux_2_34_x86_64.whl", "linux-x86_64@2.28", (3, 12), Reason.PLATFORM),
    ],
)
def test_incompatible_wheels_say_why(filename: str, target: str, python: tuple[int, int], reason: Reason) -> None:
    got = verdict(filename, target, python)
    assert isinstance(got, Incompatible) and got.reason is reason


@pytest.mark.parametrize(
    ("filename", "target", "python"),
    [
        ("tensorflow_metal-1.2.0-cp312-cp312-macosx_12_0_arm64.whl", "macos-arm64", (3, 12)),
        ("grpcio-1.70.0-cp312-cp312-macosx_10_14_universal2.whl", "macos-arm64", (3, 12)),
        ("grpcio-1.70.0-cp312-cp312-macosx_10_14_universal2.whl", "macos-x86_64", (3, 12)),
        ("protobuf-5.29.0-cp38-abi3-manylinux2014_aarch64.whl", "linux-aarch64", (3, 13)),
        ("six-1.17.0-py2.py3-none-any.whl", "windows-arm64", (3, 11)),
        ("torch-2.9.0-cp311-cp311-win_amd64.whl", "windows-amd64", (3, 11)),
    ],
)
def test_compatible_wheels(filename: str, target: str, python: tuple[int, int]) -> None:
    assert isinstance(verdict(filename, target, python), Compatible)


def test_more_specific_wheels_rank_better() -> None:
    native = verdict("demo-1.0-cp312-cp312-macosx_11_0_arm64.whl", "macos-arm64", (3, 12))
    abi3 = verdict("demo-1.0-cp39-abi3-macosx_11_0_arm64.whl", "macos-arm64", (3, 12))
    pure = verdict("demo-1.0-py3-none-any.whl", "macos-arm64", (3, 12))
    assert isinstance(native, Compatible) and isinstance(abi3, Compatible) and isinstance(pure, Compatible)
    assert native.rank < abi3.rank < pure.rank


def test_nearest_miss_wins_across_compressed_tags() -> None:
    got = verdict("demo-1.0-cp39.cp312-cp39.cp312-win_amd64.whl", "linux-x86_64", (3, 12))
    assert isinstance(got, Incompatible) and got.reason is Reason.PLATFORM
    assert len(got.tags) == 4 and "cp312-cp312-win_amd64" in got.tags


@pytest.mark.parametrize(
    ("spec", "python", "ok"),
    [(">=3.9", (3, 12), True), (">=3.10", (3, 9), False), ("<3.13,>=3.9", (3, 13), False), ("~=3.8", (3, 14), True),
     ("not a specifier", (3, 12), True), (None, (3, 12), True)],
)
def test_requires_python(spec: str | None, python: tuple[int, int], ok: bool) -> None:
    assert requires_python_ok(spec, parse_target("linux-x86_64", python)) is ok


def _files(*names: str) -> list[tuple[str, frozenset]]:  # type: ignore[type-arg]
    return [(n, parse_wheel_filename(n)[3] if n.endswith(".whl") else frozenset()) for n in names]


def test_availability_of_recorded_scann_and_tflite_support() -> None:
    from helpers.indexserver import load_recorded

    scann = [f.filename for f in load_recorded(["scann"]) if f.filename.startswith("scann-1.2.6-")]
    # the recording keeps CPython 3.8+ wheels; the index also has cp37
    assert availability(_files(*scann)).describe() == "Linux x86_64, CPython 3.8–3.9"
    support = availability(_files(*[f.filename for f in load_recorded(["tflite-support"])]))
    assert "macOS arm64" not in support.platforms and "Linux x86_64" in support.platforms


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["scann-1.2.6-cp37-cp37m-manylinux2014_x86_64.whl", "scann-1.2.6-cp39-cp39-manylinux2014_x86_64.whl",
          "scann-1.2.6-cp38-cp38-manylinux2014_x86_64.whl"], "Linux x86_64, CPython 3.7–3.9"),
        (["t-1.0-cp39-cp39-macosx_10_15_x86_64.whl", "t-1.0-cp39-cp39-manylinux2014_x86_64.whl"],
         "Linux x86_64 and macOS x86_64, CPython 3.9"),
        (["g-1.0-cp312-cp312-macosx_10_14_universal2.whl"], "macOS arm64 and macOS x86_64, CPython 3.12"),
        (["p-1.0-cp39-abi3-win_amd64.whl"], "Windows amd64, CPython 3.9+ (abi3)"),
        (["s-1.0-py2.py3-none-any.whl", "s-1.0.tar.gz"], "any platform, any Python 3; an sdist"),
        (["s-1.0.tar.gz"], "an sdist only"),
    ],
)
def test_availability_words(names: list[str], expected: str) -> None:
    from wheelwise.compat import availability

    assert availability(_files(*names)).describe() == expected

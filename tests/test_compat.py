from __future__ import annotations

import pytest
from packaging.utils import parse_wheel_filename

from wheelwise.compat import (
    Compatible,
    Incompatible,
    Reason,
    availability,
    os_floor,
    platform_label,
    requires_python_ok,
    wheel_verdict,
)
from wheelwise.target import parse_target


def verdict(filename: str, target: str, python: tuple[int, int]):  # type: ignore[no-untyped-def]
    return wheel_verdict(parse_wheel_filename(filename)[3], parse_target(target, python))


@pytest.mark.parametrize(
    ("filename", "target", "python", "reason"),
    [
        # tensorflow-metal publishes macOS arm64 wheels only: on Linux it is the platform,
        # not the ABI
        (
            "tensorflow_metal-1.2.0-cp312-cp312-macosx_12_0_arm64.whl",
            "linux-x86_64",
            (3, 12),
            Reason.PLATFORM,
        ),
        (
            "tensorflow_metal-1.2.0-cp312-cp312-macosx_12_0_arm64.whl",
            "windows-amd64",
            (3, 12),
            Reason.PLATFORM,
        ),
        # scann 1.2.6: cp37-cp39 manylinux x86_64 only
        ("scann-1.2.6-cp39-cp39-manylinux2014_x86_64.whl", "linux-x86_64", (3, 11), Reason.PYTHON),
        ("scann-1.2.6-cp39-cp39-manylinux2014_x86_64.whl", "macos-arm64", (3, 9), Reason.PLATFORM),
        # a debug-ABI build for the right Python
        ("demo-1.0-cp311-cp311d-manylinux_2_17_x86_64.whl", "linux-x86_64", (3, 11), Reason.ABI),
        # a floor no OS has (a name from a hostile page): another platform, judged without
        # building the millions of tags such a target would accept
        ("demo-1.0-cp312-cp312-manylinux_2_999999_x86_64.whl", "linux-x86_64", (3, 12), Reason.PLATFORM),
        ("demo-1.0-cp312-cp312-macosx_99999_0_arm64.whl", "macos-arm64", (3, 12), Reason.PLATFORM),
        # the same aarch64 wheel on another architecture: the platform, not the glibc
        (
            "demo-1.0-cp311-cp311-manylinux_2_34_aarch64.whl",
            "linux-x86_64",
            (3, 11),
            Reason.PLATFORM,
        ),
        # a newer glibc but also another Python: the interpreter is wrong first
        (
            "demo-1.0-cp39-cp39-manylinux_2_34_x86_64.whl",
            "linux-x86_64@2.28",
            (3, 11),
            Reason.PYTHON,
        ),
        # a newer macOS but for Linux: the platform
        ("numpy-2.3.0-cp312-cp312-macosx_14_0_arm64.whl", "linux-x86_64", (3, 12), Reason.PLATFORM),
        # Intel macOS wheels on Apple silicon are another architecture, whatever their floor
        ("demo-1.0-cp312-cp312-macosx_14_0_x86_64.whl", "macos-arm64@13", (3, 12), Reason.PLATFORM),
        # musllinux on a glibc target: not a question of the version
        ("demo-1.0-cp312-cp312-musllinux_1_2_x86_64.whl", "linux-x86_64", (3, 12), Reason.PLATFORM),
    ],
)
def test_incompatible_wheels_say_why(
    filename: str, target: str, python: tuple[int, int], reason: Reason
) -> None:
    got = verdict(filename, target, python)
    assert isinstance(got, Incompatible) and got.reason is reason and got.needs is None


@pytest.mark.parametrize(
    ("filename", "target", "python", "needs"),
    [
        # needs a newer macOS than the target
        ("numpy-2.3.0-cp312-cp312-macosx_14_0_arm64.whl", "macos-arm64@13", (3, 12), (14, 0)),
        # needs a newer glibc than the target
        ("demo-1.0-cp312-cp312-manylinux_2_34_x86_64.whl", "linux-x86_64@2.28", (3, 12), (2, 34)),
        ("demo-1.0-cp311-cp311-manylinux_2_34_aarch64.whl", "linux-aarch64@2.28", (3, 11), (2, 34)),
        # universal2 covers x86_64; intel is x86_64
        ("demo-1.0-cp312-cp312-macosx_14_0_universal2.whl", "macos-x86_64@13", (3, 12), (14, 0)),
        ("demo-1.0-cp312-cp312-macosx_14_0_universal2.whl", "macos-arm64@13", (3, 12), (14, 0)),
        ("demo-1.0-cp312-cp312-macosx_10_15_intel.whl", "macos-x86_64@10.13", (3, 12), (10, 15)),
        # legacy manylinux names against an older glibc
        ("demo-1.0-cp312-cp312-manylinux2014_x86_64.whl", "linux-x86_64@2.12", (3, 12), (2, 17)),
        # abi3 is the right ABI for a newer Python
        ("demo-1.0-cp39-abi3-manylinux_2_31_x86_64.whl", "linux-x86_64@2.28", (3, 13), (2, 31)),
        # the lowest floor among the tags that would fit
        (
            "demo-1.0-cp312-cp312-manylinux_2_39_x86_64.manylinux_2_34_x86_64.whl",
            "linux-x86_64@2.28",
            (3, 12),
            (2, 34),
        ),
        # nearest miss wins: one tag for another Python, one only needing a newer macOS
        ("demo-1.0-cp311.cp312-cp311.cp312-macosx_15_0_arm64.whl", "macos-arm64", (3, 12), (15, 0)),
    ],
)
def test_os_too_old_says_what_it_needs(
    filename: str, target: str, python: tuple[int, int], needs: tuple[int, int]
) -> None:
    got = verdict(filename, target, python)
    assert isinstance(got, Incompatible) and got.reason is Reason.OS_TOO_OLD and got.needs == needs


def test_reasons_order_and_slugs() -> None:
    assert Reason.YANKED < Reason.REQUIRES_PYTHON < Reason.SDIST_ONLY < Reason.PYTHON < Reason.ABI
    assert Reason.ABI < Reason.PLATFORM < Reason.OS_TOO_OLD < Reason.VARIANT
    # the user's own settings refuse a file that would install: nearer than any tag's miss
    assert Reason.VARIANT < Reason.NO_BINARY < Reason.HASH_MISMATCH == max(r for r in Reason if r.about_files)
    assert [r.slug for r in Reason if r.about_files] == [
        "yanked",
        "requires-python",
        "sdist-only",
        "python",
        "abi",
        "platform",
        "os-too-old",
        "variant",
        "no-binary",
        "hash-mismatch",
    ]


@pytest.mark.parametrize(
    ("platform", "floor"),
    [
        ("manylinux_2_34_aarch64", ("glibc", (2, 34))),
        ("manylinux2014_x86_64", ("glibc", (2, 17))),
        ("manylinux2010_x86_64", ("glibc", (2, 12))),
        ("manylinux1_i686", ("glibc", (2, 5))),
        ("musllinux_1_2_x86_64", ("musl", (1, 2))),
        ("macosx_11_0_arm64", ("macOS", (11, 0))),
        ("macosx_14_2_arm64", ("macOS", (14, 0))),
        ("macosx_10_9_universal2", ("macOS", (10, 9))),
        ("linux_x86_64", None),
        ("win_amd64", None),
        ("any", None),
    ],
)
def test_os_floor(platform: str, floor: tuple[str, tuple[int, int]] | None) -> None:
    assert os_floor(platform) == floor


def test_platform_labels() -> None:
    assert platform_label("macosx_10_14_universal2") == {"macOS arm64", "macOS x86_64"}
    assert platform_label("macosx_10_9_intel") == {"macOS x86_64"}
    assert platform_label("manylinux_2_17_aarch64") == {"Linux aarch64"}
    assert platform_label("manylinux2014_x86_64") == {"Linux x86_64"}
    assert platform_label("linux_armv7l") == {"Linux armv7l"}
    assert platform_label("musllinux_1_1_x86_64") == {"Linux x86_64 (musl)"}
    assert platform_label("win32") == {"Windows x86"}
    assert platform_label("any") == {"any"}


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
    assert (
        isinstance(native, Compatible)
        and isinstance(abi3, Compatible)
        and isinstance(pure, Compatible)
    )
    assert native.rank < abi3.rank < pure.rank


def test_nearest_miss_wins_across_compressed_tags() -> None:
    got = verdict("demo-1.0-cp39.cp312-cp39.cp312-win_amd64.whl", "linux-x86_64", (3, 12))
    assert isinstance(got, Incompatible) and got.reason is Reason.PLATFORM
    assert len(got.tags) == 4 and "cp312-cp312-win_amd64" in got.tags


@pytest.mark.parametrize(
    ("spec", "python", "ok"),
    [
        (">=3.9", (3, 12), True),
        (">=3.10", (3, 9), False),
        ("<3.13,>=3.9", (3, 13), False),
        ("~=3.8", (3, 14), True),
        ("not a specifier", (3, 12), True),
        (None, (3, 12), True),
    ],
)
def test_requires_python(spec: str | None, python: tuple[int, int], ok: bool) -> None:
    assert requires_python_ok(spec, parse_target("linux-x86_64", python)) is ok


def _files(*names: str) -> list[tuple[str, frozenset]]:  # type: ignore[type-arg]
    return [(n, parse_wheel_filename(n)[3] if n.endswith(".whl") else frozenset()) for n in names]


def test_availability_of_recorded_scann_and_tflite_support() -> None:
    from helpers.indexserver import load_recorded

    scann = [f.filename for f in load_recorded(["scann"]) if f.filename.startswith("scann-1.2.6-")]
    # the recording keeps CPython 3.8+ wheels; the index also has cp37
    assert availability(_files(*scann)).describe() == "Linux x86_64 (glibc ≥ 2.17): CPython 3.8–3.9"
    support = availability(_files(*[f.filename for f in load_recorded(["tflite-support"])]))
    assert "macOS arm64" not in support.platforms and "Linux x86_64" in support.platforms


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (
            [
                "scann-1.2.6-cp37-cp37m-manylinux2014_x86_64.whl",
                "scann-1.2.6-cp39-cp39-manylinux2014_x86_64.whl",
                "scann-1.2.6-cp38-cp38-manylinux2014_x86_64.whl",
            ],
            "Linux x86_64 (glibc ≥ 2.17): CPython 3.7–3.9",
        ),
        # each platform with its own Pythons: never "Linux and macOS, CPython 3.7–3.11"
        (
            [
                "scann-1.2.6-cp37-cp37m-manylinux2014_x86_64.whl",
                "scann-1.2.6-cp38-cp38-manylinux2014_x86_64.whl",
                "scann-1.2.6-cp39-cp39-manylinux2014_x86_64.whl",
                "scann-1.2.6-cp311-cp311-macosx_11_0_arm64.whl",
                "scann-1.2.6.tar.gz",
            ],
            (
                "Linux x86_64 (glibc ≥ 2.17): CPython 3.7–3.9; "
                "macOS arm64 (macOS ≥ 11.0): CPython 3.11; an sdist"
            ),
        ),
        # the lowest floor of a platform's wheels
        (
            [
                "d-1.0-cp311-cp311-manylinux_2_28_x86_64.whl",
                "d-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
            ],
            "Linux x86_64 (glibc ≥ 2.17): CPython 3.11–3.12",
        ),
        # ranges only where contiguous
        (
            [
                "d-1.0-cp37-cp37m-win_amd64.whl",
                "d-1.0-cp38-cp38-win_amd64.whl",
                "d-1.0-cp39-cp39-win_amd64.whl",
                "d-1.0-cp311-cp311-win_amd64.whl",
            ],
            "Windows amd64: CPython 3.7–3.9, 3.11",
        ),
        (
            ["t-1.0-cp39-cp39-macosx_10_15_x86_64.whl", "t-1.0-cp39-cp39-manylinux2014_x86_64.whl"],
            "Linux x86_64 (glibc ≥ 2.17): CPython 3.9; macOS x86_64 (macOS ≥ 10.15): CPython 3.9",
        ),
        # universal2 from 10.14 still needs macOS 11 on Apple silicon
        (
            ["g-1.0-cp312-cp312-macosx_10_14_universal2.whl"],
            "macOS arm64 (macOS ≥ 11.0): CPython 3.12; macOS x86_64 (macOS ≥ 10.14): CPython 3.12",
        ),
        (["p-1.0-cp39-abi3-win_amd64.whl"], "Windows amd64: CPython 3.9+ (abi3)"),
        (["s-1.0-py2.py3-none-any.whl", "s-1.0.tar.gz"], "any platform: any Python 3; an sdist"),
        (["s-1.0.tar.gz"], "an sdist only"),
        ([], "no files"),
        # the example of the format: platforms by label, any platform last, then the sdist
        (
            [
                "n-1.0-cp39-cp39-manylinux_2_34_aarch64.whl",
                "n-1.0-cp310-cp310-manylinux_2_34_aarch64.whl",
                "n-1.0-cp311-cp311-manylinux_2_34_aarch64.whl",
                "n-1.0-cp310-cp310-win_amd64.whl",
                *[f"n-1.0-cp3{m}-cp3{m}-macosx_11_0_arm64.whl" for m in range(9, 13)],
                "n-1.0-cp38-abi3-macosx_11_0_arm64.whl",
                "n-1.0-py3-none-any.whl",
                "n-1.0.tar.gz",
            ],
            (
                "Linux aarch64 (glibc ≥ 2.34): CPython 3.9–3.11; "
                "macOS arm64 (macOS ≥ 11.0): CPython 3.9–3.12 and CPython 3.8+ (abi3); "
                "Windows amd64: CPython 3.10; any platform: any Python 3; an sdist"
            ),
        ),
        # musllinux is its own platform, with a musl floor; PyPy and py3X are named
        (
            [
                "m-1.0-cp312-cp312-musllinux_1_2_x86_64.whl",
                "m-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
                "m-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl",
                "m-1.0-py38-none-macosx_11_0_arm64.whl",
                "m-1.0-cp312-cp312-linux_armv7l.whl",
            ],
            (
                "Linux armv7l: CPython 3.12; "
                "Linux x86_64 (glibc ≥ 2.17): CPython 3.12 and PyPy 3.10; "
                "Linux x86_64 (musl ≥ 1.2): CPython 3.12; macOS arm64 (macOS ≥ 11.0): Python 3.8+"
            ),
        ),
    ],
)
def test_availability_words(names: list[str], expected: str) -> None:
    assert availability(_files(*names)).describe() == expected


def test_availability_platforms() -> None:
    got = availability(
        _files(
            "g-1.0-cp312-cp312-macosx_10_14_universal2.whl",
            "g-1.0-py3-none-any.whl",
            "g-1.0-cp312-cp312-musllinux_1_2_aarch64.whl",
        )
    )
    assert got.platforms == {"macOS arm64", "macOS x86_64", "Linux aarch64 (musl)", "any"}
    assert [p.label for p in got.by_platform] == [
        "Linux aarch64 (musl)",
        "macOS arm64",
        "macOS x86_64",
        "any",
    ]


def test_describe_caps_the_platforms_and_keeps_standard_ones() -> None:
    archs = ["armv7l", "i686", "ppc64le", "s390x", "riscv64", "x86_64", "aarch64"]
    names = [f"d-1.0-cp312-cp312-manylinux_2_17_{a}.whl" for a in archs]
    names += [
        "d-1.0-cp312-cp312-win_amd64.whl",
        "d-1.0-cp312-cp312-win_arm64.whl",
        "d-1.0-py3-none-any.whl",
    ]
    text = availability(_files(*names)).describe()
    # 10 platform groups: 8 named (any platform always), the standard targets' platforms kept
    assert text.count(": ") == 8 and text.endswith(
        ", and 2 more platforms; any platform: any Python 3"
    )
    for kept in ("Linux x86_64", "Linux aarch64", "Windows amd64", "Windows arm64"):
        assert kept in text
    assert "Linux armv7l" in text and "riscv64" not in text and "s390x" not in text

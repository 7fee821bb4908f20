from __future__ import annotations

import subprocess
import sys

import pytest
from packaging.markers import Marker

from wheelwise.errors import BadInputError
from wheelwise.target import PRESETS, SUPPORTED_PYTHONS, host_target, parse_python, parse_target


def pip_tags(platform: str, python: str) -> list[str]:
    """The tags real pip computes for a foreign target (``pip debug``)."""
    abi = "cp" + python.replace(".", "")
    out = subprocess.run(
        [sys.executable, "-m", "pip", "debug", "--verbose", "--platform", platform, "--python-version", python,
         "--implementation", "cp", "--abi", abi],
        capture_output=True, text=True, check=True,
    ).stdout
    lines = out.split("Compatible tags:", 1)[1].splitlines()[1:]
    return [line.strip() for line in lines if line.startswith("  ")]


@pytest.mark.parametrize(("spec", "python", "platform"), [("macos-arm64@14", "3.12", "macosx_14_0_arm64"),
                                                           ("macos-x86_64@13", "3.10", "macosx_13_0_x86_64")])
def test_macos_tags_are_pips_in_pips_order(spec: str, python: str, platform: str) -> None:
    target = parse_target(spec, tuple(int(p) for p in python.split(".")))  # type: ignore[arg-type]
    # packaging's "fat32"/"fat64" names differ between releases; they name PowerPC-era builds
    def usual(tags: list[str]) -> list[str]:
        return [t for t in tags if "_fat" not in t]

    assert usual([str(t) for t in target.tags]) == usual(pip_tags(platform, python))


def test_linux_tags_follow_pips_order_for_one_platform() -> None:
    target = parse_target("linux-x86_64", (3, 12))
    ours = [str(t) for t in target.tags if t.platform == "manylinux_2_28_x86_64"]
    assert ours == [t for t in pip_tags("manylinux_2_28_x86_64", "3.12") if t.endswith("manylinux_2_28_x86_64")]


def test_linux_platforms_include_legacy_aliases_down_to_the_oldest() -> None:
    x86 = list(parse_target("linux-x86_64@2.17", (3, 12)).platforms())
    assert x86[:2] == ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
    assert {"manylinux2010_x86_64", "manylinux1_x86_64", "manylinux_2_5_x86_64"} <= set(x86)
    assert x86[-1] == "linux_x86_64"
    arm = list(parse_target("linux-aarch64@2.31", (3, 12)).platforms())
    assert arm[0] == "manylinux_2_31_aarch64" and "manylinux2014_aarch64" in arm
    assert not any("2_16" in p or "manylinux1" in p for p in arm)  # aarch64 starts at glibc 2.17


@pytest.mark.parametrize(
    ("spec", "machine", "system", "marker", "expected"),
    [
        ("macos-arm64", "arm64", "Darwin", 'platform_machine == "arm64" and sys_platform == "darwin"', True),
        ("linux-aarch64", "aarch64", "Linux", 'platform_machine == "arm64"', False),
        ("windows-amd64", "AMD64", "Windows", 'os_name == "nt" and platform_machine == "AMD64"', True),
        ("linux-x86_64", "x86_64", "Linux", 'python_version < "3.12"', True),
    ],
)
def test_marker_environment(spec: str, machine: str, system: str, marker: str, expected: bool) -> None:
    target = parse_target(spec, (3, 11))
    assert target.markers["platform_machine"] == machine
    assert target.markers["platform_system"] == system
    assert Marker(marker).evaluate(dict(target.markers)) is expected


def test_macos_release_is_the_darwin_kernel() -> None:
    assert parse_target("macos-arm64@14", (3, 12)).markers["platform_release"] == "23.0.0"
    assert parse_target("macos-x86_64@10.15", (3, 9)).markers["platform_release"] == "19.0.0"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("macos-m1", "valid targets: macos-arm64"),
        ("linux-x86_64@14", "glibc version like 2.28"),
        ("windows-amd64@11", "takes no version"),
        ("macos-arm64@fourteen", "is not a version"),
        # absurd versions would mean a billion platform tags: refused before any is made
        ("macos-x86_64@999999999", "macOS 10.0-10.16 or 11-99"),
        ("macos-arm64@10.17", "macOS 10.0-10.16 or 11-99"),
        ("macos-arm64@14.999", "macOS 10.0-10.16 or 11-99"),
        ("macos-arm64@-1", "macOS 10.0-10.16 or 11-99"),
        ("linux-x86_64@2.99999999", "glibc 2.0-2.99"),
        ("linux-aarch64@2.-3", "glibc 2.0-2.99"),
    ],
)
def test_bad_targets(text: str, fragment: str) -> None:
    with pytest.raises(BadInputError) as info:
        parse_target(text, (3, 12))
    assert fragment in f"{info.value.message} {info.value.hint}"


def test_the_edges_of_the_sane_ranges_are_targets() -> None:
    assert parse_target("macos-x86_64@10.16", (3, 12)).os_version == (10, 16)
    assert parse_target("macos-arm64@99.99", (3, 12)).os_version == (99, 99)
    assert "manylinux_2_99_x86_64" in parse_target("linux-x86_64@2.99", (3, 12)).platforms()


def test_presets_and_labels() -> None:
    assert set(PRESETS) == {"macos-arm64", "macos-x86_64", "linux-x86_64", "linux-aarch64", "windows-amd64", "windows-arm64"}
    assert parse_target("macos-arm64@14.2", (3, 12)).label == "macos-arm64@14.2 / 3.12"
    assert parse_target("linux-x86_64", (3, 11)).label == "linux-x86_64@2.28 / 3.11"


def test_python_versions() -> None:
    assert parse_python("3.12") == [(3, 12)]
    assert parse_python("all") == list(SUPPORTED_PYTHONS)
    for bad in ("3", "three.twelve", "2.7"):
        with pytest.raises(BadInputError):
            parse_python(bad)


def test_host_target_is_what_the_interpreter_reports() -> None:
    host = host_target(sys.executable)
    from packaging.tags import sys_tags

    assert [str(t) for t in host.tags] == [str(t) for t in sys_tags()]
    assert host.python == sys.version_info[:2]
    with pytest.raises(BadInputError):
        host_target("/nonexistent/python")

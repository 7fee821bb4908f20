from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import Marker

from wheelwise.errors import BadInputError
from wheelwise.properties import Properties
from wheelwise.target import (
    PRESETS,
    SUPPORTED_PYTHONS,
    UV_TRIPLES,
    host_target,
    parse_python,
    parse_pythons,
    parse_target,
)


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
        ("macos-m1", "targets: macos-arm64"),
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


# -- spellings: uv's --python-platform values and pip's --platform tags ----------------------------

@pytest.mark.parametrize(
    ("spelling", "ours"),
    [
        ("aarch64-apple-darwin", "macos-arm64@13"),
        ("macos", "macos-arm64@13"),
        ("x86_64-apple-darwin", "macos-x86_64@13"),
        ("x86_64-unknown-linux-gnu", "linux-x86_64@2.28"),
        ("linux", "linux-x86_64@2.28"),
        ("aarch64-unknown-linux-gnu", "linux-aarch64@2.28"),
        ("x86_64-manylinux_2_28", "linux-x86_64@2.28"),
        ("x86_64-manylinux_2_34", "linux-x86_64@2.34"),
        ("aarch64-manylinux2014", "linux-aarch64@2.17"),
        ("x86_64-unknown-linux-musl", "linux-x86_64-musl@1.2"),
        ("aarch64-unknown-linux-musl", "linux-aarch64-musl@1.2"),
        ("x86_64-pc-windows-msvc", "windows-amd64"),
        ("aarch64-pc-windows-msvc", "windows-arm64"),
        ("windows", "windows-amd64"),
        ("macosx_14_0_arm64", "macos-arm64@14"),
        ("macosx_10_15_x86_64", "macos-x86_64@10.15"),
        ("manylinux_2_31_aarch64", "linux-aarch64@2.31"),
        ("manylinux2014_x86_64", "linux-x86_64@2.17"),
        ("musllinux_1_1_x86_64", "linux-x86_64-musl@1.1"),
        ("win_amd64", "windows-amd64"),
        ("linux-arm64", "linux-aarch64"),
        ("windows-x86_64", "windows-amd64"),
    ],
)
def test_every_spelling_is_one_of_ours_with_the_same_tags_and_markers(spelling: str, ours: str) -> None:
    theirs, mine = parse_target(spelling, (3, 12)), parse_target(ours, (3, 12))
    assert theirs.tags == mine.tags and theirs.markers == mine.markers and theirs == mine
    assert theirs.spelled == spelling and mine.spelled is None
    assert theirs.label == f"{mine.place} ({spelling}) / 3.12"


@pytest.mark.parametrize("platform", ["macosx_14_0_arm64", "manylinux_2_28_x86_64", "musllinux_1_2_x86_64",
                                      "manylinux_2_31_aarch64", "win_amd64"])
def test_pip_platform_tags_give_pips_own_tags(platform: str) -> None:
    """pip takes a Linux or Windows --platform as that one platform tag (a macOS one as every macOS
    platform up to it): ours, for what pip takes, in pip's order."""
    pips = [t for t in pip_tags(platform, "3.12") if "_fat" not in t]
    taken = {t.rsplit("-", 1)[1] for t in pips}
    ours = [str(t) for t in parse_target(platform, (3, 12)).tags if t.platform in taken and "_fat" not in t.platform]
    assert ours == pips and platform in taken


# Floors around each default uv assumes: the newest version uv installs names the floor it takes.
UV_FLOORS = {
    "gnu_x86_64": ["manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "manylinux_2_31_x86_64", "manylinux_2_34_x86_64"],
    "gnu_aarch64": ["manylinux_2_17_aarch64", "manylinux_2_28_aarch64", "manylinux_2_31_aarch64"],
    "mac_arm64": ["macosx_11_0_arm64", "macosx_13_0_arm64", "macosx_14_0_arm64"],
    "mac_x86_64": ["macosx_10_9_x86_64", "macosx_13_0_x86_64", "macosx_14_0_x86_64"],
    "musl_x86_64": ["musllinux_1_1_x86_64", "musllinux_1_2_x86_64", "musllinux_1_3_x86_64"],
    "musl_aarch64": ["musllinux_1_1_aarch64", "musllinux_1_2_aarch64", "musllinux_1_3_aarch64"],
    "win": ["win_amd64", "win_arm64"],
}


@pytest.fixture
def floors_index(index_server: object) -> object:
    from helpers.wheels import make_wheel, wheel_filename

    for project, platforms in UV_FLOORS.items():
        for i, platform in enumerate(platforms):
            tag = f"py3-none-{platform}"
            index_server.add_wheel(wheel_filename(project, f"{i + 1}.0", tag), make_wheel(project, f"{i + 1}.0", tag))  # type: ignore[attr-defined]
    return index_server


def _uv_pins(url: str, triple: str, tmp_path: object) -> dict[str, str]:
    import os
    import shutil

    uv = shutil.which("uv", path=os.path.dirname(sys.executable)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed (pip install uv)")
    pins = {}
    for project in UV_FLOORS:
        proc = subprocess.run(
            [uv, "pip", "compile", "-", "--python", sys.executable, "--index-url", url, "--python-platform", triple,
             "--python-version", "3.12",
             "--no-header", "--no-annotate", "--quiet", "--no-cache"],
            input=project, capture_output=True, text=True, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )
        if proc.returncode == 0:
            name, _, version = proc.stdout.strip().partition("==")
            pins[name] = version
    return pins


def _our_pins(url: str, triple: str) -> dict[str, str]:
    import io
    import json
    from contextlib import redirect_stdout

    from wheelwise.cli import main

    out = io.StringIO()
    pins: dict[str, str] = {}
    for project in UV_FLOORS:
        with redirect_stdout(out):
            main(["check", project, "-t", triple, "-p", "3.12", "--index-url", url, "--json", "--no-nearest"])
        pins |= json.loads(out.getvalue())["cells"][0]["pins"]
        out.seek(0)
        out.truncate()
    return pins


@pytest.mark.parametrize("triple", [*UV_TRIPLES, "x86_64-manylinux_2_31", "aarch64-manylinux2014"])
def test_uv_triples_resolve_as_uv_resolves_them(floors_index: object, triple: str, tmp_path: object) -> None:
    """The same loopback index, uv and wheelwise, one project per OS floor: the same pins."""
    url = floors_index.url  # type: ignore[attr-defined]
    assert _our_pins(url, triple) == _uv_pins(url, triple, tmp_path)


def test_unknown_spellings_say_what_is_known() -> None:
    for text, fragment in [("i686-pc-windows-msvc", "does not model"), ("macosx_11_0_universal2", "not one machine"),
                           ("manylinux_2_17_ppc64le", "not ppc64le"), ("x86_64-manylinux_2_28@2.31", "unknown target"),
                           ("linux-x86_64-musl@2.28", "musl version like 1.2")]:
        with pytest.raises(BadInputError) as info:
            parse_target(text, (3, 12))
        assert fragment in f"{info.value.message} {info.value.hint}"


# -- musl, free-threaded ---------------------------------------------------------------------------

def test_musl_targets_take_musllinux_tags_only() -> None:
    musl = parse_target("linux-x86_64-musl@1.2", (3, 12))
    platforms = list(musl.platforms())
    assert platforms == ["musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64", "linux_x86_64"]
    assert musl.machine == "Linux x86_64 (musl)" and musl.markers["sys_platform"] == "linux"
    assert not any("manylinux" in t.platform for t in musl.tags)


def test_free_threaded_python_has_its_own_abi_and_no_abi3() -> None:
    ft = parse_target("linux-x86_64", (3, 14), free_threaded=True)
    tags = {str(t) for t in ft.tags}
    assert str(ft.tags[0]) == "cp314-cp314t-manylinux_2_28_x86_64"
    assert "cp314-cp314-manylinux_2_28_x86_64" not in tags
    assert not any(t.abi == "abi3" for t in ft.tags)
    assert ft.label == "linux-x86_64@2.28 / 3.14t" and ft.python_str == "3.14"
    assert ft != parse_target("linux-x86_64", (3, 14))


def test_python_versions_that_do_not_exist_are_refused_with_the_known_range() -> None:
    assert parse_pythons("3.14t") == [((3, 14), True)]
    assert parse_pythons("cp313t") == [((3, 13), True)]
    assert parse_pythons("3.16") == [((3, 16), False)]  # in alpha: wheels for it exist
    for bad, fragment in [("3.99", "known CPython versions: 3.0–3.16"), ("3.17", "no CPython 3.17"),
                          ("3.12t", "free-threaded builds start with 3.13"), ("4.0", "no CPython 4.0")]:
        with pytest.raises(BadInputError) as info:
            parse_pythons(bad)
        assert fragment in f"{info.value.message} {info.value.hint}"


# -- properties ------------------------------------------------------------------------------------

def test_properties_on_any_target() -> None:
    gpu = parse_target("linux-x86_64+cuda=12.8+sm=9.0+x86_64=v3", (3, 12))
    assert gpu.properties == Properties(cuda=(12, 8), sm=(9, 0), x86_64="v3")
    assert gpu.label == "linux-x86_64@2.28+cuda=12.8+sm=90+x86_64=v3 / 3.12"
    assert gpu.properties.to_dict() == {"cuda": "12.8", "sm": "90", "x86_64": "v3"}
    assert parse_target("macos-arm64+metal", (3, 12)).properties.metal
    assert gpu != parse_target("linux-x86_64", (3, 12))  # a matrix keeps both cells


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("linux-x86_64+cuda=14.0", "there is no CUDA 14.0"),
        ("linux-x86_64+cuda=twelve", "not a CUDA version"),
        ("linux-x86_64+sm=91", "compute capability 9.1"),
        ("linux-x86_64+x86_64=v5", "not an x86-64 level"),
        ("linux-aarch64+x86_64=v3", "this target is aarch64"),
        ("macos-arm64+cuda=12.8", "CUDA does not run on macOS"),
        ("windows-amd64+metal", "Metal is Apple's"),
        ("linux-x86_64+rocm=6.2", "unknown target property +rocm=6.2"),
        ("linux-x86_64+cuda", "+cuda needs a value"),
        ("linux-x86_64+cuda=12.8+cuda=12.6", "given twice"),
    ],
)
def test_impossible_properties(text: str, fragment: str) -> None:
    with pytest.raises(BadInputError) as info:
        parse_target(text, (3, 12))
    assert fragment in f"{info.value.message} {info.value.hint}"


@pytest.mark.parametrize(
    ("text", "exit_code"), [("-p 3.99", 2), ("-t linux-x86_64+cuda=99", 2), ("-t x86_64-linux-android", 2)]
)
def test_bad_targets_exit_2(text: str, exit_code: int, capsys: pytest.CaptureFixture[str]) -> None:
    from wheelwise.cli import main

    assert main(["check", "six", *text.split(), "--no-index"]) == exit_code
    assert "Traceback" not in capsys.readouterr().err


# -- accelerator fit in plan: a target's +cuda is its driver's CUDA -----------------------------------

def _plan(target: str, tmp_path: object, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    import json

    from wheelwise.cli import main

    empty = Path(str(tmp_path)) / "empty"
    empty.mkdir(exist_ok=True)
    main(["plan", "torch", "--accelerator", "cuda", "-t", target, "-p", "3.12", "--no-index", "-f", str(empty), "--json"])
    plan: dict[str, object] = json.loads(capsys.readouterr().out)["plan"]
    return plan


def test_plan_tries_only_cuda_builds_the_targets_driver_runs(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    tried = [t["stack"] for t in _plan("linux-x86_64+cuda=12.8", tmp_path, capsys)["tried"]]  # type: ignore[attr-defined, index]
    assert tried[0] == "torch-cuda-12.8" and "torch-cuda-13.0" not in tried
    old = _plan("linux-x86_64+cuda=12.4", tmp_path, capsys)
    assert not old["ok"] and "supports CUDA 12.4" in str(old["reason"]) and "need CUDA 12.6 or newer" in str(old["reason"])


@pytest.mark.skipif(sys.platform == "win32", reason="a shell script stands in for nvidia-smi")
def test_the_host_target_takes_the_gpu_from_the_probe_without_asking_nvidia_smi_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # an nvidia-smi that logs each call; the probe asks it (as it must), the target then reads
    # the probe's facts: plan used to run it twice more for what the probe had already read
    from wheelwise.facts import collect
    from wheelwise.target import host_target_from

    log = tmp_path / "calls"
    smi = tmp_path / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'case "$*" in\n'
        "  *compute_cap*) echo 8.9 ;;\n"
        '  *query-gpu*) echo "NVIDIA GeForce RTX 4090, 550.54.14, 24564" ;;\n'
        '  *) echo "| NVIDIA-SMI 550.54.14   Driver Version: 550.54.14   CUDA Version: 12.4 |" ;;\n'
        "esac\n"
    )
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{Path(sys.executable).parent}:/usr/bin:/bin")
    facts = collect(sys.executable, light=True, target=True, accelerators=True)
    asked = log.read_text().splitlines()
    assert asked, "the probe asks nvidia-smi"
    target = host_target_from(facts)
    assert (target.properties.cuda, target.properties.sm) == ((12, 4), (8, 9))
    assert log.read_text().splitlines() == asked

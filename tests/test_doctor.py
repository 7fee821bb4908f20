"""doctor: recorded facts of ten machines give the expected findings; the probe reads real binaries."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from wheelwise.cli import main
from wheelwise.doctor import Status, diagnose
from wheelwise.knowledge import load
from wheelwise.probes.host import (
    binary_architectures,
    file_architectures,
    macos_hardware,
    parse_compute_caps,
    parse_nvidia,
)

DATA = Path(__file__).parent / "data"
FACTS = DATA / "facts"


def findings(name: str) -> dict[str, Status]:
    report = diagnose(json.loads((FACTS / f"{name}.json").read_text()), load())
    found: dict[str, Status] = {}
    for f in report.findings:
        found[f.check] = max(found.get(f.check, Status.OK), f.status, key=lambda s: s.rank)
    return found


def problems(name: str) -> dict[str, Status]:
    return {check: status for check, status in findings(name).items() if status in (Status.WARN, Status.FAIL)}


def test_apple_silicon_native_with_a_working_metal_pair_is_clean() -> None:
    found = findings("m1pro-native-tf-metal")
    assert problems("m1pro-native-tf-metal") == {}
    assert found["rosetta"] is Status.OK and found["apple-gpu"] is Status.OK
    assert found["wrong-arch-extensions"] is Status.OK


def test_same_mac_with_an_x86_64_python_under_rosetta() -> None:
    found = problems("m1pro-rosetta")
    assert found["rosetta"] is Status.FAIL
    assert found["cpu-features"] is Status.WARN  # no AVX for x86_64 TensorFlow
    report = diagnose(json.loads((FACTS / "m1pro-rosetta.json").read_text()), load())
    rosetta = next(f for f in report.findings if f.check == "rosetta")
    assert any("arch -arm64" in fix or "arm64 Python" in fix for fix in rosetta.fix)
    assert report.failed
    # tensorflow without metal is this Python's fault, not metal's: no plugin advice beside it
    assert "tensorflow-without-metal" not in findings("m1pro-rosetta")


def test_tensorflow_2_21_with_metal_1_2_0_fails_with_the_cited_rule() -> None:
    found = problems("m1pro-tf221-metal120")
    assert found == {"tensorflow-metal-1.2-needs-tf-below-2.20": Status.FAIL, "tensorflow-2.20-has-no-metal-plugin": Status.FAIL}
    report = diagnose(json.loads((FACTS / "m1pro-tf221-metal120.json").read_text()), load())
    pin = next(f for f in report.findings if f.check == "tensorflow-metal-1.2-needs-tf-below-2.20")
    assert pin.fix == ("python -m pip install 'tensorflow<2.20'",)
    assert pin.sources[0].startswith("https://")


def test_an_x86_64_extension_in_an_arm64_venv() -> None:
    report = diagnose(json.loads((FACTS / "m1pro-x86-extension.json").read_text()), load())
    bad = [f for f in report.findings if f.status is Status.FAIL]
    assert [f.check for f in bad] == ["wrong-arch-extensions"]
    assert "2 compiled module(s) are not arm64" in bad[0].title  # the universal2 grpc module is fine
    assert bad[0].fix == ("python -m pip install --force-reinstall --no-cache-dir h5py",)


def test_intel_mac_is_told_where_framework_support_ended() -> None:
    report = diagnose(json.loads((FACTS / "intel-mac.json").read_text()), load())
    version = next(f for f in report.findings if f.check == "python-version")
    assert version.status is Status.WARN
    assert any(d.startswith("tensorflow: macos-x86_64 wheels only for releases <=2.16.2") for d in version.details)
    assert any(d.startswith("torch: macos-x86_64 wheels only for releases <=2.2.2") for d in version.details)
    assert any(d.startswith("jax: macos-x86_64 wheels only for releases <0.5.0") for d in version.details)
    assert "rosetta" in findings("intel-mac") and findings("intel-mac")["rosetta"] is Status.OK


def test_linux_with_a_driver_too_old_for_the_cuda_torch() -> None:
    found = problems("linux-nvidia-cuda-torch")
    assert found == {"driver-too-old": Status.FAIL}
    report = diagnose(json.loads((FACTS / "linux-nvidia-cuda-torch.json").read_text()), load())
    old = next(f for f in report.findings if f.check == "driver-too-old")
    assert "needs an NVIDIA driver 525 or later for CUDA 12.8; this driver is 470.256.02" in old.title


def test_linux_cpu_only_machine_with_a_cuda_torch_outside_a_venv() -> None:
    found = problems("linux-cpu-only")
    assert found == {"venv": Status.WARN, "cuda-without-driver": Status.FAIL, "broken-requirements": Status.FAIL}
    report = diagnose(json.loads((FACTS / "linux-cpu-only.json").read_text()), load())
    broken = next(f for f in report.findings if f.check == "broken-requirements")
    assert broken.details == ("torch 2.8.0 has requirement sympy>=1.13.3, but you have sympy 1.12",)


def test_unreadable_facts_are_said_not_guessed() -> None:
    data = json.loads((FACTS / "m1pro-native-tf-metal.json").read_text())
    data["hardware"]["rosetta"] = None
    data["errors"] = [{"fact": "cpu", "reason": "sysctl failed"}]
    report = diagnose(data, load())
    assert any(f.check == "rosetta" and f.status is Status.INFO and "cannot tell" in f.title for f in report.findings)
    assert any(f.check == "unreadable" and "sysctl failed" in f.title for f in report.findings)


def test_a_metal_release_newer_than_the_knowledge_is_compatibility_unknown() -> None:
    data = json.loads((FACTS / "m1pro-native-tf-metal.json").read_text())
    for dist in data["distributions"]:
        if dist["name"] == "tensorflow-metal":
            dist["version"] = "1.3.0"
    report = diagnose(data, load())
    unknown = next(f for f in report.findings if f.check == "tensorflow-metal-unknown")
    assert unknown.status is Status.WARN and "compatibility unknown" in unknown.title


def test_jax_metal_installed_is_called_a_dead_end_with_alternatives() -> None:
    data = json.loads((FACTS / "m1pro-native-tf-metal.json").read_text())
    data["distributions"] += [
        {"name": "jax", "version": "0.5.0", "requires": ["jaxlib<=0.5.0,>=0.5.0"]},
        {"name": "jaxlib", "version": "0.5.0", "requires": []},
        {"name": "jax-metal", "version": "0.1.1", "requires": ["jax>=0.4.34", "jaxlib>=0.4.34"]},
    ]
    report = diagnose(data, load())
    dead = next(f for f in report.findings if f.check == "jax-metal-dead-end")
    assert dead.status is Status.WARN and "jax-metal 0.1.1 is installed: a dead end" in dead.title
    assert any("MLX" in d for d in dead.details) and "python -m pip uninstall -y jax-metal" in dead.fix
    # the working pair breaks no rule; the plugin is still called out
    assert not [f for f in report.findings if f.status is Status.FAIL]


# -- binary headers: real files ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("macho-arm64.so", ("mach-o", ["arm64"])),
        ("macho-x86_64.so", ("mach-o", ["x86_64"])),
        ("macho-universal2.so", ("mach-o", ["x86_64", "arm64"])),
        ("elf-x86_64.so", ("elf", ["x86_64"])),
        ("elf-aarch64.so", ("elf", ["aarch64"])),
        ("pe-amd64.pyd", ("pe", ["x86_64"])),
        ("pe-arm64.pyd", ("pe", ["arm64"])),
    ],
)
def test_binary_headers(name: str, expected: tuple[str, list[str]]) -> None:
    assert file_architectures(str(DATA / "binaries" / name)) == expected


def test_non_binaries_are_not_guessed() -> None:
    assert binary_architectures(b"#!/bin/sh\necho hi\n") is None
    java_class = bytes.fromhex("cafebabe00000041") + b"\x00" * 16  # class file version 65 shares the fat magic
    assert binary_architectures(java_class) is None


def _recorded_sysctl(name: str):  # type: ignore[no-untyped-def]
    values = dict(line.split(": ", 1) for line in (DATA / "sysctl" / f"{name}.txt").read_text().splitlines())
    return values.get


def test_rosetta_and_apple_silicon_from_recorded_sysctl() -> None:
    errors: list[dict[str, str]] = []
    native = macos_hardware(_recorded_sysctl("m1pro-native"), errors)
    assert (native["arch"], native["apple_silicon"], native["rosetta"], native["cpu"]) == ("arm64", True, False, "Apple M1 Pro")
    rosetta = macos_hardware(_recorded_sysctl("m1pro-rosetta"), [])
    assert (rosetta["arch"], rosetta["rosetta"]) == ("arm64", True)
    assert rosetta["cpu_features"] == {"avx": False, "avx2": False, "fma": False}
    intel = macos_hardware(_recorded_sysctl("intel-mac"), [])
    assert (intel["arch"], intel["apple_silicon"], intel["rosetta"]) == ("x86_64", False, False)
    assert intel["cpu_features"]["avx2"] is True
    assert not errors  # a real Mac's answers leave nothing unknown
    silent = macos_hardware(lambda key: None, errors)
    assert silent["rosetta"] is False and [e["fact"] for e in errors] == ["apple_silicon"]


def test_nvidia_smi_output_is_read() -> None:
    banner = "| NVIDIA-SMI 550.127.05             Driver Version: 550.127.05     CUDA Version: 12.4     |\n"
    facts = parse_nvidia("NVIDIA H100 80GB HBM3, 550.127.05, 81559\n", banner)
    assert facts == {"driver": "550.127.05", "cuda": "12.4", "gpus": [{"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559}]}


def test_compute_capabilities_are_read_one_per_gpu() -> None:
    """``nvidia-smi --query-gpu=compute_cap --format=csv,noheader`` prints one per GPU line;
    anything else (an old driver's complaint) is not taken for one."""
    assert parse_compute_caps("9.0\n12.0\n") == ["9.0", "12.0"]
    assert parse_compute_caps("[N/A]\n") == [None]
    assert parse_compute_caps("") == []


# -- CLI ----------------------------------------------------------------------------


def test_cli_renders_marks_fixes_and_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--facts", str(FACTS / "m1pro-rosetta.json")])
    out = capsys.readouterr().out
    assert code == 1
    assert "[✗] Python interpreter" in out
    assert "x86_64 running under Rosetta 2" in out and "fix:" in out
    assert "1 failing" in out


def test_cli_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["doctor", "--facts", str(FACTS / "m1pro-native-tf-metal.json"), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["ok"] is True and doc["counts"]["fail"] == 0
    assert {f["category"] for f in doc["findings"]} >= {"machine", "python", "frameworks", "accelerators"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["doctor", "--facts", "{missing}"], "cannot read"),
        (["doctor", "--facts", "{bad}"], "not JSON"),
        (["doctor", "--facts", "{old}"], "facts schema"),
        (["doctor", "--python", "/nonexistent/python3"], "no interpreter at /nonexistent/python3"),
        (["doctor", "--facts", "{old}", "--collect"], "cannot be combined"),
    ],
)
def test_cli_bad_input_exits_2(argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "old.json").write_text('{"schema": "wheelwise.facts/0"}')
    paths = {"missing": str(tmp_path / "missing.json"), "bad": str(tmp_path / "bad.json"), "old": str(tmp_path / "old.json")}
    assert main([a.format(**paths) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_newest_support_is_read_from_the_index_not_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    """The table says the newest jax supports Python 3.11; the index's newest jax requires 3.12."""
    from helpers.indexserver import IndexServer
    from helpers.wheels import make_wheel, wheel_filename

    facts = FACTS / "linux-cpu-only.json"
    python = json.loads(facts.read_text())["interpreter"]["version"]
    assert python.startswith("3.11")
    with IndexServer() as server:
        for version, requires in (("0.7.2", ">=3.11"), ("0.8.1", ">=3.12")):
            wheel = make_wheel("jax", version, "py3-none-any", requires_python=requires)
            server.add_wheel(wheel_filename("jax", version), wheel, requires_python=requires)
        wheel = make_wheel("torch", "2.9.1", "cp311-cp311-manylinux_2_28_x86_64", requires_python=">=3.10")
        server.add_wheel(wheel_filename("torch", "2.9.1", "cp311-cp311-manylinux_2_28_x86_64"), wheel, requires_python=">=3.10")
        code = main(["doctor", "--facts", str(facts), "--json", "-i", server.url])
    doc = json.loads(capsys.readouterr().out)
    found = [f for f in doc["findings"] if f["check"] == "python-version"]
    warn = next(f for f in found if f["status"] == "warn")
    assert warn["title"] == "Python 3.11 on linux-x86_64 cannot install the newest release of: jax"
    assert warn["details"] == ["jax 0.8.1 requires Python >=3.12 (read from the index)"]
    ok = next(f for f in found if f["status"] == "ok")
    assert ok["title"] == "Python 3.11 on linux-x86_64 installs the newest torch 2.9.1 (read from the index)"
    assert code in (0, 1)
    # without the index, the dated table speaks, and says it is a table
    main(["doctor", "--facts", str(facts), "--json"])
    doc = json.loads(capsys.readouterr().out)
    table = [f for f in doc["findings"] if f["check"] == "python-version"]
    assert table and all("wheelwise's table" in (f["title"] + " ".join(f["details"])) for f in table)


def test_newest_support_of_this_interpreter_is_judged_by_its_own_tags(capsys: pytest.CaptureFixture[str]) -> None:
    """The newest torch has only a wheel for glibc 2.34: newer than the standard Linux target's
    2.28, not than this machine's glibc; this interpreter's own tags decide, not the preset's."""
    import platform

    from helpers.indexserver import IndexServer
    from helpers.wheels import make_wheel, wheel_filename

    libc, version = platform.libc_ver()
    if sys.platform != "linux" or platform.machine() != "x86_64" or libc != "glibc" or tuple(map(int, version.split("."))) < (2, 34):
        pytest.skip("needs Linux x86_64 with glibc >= 2.34")
    py = f"cp{sys.version_info.major}{sys.version_info.minor}"
    tag = f"{py}-{py}-manylinux_2_34_x86_64"
    with IndexServer() as server:
        server.add_wheel(wheel_filename("torch", "9.0.0", tag), make_wheel("torch", "9.0.0", tag))
        main(["doctor", "--json", "-i", server.url])
    found = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["check"] == "python-version"]
    assert any(f["status"] == "ok" and "installs the newest torch 9.0.0" in f["title"] for f in found), found


def test_gpu_newer_than_the_torch_build_is_a_failure_naming_the_build_that_carries_it() -> None:
    """An RTX 5090 (compute capability 12.0) with torch 2.8.0+cu126 (sm_50-sm_90): the driver is
    fine, the build has no kernels for the GPU; the fix is the same release built for CUDA 12.8."""
    assert problems("linux-rtx5090-torch-cu126") == {"gpu-not-in-torch-build": Status.FAIL}
    report = diagnose(json.loads((FACTS / "linux-rtx5090-torch-cu126.json").read_text()), load())
    found = next(f for f in report.findings if f.check == "gpu-not-in-torch-build")
    assert found.title == ("torch 2.8.0+cu126 has no kernels for NVIDIA GeForce RTX 5090 (compute capability 12.0): "
                           "the build carries sm_50-sm_90")
    assert any("newer than every architecture" in d for d in found.details)
    assert found.fix[0].startswith("python -m pip install --force-reinstall 'torch==2.8.*' --index-url ")
    assert found.fix[0].endswith("/cu128") and "sm_70-sm_120" in found.fix[1]
    assert found.sources and all(s.startswith("https://github.com/") for s in found.sources)


def test_gpu_older_than_the_torch_build_is_sent_to_the_build_that_still_carries_it() -> None:
    """A GTX 1080 (Pascal, 6.1) with torch 2.8.0+cu128, which dropped Maxwell and Pascal."""
    assert problems("linux-gtx1080-torch-cu128") == {"gpu-not-in-torch-build": Status.FAIL}
    report = diagnose(json.loads((FACTS / "linux-gtx1080-torch-cu128.json").read_text()), load())
    found = next(f for f in report.findings if f.check == "gpu-not-in-torch-build")
    assert any("older than every architecture" in d for d in found.details)
    assert found.fix[0].endswith("/cu126") and "sm_50-sm_90" in found.fix[1]


def test_gpu_the_build_carries_is_ok_and_facts_without_compute_capability_claim_nothing() -> None:
    assert problems("linux-rtx4090-torch-cu128") == {}
    assert findings("linux-rtx4090-torch-cu128")["gpu-in-torch-build"] is Status.OK  # 8.9 runs the sm_86 code
    # the older recording has no compute capability: no claim either way, only its driver finding
    assert "gpu-in-torch-build" not in findings("linux-nvidia-cuda-torch")
    assert "gpu-not-in-torch-build" not in findings("linux-nvidia-cuda-torch")

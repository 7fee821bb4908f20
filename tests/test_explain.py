"""explain: every signature against a real excerpt of its message, and look-alikes that must not match."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from wheelwise.cli import main
from wheelwise.explain import Host, explain, host_context
from wheelwise.knowledge import load

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

FACTS = Path(__file__).parent / "data" / "facts"

#: signature id -> an excerpt of the message as users paste it
EXCERPTS = {
    "rosetta-illegal-instruction": """(venv) ana@MacBook-Pro ~ % python -c "import tensorflow as tf"
zsh: illegal hardware instruction  python -c "import tensorflow as tf"
""",
    "avx-not-available": """2023-01-10 09:12:44.118231: F tensorflow/core/platform/cpu_feature_guard.cc:37] The TensorFlow library was compiled to use AVX instructions, but these aren't available on your machine.
Aborted (core dumped)
""",
    "metal-plugin-logmessage-symbol": """Traceback (most recent call last):
  File "<string>", line 1, in <module>
  File "/Users/ana/.venv/lib/python3.11/site-packages/tensorflow/__init__.py", line 437, in <module>
    _ll.load_library(_plugin_dir)
tensorflow.python.framework.errors_impl.NotFoundError: dlopen(/Users/ana/.venv/lib/python3.11/site-packages/tensorflow-plugins/libmetal_plugin.dylib, 0x0006): Symbol not found: __ZN3tsl8internal10LogMessageC1EPKcii
  Referenced from: <D2EF42E3-3A7F-39DD-9982-FB6BCDC2853C> /Users/ana/.venv/lib/python3.11/site-packages/tensorflow-plugins/libmetal_plugin.dylib
  Expected in:     <2814A58E-D752-317B-8040-131217E2F9AA> /Users/ana/.venv/lib/python3.11/site-packages/tensorflow/python/_pywrap_tensorflow_internal.so
""",
    "metal-plugin-pywrap-not-loaded": """tensorflow.python.framework.errors_impl.NotFoundError: dlopen(/Users/ana/.venv/lib/python3.12/site-packages/tensorflow-plugins/libmetal_plugin.dylib, 0x0006): Library not loaded: @rpath/_pywrap_tensorflow_internal.so
  Referenced from: <8B62586B-B082-3113-93AB-FD766A9960AE> /Users/ana/.venv/lib/python3.12/site-packages/tensorflow-plugins/libmetal_plugin.dylib
  Reason: tried: '/Users/ana/.venv/lib/python3.12/site-packages/tensorflow-plugins/../_solib_darwin_arm64/_U_S_Stensorflow_Spython_C_Upywrap_Utensorflow_Uinternal.so___Utensorflow/_pywrap_tensorflow_internal.so' (no such file)
""",
    "metal-plugin-flat-namespace": """tensorflow.python.framework.errors_impl.NotFoundError: dlopen(/Users/bo/miniforge3/lib/python3.9/site-packages/tensorflow-plugins/libmetal_plugin.dylib, 0x0006): symbol not found in flat namespace '_TF_GetInputPropertiesList'
""",
    "metal-registered-platform": """NotFoundError: Graph execution error:

Detected at node 'StatefulPartitionedCall_212' defined at (most recent call last):
    File "/Users/ana/train.py", line 41, in <module>
      model.fit(train_ds, epochs=5)
could not find registered platform with id: 0x1337c8a50
	 [[{{node StatefulPartitionedCall_212}}]] [Op:__inference_train_function_23355]
""",
    "no-distribution-tensorflow": """$ pip install tensorflow
ERROR: Could not find a version that satisfies the requirement tensorflow (from versions: none)
ERROR: No matching distribution found for tensorflow
""",
    "no-distribution-tensorflow-metal": """Collecting tensorflow-metal
ERROR: Could not find a version that satisfies the requirement tensorflow-metal (from versions: none)
ERROR: No matching distribution found for tensorflow-metal
""",
    "model-maker-tflite-support-scann": """Collecting tflite-model-maker
  Using cached tflite_model_maker-0.4.3-py3-none-any.whl.metadata (4.4 kB)
INFO: pip is looking at multiple versions of tflite-model-maker to determine which version is compatible with other requirements. This could take a while.
ERROR: Could not find a version that satisfies the requirement tflite-support>=0.4.2 (from tflite-model-maker) (from versions: 0.1.0a0.dev3, 0.1.0a0.dev4, 0.1.0a0.dev5, 0.1.0a0, 0.1.0a1)
ERROR: No matching distribution found for tflite-support>=0.4.2
""",
    "tensorflow-text-no-wheel": """Collecting mediapipe-model-maker
  Using cached mediapipe_model_maker-0.2.1.4-py3-none-any.whl (133 kB)
ERROR: Could not find a version that satisfies the requirement tensorflow-text (from mediapipe-model-maker) (from versions: none)
""",
    "mach-o-wrong-architecture": """ImportError: dlopen(/Users/ana/.venv/lib/python3.10/site-packages/numpy/core/_multiarray_umath.cpython-310-darwin.so, 0x0002): tried: '/Users/ana/.venv/lib/python3.10/site-packages/numpy/core/_multiarray_umath.cpython-310-darwin.so' (mach-o file, but is an incompatible architecture (have 'x86_64', need 'arm64e'))
""",
    "cudart-not-found": """2023-05-02 10:11:12.123456: W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic library 'libcudart.so.11.0'; dlerror: libcudart.so.11.0: cannot open shared object file: No such file or directory
2023-05-02 10:11:12.123500: I tensorflow/stream_executor/cuda/cudart_stub.cc:29] Ignore above cudart dlerror if you do not have a GPU set up on your machine.
""",
    "cudnn-version-mismatch": """2023-03-01 12:00:01.000001: E tensorflow/compiler/xla/stream_executor/cuda/cuda_dnn.cc:417] Loaded runtime CuDNN library: 8.1.0 but source was compiled with: 8.6.0.  CuDNN library needs to have matching major version and equal or higher minor version. If using a binary install, upgrade your CuDNN library.
""",
    "mps-out-of-memory": """RuntimeError: MPS backend out of memory (MPS allocated: 18.13 GB, other allocations: 1.20 MB, max allowed: 18.13 GB). Tried to allocate 256.00 MB on private pool. Use PYTORCH_MPS_HIGH_WATERMARK_RATIO=0.0 to disable upper limit for memory allocations (may cause system failure).
""",
    "mps-macos-too-old": """>>> torch.ones(1, device="mps")
RuntimeError: The MPS backend is supported on MacOS 14.0+. Current OS version can be queried using `sw_vers`
""",
    "keras3-kerastensor": """ValueError: A KerasTensor cannot be used as input to a TensorFlow function. A KerasTensor is a symbolic placeholder for a shape and dtype, used when constructing Keras Functional models or Keras Functions. You can only use it as input to a Keras layer or a Keras operation (from the namespaces `keras.layers` and `keras.operations`).
""",
    "h5py-build-failed": """      In file included from /private/var/folders/x1/T/pip-install-abc/h5py/h5py/api_compat.c:23:
      src/h5py/api_types_ext.h:14:10: fatal error: 'hdf5.h' file not found
      #include "hdf5.h"
               ^~~~~~~~
      error: command '/usr/bin/clang' failed with exit code 1
      [end of output]
  note: This error originates from a subprocess, and is likely not a problem with pip.
  ERROR: Failed building wheel for h5py
""",
    "grpcio-build-failed": """  Building wheel for grpcio (setup.py) ... error
  error: subprocess-exited-with-error
  ERROR: Failed building wheel for grpcio
  Running setup.py clean for grpcio
Failed to build grpcio
""",
    "protobuf-fatal-check": """[libprotobuf FATAL google/protobuf/message_lite.cc:353] CHECK failed: target + size == res:
libc++abi: terminating due to uncaught exception of type google::protobuf::FatalException: CHECK failed: target + size == res:
""",
    "jax-metal-default-memory-space": """Platform 'METAL' is experimental and not all JAX functionality may be correctly supported!
jaxlib.xla_extension.XlaRuntimeError: UNIMPLEMENTED: default_memory_space is not supported.
""",
    "torch-not-compiled-with-cuda": """  File "/home/u/.venv/lib/python3.10/site-packages/torch/cuda/__init__.py", line 310, in _lazy_init
    raise AssertionError("Torch not compiled with CUDA enabled")
AssertionError: Torch not compiled with CUDA enabled
""",
    "torch-driver-too-old": """RuntimeError: The NVIDIA driver on your system is too old (found version 11040). Please update your GPU driver by downloading and installing a new version from the URL: http://www.nvidia.com/Download/index.aspx Alternatively, go to: https://pytorch.org to install a PyTorch version that has been compiled with your version of the CUDA driver.
""",
    "cuda-driver-insufficient": """tensorflow.python.framework.errors_impl.InternalError: cudaGetDevice() failed. Status: CUDA driver version is insufficient for CUDA runtime version
""",
    "numpy-2-abi": """A module that was compiled using NumPy 1.x cannot be run in
NumPy 2.0.1 as it may crash. To support both 1.x and 2.x
versions of NumPy, modules must be compiled with NumPy 2.0.
Some module may need to rebuild instead e.g. with 'pybind11>=2.12'.
""",
    "wheel-not-supported": """$ pip install torch-2.2.2-cp311-none-macosx_11_0_arm64.whl
ERROR: torch-2.2.2-cp311-none-macosx_11_0_arm64.whl is not a supported wheel on this platform.
""",
    "glibc-too-old": """ImportError: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.28' not found (required by /home/u/.venv/lib/python3.9/site-packages/tensorflow/python/_pywrap_tensorflow_internal.so)
""",
    "tensorflow-dll-load-failed": """ImportError: DLL load failed while importing _pywrap_tensorflow_internal: A dynamic link library (DLL) initialization routine failed.

Failed to load the native TensorFlow runtime.
""",
    "externally-managed-environment": """$ pip install torch
error: externally-managed-environment

× This environment is externally managed
╰─> To install Python packages system-wide, try apt install
    python3-xyz, where xyz is the package you are trying to
    install.
""",
    "requires-different-python": """Processing ./tensorflow_metal-1.2.0-cp312-cp312-macosx_12_0_arm64.whl
ERROR: Package 'mypkg' requires a different Python: 3.8.18 not in '>=3.9'
""",
    "resolution-impossible": """ERROR: Cannot install tensorflow==2.16.1 and tensorflow-text==2.15.0 because these package versions have conflicting dependencies.

The conflict is caused by:
    The user requested tensorflow==2.16.1
    tensorflow-text 2.15.0 depends on tensorflow<2.16 and >=2.15.0; platform_machine != "arm64" or platform_system != "Darwin"

ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts
""",
    "msvc-required": """      error: Microsoft Visual C++ 14.0 or greater is required. Get it with "Microsoft C++ Build Tools": https://visualstudio.microsoft.com/visual-cpp-build-tools/
      [end of output]
""",
}

SIGNATURES = load().signatures


def test_every_signature_has_an_excerpt() -> None:
    """Each signature is proven on an excerpt here or on real logs in the corpus."""
    corpus = tomllib.loads((Path(__file__).parent / "data" / "explain" / "corpus.toml").read_text(encoding="utf-8"))["case"]
    assert len(SIGNATURES) >= 60
    assert set(EXCERPTS) <= {s.id for s in SIGNATURES}
    assert {s.id for s in SIGNATURES} == set(EXCERPTS) | {c["expect"] for c in corpus} - {"none"}


@pytest.mark.parametrize("sig_id", sorted(EXCERPTS))
def test_excerpt_matches_its_signature_and_no_other(sig_id: str) -> None:
    matches = explain(EXCERPTS[sig_id], SIGNATURES)
    assert [m.signature.id for m in matches] == [sig_id]
    shown = matches[0].excerpt.removeprefix("...").removesuffix("...")
    assert matches[0].line >= 1 and shown in EXCERPTS[sig_id]


@pytest.mark.parametrize(
    "text",
    [
        "ERROR: Could not find a version that satisfies the requirement tensorflow-addons (from versions: none)",
        "ERROR: No matching distribution found for tensorflow-datasets",
        "Successfully installed tensorflow-2.19.1 tensorflow-metal-1.2.0",
        "Metal device set to: Apple M1 Pro\nsystemMemory: 32.00 GB",
        # TensorRT's libraries are optional: not the CUDA libraries cudart-not-found is about
        "Could not load dynamic library 'libnvinfer.so.7'; dlerror: libnvinfer.so.7: cannot open shared object file",
        "SIGILL: illegal instruction in ./build/bench",
        "dlopen(/usr/lib/libfoo.dylib): Symbol not found: _bar",
        "ERROR: Could not build wheels for h5", 
        "torch.cuda.is_available() returned False",
    ],
)
def test_look_alikes_match_nothing(text: str) -> None:
    assert explain(text, SIGNATURES) == []


def test_several_errors_in_order_without_duplicates() -> None:
    log = (
        EXCERPTS["grpcio-build-failed"]
        + "Successfully installed numpy-2.1.3\n"
        + EXCERPTS["numpy-2-abi"]
        + EXCERPTS["grpcio-build-failed"]
        + EXCERPTS["mach-o-wrong-architecture"]
    )
    ids = [m.signature.id for m in explain(log, SIGNATURES)]
    assert ids == ["grpcio-build-failed", "numpy-2-abi", "mach-o-wrong-architecture"]


def test_host_context_says_what_the_machine_shows() -> None:
    rosetta = json.loads((FACTS / "m1pro-rosetta.json").read_text())
    native = json.loads((FACTS / "m1pro-native-tf-metal.json").read_text())
    sig = next(s for s in SIGNATURES if s.id == "rosetta-illegal-instruction")
    assert any("x86_64 running under Rosetta 2" in line for line in host_context(sig, rosetta))
    assert any("natively on Apple silicon" in line for line in host_context(sig, native))
    nvidia = next(s for s in SIGNATURES if s.id == "torch-driver-too-old")
    linux = json.loads((FACTS / "linux-nvidia-cuda-torch.json").read_text())
    assert host_context(nvidia, linux) == ("here: NVIDIA driver 470.256.02, CUDA 11.4",)


def test_cli_explains_a_log_file_with_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "pip.log"
    log.write_text(EXCERPTS["metal-plugin-pywrap-not-loaded"] + EXCERPTS["no-distribution-tensorflow"])
    code = main(["explain", str(log), "--json", "--facts", str(FACTS / "m1pro-rosetta.json")])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [m["id"] for m in doc["matches"]] == ["metal-plugin-pywrap-not-loaded", "no-distribution-tensorflow"]
    assert doc["matches"][0]["line"] == 1 and doc["matches"][1]["line"] == 5
    assert doc["matches"][1]["sources"][0].startswith("https://")
    assert any("x86_64" in line for line in doc["matches"][1]["context"])


def test_cli_reads_stdin_and_renders(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(EXCERPTS["torch-not-compiled-with-cuda"].encode())))
    code = main(["explain", "--no-host"])
    out = capsys.readouterr().out
    assert code == 0
    assert "this torch is a CPU-only build" in out and "wheelwise plan torch --accelerator cuda" in out
    assert "source: https://github.com/pytorch/pytorch/issues/28111" in out


def test_cli_nothing_matched_exits_1_and_points_to_doctor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "ok.log"
    log.write_text("Successfully installed rich-14.0.0\n")
    assert main(["explain", str(log)]) == 1
    assert "wheelwise doctor" in capsys.readouterr().out


def test_cli_missing_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(tmp_path / "nope.log")]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "Traceback" not in err


# -- evidence: a platform-specific cause only where the platform is possible ---------

LINUX_SIGILL = """root@d87518e6c38b:/# python3 -c "import tensorflow as tf"
Illegal instruction (core dumped)
"""
ZSH_SIGILL = """% python -c "import tensorflow as tf"
zsh: illegal hardware instruction  python -c "import tensorflow as tf"
"""


def test_linux_illegal_instruction_is_no_avx_not_rosetta() -> None:
    assert [m.signature.id for m in explain(LINUX_SIGILL, SIGNATURES)] == ["cpu-without-avx"]
    # the same zsh message means Rosetta on an Apple silicon Mac, a CPU without AVX on Linux
    assert [m.signature.id for m in explain(ZSH_SIGILL, SIGNATURES)] == ["rosetta-illegal-instruction"]
    assert [m.signature.id for m in explain(ZSH_SIGILL, SIGNATURES, Host(os="linux"))] == ["cpu-without-avx"]
    assert [m.signature.id for m in explain(ZSH_SIGILL, SIGNATURES, Host(os="macos", machine="x86_64"))] == ["cpu-without-avx"]
    assert [m.signature.id for m in explain(ZSH_SIGILL, SIGNATURES, Host(os="macos", machine="arm64"))] == ["rosetta-illegal-instruction"]
    # the host context printed in the log itself says Linux
    assert [m.signature.id for m in explain(ZSH_SIGILL + "OS: Linux Ubuntu 22.04\n", SIGNATURES)] == ["cpu-without-avx"]


def test_cli_uses_the_host_facts_to_choose_the_cause(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "sigill.log"
    log.write_text(ZSH_SIGILL)
    assert main(["explain", str(log), "--json", "--facts", str(FACTS / "linux-cpu-only.json")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [m["id"] for m in doc["matches"]] == ["cpu-without-avx"]
    assert doc["host"] == {"os": "linux", "machine": "x86_64", "source": "facts"}
    assert any("has AVX" in line for line in doc["matches"][0]["context"])
    assert main(["explain", str(log), "--json", "--facts", str(FACTS / "m1pro-rosetta.json")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [m["id"] for m in doc["matches"]] == ["rosetta-illegal-instruction"]


def test_a_conflict_pip_names_is_said_from_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    text = "numba 0.55.1 requires numpy<1.22,>=1.18, but you have numpy 1.22.3 which is incompatible.\n"
    (match,) = explain(text, SIGNATURES)
    assert match.title == "numba 0.55.1 needs numpy<1.22,>=1.18, but numpy 1.22.3 is installed"
    assert match.values == {"dependent": "numba", "version": "0.55.1", "requirement": "numpy<1.22,>=1.18", "installed": "numpy 1.22.3"}
    assert match.to_dict()["title"] == match.title


# -- size: linear time, exact line numbers, bounded input ------------------------------


def test_a_20_mb_single_line_is_explained_promptly_with_the_right_excerpt() -> None:
    """A bounds test, not a benchmark (bench/explain.py measures): the quadratic matcher took
    27 s on 200 KB; 20 MB must come back well within the limit."""
    import time

    line = ("x" * 997 + " a ") * 10_000 + "RuntimeError: No CUDA GPUs are available" + " tail" * 500
    text = (line * 2)[: 20 * 2**20 - 200] + "\n"
    started = time.monotonic()
    matches = explain(text, SIGNATURES)
    assert time.monotonic() - started < 30
    assert [m.signature.id for m in matches] == ["no-cuda-gpus"]
    assert matches[0].line == 1 and "No CUDA GPUs are available" in matches[0].excerpt
    assert len(matches[0].excerpt) < 800


def test_line_numbers_are_exact_past_4_mb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    filler = "Requirement already satisfied: numpy in ./venv/lib/python3.12/site-packages (2.1.3)\n"
    count = 6 * 2**20 // len(filler)
    log = tmp_path / "big.log"
    log.write_text(filler * count + "RuntimeError: Found no NVIDIA driver on your system. Please check\n" + filler * 3 + EXCERPTS["numpy-2-abi"])
    assert main(["explain", str(log), "--json", "--no-host"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(m["id"], m["line"]) for m in doc["matches"]] == [("no-nvidia-driver", count + 1), ("numpy-2-abi", count + 5)]
    assert doc["read"]["skipped_bytes"] == 0


def test_an_over_long_log_is_read_from_its_end_with_a_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    from wheelwise.explain import read_stream

    head = b"one line\n" * 1000
    tail = b"RuntimeError: No CUDA GPUs are available\n"
    log = read_stream(io.BytesIO(head + tail), limit=len(tail) + 5)
    assert log.text == tail.decode() and log.first_line == 1001 and log.skipped == len(head) and log.size == len(head + tail)
    big = tmp_path / "huge.log"
    with big.open("wb") as f:
        for _ in range(40):
            f.write(b"y" * (2**20 - 1) + b"\n")
        f.write(tail)
    assert main(["explain", str(big), "--no-host"]) == 0
    out = capsys.readouterr().out
    assert "note: the log is 40.0 MB; explain read its last 32 MB" in out
    assert "line 41," in out


@pytest.mark.parametrize(
    ("marker", "log", "expected"),
    [
        ("win32", "ImportError: /opt/conda/bin/../lib/libstdc++.so.6: version `GLIBCXX_3.4.30' not found (required by x.so)\n",
         "glibcxx-not-found"),
        ("darwin", "OSError: libcuda.so.1: cannot open shared object file: No such file or directory\n", "libcuda-not-found"),
    ],
)
def test_a_marker_pip_ignores_does_not_say_which_os_the_log_is_from(marker: str, log: str, expected: str) -> None:
    # pip prints other platforms' markers on every OS: they are no sign of the machine
    ignoring = f"Ignoring somepkg: markers 'sys_platform == \"{marker}\"' don't match your environment\n"
    assert expected in [m.signature.id for m in explain(log, SIGNATURES)]
    assert expected in [m.signature.id for m in explain(ignoring + log, SIGNATURES)]

"""Accelerator fit in check: CUDA builds against the target's driver CUDA (+cuda)."""

from __future__ import annotations

import json

import pytest
from helpers.indexserver import IndexServer
from helpers.wheels import make_wheel
from packaging.version import Version

from wheelwise.check.accelerators import cuda_major
from wheelwise.cli import main


@pytest.mark.parametrize(
    ("name", "version", "major"),
    [("torch", "2.8.0+cu128", 12), ("torch", "2.9.0+cu130", 13), ("torch", "2.1.0+cu118", 11), ("torch", "2.8.0+cpu", None),
     ("nvidia-cublas-cu12", "12.8.4.1", 12), ("jax-cuda13-plugin", "0.7.2", 13), ("cupy-cuda12x", "13.6.0", 12),
     ("nvidia-cublas", "13.0.0.19", None), ("numpy", "2.3.0", None)],
)
def test_cuda_major_from_the_index_names(name: str, version: str, major: int | None) -> None:
    assert cuda_major(name, Version(version)) == major


def test_a_build_for_a_newer_cuda_than_the_driver_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    tag = "cp312-cp312-manylinux_2_28_x86_64"
    with IndexServer() as server:
        server.add_wheel(f"torch-2.9.0+cu130-{tag}.whl", make_wheel("torch", "2.9.0+cu130", tag, requires_dist=["nvidia-cublas-cu12"]))
        server.add_wheel("nvidia_cublas_cu12-12.8.4.1-py3-none-manylinux_2_28_x86_64.whl",
                         make_wheel("nvidia-cublas-cu12", "12.8.4.1", "py3-none-manylinux_2_28_x86_64"))
        argv = ["check", "torch", "-p", "3.12", "--index-url", server.url, "--json", "--no-nearest"]
        main([*argv, "-t", "linux-x86_64+cuda=12.8", "-t", "linux-x86_64+cuda=13.0", "-t", "linux-x86_64"])
    old, new, unsaid = json.loads(capsys.readouterr().out)["cells"]
    assert len(old["accelerator_fit"]) == 1
    fit = old["accelerator_fit"][0]
    assert fit.startswith("torch 2.9.0+cu130 is built for CUDA 13, and the target's driver supports CUDA 12.8")
    assert "driver 580 or later" in fit and "https://docs.nvidia.com/" in fit
    assert new["accelerator_fit"] == [] and unsaid["accelerator_fit"] == []


def test_no_knowledge_says_no_accelerator_fit_either(capsys: pytest.CaptureFixture[str]) -> None:
    # the fit comes from wheelwise's cited tables (driver and kernel support): --no-knowledge is
    # pip's answer, which says nothing of the GPU
    tag = "cp312-cp312-manylinux_2_28_x86_64"
    with IndexServer() as server:
        server.add_wheel(f"torch-2.9.0+cu130-{tag}.whl", make_wheel("torch", "2.9.0+cu130", tag))
        argv = ["check", "torch", "-p", "3.12", "--index-url", server.url, "--json", "--no-nearest", "-t", "linux-x86_64+cuda=12.8"]
        main(argv)
        said = json.loads(capsys.readouterr().out)["cells"][0]
        main([*argv, "--no-knowledge"])
        unsaid = json.loads(capsys.readouterr().out)["cells"][0]
    assert len(said["accelerator_fit"]) == 1
    assert unsaid["accelerator_fit"] == [] and unsaid["verdict"] == said["verdict"] == "ok"


def test_a_gpu_the_torch_build_has_no_kernels_for_is_said(capsys: pytest.CaptureFixture[str]) -> None:
    tag = "cp312-cp312-manylinux_2_28_x86_64"
    runtime = "nvidia_cuda_runtime_cu12-12.8.90-py3-none-manylinux_2_28_x86_64.whl"
    with IndexServer() as server:
        # the plain torch wheel of a default index: its CUDA is the runtime it pins
        server.add_wheel(f"torch-2.11.0-{tag}.whl",
                         make_wheel("torch", "2.11.0", tag, requires_dist=["nvidia-cuda-runtime-cu12==12.8.90"]))
        server.add_wheel(runtime, make_wheel("nvidia-cuda-runtime-cu12", "12.8.90", "py3-none-manylinux_2_28_x86_64"))
        argv = ["check", "torch", "-p", "3.12", "--index-url", server.url, "--json", "--no-nearest"]
        main([*argv, "-t", "linux-x86_64+cuda=12.8+sm=61", "-t", "linux-x86_64+cuda=12.8+sm=90",
              "-t", "linux-x86_64+cuda=12.8+sm=89"])
    pascal, hopper, ada = json.loads(capsys.readouterr().out)["cells"]
    assert len(pascal["accelerator_fit"]) == 1
    fit = pascal["accelerator_fit"][0]
    assert fit.startswith("torch 2.11.0+cu128 carries kernels for sm_75-sm_120, not for this sm_61 GPU")
    assert "no kernel image is available" in fit and "verified 2026-11-22" in fit
    assert hopper["accelerator_fit"] == []
    assert ada["accelerator_fit"] == []  # sm_86 code runs on an 8.9 GPU (same major, lower minor)

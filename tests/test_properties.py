"""Machine properties: parsers on captured text, and the real machine when it has a GPU."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wheelwise.properties import cpu_level, detect, parse_compute_cap, parse_cuda_banner

# nvidia-smi's banner as driver 570 prints it (trimmed)
BANNER = """
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 570.133.20             Driver Version: 570.133.20     CUDA Version: 12.8     |
|-----------------------------------------+------------------------+----------------------+
"""

# /proc/cpuinfo flags lines: a Skylake-SP server (v4), a Haswell laptop (v3), a Core 2 (v1)
SKYLAKE_SP = ("flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr "
              "sse sse2 ss ht syscall nx pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid "
              "pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes xsave avx f16c rdrand "
              "hypervisor lahf_lm abm 3dnowprefetch bmi1 hle avx2 smep bmi2 erms invpcid rtm mpx avx512f avx512dq "
              "rdseed adx smap clflushopt clwb avx512cd avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves\n")
HASWELL = ("flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse "
           "sse2 ht syscall nx lm pni pclmulqdq ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c "
           "lahf_lm abm bmi1 avx2 bmi2\n")
CORE2 = "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat clflush mmx fxsr sse sse2 pni ssse3 cx16 lm\n"


def test_parsers_on_captured_text() -> None:
    assert parse_cuda_banner(BANNER) == (12, 8)
    assert parse_cuda_banner("NVIDIA-SMI has failed") is None
    assert parse_compute_cap("9.0\n8.6\n") == (9, 0)
    assert parse_compute_cap("[N/A]\n") is None
    assert cpu_level("model name\t: Intel\n" + SKYLAKE_SP) == "v4"
    assert cpu_level(HASWELL) == "v3"
    assert cpu_level(CORE2) == "v1"  # no popcnt, sse4: not v2
    assert cpu_level("Features\t: fp asimd evtstrm\n") is None  # arm64 says Features, not flags


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="reads /proc/cpuinfo (Linux)")
def test_detect_reads_this_machine() -> None:
    found = detect()
    if shutil.which("nvidia-smi") is None:
        assert found.cuda is None and found.sm is None
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        flags = "flags" in f.read()
    assert (found.x86_64 is not None) == flags


@pytest.mark.gpu
def test_detect_reads_the_gpu() -> None:
    found = detect()
    assert found.cuda is not None and found.cuda >= (11, 0)
    assert found.sm is not None

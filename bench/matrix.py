"""The check matrix against the live index, with uv as the anchor in the same run.

    python bench/matrix.py [--repeat 3] [--requirements "tensorflow tensorflow-metal"]

Cells: macos-arm64, macos-x86_64, linux-x86_64, linux-aarch64, windows-amd64
x CPython 3.9-3.14 (30 cells).  Measured, each a median over --repeat runs:

- wheelwise, cold: ``wheelwise check REQS -t ... -p ... --json`` (one process,
  all 30 cells, explanations and "nearest working" included) on an empty cache;
- wheelwise, warm: the same again on the cache the cold run filled;
- uv loop: ``uv pip compile --python-platform P --python-version V
  --only-binary :all:`` once per cell, on a fresh uv cache for the first cell
  (as a user starting cold), then the same loop again (uv warm);
- one cell (macos-arm64 / 3.12): wheelwise cold vs one uv run on a fresh cache.

Both read the same index: pip's main index (read from pip at run time).
uv must be on PATH (``pip install uv``); UV_PYTHON_DOWNLOADS=never is set.
The machine is shared and noisy: quote medians.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from wheelwise.index import pip_default_index  # noqa: E402

TARGETS = {
    "macos-arm64": "aarch64-apple-darwin",
    "macos-x86_64": "x86_64-apple-darwin",
    "linux-x86_64": "x86_64-manylinux_2_28",
    "linux-aarch64": "aarch64-manylinux_2_28",
    "windows-amd64": "x86_64-pc-windows-msvc",
}
PYTHONS = ["3.9", "3.10", "3.11", "3.12", "3.13", "3.14"]


def wheelwise(reqs: list[str], cells: list[tuple[str, str]], cache: Path, index: str) -> tuple[float, dict[str, object]]:
    argv = [sys.executable, "-m", "wheelwise", "check", *reqs, "--json", "--index-url", index]
    for target in dict.fromkeys(t for t, _ in cells):
        argv += ["-t", target]
    for python in dict.fromkeys(p for _, p in cells):
        argv += ["-p", python]
    env = {**os.environ, "WHEELWISE_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"wheelwise failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return wall, json.loads(proc.stdout)


def uv_loop(reqs: list[str], cells: list[tuple[str, str]], cache: Path, index: str) -> tuple[float, dict[tuple[str, str], str]]:
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is not on PATH: pip install uv")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_CACHE_DIR": str(cache)}
    answers = {}
    with tempfile.NamedTemporaryFile("w", suffix=".in", delete=False) as handle:
        handle.write("\n".join(reqs) + "\n")
    start = time.perf_counter()
    for target, python in cells:
        proc = subprocess.run(
            [uv, "pip", "compile", handle.name, "--python-platform", TARGETS[target], "--python-version", python,
             "--only-binary", ":all:", "--no-header", "--no-annotate", "--index-url", index],
            capture_output=True, text=True, env=env,
        )
        pins = {line.split("==")[0]: line.split("==")[1].split(";")[0].strip() for line in proc.stdout.splitlines() if "==" in line}
        answers[(target, python)] = "ok " + ", ".join(f"{n} {pins[n]}" for n in reqs if n in pins) if proc.returncode == 0 else "fails"
    wall = time.perf_counter() - start
    os.unlink(handle.name)
    return wall, answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requirements", default="tensorflow tensorflow-metal")
    args = parser.parse_args()
    reqs = args.requirements.split()
    index = pip_default_index()
    cells = [(t, p) for t in TARGETS for p in PYTHONS]
    one = [("macos-arm64", "3.12")]
    rows: dict[str, list[float]] = {k: [] for k in ("ww_cold", "ww_warm", "uv_cold", "uv_warm", "ww_one", "uv_one")}
    doc: dict[str, object] = {}
    answers: dict[tuple[str, str], str] = {}
    for run in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            ww_cache, uv_cache = Path(tmp, "ww"), Path(tmp, "uv")
            cold, doc = wheelwise(reqs, cells, ww_cache, index)
            warm, _ = wheelwise(reqs, cells, ww_cache, index)
            uv_cold, answers = uv_loop(reqs, cells, uv_cache, index)
            uv_warm, _ = uv_loop(reqs, cells, uv_cache, index)
            one_ww, _ = wheelwise(reqs, one, Path(tmp, "ww1"), index)
            one_uv, _ = uv_loop(reqs, one, Path(tmp, "uv1"), index)
        for key, value in zip(rows, (cold, warm, uv_cold, uv_warm, one_ww, one_uv), strict=True):
            rows[key].append(value)
        print(f"run {run + 1}: wheelwise cold {cold:.2f} s, warm {warm:.2f} s; uv loop cold {uv_cold:.2f} s, "
              f"warm {uv_warm:.2f} s; one cell wheelwise {one_ww:.2f} s, uv {one_uv:.2f} s", flush=True)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"\n{' '.join(reqs)}: {len(cells)} cells (5 targets x CPython {PYTHONS[0]}-{PYTHONS[-1]}), "
          f"median of {args.repeat}")
    print(f"  wheelwise cold {med['ww_cold']:6.2f} s   uv loop cold {med['uv_cold']:6.2f} s   "
          f"ratio {med['ww_cold'] / med['uv_cold']:.2f} (goal <= 0.20)")
    print(f"  wheelwise warm {med['ww_warm']:6.2f} s   uv loop warm {med['uv_warm']:6.2f} s   "
          f"ratio {med['ww_warm'] / med['uv_warm']:.2f} (goal: warm < 2 s)")
    print(f"  one cell cold: wheelwise {med['ww_one']:.2f} s, uv {med['uv_one']:.2f} s, "
          f"ratio {med['ww_one'] / med['uv_one']:.2f} (goal <= 1.5)")
    print("\ncell answers (wheelwise | uv --only-binary):")
    cells_doc = doc.get("cells", [])
    assert isinstance(cells_doc, list)
    for cell in cells_doc:
        key = (cell["target"], cell["python"])
        ours = cell["verdict"]
        if cell["pins"]:
            ours += " " + ", ".join(f"{n} {cell['pins'][n]}" for n in reqs if n in cell["pins"])
        elif cell["blockers"]:
            ours += " (" + ", ".join(sorted({f"{b['project']}: {b['reason']}" for b in cell["blockers"]})) + ")"
        print(f"  {cell['target']:<14} {cell['python']:<5} {ours:<58} | {answers.get(key, '?')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

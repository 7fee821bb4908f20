"""Metadata fetching against the live index: cold, warm, bytes and requests per wheel.

    python bench/metadata.py [--repeat 3]

The wheels are those that ``tensorflow tensorflow-metal`` need on macOS arm64
with CPython 3.12, as uv resolves them (``uv pip compile --python-platform
aarch64-apple-darwin --python-version 3.12 --only-binary :all:``); uv must be
on PATH (``pip install uv``).  For each pin the best-ranked wheel for that
target is chosen from the project page, then:

- cold: all metadata fetched concurrently into an empty cache (wall time);
- per wheel: each fetched alone, to count its requests and bytes;
- warm: the same again from the filled cache (wall time, requests).

Figures are medians over --repeat runs; the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from packaging.tags import compatible_tags, cpython_tags, mac_platforms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from wheelwise.cache import Cache  # noqa: E402
from wheelwise.index import Fetcher, IndexSettings, PackageIndex, pip_default_index  # noqa: E402
from wheelwise.index.simple import DistFile  # noqa: E402

REQUIREMENTS = ["tensorflow", "tensorflow-metal"]


def uv_pins() -> list[tuple[str, str]]:
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is not on PATH: pip install uv")
    with tempfile.NamedTemporaryFile("w", suffix=".in", delete=False) as handle:
        handle.write("\n".join(REQUIREMENTS) + "\n")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    out = subprocess.run(
        [uv, "pip", "compile", handle.name, "--python-platform", "aarch64-apple-darwin", "--python-version",
         "3.12", "--only-binary", ":all:", "--no-header", "--no-annotate", "--index-url", pip_default_index()],
        capture_output=True, text=True, check=True, env=env,
    ).stdout
    os.unlink(handle.name)
    pins = []
    for line in out.splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split(";")[0].strip().split("==")
            pins.append((name, version))
    return pins


def target_tags() -> dict[str, int]:
    platforms = list(mac_platforms((14, 0), "arm64"))
    tags = [*cpython_tags((3, 12), platforms=platforms), *compatible_tags((3, 12), "cp312", platforms)]
    return {str(t): rank for rank, t in enumerate(tags)}


def choose_wheels(index: PackageIndex, pins: list[tuple[str, str]]) -> list[DistFile]:
    ranks = target_tags()
    index.prefetch(names=[n for n, _ in pins])
    chosen = []
    for name, version in pins:
        files = [f for f in index.project(name).files if f.is_wheel and str(f.version) == version]
        scored = [(min((ranks[str(t)] for t in f.tags if str(t) in ranks), default=None), f) for f in files]
        scored = [(r, f) for r, f in scored if r is not None]
        if not scored:
            print(f"  no wheel of {name}=={version} for macOS arm64 / 3.12", file=sys.stderr)
            continue
        chosen.append(min(scored, key=lambda s: s[0])[1])
    return chosen


def run_once(settings: IndexSettings, wheels: list[DistFile]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as cache_dir:
        cold = PackageIndex(settings, cache=Cache(Path(cache_dir)))
        for wheel in wheels:  # the pages are in this cache too, as in a real run
            cold.project(wheel.name)
        before = (cold.fetcher.stats.total_requests(), cold.fetcher.stats.total_bytes())
        start = time.perf_counter()
        cold.map(cold.metadata, wheels)
        cold_wall = time.perf_counter() - start
        cold_requests = cold.fetcher.stats.total_requests() - before[0]
        cold_bytes = cold.fetcher.stats.total_bytes() - before[1]
        cold.close()

        warm = PackageIndex(settings, cache=Cache(Path(cache_dir)))
        start = time.perf_counter()
        for wheel in wheels:
            warm.project(wheel.name)
        warm.map(warm.metadata, wheels)
        warm_wall = time.perf_counter() - start
        warm_requests = warm.fetcher.stats.total_requests()
        warm.close()
    return {"cold_wall": cold_wall, "cold_requests": cold_requests, "cold_bytes": cold_bytes,
            "warm_wall": warm_wall, "warm_requests": warm_requests}


def per_wheel(settings: IndexSettings, wheels: list[DistFile]) -> list[tuple[DistFile, int, int, str]]:
    rows = []
    for wheel in wheels:
        fetcher = Fetcher(timeout=settings.timeout)
        with PackageIndex(settings, cache=Cache(None), fetcher=fetcher) as index:
            got = index.metadata(wheel)
            rows.append((wheel, fetcher.stats.total_requests(), fetcher.stats.total_bytes(), got.how))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    settings = IndexSettings(index_url=pip_default_index())
    pins = uv_pins()
    with PackageIndex(settings) as index:
        wheels = choose_wheels(index, pins)
    print(f"{len(wheels)} wheels for {' '.join(REQUIREMENTS)} on macOS arm64 / CPython 3.12 (pins from uv)\n")

    rows = per_wheel(settings, wheels)
    print(f"{'wheel':<72} {'how':<6} {'req':>3} {'KiB':>9}")
    for wheel, requests, nbytes, how in sorted(rows, key=lambda r: r[2]):
        print(f"{wheel.filename[:72]:<72} {how:<6} {requests:>3} {nbytes / 1024:>9.1f}")
    sizes = [r[2] for r in rows]
    print(f"\nper wheel: median {statistics.median(sizes) / 1024:.1f} KiB, "
          f"mean {statistics.mean(sizes) / 1024:.1f} KiB, median requests {statistics.median(r[1] for r in rows)}")

    runs = [run_once(settings, wheels) for _ in range(args.repeat)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"cold: {med['cold_wall']:.2f} s wall, {med['cold_requests']:.0f} requests, "
          f"{med['cold_bytes'] / 1024 / 1024:.2f} MiB  (median of {args.repeat})")
    print(f"warm: {med['warm_wall'] * 1000:.0f} ms wall, {med['warm_requests']:.0f} requests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

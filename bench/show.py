"""``wheelwise show`` on one project with very many files: time against page size.

    python bench/show.py [--sizes 10000,30000,100000] [--repeat 3]

A PEP 503 page of N wheels (every file its own version) is written to a
``file://`` index in a temporary folder, with the newest wheel real
(the only one read); ``wheelwise show big --json`` runs in a fresh process per
run (empty cache).  Wall time should grow about linearly with N (the page is
parsed once, each file looked at a bounded number of times); before the fix
it was quadratic (100,000 files: about 20 minutes).  Medians over --repeat
runs; the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path


def write_index(root: Path, count: int) -> str:
    page = root / "simple" / "big"
    page.mkdir(parents=True)
    files = root / "files"
    files.mkdir()
    newest = f"big-1.{count - 1}-py3-none-any.whl"
    metadata = f"Metadata-Version: 2.1\nName: big\nVersion: 1.{count - 1}\n"
    with zipfile.ZipFile(files / newest, "w") as wheel:  # the one wheel show reads
        wheel.writestr(f"big-1.{count - 1}.dist-info/METADATA", metadata)
    anchors = [f'<a href="../../files/big-1.{i}-py3-none-any.whl">big-1.{i}-py3-none-any.whl</a><br/>' for i in range(count)]
    (page / "index.html").write_text("<!DOCTYPE html><html><body>" + "".join(anchors) + "</body></html>")
    return (root / "simple").as_uri() + "/"


def run_once(index: str, cache: Path) -> float:
    env = {**os.environ, "WHEELWISE_CACHE_DIR": str(cache), "PIP_CONFIG_FILE": os.devnull, "NO_COLOR": "1"}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "wheelwise", "show", "big", "--json", "--index-url", index],
                          capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"show failed ({proc.returncode}): {proc.stderr[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'files':>8}  {'median s':>9}  {'µs/file':>8}")
    for count in (int(n) for n in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            index = write_index(Path(tmp), count)
            times = [run_once(index, Path(tmp) / f"cache{i}") for i in range(args.repeat)]
        median = statistics.median(times)
        print(f"{count:>8}  {median:>9.2f}  {median / count * 1e6:>8.1f}")


if __name__ == "__main__":
    main()

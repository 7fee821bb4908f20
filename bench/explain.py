"""wheelwise explain on large logs: time to explain, per shape of log.

    python bench/explain.py [--repeat 3]

Shapes (each built in memory, the error near the end so every signature is searched):

- 200 KB single line: the case that took 27 s when matching was quadratic in line length;
- 20 MB single line; 20 MB of 80-character lines;
- 20 MB single line made of the keys of every signature (the adversarial case: every key
  occurs everywhere, so every pattern runs in every window).

Prints the median of --repeat runs per shape.  Goal (issue 15): 20 MB in under 5 s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from wheelwise.explain import explain  # noqa: E402
from wheelwise.knowledge import load  # noqa: E402

ERROR = "RuntimeError: Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU"


def shapes() -> dict[str, str]:
    keys = " ".join(k for s in load().signatures for k in s.keys) + " "
    return {
        "200 KB single line": "x" * 200_000 + ERROR,
        "20 MB single line": ("abc def " * (20 * 2**20 // 8)) + ERROR,
        "20 MB of lines": ("Requirement already satisfied: numpy in ./venv/lib/python3.12 (2.1)\n" * (20 * 2**20 // 69)) + ERROR,
        "20 MB single line of every key": (keys * (20 * 2**20 // len(keys))) + ERROR,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    signatures = load().signatures
    for name, text in shapes().items():
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            found = explain(text, signatures)
            times.append(time.perf_counter() - started)
        ids = ",".join(m.signature.id for m in found)
        print(f"{name:34} {statistics.median(times):7.2f} s   ({len(text) / 2**20:.1f} MB; found {ids})")


if __name__ == "__main__":
    main()

"""wheelwise check beside uv, on the same questions, against the live index, in one run.

    python bench/check.py [--repeat 3] [--only matrix|seed|mediapipe ...] [--json FILE]
                          [--uv-timeout 300] [--timeout 600]

Questions (each measured --repeat times; every figure printed is a median):

- matrix: ``tensorflow tensorflow-metal`` on macos-arm64, macos-x86_64, linux-x86_64,
  linux-aarch64, windows-amd64 x CPython 3.9-3.14 (30 cells) in one
  ``wheelwise check ... --json`` process, cold (empty WHEELWISE_CACHE_DIR) and warm (the
  cache the cold run filled: the answer the cold run remembered), and warm computed
  (``--no-memo``: every cell resolved again from the cached pages and metadata).  uv anchor: one cell (macos-arm64 / 3.12,
  ``--only-binary :all:``) on a fresh uv cache; for reference, the loop of all 30 cells
  (one ``uv pip compile`` each) starting from a fresh uv cache.
  Goals: matrix cold <= 1.5x one uv cell cold; matrix warm < 0.5 s.
- seed: ``wheelwise check tflite-model-maker -t macos-arm64 -p 3.11 --json`` ("nearest
  working" included, the default) cold and warm, against uv on the same cell cold, twice:
  with ``--only-binary :all:`` and without it (uv may then build sdists).
  Goals: wheelwise cold no slower than one uv run; wheelwise peak RSS < 150 MB.
- mediapipe: the same for ``mediapipe-model-maker``.

uv runs as ``uv pip compile - --python-platform P --python-version V [--only-binary :all:]
--index-url URL --no-config`` with the requirements on stdin, a fresh UV_CACHE_DIR and
UV_PYTHON_DOWNLOADS=never; a uv run past --uv-timeout is killed (with everything it
started) and recorded as a timeout.  Its exit status is the answer: 0 resolved, non-zero
did not.  Both tools read the same index: pip's main index (read from pip at run time).
wheelwise runs from this checkout's src/ under this interpreter, compiled to bytecode first
(as an installed copy is); uv must be on PATH
(``pip install uv``).

Peak RSS is ru_maxrss from ``os.wait4`` on each process: that process, or the largest of
the children it waited for (uv's sdist builds), whichever is larger; MB here are MiB.
For the 30-cell uv loop it is the largest of the 30.

Verdicts are counted from wheelwise's JSON; any "unknown" cell is reported loudly (the goal
is none).  Agreement with uv: wheelwise "ok" should mean uv --only-binary resolves,
"build" that only uv without --only-binary does, "blocked" that neither does.  uv's
``--python-version`` and default platform versions are not wheelwise's in every detail, so
a disagreement is a lead to read, not a verdict on either tool.

The machine is shared and noisy: quote medians, and compare figures only from one run.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parent.parent / "src"
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# after the paths to this checkout: the matrix's cells are bench/matrix.py's
from matrix import PYTHONS, TARGETS  # noqa: E402

from wheelwise.index import pip_default_index  # noqa: E402

QUESTIONS = ("matrix", "seed", "mediapipe")
#: uv variants: name -> extra arguments
VARIANTS = {"binary": ["--only-binary", ":all:"], "sdists": []}


@dataclass
class Run:
    """One process: wall time, exit status, peak RSS; a timeout is recorded, not raised."""

    wall: float
    rc: int | None
    rss_mb: float
    timed_out: bool = False
    stdout: str = field(default="", repr=False)
    stderr: str = field(default="", repr=False)

    def raw(self) -> dict[str, Any]:
        out = asdict(self)
        del out["stdout"]
        out["stderr_tail"] = self.stderr.strip()[-1500:] if self.rc != 0 else ""
        del out["stderr"]
        return out


def measure(argv: list[str], env: dict[str, str], stdin: str = "", timeout: float = 600) -> Run:
    """Run *argv* to the end (or *timeout*), timing it and reading its rusage with wait4."""
    with tempfile.TemporaryFile("w+") as inp, tempfile.TemporaryFile("w+") as out, \
            tempfile.TemporaryFile("w+") as err:
        inp.write(stdin)
        inp.flush()
        inp.seek(0)
        lock = threading.Lock()
        state = {"done": False, "killed": False}
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=inp, stdout=out, stderr=err, env=env,
                                start_new_session=True)

        def kill() -> None:
            with lock:
                if state["done"]:
                    return
                state["killed"] = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        with lock:
            state["done"] = True
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if not state["killed"]:
            # whatever the process left behind in its session (builds it did not wait for)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        out.seek(0)
        err.seek(0)
        return Run(wall=wall, rc=None if state["killed"] else proc.returncode,
                   rss_mb=usage.ru_maxrss / 1024, timed_out=state["killed"],
                   stdout=out.read(), stderr=err.read())


# -- wheelwise ---------------------------------------------------------------


@dataclass
class WheelwiseRun:
    run: Run
    verdicts: dict[str, int]
    cells: dict[str, str]  # "target/python" -> verdict
    pins: dict[str, dict[str, str]]  # "target/python" -> requested project -> version
    error: str = ""

    def raw(self) -> dict[str, Any]:
        return {**self.run.raw(), "verdicts": self.verdicts, "cells": self.cells,
                "pins": self.pins, "error": self.error}


def wheelwise(reqs: list[str], targets: list[str], pythons: list[str], cache: Path, index: str,
              timeout: float, *extra: str) -> WheelwiseRun:
    argv = [sys.executable, "-m", "wheelwise", "check", *reqs, "--json", "--index-url", index, *extra]
    for target in targets:
        argv += ["-t", target]
    for python in pythons:
        argv += ["-p", python]
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "WHEELWISE_CACHE_DIR": str(cache), "PYTHONPATH": path}
    run = measure(argv, env, timeout=timeout)
    if run.timed_out:
        return WheelwiseRun(run, {"timeout": 1}, {}, {}, f"timed out after {timeout:.0f} s")
    if run.rc not in (0, 1):
        return WheelwiseRun(run, {"error": 1}, {}, {},
                            f"exit {run.rc}: {run.stderr.strip()[-1500:]}")
    try:
        doc = json.loads(run.stdout)
        cells = {f"{c['target']}/{c['python']}": str(c["verdict"]) for c in doc["cells"]}
        pins = {f"{c['target']}/{c['python']}": {n: c["pins"][n] for n in reqs if n in c["pins"]}
                for c in doc["cells"]}
    except (ValueError, KeyError, TypeError) as exc:
        return WheelwiseRun(run, {"error": 1}, {}, {}, f"unreadable JSON ({exc!r})")
    return WheelwiseRun(run, dict(Counter(cells.values())), cells, pins)


# -- uv ----------------------------------------------------------------------


@dataclass
class UvRun:
    run: Run
    cell: str
    pins: dict[str, str]

    @property
    def answer(self) -> str:
        if self.run.timed_out:
            return "timeout"
        return "resolved" if self.run.rc == 0 else "failed"

    def raw(self) -> dict[str, Any]:
        return {**self.run.raw(), "cell": self.cell, "answer": self.answer, "pins": self.pins}


def uv_binary() -> str:
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("uv is not on PATH: pip install uv")
    return uv


def uv(reqs: list[str], target: str, python: str, variant: str, cache: Path, index: str,
       timeout: float) -> UvRun:
    argv = [uv_binary(), "pip", "compile", "-", "--python-platform", TARGETS[target],
            "--python-version", python, *VARIANTS[variant], "--index-url", index, "--no-config",
            "--no-header", "--no-annotate"]
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_CACHE_DIR": str(cache)}
    run = measure(argv, env, stdin="\n".join(reqs) + "\n", timeout=timeout)
    pins: dict[str, str] = {}
    if run.rc == 0:
        for line in run.stdout.splitlines():
            if "==" in line and not line.lstrip().startswith("#"):
                name, version = line.split(";")[0].strip().split("==", 1)
                if name in reqs:
                    pins[name] = version.strip()
    return UvRun(run, f"{target}/{python}", pins)


def agrees(verdict: str, variant: str, answer: str) -> bool | None:
    """Whether uv's answer is the one wheelwise's verdict predicts (None: nothing to compare)."""
    if answer == "timeout" or verdict not in ("ok", "build", "blocked"):
        return None
    expected = verdict == "ok" if variant == "binary" else verdict in ("ok", "build")
    return expected == (answer == "resolved")


# -- questions ---------------------------------------------------------------


@dataclass
class Question:
    name: str
    reqs: list[str]
    targets: list[str]
    pythons: list[str]
    #: the cell uv answers as the anchor
    anchor: tuple[str, str]
    variants: list[str]
    loop: bool = False


def questions() -> dict[str, Question]:
    return {
        "matrix": Question("matrix", ["tensorflow", "tensorflow-metal"], list(TARGETS), PYTHONS,
                           ("macos-arm64", "3.12"), ["binary"], loop=True),
        "seed": Question("seed", ["tflite-model-maker"], ["macos-arm64"], ["3.11"],
                         ("macos-arm64", "3.11"), list(VARIANTS)),
        "mediapipe": Question("mediapipe", ["mediapipe-model-maker"], ["macos-arm64"], ["3.11"],
                              ("macos-arm64", "3.11"), list(VARIANTS)),
    }


@dataclass
class Repeat:
    cold: WheelwiseRun
    warm: WheelwiseRun
    uv: dict[str, UvRun]  # variant -> one anchor cell, cold
    loop: list[UvRun] = field(default_factory=list)
    loop_wall: float = 0.0
    #: warm with ``--no-memo``: resolved again from the cache
    computed: WheelwiseRun | None = None

    def raw(self) -> dict[str, Any]:
        out: dict[str, Any] = {"wheelwise_cold": self.cold.raw(), "wheelwise_warm": self.warm.raw(),
                               "uv": {k: v.raw() for k, v in self.uv.items()}}
        if self.computed is not None:
            out["wheelwise_warm_computed"] = self.computed.raw()
        if self.loop:
            out["uv_loop"] = {"wall": self.loop_wall, "runs": [r.raw() for r in self.loop]}
        return out


def ask(q: Question, index: str, args: argparse.Namespace) -> Repeat:
    with tempfile.TemporaryDirectory(prefix="wheelwise-bench-") as tmp:
        cache = Path(tmp, "ww")
        cold = wheelwise(q.reqs, q.targets, q.pythons, cache, index, args.timeout)
        loud(q.name, "cold", cold)
        warm = wheelwise(q.reqs, q.targets, q.pythons, cache, index, args.timeout)
        loud(q.name, "warm", warm)
        computed = wheelwise(q.reqs, q.targets, q.pythons, cache, index, args.timeout, "--no-memo")
        loud(q.name, "warm computed", computed)
        anchors = {v: uv(q.reqs, *q.anchor, v, Path(tmp, f"uv-{v}"), index, args.uv_timeout)
                   for v in q.variants}
        rep = Repeat(cold, warm, anchors, computed=computed)
        if q.loop:
            start = time.perf_counter()
            rep.loop = [uv(q.reqs, t, p, "binary", Path(tmp, "uv-loop"), index, args.uv_timeout)
                        for t in q.targets for p in q.pythons]
            rep.loop_wall = time.perf_counter() - start
    return rep


def loud(question: str, which: str, run: WheelwiseRun) -> None:
    if run.error:
        print(f"!!! {question}: wheelwise {which} FAILED: {run.error}", file=sys.stderr, flush=True)
    if run.verdicts.get("unknown"):
        unknown = [c for c, v in run.cells.items() if v == "unknown"]
        print(f"!!! {question}: wheelwise {which}: {len(unknown)} UNKNOWN cell(s): "
              f"{', '.join(unknown)}", file=sys.stderr, flush=True)


# -- report ------------------------------------------------------------------


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or not b else f"{a / b:.2f}"


def timed(runs: list[Run]) -> float | None:
    """Median wall of the runs that finished; None when none did."""
    return median([r.wall for r in runs if not r.timed_out])


def uv_cell(runs: list[UvRun]) -> str:
    """Median wall and the answers, e.g. '12.31 s (failed)' or 'timeout x3'."""
    answers = Counter(r.answer for r in runs)
    wall = timed([r.run for r in runs])
    text = ", ".join(a if n == len(runs) else f"{a} x{n}" for a, n in answers.items())
    if wall is None:
        return f"> {runs[0].run.wall:.0f} s ({text})"
    return f"{secs(wall)} ({text})"


def verdict_text(runs: list[WheelwiseRun]) -> str:
    seen = list(dict.fromkeys(
        ", ".join(f"{v} {n}" for v, n in sorted(r.verdicts.items())) for r in runs))
    text = " / ".join(seen) + (" (differ between runs!)" if len(seen) > 1 else "")
    if any(r.verdicts.get("unknown") for r in runs):
        text = "**UNKNOWN** " + text
    return text


def agreement(reps: list[Repeat], q: Question) -> tuple[str, list[str]]:
    """wheelwise's cold verdicts beside uv's answers, over all repeats: a summary, the misses."""
    yes = no = 0
    misses: list[str] = []
    for rep in reps:
        pairs = [(r.cell, "binary", r) for r in rep.loop]
        pairs += [(r.cell, v, r) for v, r in rep.uv.items()]
        for cell, variant, r in pairs:
            verdict = rep.cold.cells.get(cell, "?")
            same = agrees(verdict, variant, r.answer)
            if same is None:
                continue
            if same:
                yes += 1
                ours = rep.cold.pins.get(cell, {})
                if r.pins and ours and r.pins != ours:
                    misses.append(f"{cell}: same answer, other pins: wheelwise {ours}, "
                                  f"uv {variant} {r.pins}")
            else:
                no += 1
                misses.append(f"{cell}: wheelwise {verdict}, uv {variant} {r.answer}")
    return f"{yes}/{yes + no}", list(dict.fromkeys(misses))


def summarise(q: Question, reps: list[Repeat]) -> dict[str, Any]:
    cold = [r.cold for r in reps]
    warm = [r.warm for r in reps]
    ok_cold = [r.run for r in cold if not r.error]
    ok_warm = [r.run for r in warm if not r.error]
    out: dict[str, Any] = {
        "wheelwise_cold": median([r.wall for r in ok_cold]),
        "wheelwise_warm": median([r.wall for r in ok_warm]),
        "wheelwise_warm_computed": median([r.computed.run.wall for r in reps
                                           if r.computed is not None and not r.computed.error]),
        "rss_cold": median([r.rss_mb for r in ok_cold]),
        "rss_warm": median([r.rss_mb for r in ok_warm]),
        "uv": {v: timed([r.uv[v].run for r in reps]) for v in q.variants},
        "uv_rss": {v: median([r.uv[v].run.rss_mb for r in reps]) for v in q.variants},
    }
    if q.loop:
        out["uv_loop"] = median([r.loop_wall for r in reps])
        out["uv_loop_rss"] = median([max(x.run.rss_mb for x in r.loop) for r in reps])
        out["uv_loop_answers"] = dict(Counter(x.answer for x in reps[-1].loop))
    out["agreement"], out["misses"] = agreement(reps, q)
    out["verdicts"] = verdict_text(cold + warm)
    out["unknown"] = any(r.verdicts.get("unknown") for r in cold + warm)
    out["errors"] = list(dict.fromkeys(r.error for r in cold + warm if r.error))
    return out


def goals(name: str, s: dict[str, Any]) -> list[str]:
    def mark(ok: bool | None) -> str:
        return "n/a" if ok is None else ("met" if ok else "MISSED")

    cold, warm, anchor = s["wheelwise_cold"], s["wheelwise_warm"], s["uv"].get("binary")
    lines = []
    if name == "matrix":
        r = None if cold is None or not anchor else cold / anchor
        lines.append(f"matrix cold <= 1.5x one uv cell cold: {ratio(cold, anchor)}x, "
                     f"{mark(None if r is None else r <= 1.5)}")
        lines.append(f"matrix warm < 0.5 s: {secs(warm)}, "
                     f"{mark(None if warm is None else warm < 0.5)} "
                     f"(warm computed again, --no-memo: {secs(s['wheelwise_warm_computed'])})")
    if name == "seed":
        runs = [v for v in s["uv"].values() if v is not None]
        fastest = min(runs) if runs else None
        lines.append(f"seed cold no slower than one uv run (the faster): {secs(cold)} vs "
                     f"uv {', '.join(f'{k} {secs(v)}' for k, v in s['uv'].items())}, "
                     f"{mark(None if cold is None or fastest is None else cold <= fastest)}")
        peak = max((x for x in (s["rss_cold"], s["rss_warm"]) if x is not None), default=None)
        lines.append(f"seed peak RSS < 150 MB: {mb(peak)} MB, "
                     f"{mark(None if peak is None else peak < 150)}")
    lines.append(f"{name}: zero unknown: {mark(not s['unknown'] and not s['errors'])}"
                 + (" (wheelwise failed)" if s["errors"] else ""))
    return lines


def table(qs: dict[str, Question], reps: dict[str, list[Repeat]],
          sums: dict[str, dict[str, Any]], repeat: int) -> str:
    head = ["question", "wheelwise cold", "wheelwise warm", "uv cold --only-binary",
            "uv cold sdists allowed", "cold / uv (binary, sdists)",
            "peak RSS wheelwise cold / warm (MB)",
            "peak RSS uv binary / sdists (MB)", "verdicts (wheelwise)", "uv agrees"]
    rows = [head, ["---"] * len(head)]
    for name, s in sums.items():
        q, rs = qs[name], reps[name]
        cell = "/".join(q.anchor)
        uvb = uv_cell([r.uv["binary"] for r in rs])
        uvs = uv_cell([r.uv["sdists"] for r in rs]) if "sdists" in q.variants else "—"
        rows.append([
            f"{name} ({len(q.targets) * len(q.pythons)} cells; uv: {cell})",
            secs(s["wheelwise_cold"]), secs(s["wheelwise_warm"]), uvb, uvs,
            " / ".join(ratio(s["wheelwise_cold"], s["uv"].get(v)) for v in VARIANTS
                       if v in q.variants),
            f"{mb(s['rss_cold'])} / {mb(s['rss_warm'])}",
            " / ".join(mb(s["uv_rss"].get(v)) for v in VARIANTS if v in q.variants),
            s["verdicts"], s["agreement"],
        ])
        if q.loop:
            answers = ", ".join(f"{a} {n}" for a, n in sorted(s["uv_loop_answers"].items()))
            rows.append([
                f"{name} (uv: loop of {len(rs[0].loop)} cells)", secs(s["wheelwise_cold"]),
                secs(s["wheelwise_warm"]), f"{secs(s['uv_loop'])} ({answers})", "—",
                ratio(s["wheelwise_cold"], s["uv_loop"]),
                f"{mb(s['rss_cold'])} / {mb(s['rss_warm'])}", mb(s["uv_loop_rss"]), "", "",
            ])
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    return f"Medians of {repeat} run(s); cold = empty cache.\n\n" + "\n".join(lines)


def uv_version() -> str:
    proc = subprocess.run([uv_binary(), "--version"], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--only", action="append", choices=QUESTIONS, metavar="NAME",
                        help="matrix, seed or mediapipe (repeatable; default: all)")
    parser.add_argument("--json", metavar="FILE", help="also write all raw figures here")
    parser.add_argument("--uv-timeout", type=float, default=300,
                        help="seconds before a uv run is killed (default 300)")
    parser.add_argument("--timeout", type=float, default=600,
                        help="seconds before a wheelwise run is killed (default 600)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    index = pip_default_index()
    # an installed wheelwise runs from compiled bytecode (pip compiles it on install); this
    # checkout may not have it (PYTHONDONTWRITEBYTECODE): compile it once, so that no timed run
    # pays for compiling its own source
    compileall.compile_dir(str(SRC / "wheelwise"), quiet=1)
    chosen = {n: q for n, q in questions().items() if not args.only or n in args.only}
    reps: dict[str, list[Repeat]] = {n: [] for n in chosen}
    print(f"{uv_version()}; Python {platform.python_version()}; {os.cpu_count()} CPUs; "
          f"{args.repeat} repeat(s)", flush=True)
    for run in range(args.repeat):
        for name, q in chosen.items():
            rep = ask(q, index, args)
            reps[name].append(rep)
            uvs = ", ".join(f"uv {v} {r.run.wall:.2f} s {r.answer} {r.run.rss_mb:.0f} MB"
                            for v, r in rep.uv.items())
            peak = max((x.run.rss_mb for x in rep.loop), default=0.0)
            loop = f"; uv loop {rep.loop_wall:.2f} s, peak {peak:.0f} MB" if rep.loop else ""
            cold, warm = rep.cold, rep.warm
            again = f", warm --no-memo {rep.computed.run.wall:.2f} s" if rep.computed else ""
            print(f"run {run + 1} {name}: wheelwise cold {cold.run.wall:.2f} s "
                  f"{cold.run.rss_mb:.0f} MB {cold.verdicts}, warm {warm.run.wall:.2f} s "
                  f"{warm.run.rss_mb:.0f} MB {warm.verdicts}{again}; {uvs}{loop}", flush=True)
    sums = {n: summarise(q, reps[n]) for n, q in chosen.items()}
    print()
    for name, s in sums.items():
        for err in s["errors"]:
            print(f"!!! {name}: wheelwise failed: {err}")
        if s["unknown"]:
            print(f"!!! {name}: UNKNOWN VERDICTS: {s['verdicts']} (the goal is zero unknown)")
        for miss in s["misses"]:
            print(f"{name}: uv differs: {miss}")
    print("\n" + table(chosen, reps, sums, args.repeat) + "\n")
    print("Goals:\n")
    for name, s in sums.items():
        for line in goals(name, s):
            print(f"- {line}")
    if args.json:
        doc = {
            "uv": uv_version(), "python": platform.python_version(), "cpus": os.cpu_count(),
            "repeat": args.repeat, "index": "pip's default (read at run time)",
            "questions": {
                n: {"requirements": q.reqs, "targets": q.targets, "pythons": q.pythons,
                    "uv_anchor": "/".join(q.anchor), "medians": sums[n],
                    "runs": [r.raw() for r in reps[n]]}
                for n, q in chosen.items()
            },
        }
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
        print(f"\nraw figures: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``wheelwise verify``: devices, a placement test and a CPU-vs-accelerator benchmark."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from rich.markup import escape

from ..errors import BadInputError
from ..facts import default_python
from ..verify import ACCELERATOR_NAMES, judge, python_of_venv, run_verify
from .github import append_summary, workflow_command
from .html import verify_html
from .markdown import verify_markdown
from .output import add_output_options, destination, output_format
from .progress import progress
from .render import console, print_json

__all__ = ["register", "render"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "verify",
        help="prove that an environment's framework uses its accelerator",
        description="Import each framework in an environment, list its devices, run a matrix multiply pinned to the "
        "accelerator and read back where it ran, and time it against the CPU.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--venv", metavar="DIR", help="the virtual environment to verify")
    where.add_argument("--python", metavar="PATH", help="the interpreter to verify (default: the active one)")
    parser.add_argument("--framework", action="append", choices=("torch", "tensorflow", "jax"), help="only this framework (repeatable)")
    parser.add_argument("--expect", choices=sorted(ACCELERATOR_NAMES), help="exit 1 unless this accelerator is found and used")
    parser.add_argument("--size", type=int, default=1024, help="matrix size of the benchmark (default 1024)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after warm-up (default 5)")
    add_output_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.size < 16 or args.runs < 1:
        raise BadInputError("--size must be at least 16 and --runs at least 1")
    python = python_of_venv(args.venv) if args.venv else (args.python or default_python())
    form = output_format(args)
    with progress(f"verifying {python}"):
        doc = run_verify(python, args.framework or (), size=args.size, runs=args.runs)
    problems = judge(doc, args.expect)
    with destination(args) as out:
        if form == "json":
            doc.pop("stderr_tail", None)
            print_json({"verification": doc, "expect": args.expect, "ok": not problems, "problems": problems}, out)
        elif form == "markdown":
            out.write(verify_markdown(doc, problems))
        elif form == "html":
            out.write(verify_html(doc, problems))
        else:
            render(doc, problems, out)
    if form == "github":
        for problem in problems:
            sys.stdout.write(workflow_command("error", problem, "wheelwise verify") + "\n")
        append_summary(verify_markdown(doc, problems))
    return 1 if problems else 0


def _bar(value: float, top: float, width: int = 32) -> str:
    filled = max(1, round(width * value / top)) if top > 0 else 1
    return "█" * filled


def render(doc: dict[str, Any], problems: list[str], stream: TextIO | None = None) -> None:
    out = console(stream)
    out.print(f"wheelwise verify: {escape(str(doc.get('python')))} (Python {doc.get('version')})")
    if doc.get("rosetta"):
        out.print("[bold red]✗[/] this Python runs under Rosetta 2: x86_64 code on Apple silicon")
    for fw in doc.get("frameworks") or []:
        out.print()
        if fw.get("error"):
            out.print(f"[bold red]✗[/] [bold]{escape(fw['framework'])}[/]: {escape(fw['error'])}")
            continue
        out.print(f"[bold]{escape(fw['framework'])} {escape(str(fw['version']))}[/]  (import {fw['import_s']:.2f} s)")
        build = ", ".join(f"{k} {v}" for k, v in (fw.get("build") or {}).items() if v not in (None, False, [], ""))
        out.print(f"  build: {escape(build or 'CPU only')}")
        out.print(f"  devices: {escape(', '.join(d['kind'] + ('' if d['name'] == d['kind'] else ' (' + d['name'] + ')') for d in fw.get('devices') or []))}")
        placement = fw.get("placement") or {}
        if fw.get("accelerator") is None:
            out.print(f"  [yellow]![/] no accelerator: {escape(str(placement.get('reason', '')))}")
        elif placement.get("ok"):
            out.print(f"  [green]✓[/] placement: an op pinned to {escape(str(placement.get('requested')))} ran on {escape(str(placement.get('ran_on')))}")
        else:
            out.print(f"  [bold red]✗[/] placement: asked for {escape(str(placement.get('requested')))}, ran on {escape(str(placement.get('ran_on')))} {escape(str(placement.get('reason', '')))}")
        bench = fw.get("benchmark") or {}
        rows = [(k, v) for k, v in bench.items() if isinstance(v, dict)]
        top = max((v["gflops"] for _, v in rows), default=0.0)
        for kind, result in rows:
            out.print(f"  {kind:>5} {_bar(result['gflops'], top)} {result['gflops']:.1f} GFLOP/s  ({result['size']}x{result['size']} float32 matmul, median of {result['runs']})")
        if bench.get("speedup"):
            out.print(f"  speed-up over CPU: {bench['speedup']:.1f}x")
    out.print()
    if problems:
        for problem in problems:
            out.print(f"[bold red]✗[/] {escape(problem)}")
    else:
        out.print("[green]✓[/] verified")

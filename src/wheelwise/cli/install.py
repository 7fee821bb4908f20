"""``wheelwise install FRAMEWORK --venv DIR``: plan, install into a fresh venv, verify."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..errors import BadInputError
from ..explain import explain
from ..facts import venv_python
from ..install import InstallError, install, resolve_venv, user_files
from ..knowledge import load
from ..verify import judge, run_verify
from . import verify as verify_cli
from .options import add_choice_options, add_index_options
from .plan import add_plan_options, build_plan
from .plan import render as render_plan
from .render import console

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "install",
        help="install a framework's plan into a new virtual environment, then verify it",
        description="Plan for the interpreter's machine, build the venv beside its final place, install the pins with "
        "pip, move it into place only when complete, then verify the accelerator is used.",
    )
    add_plan_options(parser)
    parser.add_argument("--venv", metavar="DIR", required=True, help="where the virtual environment goes")
    parser.add_argument("--upgrade", action="store_true", help="replace an existing venv (kept until the new one is complete)")
    parser.add_argument("--allow-rosetta", action="store_true", help="install even with an x86_64 Python under Rosetta 2")
    parser.add_argument("--no-verify", action="store_true", help="skip the verification after installing")
    add_index_options(parser)
    add_choice_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    out, err = console(), console(sys.stderr)
    plan, facts = build_plan(args)
    if facts is not None and facts.rosetta and not args.allow_rosetta:
        raise BadInputError(
            f"{facts.get('interpreter', 'executable')} is an x86_64 Python running under Rosetta 2 on Apple silicon",
            hint="use a native arm64 Python (wheelwise doctor says how), or pass --allow-rosetta",
        )
    render_plan(plan)
    if not plan.ok:
        return 1
    python = str(facts.get("interpreter", "executable")) if facts is not None else sys.executable
    given = Path(args.venv).absolute()
    venv = resolve_venv(given)
    where = str(given) if venv == given else f"{given} → {venv}"  # a symlink is followed
    out.print(f"\ninstalling into {escape(where)} ...")
    if args.upgrade and venv_python(venv).exists():
        _say_discarded(err, venv, user_files(venv))
    try:
        result = install(plan, venv, python, upgrade=args.upgrade, output=lambda line: err.print(f"[dim]  {escape(line)}[/]"))
    except InstallError as exc:
        err.print(f"[bold red]error[/]: {escape(exc.message)}")
        matches = explain(exc.output, load().signatures)
        for match in matches:
            err.print(f"  [bold]{escape(match.signature.title)}[/] (line {match.line}): {escape(match.signature.cause)}")
            err.print(f"  fix: {escape(match.signature.fix)}  [dim]{escape(match.signature.sources[0])}[/]")
        if not matches:
            err.print("  hint: run 'wheelwise explain' on pip's output above, or 'wheelwise doctor'")
        return 1
    out.print(f"[green]✓[/] {'replaced' if result.replaced else 'created'} {escape(str(result.venv))}")
    if result.discarded:
        out.print(f"  discarded {len(result.discarded)} file(s) of yours from the old venv")
    if args.no_verify:
        return 0
    doc = run_verify(str(result.python), [plan.framework])
    problems = judge(doc, plan.accelerator)
    verify_cli.render(doc, problems)
    return 1 if problems else 0


def _say_discarded(err: Console, venv: Path, files: list[Path], shown: int = 20) -> None:
    """Before --upgrade replaces a venv: the files in it that neither venv nor pip made."""
    if not files:
        return
    err.print(
        f"[yellow]warning[/]: --upgrade replaces {escape(str(venv))}; these {len(files)} file(s) in it were not made "
        "by venv or pip and will be gone (the old venv is kept aside until the new one is in place; Ctrl-C now keeps them):"
    )
    for path in files[:shown]:
        err.print(f"  {escape(str(path))}")
    if len(files) > shown:
        err.print(f"  ... and {len(files) - shown} more")

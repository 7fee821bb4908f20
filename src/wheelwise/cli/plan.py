"""``wheelwise plan FRAMEWORK``: the right pinned packages for a machine, and the commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from packaging.version import InvalidVersion, Version
from rich.markup import escape

from ..errors import BadInputError
from ..facts import HostFacts, collect
from ..index import PackageIndex
from ..knowledge import ACCELERATORS, FRAMEWORKS, load
from ..plan import CREDENTIALS_NOTE, Plan, candidate_stacks, choose_accelerator, make_plan
from ..requirements import read_requirements
from ..target import Target, host_target_from, parse_python, parse_target
from .cache import open_cache
from .options import add_choice_options, add_index_options, index_settings, pip_choices
from .progress import progress
from .render import console, print_json

__all__ = ["build_plan", "register"]


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "plan",
        help="the pinned packages and commands for a framework on this (or another) machine",
        description="Pick the framework's stack for the accelerator from wheelwise's knowledge, resolve its pins "
        "for the target, and print the commands; --out writes requirements.txt and pylock.toml.",
    )
    add_plan_options(parser)
    parser.add_argument("-t", "--target", default="host", help="target preset or 'host' (default)")
    parser.add_argument("-p", "--python-version", metavar="X.Y", help="CPython version of a preset target (default: the host's)")
    parser.add_argument("--out", metavar="DIR", help="write requirements.txt and pylock.toml into DIR")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    add_index_options(parser)
    add_choice_options(parser)
    parser.set_defaults(run=run)


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("framework", choices=FRAMEWORKS, metavar="FRAMEWORK", help="tensorflow, torch or jax")
    parser.add_argument("--accelerator", default="auto", choices=("auto", *ACCELERATORS), help="auto (default): the best the machine has")
    parser.add_argument("--python", metavar="PATH", help="the interpreter of the host target (default: the active one)")


def build_plan(args: argparse.Namespace, target_name: str = "host", python_version: str | None = None) -> tuple[Plan, HostFacts | None]:
    facts: HostFacts | None = None
    if target_name == "host":
        facts = HostFacts(collect(args.python, light=True, target=True))
        target: Target = host_target_from(facts.data)
        platform = facts.platform
        accelerators = facts.data.get("accelerators") or {}
    else:
        versions = parse_python(python_version) if python_version else [(sys.version_info.major, sys.version_info.minor)]
        if len(versions) != 1:
            raise BadInputError("plan takes one Python version", hint="e.g. -p 3.12")
        target = parse_target(target_name, versions[0])
        platform = target.name
        accelerators = {"nvidia": target.os != "macos", "apple_gpu": platform == "macos-arm64"}
        if target.properties:  # the target says what it has: +cuda for NVIDIA, +metal for Apple's GPU
            accelerators = {"nvidia": target.properties.cuda is not None, "apple_gpu": target.properties.metal}
    accelerator = args.accelerator
    if accelerator == "auto":
        accelerator = choose_accelerator(args.framework, platform, accelerators)
    knowledge = load()
    driver = driver_cuda = None
    if facts is not None and facts.nvidia:
        driver, driver_cuda = _version(facts.nvidia.get("driver")), _version(facts.nvidia.get("cuda"))
    elif target.properties.cuda is not None:
        # a target's +cuda is its driver's CUDA: stacks built for a newer CUDA do not run there
        driver_cuda = Version("{}.{}".format(*target.properties.cuda))
    stacks = candidate_stacks(knowledge, args.framework, accelerator, platform, os_name=target.os, driver=driver, driver_cuda=driver_cuda)
    settings = index_settings(args)

    def open_index(index_url: str | None) -> PackageIndex:
        # the user's own --index-url wins over a stack's vendor index
        chosen = settings.override(index_url=index_url) if index_url and not args.index_url else settings
        return PackageIndex(chosen, cache=open_cache(), offline=args.offline, refresh=args.refresh,
                            progress=state.hook)

    with progress(f"planning {args.framework} for {target.label}") as state:
        choices = pip_choices(args)
        limits = [c for path in choices.constraints for c in read_requirements(path, constraint=True).constraints]
        plan = make_plan(open_index, knowledge, args.framework, accelerator, target, platform, stacks=stacks,
                         constraints=limits, selection=choices.selection)
    plan.index_args = pip_index_args(args)
    # the venv must be made with the interpreter the pins are for
    plan.python = str(facts.get("interpreter", "executable")) if facts is not None else f"python{target.python_str}"
    return plan, facts


def pip_index_args(args: argparse.Namespace) -> list[str]:
    """The index flags given to wheelwise, as pip takes them."""
    found: list[str] = []
    if args.index_url:
        found += ["--index-url", args.index_url]
    for url in args.extra_index_url:
        found += ["--extra-index-url", url]
    for path in args.find_links:
        found += ["--find-links", path]
    if args.no_index:
        found.append("--no-index")
    return found


def _version(text: object) -> Version | None:
    try:
        return Version(str(text)) if text else None
    except InvalidVersion:
        return None


def run(args: argparse.Namespace) -> int:
    if args.python and args.target != "host":
        raise BadInputError("--python chooses the host interpreter; it cannot be combined with -t", hint="drop one of them")
    plan, _ = build_plan(args, args.target, args.python_version)
    written: list[Path] = []
    if args.out and plan.ok:
        # both files are made (and the lock validated) before either is written
        texts = {"requirements.txt": plan.requirements_text(), "pylock.toml": plan.pylock_text()}
        written = _write(Path(args.out), texts)
    if args.json:
        print_json({"plan": plan.to_dict(args.out if written else None), "written": [str(p) for p in written]})
    else:
        render(plan, args.out if written else None)
    return 0 if plan.ok else 1


def _write(out: Path, texts: dict[str, str]) -> list[Path]:
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, text in texts.items():
            path = out / name
            partial = out / f".{name}.wheelwise-{os.getpid()}"
            try:
                partial.write_text(text, encoding="utf-8")
                os.replace(partial, path)
            except OSError:
                partial.unlink(missing_ok=True)  # nothing half-written stays in the user's folder
                raise
            paths.append(path)
    except OSError as exc:
        raise BadInputError(f"cannot write into {out}: {exc.strerror}", hint="choose another --out directory") from exc
    return paths


def render(plan: Plan, out_dir: str | None = None) -> None:
    out = console()
    out.print(f"wheelwise plan: {plan.framework} with {plan.accelerator} on {escape(plan.target.label)}")
    if not plan.ok:
        out.print(f"[bold red]✗[/] {escape(plan.reason or 'nothing installs')}")
        if plan.fix:
            out.print(f"  fix: {escape(plan.fix)}")
        for stack, cell in plan.tried:
            for blocker in cell.blockers:
                out.print(f"  {escape(stack.id)}: {escape(blocker.project)} — {escape(blocker.reason)}: {escape(blocker.detail or '')}")
            for near in cell.nearest:
                target, verdict = near.target, near.verdict
                out.print(f"  would {verdict}: {escape(target.label)}")
        return
    assert plan.stack is not None and plan.cell is not None
    out.print(f"stack: {escape(plan.stack.summary)}")
    out.print(f"  [dim]source: {escape(plan.stack.sources[0])} (verified {plan.stack.verified})[/]")
    for rule in plan.cell.knowledge:
        out.print(f"  knowledge: {escape(rule.summary)} [dim]({escape(rule.sources[0])})[/]")
    for warning in plan.cell.all_warnings:
        out.print(f"  [yellow]warning[/]: {escape(warning)}")
    out.print("\npins:")
    for line in plan.pins():
        out.print(f"  {escape(line)}")
    out.print("\ncommands:")
    for command in plan.commands(out_dir):
        out.print(f"  [bold]{escape(command)}[/]")
    if out_dir:
        out.print("or, for the install step:")
        for command in plan.other_commands(out_dir):
            note = "  [dim](pip 26.1 or newer)[/]" if command.startswith("python -m pip") else ""
            out.print(f"  [bold]{escape(command)}[/]{note}")
        out.print(f"\nwrote {escape(str(Path(out_dir) / 'requirements.txt'))} and {escape(str(Path(out_dir) / 'pylock.toml'))}"
                  " (every pin with its sha256)")
    else:
        out.print("[dim]--out DIR writes requirements.txt with every file's hash and pylock.toml, for a hash-checked install[/]")
    if plan.credentials_hidden:
        out.print(f"[dim]{escape(CREDENTIALS_NOTE)}[/]")

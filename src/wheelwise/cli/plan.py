"""``wheelwise plan FRAMEWORK``: the right pinned packages for a machine, and the commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from packaging.version import InvalidVersion, Version
from rich.markup import escape

from ..errors import BadInputError
from ..facts import HostFacts, collect
from ..index import PackageIndex
from ..knowledge import ACCELERATORS, FRAMEWORKS, load
from ..plan import Plan, candidate_stacks, choose_accelerator, make_plan
from ..target import Target, host_target_from, parse_python, parse_target
from .cache import open_cache
from .options import add_index_options, index_settings
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
        plan = make_plan(open_index, knowledge, args.framework, accelerator, target, platform, stacks=stacks)
    plan.index_args = pip_index_args(args)
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
    if args.out and plan.ok:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "requirements.txt").write_text(plan.requirements_text(), encoding="utf-8")
        (out / "pylock.toml").write_text(plan.pylock_text(), encoding="utf-8")
    if args.json:
        print_json({"plan": plan.to_dict(), "written": [str(Path(args.out) / n) for n in ("requirements.txt", "pylock.toml")] if args.out and plan.ok else []})
    else:
        render(plan, args.out)
    return 0 if plan.ok else 1


def render(plan: Plan, out_dir: str | None = None) -> None:
    out = console()
    out.print(f"wheelwise plan: {plan.framework} with {plan.accelerator} on {escape(plan.target.label)}")
    if not plan.ok:
        out.print(f"[bold red]✗[/] {escape(plan.reason or 'nothing installs')}")
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
    out.print("\npins:")
    for line in plan.pins():
        out.print(f"  {escape(line)}")
    out.print("\ncommands:")
    for command in plan.commands():
        out.print(f"  [bold]{escape(command)}[/]")
    if out_dir:
        out.print(f"\nwrote {escape(str(Path(out_dir) / 'requirements.txt'))} and {escape(str(Path(out_dir) / 'pylock.toml'))}")

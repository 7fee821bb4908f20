"""Plan: framework + accelerator + target -> pinned packages and exact commands.

The stack (which packages, which index) comes from the knowledge base; the
pins come from the check engine, with the knowledge constraints applied, so
a plan is exactly what ``wheelwise check`` says installs.  When no stack
installs, the plan carries the check blockers and where the request would
work instead.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from packaging.version import Version

from .check import Cell, Checker
from .errors import BadInputError
from .index import PackageIndex
from .knowledge import ACCELERATORS, FRAMEWORKS, Knowledge, Stack, load_constraints, release_floor
from .requirements import parse_requirement_line
from .target import Target

__all__ = ["Plan", "candidate_stacks", "choose_accelerator", "make_plan"]


@dataclasses.dataclass
class Plan:
    framework: str
    accelerator: str
    target: Target
    stack: Stack | None
    cell: Cell | None
    tried: list[tuple[Stack, Cell]] = dataclasses.field(default_factory=list)
    reason: str | None = None
    #: index options the user gave wheelwise, passed on to pip
    index_args: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.cell is not None and self.cell.installs

    @property
    def index_url(self) -> str | None:
        return self.stack.index_url if self.stack else None

    @property
    def only_binary(self) -> bool:
        return self.cell is not None and self.cell.verdict == "ok"

    def pins(self) -> list[str]:
        if self.cell is None or self.stack is None:
            return []
        wanted = {r.name for r in self.stack.packages}
        lines = []
        for name, candidate in sorted(self.cell.pins.items()):
            extras = next((sorted(r.extras) for r in self.stack.packages if r.name == name and r.extras), [])
            shown = f"{name}[{','.join(extras)}]" if extras and name in wanted else name
            lines.append(f"{shown}=={candidate.version}")
        return lines

    def pip_args(self) -> list[str]:
        args = ["--only-binary", ":all:"] if self.only_binary else []
        if self.index_url and "--index-url" not in self.index_args:
            args += ["--index-url", self.index_url]
        return args + self.index_args

    def commands(self, venv: str = ".venv", python: str = "python3") -> list[str]:
        pip = " ".join(["python", "-m", "pip", "install", *self.pip_args(), "-r", "requirements.txt"])
        return [f"{python} -m venv {venv}", f". {venv}/bin/activate", pip, f"wheelwise verify --venv {venv} --expect {self.accelerator}"]

    def requirements_text(self) -> str:
        head = [f"# wheelwise plan {self.framework} --accelerator {self.accelerator} for {self.target.label}"]
        if self.stack is not None:
            head.append(f"# stack: {self.stack.id} ({self.stack.sources[0]}, verified {self.stack.verified})")
        if self.index_url:
            head.append(f"--index-url {self.index_url}")
        return "\n".join(head + self.pins()) + "\n"

    def pylock_text(self) -> str:
        """A PEP 751 lock file for this target (``pylock.toml``)."""
        assert self.cell is not None
        q = json.dumps  # a JSON string is a valid TOML basic string
        markers = self.target.markers
        env = f"sys_platform == '{markers['sys_platform']}' and platform_machine == '{markers['platform_machine']}'"
        lines = [
            'lock-version = "1.0"',
            f"environments = [{q(env)}]",
            f"requires-python = {q('==' + self.target.python_str + '.*')}",
            'created-by = "wheelwise"',
        ]
        for name, candidate in sorted(self.cell.pins.items()):
            lines += ["", "[[packages]]", f"name = {q(name)}", f"version = {q(str(candidate.version))}"]
            file = candidate.file
            if file is None:
                continue
            hashes = ", ".join(f"{algo} = {q(value)}" for algo, value in sorted(file.hashes.items()))
            kind = "wheels" if file.is_wheel else "sdist"
            lines.append(f"[[packages.{kind}]]" if kind == "wheels" else "[packages.sdist]")
            lines += [f"name = {q(file.filename)}", f"url = {q(file.url)}", f"hashes = {{{hashes}}}"]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "accelerator": self.accelerator,
            "target": self.target.label,
            "ok": self.ok,
            "reason": self.reason,
            "stack": None if self.stack is None else {"id": self.stack.id, "summary": self.stack.summary, "sources": list(self.stack.sources), "index_url": self.stack.index_url},
            "pins": self.pins(),
            "pip_args": self.pip_args(),
            "commands": self.commands() if self.ok else [],
            "check": None if self.cell is None else self.cell.to_dict(),
            "tried": [{"stack": s.id, "verdict": c.verdict, "blockers": [b.to_dict() for b in c.blockers]} for s, c in self.tried],
        }


def choose_accelerator(framework: str, platform: str | None, accelerators: Mapping[str, Any] | None) -> str:
    """``auto``: the best accelerator the host facts show for *framework*."""
    accelerators = accelerators or {}
    if accelerators.get("nvidia") and platform in ("linux-x86_64", "linux-aarch64", "windows-amd64"):
        return "cuda"
    if accelerators.get("apple_gpu") and platform == "macos-arm64":
        # jax-metal is unmaintained (knowledge: jax-metal-coverage): JAX on a Mac runs on the CPU
        return {"tensorflow": "metal", "torch": "mps"}.get(framework, "cpu")
    return "cpu"



def candidate_stacks(
    knowledge: Knowledge,
    framework: str,
    accelerator: str,
    platform: str | None,
    *,
    os_name: str = "linux",
    driver: Version | None = None,
    driver_cuda: Version | None = None,
) -> list[Stack]:
    """The stacks that apply, best first: highest CUDA the driver runs, newest releases."""
    stacks = [s for s in knowledge.stacks if s.framework == framework and s.accelerator == accelerator and platform in s.platforms]
    if accelerator == "cuda":
        usable = []
        for stack in stacks:
            assert stack.cuda is not None
            need = knowledge.driver_for(stack.cuda)
            if driver is not None and need is not None and driver < (need.windows if os_name == "windows" else need.linux):
                continue
            if driver_cuda is not None and Version(f"{stack.cuda.major}.{stack.cuda.minor}") > driver_cuda:
                continue
            usable.append(stack)
        stacks = sorted(usable, key=lambda s: (s.cuda or Version("0"), release_floor(s.releases)), reverse=True)
    else:
        stacks = sorted(stacks, key=lambda s: release_floor(s.releases), reverse=True)
    return stacks


def make_plan(
    open_index: Callable[[str | None], PackageIndex],
    knowledge: Knowledge,
    framework: str,
    accelerator: str,
    target: Target,
    platform: str | None,
    *,
    stacks: Sequence[Stack] | None = None,
) -> Plan:
    """Resolve each applicable stack in turn; the first that installs is the plan."""
    if framework not in FRAMEWORKS:
        raise BadInputError(f"unknown framework {framework!r}", hint=f"choose one of {', '.join(FRAMEWORKS)}")
    if accelerator not in ACCELERATORS:
        raise BadInputError(f"unknown accelerator {accelerator!r}", hint=f"choose one of auto, {', '.join(ACCELERATORS)}")
    options = list(stacks) if stacks is not None else candidate_stacks(knowledge, framework, accelerator, platform, os_name=target.os)
    plan = Plan(framework, accelerator, target, None, None)
    cuda = target.properties.cuda
    if not options and accelerator == "cuda" and cuda is not None:
        builds = sorted({s.cuda for s in knowledge.stacks if s.framework == framework and s.accelerator == "cuda"
                         and platform in s.platforms and s.cuda is not None})
        if builds:
            plan.reason = (
                f"the target's NVIDIA driver supports CUDA {cuda[0]}.{cuda[1]}; {framework}'s CUDA builds for "
                f"{platform} need CUDA {builds[0]} or newer ({', '.join(map(str, builds))}): a newer driver is needed"
            )
            return plan
    if not options:
        known = sorted({p for s in knowledge.stacks if s.framework == framework and s.accelerator == accelerator for p in s.platforms})
        plan.reason = (
            f"wheelwise knows no way to run {framework} with {accelerator} on {platform or target.label}"
            + (f"; it does on {', '.join(known)}" if known else "")
        )
        dead = knowledge.dead_end(framework, accelerator, platform)
        if dead is not None:
            plan.reason = (
                f"{dead.summary}; people move to: {'; '.join(dead.alternatives)}"
                f" (the last set known to work: {' '.join(map(str, dead.last_working))}; {dead.citation()})"
            )
        return plan
    rules = load_constraints()
    for stack in options:
        requested = [parse_requirement_line(str(r), f"stack {stack.id}") for r in stack.packages]
        requested.append(parse_requirement_line(f"{framework}{stack.releases}", f"stack {stack.id}"))
        with open_index(stack.index_url) as index:
            cell = Checker(index, requested, rules=rules).cell(target)
        plan.tried.append((stack, cell))
        if cell.installs:
            plan.stack, plan.cell = stack, cell
            return plan
    plan.stack, plan.cell = plan.tried[0]
    plan.reason = "no stack installs on this target: " + "; ".join(
        f"{s.id}: {', '.join(f'{b.project} ({b.reason})' for b in c.blockers) or c.verdict}" for s, c in plan.tried
    )
    return plan

"""Plan: framework + accelerator + target -> pinned packages and exact commands.

The stack (which packages, which index) comes from the knowledge base; the
pins come from the check engine, with the knowledge constraints applied, so
a plan is exactly what ``wheelwise check`` says installs.  When no stack
installs, the plan carries the check blockers and where the request would
work instead.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.version import Version

from .check import Cell, Checker
from .errors import BadInputError
from .index import IndexSettings, PackageIndex
from .index.urls import public_url
from .knowledge import ACCELERATORS, FRAMEWORKS, Knowledge, Stack, load_constraints, release_floor
from .lockfile import LockedPin, lock_pins, pylock, pylock_text, requirement_lines
from .requirements import SourcedRequirement, parse_requirement_line
from .resolve import Candidate
from .selection import DEFAULT_SELECTION, Selection
from .target import Target

__all__ = ["CREDENTIALS_NOTE", "Plan", "candidate_stacks", "choose_accelerator", "cuda_builds", "index_options", "make_plan"]


@dataclasses.dataclass
class Plan:
    """A stack resolved for a target, its files locked, and the commands that install it.

    :param index_args: the index flags the user gave wheelwise, as typed (install passes them
        to its own pip run; they are never printed or written).
    :param index_options: the index options the pins were resolved from, as written into
        requirements.txt and printed commands: without credentials.
    :param python: the interpreter the printed commands create the venv with.
    :param cuda_pins: for a CPU plan, pins that are CUDA builds (the plan is then refused).
    """

    framework: str
    accelerator: str
    target: Target
    stack: Stack | None
    cell: Cell | None
    tried: list[tuple[Stack, Cell]] = dataclasses.field(default_factory=list)
    reason: str | None = None
    fix: str | None = None
    index_args: list[str] = dataclasses.field(default_factory=list)
    index_options: list[str] = dataclasses.field(default_factory=list)
    credentials_hidden: bool = False
    locked: list[LockedPin] = dataclasses.field(default_factory=list)
    cuda_pins: list[str] = dataclasses.field(default_factory=list)
    python: str = "python3"

    @property
    def ok(self) -> bool:
        return self.cell is not None and self.cell.installs and not self.cuda_pins

    @property
    def index_url(self) -> str | None:
        return self.stack.index_url if self.stack else None

    @property
    def only_binary(self) -> bool:
        return self.cell is not None and self.cell.verdict == "ok"

    def _shown(self) -> dict[str, str]:
        """Each pinned name as requested: with the stack's extras."""
        if self.cell is None or self.stack is None:
            return {}
        shown = {}
        for name in self.cell.pins:
            extras = next((sorted(r.extras) for r in self.stack.packages if r.name == name and r.extras), [])
            shown[name] = f"{name}[{','.join(extras)}]" if extras else name
        return shown

    def pins(self) -> list[str]:
        if self.cell is None:
            return []
        shown = self._shown()
        return [f"{shown.get(name, name)}=={c.version}" for name, c in sorted(self.cell.pins.items())]

    def pip_args(self) -> list[str]:
        """Options for a pip run on this machine: the user's own index flags as typed."""
        args = ["--only-binary", ":all:"] if self.only_binary else []
        if self.index_url and "--index-url" not in self.index_args:
            args += ["--index-url", self.index_url]
        return args + self.index_args

    def _options(self) -> list[str]:
        """What the written file and the printed commands say about where files come from."""
        return (["--only-binary", ":all:"] if self.only_binary else []) + self.index_options

    def commands(self, out_dir: str | None = None, venv: str = ".venv") -> list[str]:
        """The commands that make the venv and install the plan into it.

        With *out_dir* they install from the requirements.txt written there, hash-checked;
        without, the pins and index options are on pip's command line.
        """
        if out_dir:
            install = f"python -m pip install --require-hashes -r {_path(out_dir, 'requirements.txt')}"
        else:
            install = shlex.join(["python", "-m", "pip", "install", *self._options(), *self.pins()])
        activate = f"{venv}\\Scripts\\activate" if self.target.os == "windows" else f". {venv}/bin/activate"
        return [
            f"{shlex.quote(self.python)} -m venv {venv}",
            activate,
            install,
            f"wheelwise verify --venv {venv} --expect {self.accelerator}",
        ]

    def other_commands(self, out_dir: str) -> list[str]:
        """The install step of :meth:`commands` for uv, and from the lock file (pip >= 26.1)."""
        requirements, lock = _path(out_dir, "requirements.txt"), _path(out_dir, "pylock.toml")
        return [
            f"uv pip install --require-hashes -r {requirements}",
            f"uv pip install -r {lock}",
            f"python -m pip install -r {lock}",
        ]

    def requirements_text(self, *, index: bool = True) -> str:
        """requirements.txt: the index options (unless *index* is false), then every pin with its hashes."""
        head = [f"# wheelwise plan {self.framework} --accelerator {self.accelerator} for {self.target.label}"]
        if self.stack is not None:
            head.append(f"# stack: {self.stack.id} ({self.stack.sources[0]}, verified {self.stack.verified})")
        if index and self.credentials_hidden:
            head.append(f"# {CREDENTIALS_NOTE}")
        if index:  # a line per option, its value (if any) beside it: --no-index stands alone
            lines: list[list[str]] = []
            for word in self._options():
                if word.startswith("--") or not lines:
                    lines.append([word])
                else:
                    lines[-1].append(word)
            head += [" ".join(line) for line in lines]
        return "\n".join(head + requirement_lines(self.locked, self._shown())) + "\n"

    def pylock_text(self) -> str:
        """A PEP 751 lock file for this target (``pylock.toml``), validated."""
        return pylock_text(pylock(self.locked, self.target))

    def to_dict(self, out_dir: str | None = None) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "accelerator": self.accelerator,
            "target": self.target.label,
            "ok": self.ok,
            "reason": self.reason,
            "fix": self.fix,
            "stack": None if self.stack is None else {"id": self.stack.id, "summary": self.stack.summary, "sources": list(self.stack.sources), "index_url": self.stack.index_url},
            "pins": self.pins(),
            "files": [
                {"name": p.name, "version": str(p.version), "filename": p.file.filename, "url": p.file.url, "sha256": p.file.sha256, "index": p.file.index}
                for p in self.locked
            ],
            "pip_args": self._options(),
            "credentials_hidden": self.credentials_hidden,
            "cuda_pins": list(self.cuda_pins),
            "commands": self.commands(out_dir) if self.ok else [],
            "other_commands": self.other_commands(out_dir) if self.ok and out_dir else [],
            "check": None if self.cell is None else self.cell.to_dict(),
            "tried": [{"stack": s.id, "verdict": c.verdict, "blockers": [b.to_dict() for b in c.blockers]} for s, c in self.tried],
        }


#: where pip and uv users keep index credentials, since none are written
#: (https://pip.pypa.io/en/stable/topics/authentication/, https://docs.astral.sh/uv/concepts/authentication/http/;
#: verified 2026-11-22).  Not PIP_INDEX_URL with credentials: an index option inside a requirements
#: file replaces the index URLs pip's session takes credentials from (pip 26.3, req/req_file.py).
CREDENTIALS_NOTE = (
    "index credentials are not written: pip and uv read them from ~/.netrc (or $NETRC) "
    "or a keyring (--keyring-provider subprocess); uv also from 'uv auth login HOST'"
)


def _path(out_dir: str, name: str) -> str:
    return shlex.quote(str(Path(out_dir) / name))


def index_options(settings: IndexSettings) -> tuple[list[str], bool]:
    """pip's options for *settings* without credentials, and whether any were removed."""
    options: list[str] = []
    hidden = False

    seen: set[str] = set()

    def add(flag: str, url: str) -> None:
        nonlocal hidden
        shown = public_url(url)
        hidden = hidden or shown != url
        if shown not in seen:  # pip's configuration and the flags may name a place twice
            seen.add(shown)
            options.extend((flag, shown))

    if settings.no_index:
        options.append("--no-index")
    else:
        if settings.index_url:
            add("--index-url", settings.index_url)
        for url in settings.extra_index_urls:
            add("--extra-index-url", url)
    for url in settings.find_links:
        add("--find-links", url)
    for host in settings.trusted_hosts:
        options.extend(("--trusted-host", host))
    return options, hidden


#: NVIDIA publishes the CUDA libraries that CUDA builds of the frameworks load as ``nvidia-*``
#: projects on the index (nvidia-cublas-cu12, nvidia-cudnn-cu12, ...), and PyTorch marks its
#: CUDA builds with a ``+cuXYZ`` local version; source:
#: https://docs.nvidia.com/cuda/cuda-installation-guide-linux/#pip-wheels and
#: https://pytorch.org/get-started/previous-versions/ (verified 2026-11-22)
_CUDA_PROJECT = re.compile(r"nvidia-.+|jax-cuda\d+-(plugin|pjrt)")


def cuda_builds(pins: Mapping[str, Candidate]) -> list[str]:
    """The pins that are CUDA builds or CUDA libraries."""
    return [
        f"{name}=={c.version}"
        for name, c in sorted(pins.items())
        if _CUDA_PROJECT.fullmatch(name) or (c.version.local or "").startswith("cu")
    ]


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
    constraints: Sequence[SourcedRequirement] = (),
    selection: Selection = DEFAULT_SELECTION,
) -> Plan:
    """Resolve each applicable stack in turn; the first that installs is the plan.

    :param constraints: pip's constraints (``constraint``, ``PIP_CONSTRAINT``, ``-c``), as pip applies them.
    :param selection: pip's ``--only-binary``/``--no-binary``/``--prefer-binary`` from its config and flags.
    """
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
            cell = Checker(index, requested, constraints, rules=rules, selection=selection).cell(target)
            plan.tried.append((stack, cell))
            if cell.installs:
                plan.stack, plan.cell = stack, cell
                plan.index_options, plan.credentials_hidden = index_options(index.settings)
                if accelerator == "cpu" and (cuda_pins := cuda_builds(cell.pins)):
                    _refuse_cuda(plan, stack, index.settings, cuda_pins)
                    return plan
                plan.locked = lock_pins(index, cell.pins)
                return plan
    plan.stack, plan.cell = plan.tried[0]
    plan.reason = "no stack installs on this target: " + "; ".join(
        f"{s.id}: {', '.join(f'{b.project} ({b.reason})' for b in c.blockers) or c.verdict}" for s, c in plan.tried
    )
    return plan


def _refuse_cuda(plan: Plan, stack: Stack, settings: IndexSettings, cuda: list[str]) -> None:
    """A CPU stack that the index answered with CUDA builds: refused, with the index that keeps the promise."""
    plan.cuda_pins = cuda
    main = public_url(settings.index_url) if settings.index_url else "pip's default index"
    plan.reason = (
        f"the {stack.id} stack promises CPU-only {plan.framework}, but {main} resolves it to CUDA builds: "
        + ", ".join(cuda[:4])
        + (f" and {len(cuda) - 4} more" if len(cuda) > 4 else "")
    )
    if stack.index_url and settings.index_url != stack.index_url:
        keep = f" (keep yours as --extra-index-url {main})" if settings.index_url else ""
        plan.fix = f"take the CPU builds from the stack's index: --index-url {stack.index_url}{keep}"
    else:
        plan.fix = f"use an index whose {plan.framework} builds are CPU-only"

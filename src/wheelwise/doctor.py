"""Doctor: checks over host facts and knowledge, each finding with its fix.

:func:`diagnose` takes a facts document (see :mod:`wheelwise.facts`) and the
knowledge base and returns findings grouped by category.  A fact the probe
could not read gives an ``info`` finding that says so; nothing is guessed.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .compat import Compatible, requires_python_ok, wheel_verdict
from .facts import HostFacts, same_arch
from .knowledge import (
    FRAMEWORKS,
    Constraint,
    Forbid,
    Knowledge,
    MacOSRange,
    Needs,
    Require,
    release_floor,
    unhandled,
)
from .target import Target

if TYPE_CHECKING:
    from .index import PackageIndex

__all__ = ["CATEGORIES", "Finding", "NewestRelease", "Report", "Status", "diagnose", "newest_releases"]


class Status(str, enum.Enum):
    OK = "ok"
    INFO = "info"
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return ("ok", "info", "warn", "fail").index(self.value)


#: categories in the order the report shows them
CATEGORIES = ("machine", "python", "environment", "pip", "extensions", "frameworks", "accelerators", "distributions")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One check's outcome.

    :param check: a stable id (``rosetta``, ``wrong-arch-extensions`` ...).
    :param fix: shell commands that fix it, in order.
    :param sources: where the knowledge behind the check comes from.
    """

    category: str
    check: str
    status: Status
    title: str
    details: tuple[str, ...] = ()
    fix: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "category": self.category,
            "check": self.check,
            "status": self.status.value,
            "title": self.title,
            "details": list(self.details),
            "fix": list(self.fix),
            "sources": list(self.sources),
        }


@dataclasses.dataclass(frozen=True)
class Report:
    python: str
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> bool:
        return any(f.status is Status.FAIL for f in self.findings)

    def by_category(self) -> Iterator[tuple[str, list[Finding]]]:
        for category in CATEGORIES:
            found = [f for f in self.findings if f.category == category]
            if found:
                yield category, found

    def counts(self) -> dict[str, int]:
        return {s.value: sum(1 for f in self.findings if f.status is s) for s in Status}

    def to_dict(self) -> dict[str, object]:
        return {
            "schema": "wheelwise.doctor/1",
            "python": self.python,
            "ok": not self.failed,
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.findings],
        }


def diagnose(data: Mapping[str, Any], knowledge: Knowledge, newest: Mapping[str, NewestRelease] | None = None) -> Report:
    """Every finding for these facts; *newest* (from :func:`newest_releases`) replaces the
    knowledge table's "supported Pythons" with what the index says of the newest releases."""
    facts = HostFacts(data)
    checks = (
        _machine,
        _rosetta,
        functools.partial(_python_support, newest=newest),
        _environment,
        _pip,
        _extensions,
        _framework_pairs,
        _constraints,
        _dead_ends,
        _replacements,
        _accelerators,
        _broken_requirements,
        _unreadable,
    )
    findings: list[Finding] = []
    for check in checks:
        findings.extend(check(facts, knowledge))
    return Report(facts.describe_python(), tuple(findings))


# -- machine and interpreter -----------------------------------------------------


def _machine(facts: HostFacts, knowledge: Knowledge) -> Iterator[Finding]:
    system = facts.get("os", "system") or "unknown OS"
    version = facts.get("os", "version") or ""
    parts = [f"{system} {version}".strip(), f"hardware {facts.hardware_arch or 'unknown'}"]
    if facts.get("hardware", "cpu"):
        parts.append(str(facts.get("hardware", "cpu")))
    if facts.glibc:
        parts.append(f"glibc {facts.glibc}")
    features = facts.get("hardware", "cpu_features") or {}
    missing = [name for name, present in features.items() if present is False and name in ("avx", "avx2")]
    yield Finding("machine", "machine", Status.OK, ", ".join(parts))
    if missing and facts.python_arch == "x86_64":
        yield Finding(
            "machine",
            "cpu-features",
            Status.WARN,
            f"this CPU (as the Python sees it) lacks {', '.join(missing).upper()}: x86_64 TensorFlow wheels need AVX",
            details=("under Rosetta 2 before macOS 15, and on some emulators and old CPUs, AVX is missing",),
            sources=("https://github.com/tensorflow/docs/blob/master/site/en/install/pip.md",),
        )


def _rosetta(facts: HostFacts, knowledge: Knowledge) -> Iterator[Finding]:
    if facts.os_name != "macos":
        return
    rosetta = facts.rosetta
    build = facts.get("interpreter", "build_archs") or []
    if rosetta is None:
        yield Finding("python", "rosetta", Status.INFO, "cannot tell whether this Python runs under Rosetta 2")
        return
    if rosetta:
        universal = "arm64" in build
        fix = (
            (f"arch -arm64 {facts.get('interpreter', 'executable')} -m venv .venv",)
            if universal
            else ("install a native arm64 Python (python.org universal2 installer, or Homebrew under /opt/homebrew)", "arch -arm64 /usr/bin/python3 -m venv .venv")
        )
        yield Finding(
            "python",
            "rosetta",
            Status.FAIL,
            "this Python is x86_64 running under Rosetta 2 on Apple silicon",
            details=(
                f"build: {'+'.join(build) or 'unknown'}; it installs x86_64 wheels, runs them translated (much slower, no AVX before macOS 15) and cannot use the GPU through Metal",
                "universal2 build: run it as arm64 with 'arch -arm64'" if universal else "this build has no arm64 code: a different Python is needed",
            ),
            fix=fix,
            sources=("https://developer.apple.com/documentation/apple-silicon/about-the-rosetta-translation-environment",),
        )
    elif facts.get("hardware", "apple_silicon"):
        yield Finding("python", "rosetta", Status.OK, f"native {facts.python_arch} Python on Apple silicon (build: {'+'.join(build) or 'unknown'})")
    else:
        yield Finding("python", "rosetta", Status.OK, "Intel Mac: no Rosetta involved")


@dataclasses.dataclass(frozen=True)
class NewestRelease:
    """What the index says of a project's newest release for one Python and platform.

    :param requires_python: the release's ``Requires-Python`` (``None``: none stated).
    :param installs: whether a wheel of it fits the target and its Requires-Python admits the Python.
    """

    project: str
    version: Version
    requires_python: str | None
    installs: bool

    def describe(self, target: Target) -> str:
        if not requires_python_ok(self.requires_python, target):
            return f"{self.project} {self.version} requires Python {self.requires_python}"
        return f"{self.project} {self.version} has no wheel for {target.label}"


def newest_releases(index: PackageIndex, target: Target, projects: Sequence[str] = FRAMEWORKS) -> dict[str, NewestRelease]:
    """Each project's newest final release and whether it installs on *target*, read from the index."""
    found = {}
    for name in projects:
        page = index.project(name)
        versions = [v for v in page.versions() if not v.is_prerelease]
        if not versions:
            continue
        newest = max(versions)
        files = [f for f in page.files_of(newest) if f.yanked is None]
        requires = next((f.requires_python for f in files if f.requires_python), None)
        fits = any(f.is_wheel and isinstance(wheel_verdict(f.tags, target), Compatible) for f in files)
        found[name] = NewestRelease(name, newest, requires, fits and requires_python_ok(requires, target))
    return found


def _python_support(facts: HostFacts, knowledge: Knowledge, newest: Mapping[str, NewestRelease] | None = None) -> Iterator[Finding]:
    version = facts.python_version
    if version is None:
        return
    short = Version(f"{version.major}.{version.minor}")
    platform = facts.platform
    if facts.get("interpreter", "bits") == 32:
        yield Finding("python", "python-version", Status.FAIL, "32-bit Python: no ML framework publishes 32-bit wheels", fix=("install a 64-bit Python",))
    if newest:
        yield from _python_support_from_index(facts, short, newest)
        return
    supported, unsupported, sources, dates = [], [], [], []
    for framework in FRAMEWORKS:
        ended = next(
            (p for p in knowledge.platform_support if platform == p.platform and p.project in (framework, f"{framework}lib") and "<" in str(p.releases)),
            None,
        )
        if ended is not None:
            unsupported.append(f"{framework}: {platform} wheels only for releases {ended.releases} ({ended.summary})")
            sources.append(ended.sources[0])
            continue
        rules = [r for r in knowledge.python_support if r.project == framework]
        if not rules:
            continue
        newest_rule = max(rules, key=lambda r: release_floor(r.releases))
        dates.append(newest_rule.verified)
        if newest_rule.python.contains(short, prereleases=True):
            supported.append(framework)
        else:
            unsupported.append(f"{framework}: {newest_rule.summary}; Python {short} is outside {newest_rule.python}")
            sources.append(newest_rule.sources[0])
    table = f"wheelwise's table, verified {max(dates)}; the index may know newer releases" if dates else "wheelwise's table"
    if unsupported:
        yield Finding(
            "python",
            "python-version",
            Status.WARN,
            f"Python {short} on {platform or 'this platform'} is not supported by the newest release of: {', '.join(u.split(':')[0] for u in unsupported)}",
            details=(*unsupported, f"from {table}"),
            fix=(f"wheelwise check {' '.join(u.split(':')[0] for u in unsupported)} -t host -p all",),
            sources=tuple(dict.fromkeys(sources)),
        )
    if supported:
        yield Finding("python", "python-version", Status.OK, f"Python {short} is supported by the releases of {', '.join(supported)} in {table}")


def _python_support_from_index(facts: HostFacts, short: Version, newest: Mapping[str, NewestRelease]) -> Iterator[Finding]:
    from .target import parse_target

    platform = facts.platform
    if platform is None:
        return
    target = parse_target(platform, (short.major, short.minor))
    installs = [n for n in newest.values() if n.installs]
    missing = [n for n in newest.values() if not n.installs]
    if missing:
        yield Finding(
            "python",
            "python-version",
            Status.WARN,
            f"Python {short} on {platform} cannot install the newest release of: {', '.join(n.project for n in missing)}",
            details=tuple(f"{n.describe(target)} (read from the index)" for n in missing),
            fix=(f"wheelwise check {' '.join(n.project for n in missing)} -t host -p all",),
        )
    if installs:
        newest_text = ", ".join(f"{n.project} {n.version}" for n in installs)
        yield Finding("python", "python-version", Status.OK, f"Python {short} on {platform} installs the newest {newest_text} (read from the index)")


def _environment(facts: HostFacts, knowledge: Knowledge) -> Iterator[Finding]:
    interp = facts.data.get("interpreter", {})
    origin = interp.get("origin") or "unknown"
    if interp.get("venv"):
        yield Finding("environment", "venv", Status.OK, f"virtual environment at {interp.get('prefix')} (base Python from {origin})")
    elif interp.get("conda"):
        yield Finding("environment", "venv", Status.OK, f"conda environment at {interp.get('prefix')}")
    else:
        yield Finding(
            "environment",
            "venv",
            Status.WARN,
            f"not in a virtual environment: packages go into the {origin} Python at {interp.get('prefix')}",
            details=("installs there are shared by every project and may fight the OS package manager",),
            fix=("python3 -m venv .venv", ". .venv/bin/activate"),
            sources=("https://peps.python.org/pep-0668/",),
        )


def _pip(facts: HostFacts, knowledge: Knowledge) -> Iterator[Finding]:
    version = facts.pip_version
    if version is None:
        yield _no_pip(facts)
        return
    need = next((p for p in knowledge.pip_needs if p.os == facts.os_name), None)
    if need is not None and version < need.pip:
        yield Finding(
            "pip",
            "pip",
            Status.FAIL,
            f"pip {version} is too old for this platform's framework wheels (needs {need.pip} or later)",
            details=(need.summary,),
            fix=("python -m pip install --upgrade pip",),
            sources=need.sources,
        )
    else:
        tags = facts.get("tags") or {}
        first = (tags.get("first") or ["?"])[0]
        yield Finding("pip", "pip", Status.OK, f"pip {version}; first wheel tag {first} of {tags.get('count', '?')}")


def _no_pip(facts: HostFacts) -> Finding:
    """pip is absent: by design in a venv uv made, else a fix that works on this Python."""
    python = facts.get("interpreter", "executable") or "python"
    uv = f"uv pip install --python {python} PACKAGE"
    if facts.get("environment", "venv_creator") == "uv":
        return Finding("pip", "pip", Status.INFO, "no pip in this venv: uv made it, and uv installs into it without pip",
                       details=("install packages with uv; add pip only for tools that need it",),
                       fix=(uv, f"uv pip install --python {python} pip"))
    if facts.get("environment", "ensurepip") is False:
        # Debian and Ubuntu ship ensurepip and its pip wheel apart, in python3-venv
        return Finding("pip", "pip", Status.WARN, "pip is not installed, and this Python has no ensurepip to install it",
                       details=("a distribution's Python ships ensurepip apart (Debian/Ubuntu: the python3-venv package)",),
                       fix=(uv, f"or install your distribution's python3-venv package, then: {python} -m ensurepip --upgrade"))
    return Finding("pip", "pip", Status.WARN, "pip is not installed in this interpreter", fix=(f"{python} -m ensurepip --upgrade",))


def _extensions(facts: HostFacts, knowledge: Knowledge) -> Iterator[Finding]:
    if "extensions" not in facts.data:
        return
    arch = facts.python_arch
    wrong: dict[str, list[str]] = {}
    total = 0
    for ext in facts.data.get("extensions") or []:
        total += 1
        archs = ext.get("archs") or []
        if not any(same_arch(a, arch) for a in archs):
            wrong.setdefault(str(ext.get("top", "?")), []).append(f"{ext.get('path')} ({'+'.join(archs)})")
    if not wrong:
        yield Finding("extensions", "wrong-arch-extensions", Status.OK, f"{total} compiled modules, all {arch}")
        return
    owners = _owners(facts, wrong)
    details = []
    for top, files in wrong.items():
        details.append(f"{top}: {files[0]}" + (f" and {len(files) - 1} more" if len(files) > 1 else ""))
    yield Finding(
        "extensions",
        "wrong-arch-extensions",
        Status.FAIL,
        f"{sum(len(v) for v in wrong.values())} compiled module(s) are not {arch}: importing them fails with 'incompatible architecture'",
        details=tuple(details),
        fix=(f"python -m pip install --force-reinstall --no-cache-dir {' '.join(owners)}",),
        sources=("https://github.com/tensorflow/tensorflow/issues/57483",),
    )


def _owners(facts: HostFacts, wrong: Mapping[str, list[str]]) -> list[str]:
    """Distribution names for top-level import names (best effort: the name itself)."""
    names = []
    for top in wrong:
        key = canonicalize_name(top.split(".")[0].lstrip("_"))
        entry = facts.installed.get(key)
        names.append(entry[0] if entry else top.split(".")[0])
    return sorted(dict.fromkeys(names))


# -- frameworks ------------------------------------------------------------------


def _framework_pairs(facts: HostFacts, knowledge: Knowledge) -> Iterator[Finding]:
    tf, tfm = facts.version_of("tensorflow"), facts.version_of("tensorflow-macos")
    if tf is not None and tfm is not None:
        if tf.release[:2] != tfm.release[:2]:
            yield Finding(
                "frameworks",
                "tensorflow-and-tensorflow-macos",
                Status.FAIL,
                f"tensorflow {tf} and tensorflow-macos {tfm} are both installed: they write the same 'tensorflow' package",
                details=("whichever was installed last overwrote the other's files",),
                fix=("python -m pip uninstall -y tensorflow tensorflow-macos", "python -m pip install tensorflow"),
                sources=("https://github.com/tensorflow/tensorflow/issues/61382",),
            )
        else:
            yield Finding("frameworks", "tensorflow-and-tensorflow-macos", Status.INFO, f"tensorflow {tf} with tensorflow-macos {tfm} (same release: the macOS shim)")
    for framework in ("tensorflow", "torch", "jax", "jaxlib"):
        version = facts.version_of(framework)
        if version is not None:
            yield Finding("frameworks", f"installed-{framework}", Status.OK, f"{framework} {version} installed")


def _constraints(facts: HostFacts, knowledge: Knowledge) -> Iterator[Finding]:
    if not facts.collected:
        return
    for rule in knowledge.constraints:
        version = facts.version_of(rule.when.name)
        if version is None or not rule.applies_to(rule.when.name, version):
            continue
        broken = _rule_broken(rule, f"{rule.when.name} {version}", version, facts)
        if broken is not None:
            message, fix = broken
            yield Finding("frameworks", rule.id, Status.FAIL, message, details=(rule.summary,), fix=fix, sources=rule.sources)
    for cover in knowledge.coverage:
        version = facts.version_of(cover.project)
        if version is not None and version > cover.through:
            yield Finding(
                "frameworks",
                f"{cover.project}-unknown",
                Status.WARN,
                f"{cover.project} {version} is newer than wheelwise's knowledge ({cover.through}): compatibility unknown",
                details=(cover.summary,),
                sources=cover.sources,
            )


def _dead_ends(facts: HostFacts, knowledge: Knowledge) -> Iterator[Finding]:
    """An installed plugin of a path that no longer works (jax-metal): say so, with what to use instead."""
    if not facts.collected:
        return
    for dead in knowledge.dead_ends:
        plugins = [r.name for r in dead.last_working if canonicalize_name(r.name) not in (dead.framework, f"{dead.framework}lib")]
        for name in plugins:
            version = facts.version_of(name)
            if version is None:
                continue
            yield Finding(
                "frameworks",
                dead.id,
                Status.WARN,
                f"{name} {version} is installed: a dead end for {dead.framework} on this Mac's GPU",
                details=(dead.summary, "alternatives: " + "; ".join(dead.alternatives)),
                fix=(f"python -m pip uninstall -y {name}", "python -m pip install " + " ".join(f"'{r}'" for r in dead.last_working) + "  # only to keep the last working set"),
                sources=dead.sources,
            )


def _rule_broken(rule: Constraint, trigger: str, version: Version, facts: HostFacts) -> tuple[str, tuple[str, ...]] | None:
    """What this installation breaks of a rule that applies to it, and the fix; None when nothing."""
    match rule:
        case Require():
            required = rule.requirement_for(version)
            other = facts.version_of(required.name)
            if other is not None and not required.specifier.contains(other, prereleases=True):
                return (f"{trigger} does not work with {required.name} {other}: it needs {required}",
                        (f"python -m pip install '{required}'",))
        case Forbid():
            other = facts.version_of(rule.project)
            if other is not None:
                return f"{rule.project} {other} is installed with {trigger}, which it cannot work with", _forbid_fix(rule.project, rule.when)
        case Needs():
            if not facts.has(rule.project):
                return f"{trigger} is installed without {rule.project}", (f"python -m pip install {rule.project}",)
        case MacOSRange():
            os_version = facts.os_version if facts.os_name == "macos" else None
            if os_version is not None and not rule.versions.contains(os_version, prereleases=True):
                return f"{trigger} needs macOS {rule.versions}; this is macOS {os_version}", ("upgrade macOS",)
        case _:
            unhandled(rule)
    return None


def _forbid_fix(forbidden: str, when: Requirement) -> tuple[str, ...]:
    """Either remove the forbidden project, or go back to a release it works with."""
    ceilings = [s.version for s in when.specifier if s.operator == ">="]
    fix = [f"python -m pip uninstall -y {forbidden}"]
    if ceilings:
        fix.append(f"or keep {forbidden}: python -m pip install '{when.name}<{ceilings[0]}'")
    return tuple(fix)


def _replacements(facts: HostFacts, knowledge: Knowledge) -> Iterator[Finding]:
    for name, (display, version, _) in facts.installed.items():
        replacement = knowledge.replacement_for(name, version)
        if replacement is not None and not facts.has(replacement.new):
            yield Finding(
                "frameworks",
                replacement.id,
                Status.WARN,
                f"{display} {version} has a successor: {replacement.new}",
                details=(replacement.summary,),
                fix=(f"python -m pip install {replacement.new}",),
                sources=replacement.sources,
            )


# -- accelerators -------------------------------------------------------------------


def _cuda_builds(facts: HostFacts) -> list[tuple[str, Version | None]]:
    """(framework, CUDA version or None if unknown) for every CUDA build installed."""
    builds: list[tuple[str, Version | None]] = []
    torch = facts.get("frameworks", "torch") or {}
    if torch.get("cuda"):
        builds.append((f"torch {facts.version_of('torch') or ''}".strip(), _v(torch["cuda"])))
    tf = facts.get("frameworks", "tensorflow") or {}
    # every Linux tensorflow wheel is a CUDA build; it is one in use only with the and-cuda libraries
    if tf.get("is_cuda_build") and any(facts.has(f"nvidia-cuda-runtime-cu{major}") for major in ("11", "12", "13")):
        builds.append((f"tensorflow {facts.version_of('tensorflow') or ''} (and-cuda)".strip(), _v(tf.get("cuda"))))
    for name in facts.installed:
        if name.startswith("jax-cuda") and name.endswith(("-plugin", "-pjrt")) and name[8:].split("-")[0].isdigit():
            major = name[8:].split("-")[0]
            builds.append((f"{name} {facts.version_of(name)}", Version(f"{major}.0")))
            break
    return builds


def _v(text: object) -> Version | None:
    try:
        return Version(str(text))
    except InvalidVersion:
        return None


def _compute_capability(text: object) -> tuple[int, int] | None:
    """``(12, 0)`` from nvidia-smi's ``12.0``; None when absent or unreadable."""
    major, _, minor = str(text or "").strip().partition(".")
    return (int(major), int(minor)) if major.isdigit() and minor.isdigit() else None


def _gpu_architectures(facts: HostFacts, knowledge: Knowledge, nvidia: Mapping[str, Any]) -> Iterator[Finding]:
    """Whether the installed torch CUDA build carries kernels for each GPU's compute capability.

    Said only where the facts name the GPU's compute capability and the knowledge names the
    build's architectures (``2.8.0+cu128``); nothing is claimed about other builds.
    """
    version = facts.version_of("torch")
    build = knowledge.torch_cuda_build(version) if version is not None else None
    if version is None or build is None:
        return
    for gpu in nvidia.get("gpus") or []:
        capability = _compute_capability(gpu.get("compute_capability"))
        if capability is None:
            continue
        name, cc = gpu.get("name") or "the GPU", f"{capability[0]}.{capability[1]}"
        how = build.covers(capability)
        if how == "machine code":
            yield Finding("accelerators", "gpu-in-torch-build", Status.OK,
                          f"torch {version} carries kernels for {name} (compute capability {cc})", sources=build.sources)
            continue
        if how == "PTX":
            yield Finding("accelerators", "gpu-in-torch-build", Status.WARN,
                          f"torch {version} runs on {name} (compute capability {cc}) only through PTX compiled at first use",
                          details=(f"the build carries {build.span()}; PTX is compiled by the driver, slowly, and not every kernel has it",),
                          fix=_builds_for(knowledge, capability, version), sources=build.sources)
            continue
        newer = capability > build.architectures[-1]
        yield Finding(
            "accelerators",
            "gpu-not-in-torch-build",
            Status.FAIL,
            f"torch {version} has no kernels for {name} (compute capability {cc}): the build carries {build.span()}",
            details=(build.summary, f"the GPU is {'newer' if newer else 'older'} than every architecture this build carries; "
                                    "CUDA calls fail with 'no kernel image is available for execution on the device'"),
            fix=_builds_for(knowledge, capability, version),
            sources=build.sources,
        )


def _builds_for(knowledge: Knowledge, capability: tuple[int, int], installed: Version) -> tuple[str, ...]:
    """The builds (same release first, then the newest) that carry machine code for *capability*."""
    fitting = [b for b in knowledge.torch_cuda if b.covers(capability) == "machine code"]
    if not fitting:
        return ("no PyTorch CUDA build wheelwise knows carries this GPU's architecture; build torch from source for it",)
    release = Version(installed.public)
    fitting.sort(key=lambda b: (b.releases.contains(release, prereleases=True), release_floor(b.releases), b.cuda), reverse=True)
    best = fitting[0]
    stack = next((s for s in knowledge.stacks if s.framework == "torch" and s.cuda == best.cuda and s.index_url), None)
    floor = release_floor(best.releases)
    pin = f"torch=={floor.major}.{floor.minor}.*"
    where = f" --index-url {stack.index_url}" if stack is not None else f"  # from PyTorch's {best.local} wheel index"
    return (f"python -m pip install --force-reinstall '{pin}'{where}",
            f"torch {floor.major}.{floor.minor} built for CUDA {best.cuda} ({best.local}) carries {best.span()}")


def _accelerators(facts: HostFacts, knowledge: Knowledge) -> Iterator[Finding]:
    if "accelerators" not in facts.data:
        return
    nvidia = facts.nvidia
    builds = _cuda_builds(facts)
    if nvidia is not None:
        gpus = ", ".join(str(g.get("name")) for g in nvidia.get("gpus") or []) or "no GPU listed"
        yield Finding("accelerators", "nvidia", Status.OK, f"NVIDIA driver {nvidia.get('driver') or 'unknown'} (CUDA {nvidia.get('cuda') or 'unknown'}): {gpus}")
    apple = facts.apple_gpu
    if apple is not None:
        cores = f", {apple.get('cores')} cores" if apple.get("cores") else ""
        yield Finding("accelerators", "apple-gpu", Status.OK, f"Apple GPU {apple.get('model')}{cores}")
    if nvidia is None and apple is None:
        yield Finding("accelerators", "no-accelerator", Status.INFO, "no GPU found (no nvidia-smi, no Apple GPU): frameworks run on the CPU")
    for build, cuda in builds:
        if nvidia is None:
            yield Finding(
                "accelerators",
                "cuda-without-driver",
                Status.FAIL,
                f"{build} is a CUDA {cuda or ''} build, but no NVIDIA driver was found: it will only use the CPU".replace("  ", " "),
                details=("nvidia-smi is not on PATH; without the driver the CUDA libraries cannot reach a GPU",),
                fix=("install the NVIDIA driver (and check 'nvidia-smi')", "or install the CPU build: wheelwise plan " + build.split()[0].split("-")[0] + " --accelerator cpu"),
            )
            continue
        driver = _v(nvidia.get("driver"))
        need = knowledge.driver_for(cuda) if cuda is not None else None
        key = "windows" if facts.os_name == "windows" else "linux"
        if driver is not None and need is not None and driver < getattr(need, key):
            yield Finding(
                "accelerators",
                "driver-too-old",
                Status.FAIL,
                f"{build} needs an NVIDIA driver {getattr(need, key)} or later for CUDA {cuda}; this driver is {nvidia.get('driver')}",
                details=(need.summary,),
                fix=("update the NVIDIA driver", f"or install a build for an older CUDA: wheelwise plan {build.split()[0]} --accelerator cuda"),
                sources=need.sources,
            )
        elif driver is not None and need is not None:
            yield Finding("accelerators", "driver-ok", Status.OK, f"{build}: driver {nvidia.get('driver')} runs CUDA {cuda}")
    if nvidia is not None:
        yield from _gpu_architectures(facts, knowledge, nvidia)
    # under Rosetta the Python itself is the fault (its own finding says so): no metal advice
    if apple is not None and facts.os_name == "macos" and not facts.rosetta and facts.has("tensorflow") and not facts.has("tensorflow-metal"):
        yield Finding(
            "accelerators",
            "tensorflow-without-metal",
            Status.INFO,
            "TensorFlow is installed without tensorflow-metal: it will not use the Apple GPU",
            fix=("wheelwise plan tensorflow --accelerator metal",),
            sources=("https://developer.apple.com/metal/tensorflow-plugin/",),
        )
    torch = facts.version_of("torch")
    if apple is not None and torch is not None and facts.os_version is not None:
        stack = next((s for s in knowledge.stacks if s.accelerator == "mps" and s.releases.contains(torch, prereleases=True)), None)
        if stack is not None and stack.macos is not None and facts.os_version < stack.macos:
            yield Finding(
                "accelerators",
                "mps-macos",
                Status.WARN,
                f"torch {torch} uses the MPS GPU backend only on macOS {stack.macos} or later; this is macOS {facts.os_version}",
                details=(stack.summary,),
                fix=("upgrade macOS, or install an older torch",),
                sources=stack.sources,
            )


# -- what pip check reports ------------------------------------------------------------


def _broken_requirements(facts: HostFacts, knowledge: Knowledge) -> Iterator[Finding]:
    if not facts.collected:
        return
    markers = {str(k): str(v) for k, v in (facts.data.get("markers") or {}).items()}
    problems: list[str] = []
    fixes: list[str] = []
    for _name, (display, version, requires) in sorted(facts.installed.items()):
        for text in requires:
            try:
                req = Requirement(text)
                if req.marker is not None and not req.marker.evaluate({**markers, "extra": ""}):
                    continue
            except (InvalidRequirement, InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
                continue
            have = facts.installed.get(canonicalize_name(req.name))
            if have is None:
                problems.append(f"{display} {version} requires {req.name}, which is not installed")
                fixes.append(_without_marker(req))
            elif have[1] is not None and not req.specifier.contains(have[1], prereleases=True):
                problems.append(f"{display} {version} has requirement {_without_marker(req)}, but you have {have[0]} {have[1]}")
                fixes.append(_without_marker(req))
    if problems:
        yield Finding(
            "distributions",
            "broken-requirements",
            Status.FAIL,
            f"{len(problems)} broken requirement(s) among installed distributions (as 'pip check' reports)",
            details=tuple(problems),
            fix=("python -m pip install " + " ".join(f"'{f}'" for f in dict.fromkeys(fixes)),),
        )
    else:
        yield Finding("distributions", "broken-requirements", Status.OK, f"{len(facts.installed)} distributions, no broken requirements")


def _without_marker(req: Requirement) -> str:
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return f"{req.name}{extras}{req.specifier}"


def _unreadable(facts: HostFacts, knowledge: Knowledge) -> Iterator[Finding]:
    for error in facts.errors:
        yield Finding("machine", "unreadable", Status.INFO, f"could not read {error.get('fact')}: {error.get('reason')}")


def statuses(findings: Sequence[Finding]) -> Status:
    """The worst status among *findings* (what a category's mark shows)."""
    return max((f.status for f in findings), key=lambda s: s.rank, default=Status.OK)

"""wheelwise host probe: facts about this interpreter and its machine, as JSON.

Run by the interpreter being examined, isolated: ``python -I -S host.py
[--light] [--target] [--no-accelerators]``.  With ``-S`` the ``site`` module never runs, so no
``.pth`` file and no ``sitecustomize`` of the examined environment runs, and
``sys.path`` holds the standard library only: what ``site`` would have added is
worked out from files (``pyvenv.cfg``, ``site.getsitepackages``, ``sysconfig``,
``.pth`` path lines), installed distributions are read from their metadata
files, and wheel tags are computed here as ``packaging.tags.sys_tags`` computes
them.  Nothing from the examined site-packages is imported or run.

It uses the standard library only and Python 3.8 syntax (it runs on 3.6 and
later).  Every fact it cannot read is left ``null`` and the reason is added to
``errors``: nothing is guessed.  The schema is documented in the README
("doctor facts"); ``SCHEMA`` changes when a field changes meaning.
"""

import datetime
import email.parser
import errno
import json
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
from importlib.machinery import EXTENSION_SUFFIXES as _LOADABLE_SUFFIXES
from typing import Any, Callable, Dict, List, Optional, Set, Tuple  # noqa: F401 - Set in a type comment

SCHEMA = "wheelwise.facts/1"
EXTENSION_SUFFIXES = (".so", ".pyd", ".dylib")
HEADER_BYTES = 4096
METADATA_BYTES = 1 << 20  # headers come first; a long description is cut, never read whole

Facts = Dict[str, Any]
Errors = List[Dict[str, str]]


# -- binary headers ------------------------------------------------------------

_ELF_MACHINES = {3: "i386", 0x14: "ppc", 0x15: "ppc64", 0x16: "s390x", 0x28: "arm", 0x3E: "x86_64", 0xB7: "aarch64", 0xF3: "riscv"}
_MACHO_CPUS = {7: "i386", 0x01000007: "x86_64", 12: "arm", 0x0100000C: "arm64", 18: "ppc", 0x01000012: "ppc64"}
_PE_MACHINES = {0x14C: "i386", 0x8664: "x86_64", 0xAA64: "arm64", 0x1C4: "arm", 0xA641: "arm64ec"}


def binary_architectures(header: bytes) -> Optional[Tuple[str, List[str]]]:
    """(format, architectures) read from the first bytes of a binary, or None.

    Mach-O (thin and fat/universal), ELF and PE are recognised; only headers
    are read.  An arm64 Mach-O slice with the arm64e subtype is ``arm64e``.
    """
    if header[:4] == b"\x7fELF" and len(header) >= 20:
        order = "<" if header[5] == 1 else ">"
        (machine,) = struct.unpack(order + "H", header[18:20])
        return "elf", [_ELF_MACHINES.get(machine, "elf-machine-%d" % machine)]
    if len(header) >= 8 and header[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce"):
        order = "<" if header[0] in (0xCF, 0xCE) else ">"
        cpu, sub = struct.unpack(order + "iI", header[4:12])
        return "mach-o", [_macho_arch(cpu, sub)]
    if header[:4] in (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf") and len(header) >= 8:
        (count,) = struct.unpack(">I", header[4:8])
        if count == 0 or count > 20:  # a Java class file shares this magic
            return None
        size = 20 if header[3] == 0xBE else 32
        archs = []
        for i in range(count):
            start = 8 + i * size
            if start + 8 > len(header):
                break
            cpu, sub = struct.unpack(">iI", header[start : start + 8])
            archs.append(_macho_arch(cpu, sub))
        return "mach-o", archs
    if header[:2] == b"MZ" and len(header) >= 64:
        (offset,) = struct.unpack("<I", header[60:64])
        if offset + 6 <= len(header) and header[offset : offset + 4] == b"PE\x00\x00":
            (machine,) = struct.unpack("<H", header[offset + 4 : offset + 6])
            return "pe", [_PE_MACHINES.get(machine, "pe-machine-0x%x" % machine)]
    return None


def _macho_arch(cpu: int, subtype: int) -> str:
    name = _MACHO_CPUS.get(cpu & 0xFFFFFFFF if cpu >= 0 else cpu + (1 << 32), "mach-o-cpu-%d" % cpu)
    if name == "arm64" and (subtype & 0xFF) == 2:
        return "arm64e"
    return name


def file_architectures(path: str) -> Optional[Tuple[str, List[str]]]:
    with open(path, "rb") as f:
        return binary_architectures(f.read(HEADER_BYTES))


# -- the machine ---------------------------------------------------------------

def _run(argv: List[str], timeout: float = 20.0) -> Optional[str]:
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def sysctl_value(name: str) -> Optional[str]:
    """A macOS sysctl value as text; None when the name does not exist (ENOENT).

    Integer names (``sysctl.*``, ``hw.optional.*``) are read with
    ``sysctlbyname`` as Apple documents for ``sysctl.proc_translated``;
    strings with the ``sysctl`` command.
    """
    if name.startswith(("sysctl.", "hw.optional.")):
        try:
            import ctypes

            libc = ctypes.CDLL("/usr/lib/libc.dylib", use_errno=True)
            value = ctypes.c_int64(0)
            size = ctypes.c_size_t(ctypes.sizeof(value))
            if libc.sysctlbyname(name.encode(), ctypes.byref(value), ctypes.byref(size), None, 0) != 0:
                if ctypes.get_errno() == errno.ENOENT:
                    return None
            else:
                raw = ctypes.string_at(ctypes.addressof(value), size.value)
                return str(int.from_bytes(raw, sys.byteorder))
        except (OSError, AttributeError):
            pass
    out = _run(["sysctl", "-n", name])
    return None if out is None else out.strip()


def macos_hardware(sysctl: Callable[[str], Optional[str]], errors: Errors) -> Facts:
    """Apple silicon, Rosetta and CPU features from sysctl (recorded outputs in tests).

    ``sysctl.proc_translated`` is 1 in a process translated by Rosetta 2, 0
    natively, and absent on Intel Macs (which means native).
    ``hw.optional.arm64`` is 1 on Apple silicon even inside a translated process.
    """
    arm64 = sysctl("hw.optional.arm64")
    translated = sysctl("sysctl.proc_translated")
    brand = sysctl("machdep.cpu.brand_string")
    features = {}
    for feature, key in (("avx", "hw.optional.avx1_0"), ("avx2", "hw.optional.avx2_0"), ("fma", "hw.optional.fma")):
        value = sysctl(key)
        features[feature] = None if value is None else value.strip() == "1"
    apple_silicon = arm64 is not None and arm64.strip() == "1"
    if arm64 is None and brand is None:
        # every Mac answers machdep.cpu.brand_string; silence means sysctl itself failed
        errors.append({"fact": "apple_silicon", "reason": "sysctl answered nothing: Apple silicon and Rosetta are unknown"})
    return {
        "arch": "arm64" if apple_silicon else "x86_64",
        "apple_silicon": apple_silicon,
        "rosetta": translated is not None and translated.strip() == "1",
        "cpu": brand,
        "cpu_features": features,
    }


def linux_cpu(cpuinfo: str) -> Facts:
    brand = None
    flags = set()  # type: Set[str]
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "model name" and brand is None:
            brand = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    if key_arch() in ("aarch64", "arm64"):
        return {"cpu": brand, "cpu_features": {"asimd": "asimd" in flags}}
    return {"cpu": brand, "cpu_features": {f: f in flags for f in ("avx", "avx2", "fma", "avx512f")}}


def key_arch() -> str:
    return platform.machine().lower()


def windows_cpu_features() -> Facts:
    import ctypes

    present = ctypes.windll.kernel32.IsProcessorFeaturePresent  # type: ignore[attr-defined]
    # PF_AVX_INSTRUCTIONS_AVAILABLE = 39, PF_AVX2 = 40, PF_AVX512F = 41 (winnt.h)
    return {"avx": bool(present(39)), "avx2": bool(present(40)), "avx512f": bool(present(41))}


def hardware(errors: Errors) -> Facts:
    system = platform.system()
    if system == "Darwin":
        return macos_hardware(sysctl_value, errors)
    facts = {"arch": key_arch(), "apple_silicon": False, "rosetta": False, "cpu": None, "cpu_features": {}}  # type: Facts
    if system == "Linux":
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                facts.update(linux_cpu(f.read()))
        except OSError as exc:
            errors.append({"fact": "cpu", "reason": "cannot read /proc/cpuinfo: %s" % exc.strerror})
    elif system == "Windows":
        # platform.machine() reports the process architecture; the native one is in the environment
        native = os.environ.get("PROCESSOR_ARCHITEW6432") or os.environ.get("PROCESSOR_ARCHITECTURE") or key_arch()
        facts["arch"] = {"amd64": "x86_64", "arm64": "arm64", "x86": "i386"}.get(native.lower(), native.lower())
        facts["cpu"] = platform.processor() or None
        try:
            facts["cpu_features"] = windows_cpu_features()
        except (OSError, AttributeError) as exc:
            errors.append({"fact": "cpu_features", "reason": str(exc)})
    return facts


def os_facts() -> Facts:
    system = platform.system()
    facts = {"system": system, "release": platform.release(), "version": None, "glibc": None}  # type: Facts
    if system == "Darwin":
        facts["version"] = platform.mac_ver()[0] or None
    elif system == "Windows":
        facts["version"] = platform.version()
    elif system == "Linux":
        facts["version"] = _os_release()
        try:
            libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
        except (ValueError, OSError, AttributeError):
            libc = ""
        if libc.startswith("glibc "):
            facts["glibc"] = libc.split()[1]
    return facts


def _os_release() -> Optional[str]:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.startswith("PRETTY_NAME="):
                        return line.split("=", 1)[1].strip().strip('"')
        except OSError:
            continue
    return None


# -- the interpreter -----------------------------------------------------------

def origin(executable: str, base_prefix: str) -> str:
    """Where this Python came from, judged by its paths."""
    path = os.path.realpath(executable).replace("\\", "/")
    base = base_prefix.replace("\\", "/")
    if os.path.isdir(os.path.join(base_prefix, "conda-meta")):
        return "conda"
    checks = (
        ("/.pyenv/", "pyenv"),
        ("/uv/python/", "uv"),
        ("/Library/Frameworks/Python.framework/", "python.org"),
        ("/opt/homebrew/", "homebrew"),
        ("/usr/local/Cellar/", "homebrew"),
        ("/home/linuxbrew/", "homebrew"),
        ("/Library/Developer/CommandLineTools/", "apple"),
        ("/Applications/Xcode", "apple"),
        ("/WindowsApps/", "microsoft-store"),
    )
    for needle, name in checks:
        if needle in path or needle in base + "/":
            return name
    if base in ("/usr", "/usr/local") or path.startswith("/usr/bin/"):
        return "system"
    return "unknown"


def interpreter(errors: Errors, env: Facts) -> Facts:
    base_executable = getattr(sys, "_base_executable", sys.executable)
    build = None
    for candidate in (os.path.realpath(base_executable), os.path.realpath(sys.executable)):
        try:
            found = file_architectures(candidate)
        except OSError:
            continue
        if found:
            build = found[1]
            break
    if build is None:
        errors.append({"fact": "interpreter.build_archs", "reason": "cannot read the executable's header"})
    return {
        "executable": _executable(),
        "implementation": sys.implementation.name,
        "version": platform.python_version(),
        "bits": struct.calcsize("P") * 8,
        "arch": key_arch(),
        "build_archs": build,
        "sysconfig_platform": sysconfig.get_platform(),
        "origin": origin(sys.executable, sys.base_prefix),
        "prefix": env["prefix"],
        "base_prefix": sys.base_prefix,
        "venv": env["venv"],
        "conda": os.path.isdir(os.path.join(env["prefix"], "conda-meta")),
    }


def _executable() -> str:
    """This interpreter's path as it was started, made absolute and normalised (links kept:
    a venv's ``bin/python`` is a link to its base interpreter, yet names the venv)."""
    return os.path.normpath(os.path.abspath(sys.executable))


def markers() -> Dict[str, str]:
    """The PEP 508 marker environment, computed as packaging does."""
    impl = sys.implementation
    version = "%d.%d.%d" % impl.version[:3]
    if impl.version.releaselevel != "final":
        version += impl.version.releaselevel[0] + str(impl.version.serial)
    return {
        "implementation_name": impl.name,
        "implementation_version": version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def wheel_tags(errors: Errors, dirs: List[str], full: bool = False, count: int = 12) -> Optional[Facts]:
    """The supported wheel tags, best first, computed here (see :func:`sys_tags`)."""
    try:
        every = sys_tags(errors, dirs)
    except Exception as exc:  # noqa: BLE001 - a fact not read is said, not a crash
        errors.append({"fact": "tags", "reason": "cannot compute the wheel tags: %r" % exc})
        return None
    facts = {"first": every[:count], "count": len(every), "source": "wheelwise probe (standard library)"}  # type: Facts
    if full:
        facts["all"] = every
    return facts


# -- wheel tags ------------------------------------------------------------------
# The tags this interpreter installs, best first, in the order packaging.tags.sys_tags
# (packaging 26) gives them, from the same inputs: sysconfig's variables, the libc the
# executable is linked against, the OS version.  Written for the standard library so
# that no packaging of the examined environment is imported; the tests compare it with
# packaging's own sys_tags on every interpreter they find.
# Specs: https://packaging.python.org/en/latest/specifications/platform-compatibility-tags/

_SHORT_NAMES = {"python": "py", "cpython": "cp", "pypy": "pp", "ironpython": "ip", "jython": "jy"}
_MANYLINUX_ARCHS = ("x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "loongarch64", "riscv64")
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}


def _nodot(version: Tuple[int, ...]) -> str:
    return "".join(str(part) for part in version)


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")


def _interpreter_version() -> str:
    nodot = sysconfig.get_config_var("py_version_nodot")
    return str(nodot) if nodot else _nodot(sys.version_info[:2])


def cpython_abis(version: Tuple[int, int]) -> List[str]:
    """``cp312``, ``cp313t``, ``cp37m``, ``cp312d`` (then ``cp312``): the ABIs of this CPython."""
    nodot = _nodot(version)
    debug_var = sysconfig.get_config_var("Py_DEBUG")
    debug = "d" if debug_var or (debug_var is None and (hasattr(sys, "gettotalrefcount") or "_d.pyd" in _LOADABLE_SUFFIXES)) else ""
    threading = "t" if version >= (3, 13) and sysconfig.get_config_var("Py_GIL_DISABLED") else ""
    pymalloc = ucs4 = ""
    abis = []
    if version < (3, 8):
        with_pymalloc = sysconfig.get_config_var("WITH_PYMALLOC")
        pymalloc = "m" if with_pymalloc or with_pymalloc is None else ""
        if version < (3, 3):
            size = sysconfig.get_config_var("Py_UNICODE_SIZE")
            ucs4 = "u" if size == 4 or (size is None and sys.maxunicode == 0x10FFFF) else ""
    elif debug:
        abis.append("cp%s%s" % (nodot, threading))  # a debug build loads normal extensions too
    return ["cp%s%s%s%s%s" % (nodot, threading, debug, pymalloc, ucs4)] + abis


def _generic_abis() -> List[str]:
    """The ABI of a Python that is not CPython, from its extension suffix."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    if not isinstance(suffix, str) or not suffix.startswith("."):
        raise ValueError("invalid sysconfig EXT_SUFFIX %r" % (suffix,))
    parts = suffix.split(".")
    if len(parts) < 3:
        return cpython_abis((sys.version_info[0], sys.version_info[1]))
    soabi = parts[1]
    if soabi.startswith("cpython"):
        abi = "cp" + soabi.split("-")[1]
    elif soabi.startswith("cp"):
        abi = soabi.split("-")[0]
    elif soabi.startswith("pypy"):
        abi = "-".join(soabi.split("-")[:2])
    elif soabi.startswith("graalpy"):
        abi = "-".join(soabi.split("-")[:3])
    elif soabi:
        abi = soabi
    else:
        return []
    return [_normalize(abi)]


def elf_facts(path: str) -> Optional[Facts]:
    """Class, byte order, machine, flags and program interpreter of an ELF file, or None."""
    try:
        with open(path, "rb") as f:
            ident = f.read(16)
            if len(ident) < 16 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2) or ident[5] not in (1, 2):
                return None
            bits = 32 if ident[4] == 1 else 64
            order = "<" if ident[5] == 1 else ">"
            # e_type e_machine e_version e_entry e_phoff e_shoff e_flags e_ehsize e_phentsize e_phnum
            layout = order + ("HHIIIIIHHH" if bits == 32 else "HHIQQQIHHH")
            _, machine, _, _, phoff, _, flags, _, phentsize, phnum = struct.unpack(layout, f.read(struct.calcsize(layout)))
            program = None
            for i in range(min(phnum, 512)):
                f.seek(phoff + i * phentsize)
                if bits == 32:
                    ptype, offset, _, _, size = struct.unpack(order + "IIIII", f.read(20))
                else:
                    ptype, _, offset, _, _, size = struct.unpack(order + "IIQQQQ", f.read(40))
                if ptype == 3:  # PT_INTERP
                    f.seek(offset)
                    program = f.read(min(size, 4096)).split(b"\0")[0].decode("ascii", "replace")
                    break
    except (OSError, struct.error):
        return None
    return {"bits": bits, "little_endian": order == "<", "machine": machine, "flags": flags, "interpreter": program}


def glibc_version() -> Optional[Tuple[int, int]]:
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (AttributeError, OSError, ValueError):
        text = ""
    version = text.split()[-1] if text.startswith("glibc ") else None
    if version is None:
        try:
            import ctypes

            function = ctypes.CDLL(None).gnu_get_libc_version
            function.restype = ctypes.c_char_p
            version = function().decode("ascii")
        except (ImportError, OSError, AttributeError, ValueError):
            return None
    found = re.match(r"([0-9]+)\.([0-9]+)", version)
    return (int(found.group(1)), int(found.group(2))) if found else None


def musl_version(elf: Optional[Facts]) -> Optional[Tuple[int, int]]:
    """The musl version the executable is linked against, as its loader prints it."""
    loader = elf and elf.get("interpreter")
    if not loader or "musl" not in loader:
        return None
    try:
        proc = subprocess.run([loader], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
    if len(lines) < 2 or not lines[0].startswith("musl"):
        return None
    found = re.match(r"Version (\d+)\.(\d+)", lines[1])
    return (int(found.group(1)), int(found.group(2))) if found else None


def linux_platforms(errors: Errors, dirs: List[str]) -> List[str]:
    linux = _normalize(sysconfig.get_platform())
    if not linux.startswith("linux_"):
        return [linux]
    if struct.calcsize("P") == 4:
        linux = {"linux_x86_64": "linux_i686", "linux_aarch64": "linux_armv8l"}.get(linux, linux)
    arch = linux.split("_", 1)[1]
    archs = ["armv8l", "armv7l"] if arch == "armv8l" else [arch]
    found = ["linux_" + a for a in archs]
    elf = elf_facts(sys.executable)
    little32 = elf is not None and elf["bits"] == 32 and elf["little_endian"]
    flags = elf["flags"] if elf is not None else 0
    if "armv7l" in archs:
        # hard-float EABI version 5 on 32-bit ARM (EM_ARM = 40)
        compatible = little32 and elf is not None and elf["machine"] == 40 and flags & 0xFF000000 == 0x05000000 and flags & 0x400 == 0x400
    elif "i686" in archs:
        compatible = little32 and elf is not None and elf["machine"] == 3  # EM_386
    else:
        compatible = any(a in _MANYLINUX_ARCHS for a in archs)
    glibc = glibc_version()
    if compatible and glibc is not None:
        if _has_manylinux_module(dirs):
            errors.append({"fact": "tags", "reason": "a _manylinux module is installed; its policy was not run (it is code of the examined environment)"})
        oldest = (2, 4) if set(archs) & {"x86_64", "i686"} else (2, 16)
        highest = [glibc] + [(major, 50) for major in range(glibc[0] - 1, 1, -1)]
        for a in archs:
            for top in highest:
                low = oldest[1] if top[0] == oldest[0] else -1
                for minor in range(top[1], low, -1):
                    found.append("manylinux_%d_%d_%s" % (top[0], minor, a))
                    if (top[0], minor) in _LEGACY_MANYLINUX:
                        found.append("%s_%s" % (_LEGACY_MANYLINUX[(top[0], minor)], a))
    musl = musl_version(elf)
    if musl is not None:
        for a in archs:
            found.extend("musllinux_%d_%d_%s" % (musl[0], minor, a) for minor in range(musl[1], -1, -1))
    return found


def _has_manylinux_module(dirs: List[str]) -> bool:
    # packaging asks an importable _manylinux module; here it is only looked for
    for top in sys.path + dirs:
        try:
            if any(n == "_manylinux.py" or n.startswith("_manylinux.") for n in os.listdir(top or ".")):
                return True
        except OSError:
            continue
    return False


def _mac_formats(version: Tuple[int, int], arch: str) -> List[str]:
    formats = [arch]
    if arch in ("x86_64", "i386"):
        if version < (10, 4):
            return []
        formats += ["intel", "fat64", "fat3"] if arch == "x86_64" else ["intel", "fat3", "fat"]
    elif arch == "ppc64":
        if version > (10, 5) or version < (10, 4):
            return []
        formats.append("fat64")
    elif arch == "ppc":
        if version > (10, 6):
            return []
        formats += ["fat3", "fat"]
    if arch in ("arm64", "x86_64"):
        formats.append("universal2")
    if arch in ("x86_64", "i386", "ppc64", "ppc", "intel"):
        formats.append("universal")
    return formats


def mac_platforms(version: Tuple[int, int], arch: str) -> List[str]:
    found = []  # type: List[str]
    if (10, 0) <= version < (11, 0):
        for minor in range(version[1], -1, -1):
            found.extend("macosx_10_%d_%s" % (minor, f) for f in _mac_formats((10, minor), arch))
    if version >= (11, 0):
        for major in range(version[0], 10, -1):
            found.extend("macosx_%d_0_%s" % (major, f) for f in _mac_formats((major, 0), arch))
        for minor in range(16, 3, -1):
            if arch == "x86_64":
                found.extend("macosx_10_%d_%s" % (minor, f) for f in _mac_formats((10, minor), arch))
            else:
                found.append("macosx_10_%d_universal2" % minor)
    return found


def _mac_version() -> Tuple[int, int]:
    text = platform.mac_ver()[0]
    version = tuple(int(p) for p in text.split(".")[:2])
    if version == (10, 16):
        # built against an old SDK, Python reports 10.16; the real version without the compat shim
        out = subprocess.run([sys.executable, "-I", "-S", "-c", "import platform; print(platform.mac_ver()[0])"],
                             stdout=subprocess.PIPE, universal_newlines=True, env={"SYSTEM_VERSION_COMPAT": "0"}, timeout=30).stdout
        version = tuple(int(p) for p in out.strip().split(".")[:2])
    return (version[0], version[1] if len(version) > 1 else 0)


def platform_tags(errors: Errors, dirs: List[str]) -> List[str]:
    system = platform.system()
    if system == "Darwin":
        arch = platform.mac_ver()[2]
        if struct.calcsize("P") == 4:
            arch = "ppc" if arch.startswith("ppc") else "i386"
        return mac_platforms(_mac_version(), arch)
    if system == "Linux":
        return linux_platforms(errors, dirs)
    return [_normalize(sysconfig.get_platform())]


def sys_tags(errors: Errors, dirs: List[str]) -> List[str]:
    """Every tag this interpreter installs, best first (as ``packaging.tags.sys_tags``)."""
    name = sys.implementation.name
    short = _SHORT_NAMES.get(name) or name
    version = (sys.version_info[0], sys.version_info[1])
    platforms = platform_tags(errors, dirs)
    tags = []
    if short == "cp":
        interpreter = "cp" + _nodot(version)
        abis = cpython_abis(version)
        threaded = "t" in abis[0][len(interpreter):]
        tags += ["%s-%s-%s" % (interpreter, abi, p) for abi in abis for p in platforms]
        stable = "abi3t" if threaded else "abi3"  # free-threaded builds take abi3t (PEP 803), not abi3
        tags += ["%s-%s-%s" % (interpreter, stable, p) for p in platforms]
        tags += ["%s-none-%s" % (interpreter, p) for p in platforms]
        for minor in range(version[1] - 1, 1, -1):
            tags += ["cp%s-%s-%s" % (_nodot((version[0], minor)), stable, p) for p in platforms]
    else:
        interpreter = short + _interpreter_version()
        abis = _generic_abis()
        if "none" not in abis:
            abis.append("none")
        tags += ["%s-%s-%s" % (interpreter, abi, p) for abi in abis for p in platforms]
    pythons = ["py" + _nodot(version), "py%d" % version[0]] + ["py" + _nodot((version[0], m)) for m in range(version[1] - 1, -1, -1)]
    tags += ["%s-none-%s" % (py, p) for py in pythons for p in platforms]
    exact = {"cp": "cp" + _interpreter_version(), "pp": "pp3"}.get(short)
    if exact:
        tags.append(exact + "-none-any")
    tags += [py + "-none-any" for py in pythons]
    return tags


# -- what is installed ----------------------------------------------------------

def pyvenv_cfg() -> Optional[Tuple[str, Dict[str, str]]]:
    """(venv prefix, settings) as ``site`` finds them: ``pyvenv.cfg`` beside the
    executable or one folder up; the prefix is the executable's folder's parent."""
    executable = sys.executable
    if sys.platform == "darwin" and "__PYVENV_LAUNCHER__" in os.environ:
        executable = os.environ["__PYVENV_LAUNCHER__"]
    exe_dir = os.path.dirname(os.path.abspath(executable))
    for folder in (exe_dir, os.path.dirname(exe_dir)):
        path = os.path.join(folder, "pyvenv.cfg")
        if not os.path.isfile(path):
            continue
        settings = {}  # type: Dict[str, str]
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f.read(65536).splitlines():
                    key, sep, value = line.partition("=")
                    if sep:
                        settings[key.strip().lower()] = value.strip()
        except OSError:
            pass
        return os.path.dirname(exe_dir), settings
    return None


def _site_module() -> Any:
    # Under -S importing site runs nothing: its main() is skipped unless called (Python docs, -S)
    import site

    return site


def _existing(paths: List[str], into: List[str]) -> None:
    for path in paths:
        if path and path not in into and os.path.isdir(path):
            into.append(path)


def environment(errors: Errors) -> Facts:
    """The environment a normal start of this interpreter gets, worked out as ``site`` would.

    Order as on ``sys.path``: a venv's site-packages, the user's site-packages (when
    enabled), the base interpreter's site-packages (outside a venv, or a venv made with
    ``--system-site-packages``); then the directories the ``.pth`` files there name.  A
    ``.pth`` line that is code (``import ...``) is listed, never run.
    """
    site = _site_module()
    venv = pyvenv_cfg()
    prefix = sys.prefix
    settings = {}  # type: Dict[str, str]
    system_site = True
    dirs = []  # type: List[str]
    if venv is not None:
        prefix, settings = venv
        # site.venv() does this before asking for the venv's site-packages (Debian's
        # getsitepackages answers by whether sys.prefix differs from sys.base_prefix)
        sys.prefix = sys.exec_prefix = prefix
        system_site = settings.get("include-system-site-packages", "true").lower() == "true"
        _existing(site.getsitepackages([prefix]), dirs)
        _existing(_sysconfig_site(prefix), dirs)
    user = _user_site(site, venv is not None and not system_site)
    if user:
        _existing([user], dirs)
    if venv is None or system_site:
        _existing(site.getsitepackages([sys.base_prefix, sys.base_exec_prefix]), dirs)
        if venv is None:
            _existing(_sysconfig_site(None), dirs)
    pth_paths = []  # type: List[str]
    pth_code = []  # type: List[str]
    for top in list(dirs):
        _read_pth(top, dirs + pth_paths, pth_paths, pth_code, errors)
    pythonpath = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {
        "prefix": prefix,
        "venv": venv is not None,
        "venv_creator": _venv_creator(settings) if venv is not None else None,
        "system_site_packages": system_site if venv is not None else None,
        "user_site": user,
        "site_packages": dirs,
        "pth_paths": pth_paths,
        "pth_code": pth_code,
        "pythonpath": [os.path.abspath(p) for p in pythonpath if os.path.isdir(p)],
        "ensurepip": _ensurepip(),
    }


def _sysconfig_site(prefix: Optional[str]) -> List[str]:
    """purelib and platlib from sysconfig: of the venv scheme for a venv's *prefix*, else the default."""
    if prefix is None:
        paths = sysconfig.get_paths()
    else:
        names = sysconfig.get_scheme_names()
        scheme = "venv" if "venv" in names else ("nt" if os.name == "nt" else "posix_prefix")
        base = {"base": prefix, "platbase": prefix, "installed_base": prefix, "installed_platbase": prefix}
        paths = sysconfig.get_paths(scheme, vars=base)
    return [paths.get("purelib", ""), paths.get("platlib", "")]


def _user_site(site: Any, venv_without_system: bool) -> Optional[str]:
    """The user's site-packages when a normal start would use it (``site.check_enableusersite``)."""
    if venv_without_system or os.environ.get("PYTHONNOUSERSITE"):
        return None
    if hasattr(os, "getuid") and (os.geteuid() != os.getuid() or os.getegid() != os.getgid()):
        return None
    try:
        path = site.getusersitepackages()
    except Exception:  # noqa: BLE001 - no home folder: no user site
        return None
    return path if isinstance(path, str) and os.path.isdir(path) else None


def _read_pth(top: str, known: List[str], paths: List[str], code: List[str], errors: Errors) -> None:
    try:
        names = sorted(n for n in os.listdir(top) if n.endswith(".pth") and not n.startswith("."))
    except OSError:
        return
    for name in names:
        try:
            with open(os.path.join(top, name), encoding="utf-8", errors="replace") as f:
                lines = f.read(65536).splitlines()
        except OSError as exc:
            errors.append({"fact": "site_packages", "reason": "cannot read %s: %s" % (name, exc.strerror)})
            continue
        for line in lines:
            if line.startswith(("import ", "import\t")):
                if os.path.join(top, name) not in code:
                    code.append(os.path.join(top, name))
                continue
            line = line.rstrip()
            if not line or line.startswith("#"):
                continue
            path = os.path.normpath(os.path.join(top, line))
            if path not in known and path not in paths and os.path.isdir(path):
                paths.append(path)


def _venv_creator(settings: Dict[str, str]) -> str:
    """Who made the venv, from the keys its maker writes into pyvenv.cfg."""
    if "uv" in settings:
        return "uv"
    if "virtualenv" in settings:
        return "virtualenv"
    return "venv"


def _ensurepip() -> bool:
    """Whether ``python -m ensurepip`` can install pip: the module and a pip wheel for it
    (Debian and Ubuntu split both out into python3-venv, whose wheels live in
    /usr/share/python-wheels)."""
    stdlib = sysconfig.get_paths().get("stdlib") or ""
    module = os.path.join(stdlib, "ensurepip")
    if not os.path.isfile(os.path.join(module, "__init__.py")):
        return False
    for folder in (os.path.join(module, "_bundled"), "/usr/share/python-wheels"):
        try:
            if any(n.startswith("pip-") and n.endswith(".whl") for n in os.listdir(folder)):
                return True
        except OSError:
            continue
    return False


def distributions(dirs: List[str], errors: Errors) -> List[Facts]:
    """Installed distributions, read from their ``.dist-info/METADATA`` (or ``.egg-info``)
    files in *dirs*, in ``sys.path`` order: the first of a name wins, as for imports."""
    seen = {}  # type: Dict[str, Facts]
    for top in dirs:
        try:
            entries = sorted(os.listdir(top))
        except OSError:
            continue
        for entry in entries:
            found = _read_distribution(os.path.join(top, entry), errors)
            if found is None:
                continue
            key = re.sub(r"[-_.]+", "-", found["name"]).lower()
            if key not in seen:
                seen[key] = found
    return sorted(seen.values(), key=lambda d: d["name"].lower())


def _read_distribution(path: str, errors: Errors) -> Optional[Facts]:
    if path.endswith(".dist-info"):
        meta = os.path.join(path, "METADATA")
    elif path.endswith(".egg-info"):
        meta = os.path.join(path, "PKG-INFO") if os.path.isdir(path) else path
    else:
        return None
    try:
        with open(meta, encoding="utf-8", errors="replace") as f:
            headers = email.parser.HeaderParser().parsestr(f.read(METADATA_BYTES))
    except OSError:
        return None  # a folder without metadata is no distribution (importlib.metadata skips it too)
    name, version = headers.get("Name"), headers.get("Version")
    if not name:
        errors.append({"fact": "distributions", "reason": "no Name in %s" % meta})
        return None
    requires = [str(r) for r in headers.get_all("Requires-Dist") or []]
    if path.endswith(".egg-info") and os.path.isdir(path):
        requires = _egg_requires(os.path.join(path, "requires.txt"))
    return {"name": str(name).strip(), "version": str(version).strip() if version else None, "requires": requires}


def _egg_requires(path: str) -> List[str]:
    """requires.txt of an egg-info as Requires-Dist lines (``[extra:marker]`` sections to markers)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read(METADATA_BYTES).splitlines()
    except OSError:
        return []
    found = []
    marker = ""
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            extra, _, condition = line[1:-1].partition(":")
            parts = ["(%s)" % condition] if condition else []
            if extra:
                parts.append('extra == "%s"' % extra)
            marker = " and ".join(parts)
            continue
        found.append("%s; %s" % (line, marker) if marker else line)
    return found


def extensions(dirs: List[str], errors: Errors, limit: int = 20000) -> List[Facts]:
    """Every compiled module under site-packages, with its binary architectures."""
    found = []
    for top in dirs:
        for root, subdirs, files in os.walk(top):
            subdirs[:] = [d for d in subdirs if d != "__pycache__"]
            for name in files:
                if not name.endswith(EXTENSION_SUFFIXES) and ".so." not in name:
                    continue
                path = os.path.join(root, name)
                try:
                    read = file_architectures(path)
                except OSError as exc:
                    errors.append({"fact": "extensions", "reason": "cannot read %s: %s" % (path, exc.strerror)})
                    continue
                if read is None:
                    continue
                rel = os.path.relpath(path, top).replace("\\", "/")
                found.append({"path": rel, "top": rel.split("/")[0], "format": read[0], "archs": read[1]})
                if len(found) >= limit:
                    errors.append({"fact": "extensions", "reason": "stopped after %d files" % limit})
                    return found
    return found


def framework_builds(dirs: List[str]) -> Facts:
    """Build facts read from framework files, without importing the frameworks."""
    found = {}  # type: Facts
    for top in dirs:
        torch_version = os.path.join(top, "torch", "version.py")
        if "torch" not in found and os.path.isfile(torch_version):
            text = _read(torch_version)
            cuda = re.search(r"^cuda(?:\s*:\s*[^=]+)?\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
            hip = re.search(r"^hip(?:\s*:\s*[^=]+)?\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
            found["torch"] = {"cuda": cuda.group(1) if cuda else None, "rocm": hip.group(1) if hip else None}
        tf_info = os.path.join(top, "tensorflow", "python", "platform", "build_info.py")
        if "tensorflow" not in found and os.path.isfile(tf_info):
            text = _read(tf_info)
            cuda = re.search(r"['\"]cuda_version['\"]\s*[:,]\s*['\"]([^'\"]*)['\"]", text)
            cudnn = re.search(r"['\"]cudnn_version['\"]\s*[:,]\s*['\"]([^'\"]*)['\"]", text)
            is_cuda = re.search(r"['\"]is_cuda_build['\"]\s*[:,]\s*(True|False)", text)
            found["tensorflow"] = {
                "cuda": (cuda.group(1) or None) if cuda else None,
                "cudnn": (cudnn.group(1) or None) if cudnn else None,
                "is_cuda_build": is_cuda.group(1) == "True" if is_cuda else None,
            }
    return found


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(200000)
    except OSError:
        return ""


# -- accelerators -----------------------------------------------------------------

def nvidia(errors: Errors) -> Optional[Facts]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    query = _run([exe, "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits"])
    if query is None:
        errors.append({"fact": "nvidia", "reason": "nvidia-smi is present but failed (is the driver loaded?)"})
        return {"driver": None, "cuda": None, "gpus": []}
    return parse_nvidia(query, _run([exe]) or "")


def parse_nvidia(query: str, banner: str) -> Facts:
    gpus = []
    driver = None
    for line in query.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) >= 2:
            driver = parts[1]
            memory = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
            gpus.append({"name": parts[0], "memory_mib": memory})
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", banner)
    return {"driver": driver, "cuda": cuda.group(1) if cuda else None, "gpus": gpus}


def apple_gpu(errors: Errors) -> Optional[Facts]:
    out = _run(["system_profiler", "SPDisplaysDataType", "-json"], timeout=30)
    if out is None:
        errors.append({"fact": "apple_gpu", "reason": "system_profiler SPDisplaysDataType failed"})
        return None
    return parse_apple_gpu(out)


def parse_apple_gpu(text: str) -> Optional[Facts]:
    try:
        cards = json.loads(text).get("SPDisplaysDataType", [])
    except ValueError:
        return None
    for card in cards:
        model = card.get("sppci_model")
        if model:
            cores = card.get("sppci_cores")
            return {"model": model, "cores": int(cores) if str(cores).isdigit() else None, "metal": card.get("spdisplays_mtlgpufamilysupport")}
    return None


# -- all together -------------------------------------------------------------------

def collect(light: bool = False, target: bool = False, accelerators: bool = True) -> Facts:
    """Every fact; *light* skips what is installed (for explain and plan); *target* adds
    every wheel tag (``tags.all``: check and plan build the host target from them);
    without *accelerators* no nvidia-smi or system_profiler is run."""
    errors = []  # type: Errors
    env = environment(errors)
    facts = {
        "schema": SCHEMA,
        "collected_at": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "light": light,
        "os": os_facts(),
        "hardware": hardware(errors),
        "interpreter": interpreter(errors, env),
        "environment": env,
        "markers": markers(),
        "tags": wheel_tags(errors, env["site_packages"] + env["pth_paths"], full=target),
    }  # type: Facts
    dirs = env["pythonpath"] + env["site_packages"] + env["pth_paths"]
    installed = distributions(dirs, errors)
    pip = [d for d in installed if d["name"].lower() == "pip"]
    facts["pip"] = pip[0]["version"] if pip else None
    if not light:
        facts["site_packages"] = env["site_packages"]
        facts["distributions"] = installed
        facts["extensions"] = extensions(env["site_packages"], errors)
        facts["frameworks"] = framework_builds(env["site_packages"])
    if accelerators:
        facts["accelerators"] = {
            "nvidia": nvidia(errors),
            "apple_gpu": apple_gpu(errors) if platform.system() == "Darwin" else None,
        }
    facts["errors"] = errors
    return facts


def main(argv: List[str]) -> int:
    facts = collect(light="--light" in argv, target="--target" in argv, accelerators="--no-accelerators" not in argv)
    json.dump(facts, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

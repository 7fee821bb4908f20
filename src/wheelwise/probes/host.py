"""wheelwise host probe: facts about this interpreter and its machine, as JSON.

Run by the interpreter being examined (``python host.py [--light]``); it uses
the standard library only and Python 3.8 syntax, and never imports the
packages it lists.  Every fact it cannot read is left ``null`` and the reason
is added to ``errors``: nothing is guessed.  The schema is documented in the
README ("doctor facts"); ``SCHEMA`` changes when a field changes meaning.
"""

import datetime
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
from typing import Any, Callable, Dict, List, Optional, Set, Tuple  # noqa: F401 - Set in a type comment

SCHEMA = "wheelwise.facts/1"
EXTENSION_SUFFIXES = (".so", ".pyd", ".dylib")
HEADER_BYTES = 4096

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


def interpreter(errors: Errors) -> Facts:
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
        "executable": sys.executable,
        "implementation": sys.implementation.name,
        "version": platform.python_version(),
        "bits": struct.calcsize("P") * 8,
        "arch": key_arch(),
        "build_archs": build,
        "sysconfig_platform": sysconfig.get_platform(),
        "origin": origin(sys.executable, sys.base_prefix),
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "venv": sys.prefix != sys.base_prefix,
        "conda": os.path.isdir(os.path.join(sys.prefix, "conda-meta")),
    }


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


def wheel_tags(errors: Errors, count: int = 12) -> Optional[Facts]:
    """The first supported wheel tags, as this interpreter's pip (or packaging) computes them."""
    for module in ("pip._vendor.packaging.tags", "packaging.tags"):
        try:
            tags = __import__(module, fromlist=["sys_tags"])
            every = [str(t) for t in tags.sys_tags()]
            return {"first": every[:count], "count": len(every), "source": module}
        except Exception:  # noqa: BLE001 - any failure means "not readable this way"
            continue
    errors.append({"fact": "tags", "reason": "neither pip nor packaging is importable in this interpreter"})
    return None


def pip_version() -> Optional[str]:
    try:
        from importlib import metadata

        return metadata.version("pip")
    except Exception:  # noqa: BLE001
        return None


# -- what is installed ----------------------------------------------------------

def site_dirs() -> List[str]:
    paths = []
    for key in ("purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path and path not in paths:
            paths.append(path)
    try:
        import site

        user = site.getusersitepackages()
        if site.ENABLE_USER_SITE and user not in paths and os.path.isdir(user):
            paths.append(user)
    except Exception:  # noqa: BLE001
        pass
    return [p for p in paths if os.path.isdir(p)]


def distributions() -> List[Facts]:
    from importlib import metadata

    seen = {}  # type: Dict[str, Facts]
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue  # the first on sys.path wins, as for imports
        seen[key] = {"name": name, "version": dist.version, "requires": list(dist.requires or [])}
    return sorted(seen.values(), key=lambda d: d["name"].lower())


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
    facts = parse_nvidia(query, _run([exe]) or "")
    # asked apart: drivers older than the field refuse the whole query that names it
    capabilities = parse_compute_caps(_run([exe, "--query-gpu=compute_cap", "--format=csv,noheader"]) or "")
    if len(capabilities) == len(facts["gpus"]):
        for index, capability in enumerate(capabilities):  # zip(strict=) is Python 3.10+
            facts["gpus"][index]["compute_capability"] = capability
    return facts


def parse_compute_caps(text: str) -> List[Optional[str]]:
    """One compute capability per GPU line (``8.6``); None for a line that is not one."""
    found: List[Optional[str]] = []
    for line in text.strip().splitlines():
        value = line.strip()
        found.append(value if re.match(r"^\d{1,2}\.\d{1,2}$", value) else None)
    return found


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

def collect(light: bool = False) -> Facts:
    """Every fact; *light* skips what is installed (for explain and plan)."""
    errors = []  # type: Errors
    facts = {
        "schema": SCHEMA,
        "collected_at": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "light": light,
        "os": os_facts(),
        "hardware": hardware(errors),
        "interpreter": interpreter(errors),
        "markers": markers(),
        "pip": pip_version(),
        "tags": wheel_tags(errors),
    }  # type: Facts
    if not light:
        dirs = site_dirs()
        facts["site_packages"] = dirs
        facts["distributions"] = distributions()
        facts["extensions"] = extensions(dirs, errors)
        facts["frameworks"] = framework_builds(dirs)
    facts["accelerators"] = {
        "nvidia": nvidia(errors),
        "apple_gpu": apple_gpu(errors) if platform.system() == "Darwin" else None,
    }
    facts["errors"] = errors
    return facts


def main(argv: List[str]) -> int:
    json.dump(collect(light="--light" in argv), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

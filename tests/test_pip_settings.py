"""pip's settings that change the answer, each compared with what a real pip decides.

For every setting (constraints, only-binary / no-binary / prefer-binary, ``--hash``, a
project's requires-python), from a requirements file, pip's configuration file, a
``PIP_*`` variable or a flag, ``pip install --dry-run --report -`` and ``wheelwise check``
run against the same loopback index for this interpreter, with this machine's pip
configuration shut out (``PIP_CONFIG_FILE`` is ``/dev/null`` unless the test writes one).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.indexserver import IndexServer, ServedFile
from helpers.wheels import make_metadata, make_sdist, make_wheel, wheel_filename
from packaging.version import Version

from wheelwise.cli import main

#: a PEP 517 backend in one file: pip asks it for metadata (a dry run builds nothing else);
#: requires = [] so that pip's isolated build environment needs nothing from an index
BACKEND = '''
import os

METADATA = {metadata!r}

def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(directory, config_settings=None):
    dist = {dist!r}
    os.makedirs(os.path.join(directory, dist))
    with open(os.path.join(directory, dist, "METADATA"), "w") as f:
        f.write(METADATA)
    return dist
'''
PYPROJECT = b'[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'


def backend(name: str, version: str, **fields: Any) -> bytes:
    metadata = make_metadata(name, version, **fields).decode()
    return BACKEND.format(metadata=metadata, dist=f"{name.replace('-', '_')}-{version}.dist-info").encode()


def buildable_sdist(name: str, version: str, **fields: Any) -> bytes:
    """A real sdist pip can read the metadata of offline (its backend is inside it)."""
    return make_sdist(name, version, files={
        "pyproject.toml": PYPROJECT, "backend.py": backend(name, version, **fields),
    }, **fields)


@pytest.fixture(scope="module")
def server() -> Any:
    with IndexServer() as index:
        for version in ("1.0", "2.0"):  # wheels only
            index.add_wheel(wheel_filename("pinned", version), make_wheel("pinned", version))
        index.add(_sdist("onlysdist", "1.0"))  # an sdist only
        index.add_wheel(wheel_filename("both", "1.0"), make_wheel("both", "1.0"))  # a wheel, then a newer sdist
        index.add(_sdist("both", "2.0"))
        index.add_wheel(wheel_filename("hashed", "1.0"), make_wheel("hashed", "1.0"))
        # pre-releases: prelib's only final release needs a prebase that does not exist
        wheels = [("preapp", "1.0", ["prelib"]), ("prelib", "1.0", ["prebase>=2"]), ("prelib", "2.0rc1", []),
                  ("prebase", "1.0", []), ("preapp2", "1.0", ["prelib2>1"]), ("prelib2", "1.0", []),
                  ("prelib2", "2.0rc1", [])]
        for name, version, requires in wheels:
            index.add_wheel(wheel_filename(name, version), make_wheel(name, version, requires_dist=requires))
        # a final release with only an sdist, then a release candidate with a wheel
        index.add(_sdist("presdist", "1.0"))
        index.add_wheel(wheel_filename("presdist", "1.1rc1"), make_wheel("presdist", "1.1rc1"))
        yield index


def _sdist(name: str, version: str) -> ServedFile:
    content = buildable_sdist(name, version)
    return ServedFile(f"{name}-{version}.tar.gz", content=content)


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No ``PIP_*`` of this machine, no user or XDG configuration; a test's own file goes in
    ``PIP_CONFIG_FILE`` (with which pip, and wheelwise alike, also read ``/etc/pip.conf``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k.lower() not in ("http_proxy", "https_proxy")}
    env |= {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1",
            "PIP_NO_INPUT": "1", "WHEELWISE_CACHE_DIR": str(tmp_path / "cache"), "NO_COLOR": "1",
            "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
            "XDG_CONFIG_DIRS": str(tmp_path / "xdg")}
    return env | extra


def pip_decides(server: IndexServer, env: dict[str, str], *args: str) -> tuple[dict[str, str] | None, str]:
    """What pip would install (name -> version), or None when it refuses; and its stderr."""
    run = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--report", "-", "-q",
         "--index-url", server.url, *args],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    if run.returncode != 0:
        return None, run.stderr
    report = json.loads(run.stdout)
    return {i["metadata"]["name"]: i["metadata"]["version"] for i in report["install"]}, run.stderr


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """This process's environment as *env* says, without this machine's ``PIP_*``."""
    for key in list(os.environ):
        if key.startswith("PIP_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def wheelwise_decides(
    server: IndexServer, env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], *args: str,
) -> dict[str, Any]:
    use_env(monkeypatch, env)
    code = main(["check", *args, "--index-url", server.url, "--json", "--no-nearest"])
    out = capsys.readouterr().out
    cell: dict[str, Any] = json.loads(out)["cells"][0]
    assert code == (0 if cell["verdict"] in ("ok", "build") else 1)
    return cell


def same_answer(pip: dict[str, str] | None, cell: dict[str, Any], reason: str | None = None) -> None:
    if pip is None:
        assert cell["verdict"] == "blocked", cell
        if reason:
            assert reason in [b["reason"] for b in cell["blockers"]], cell["blockers"]
        return
    assert cell["verdict"] in ("ok", "build"), cell
    pins = dict(cell["pins"])
    for name, version in cell["newer_sdists"]:  # plain pip builds these (without --prefer-binary)
        pins[name] = version
    assert pins == pip


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# -- constraints -------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["config", "env", "flag", "file"])
def test_constraints(where: str, server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                     capsys: pytest.CaptureFixture[str]) -> None:
    constraints = write(tmp_path / "c.txt", "pinned<2\n")
    env = isolated_env(tmp_path)
    args: list[str] = []
    if where == "config":
        env["PIP_CONFIG_FILE"] = str(write(tmp_path / "pip.conf", f"[install]\nconstraint = {constraints}\n"))
        args = ["pinned"]
    elif where == "env":
        env["PIP_CONSTRAINT"] = str(constraints)
        args = ["pinned"]
    elif where == "flag":
        args = ["pinned", "-c", str(constraints)]
    else:
        args = ["-r", str(write(tmp_path / "req.txt", f"pinned\n-c {constraints}\n"))]
    pip, _ = pip_decides(server, env, *args)
    assert pip == {"pinned": "1.0"}  # the constraint applied: not the newest
    cell = wheelwise_decides(server, env, monkeypatch, capsys, *args)
    same_answer(pip, cell)
    # the cell says what held the pin back, and where that was written
    held, = cell["held_by_constraints"]
    assert (held["name"], held["version"], held["constraint"], held["source"]) == ("pinned", "1.0", "pinned<2", f"{constraints}:1")
    assert Version(held["newer"]) >= Version("2")


def test_constraints_are_named_in_text(server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A constraint from pip's configuration is said in text output too, with its file and line."""
    constraints = write(tmp_path / "c.txt", "# held\npinned<2\n")
    config = write(tmp_path / "pip.conf", f"[install]\nconstraint = {constraints}\n")
    use_env(monkeypatch, isolated_env(tmp_path, PIP_CONFIG_FILE=str(config)))
    assert main(["check", "pinned", "--index-url", server.url, "--no-nearest"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # the console wraps long lines
    assert f"pinned 1.0 is held back by the constraint pinned<2 ({constraints}:2)" in out, out
    assert f"under the constraints pinned<2 ({constraints}:2)" in out, out


# -- pre-releases ------------------------------------------------------------------------------

def test_no_fall_back_to_a_prerelease_when_the_finals_conflict(server: IndexServer, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """pip's specifier for prelib is what its requirements say ('any'), and a final release is
    in it: that release failing on its own dependencies does not let the pre-release in."""
    env = isolated_env(tmp_path)
    pip, _ = pip_decides(server, env, "preapp")
    assert pip is None
    same_answer(pip, wheelwise_decides(server, env, monkeypatch, capsys, "preapp"))


def test_a_final_sdist_wins_over_a_prerelease_wheel(server: IndexServer, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """pip's pre-release rule counts every file it could install, sdists too: the final
    release is built, the release candidate's wheel is not taken (a new CPython's usual case)."""
    env = isolated_env(tmp_path)
    pip, _ = pip_decides(server, env, "presdist")
    assert pip == {"presdist": "1.0"}
    cell = wheelwise_decides(server, env, monkeypatch, capsys, "presdist")
    assert cell["verdict"] == "build"
    same_answer(pip, cell)


def test_prerelease_when_no_final_is_in_the_stated_range(server: IndexServer, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    env = isolated_env(tmp_path)
    pip, _ = pip_decides(server, env, "preapp2")
    assert pip == {"preapp2": "1.0", "prelib2": "2.0rc1"}
    same_answer(pip, wheelwise_decides(server, env, monkeypatch, capsys, "preapp2"))


# -- only-binary / no-binary / prefer-binary --------------------------------------------------

@pytest.mark.parametrize("where", ["file", "config", "env", "flag"])
def test_only_binary_all_refuses_an_sdist_only_project(
    where: str, server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = isolated_env(tmp_path)
    args = ["onlysdist"]
    if where == "file":
        args = ["-r", str(write(tmp_path / "req.txt", "--only-binary :all:\nonlysdist\n"))]
    elif where == "config":
        env["PIP_CONFIG_FILE"] = str(write(tmp_path / "pip.conf", "[global]\nonly-binary = :all:\n"))
    elif where == "env":
        env["PIP_ONLY_BINARY"] = "onlysdist"
    else:
        args += ["--only-binary", ":all:"]
    pip, err = pip_decides(server, env, *args)
    assert pip is None and "onlysdist" in err
    same_answer(pip, wheelwise_decides(server, env, monkeypatch, capsys, *args), "sdist-only")


def test_without_only_binary_the_sdist_is_built(server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    env = isolated_env(tmp_path)
    pip, _ = pip_decides(server, env, "onlysdist")
    cell = wheelwise_decides(server, env, monkeypatch, capsys, "onlysdist")
    assert pip == {"onlysdist": "1.0"} and cell["verdict"] == "build"
    same_answer(pip, cell)


@pytest.mark.parametrize(("args", "config"), [
    (["pinned", "--no-binary", ":all:"], None),
    (["pinned"], "[install]\nno-binary = pinned\n"),
    (["pinned", "--no-binary", ":all:", "--only-binary", "pinned"], None),  # the later names win
])
def test_no_binary(args: list[str], config: str | None, server: IndexServer, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env = isolated_env(tmp_path)
    if config:
        env["PIP_CONFIG_FILE"] = str(write(tmp_path / "pip.conf", config))
    pip, _ = pip_decides(server, env, *args)
    same_answer(pip, wheelwise_decides(server, env, monkeypatch, capsys, *args), "no-binary")


def test_no_binary_builds_the_sdist(server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    env = isolated_env(tmp_path)
    req = write(tmp_path / "req.txt", "--no-binary both\nboth\n")
    pip, _ = pip_decides(server, env, "-r", str(req))
    cell = wheelwise_decides(server, env, monkeypatch, capsys, "-r", str(req))
    assert pip == {"both": "2.0"} and cell["verdict"] == "build" and cell["pins"] == {"both": "2.0"}


@pytest.mark.parametrize("where", [None, "file", "config", "env", "flag"])
def test_prefer_binary(where: str | None, server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str]) -> None:
    env = isolated_env(tmp_path)
    args = ["both"]
    if where == "file":
        args = ["-r", str(write(tmp_path / "req.txt", "--prefer-binary\nboth\n"))]
    elif where == "config":
        env["PIP_CONFIG_FILE"] = str(write(tmp_path / "pip.conf", "[global]\nprefer-binary = yes\n"))
    elif where == "env":
        env["PIP_PREFER_BINARY"] = "1"
    elif where == "flag":
        args.append("--prefer-binary")
    pip, _ = pip_decides(server, env, *args)
    cell = wheelwise_decides(server, env, monkeypatch, capsys, *args)
    assert pip == {"both": "1.0" if where else "2.0"}
    assert cell["pins"] == {"both": "1.0"}
    assert cell["newer_sdists"] == ([] if where else [{"name": "both", "version": "2.0"}])
    same_answer(pip, cell | {"newer_sdists": [(n["name"], n["version"]) for n in cell["newer_sdists"]]})


# -- hashes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("right", [True, False])
def test_hash_lines(right: bool, server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    served = server.files[wheel_filename("hashed", "1.0")]
    assert served.content is not None
    digest = hashlib.sha256(served.content if right else b"another file").hexdigest()
    req = write(tmp_path / "req.txt", f"hashed==1.0 \\\n    --hash=sha256:{digest}\n")
    env = isolated_env(tmp_path)
    pip, err = pip_decides(server, env, "-r", str(req))
    assert (pip is None) == (not right)
    if not right:
        assert "DO NOT MATCH THE HASHES" in err
    cell = wheelwise_decides(server, env, monkeypatch, capsys, "-r", str(req))
    same_answer(pip, cell, "hash-mismatch")
    if not right:
        (blocker,) = cell["blockers"]
        assert blocker["project"] == "hashed" and blocker["requirement"] == "hashed==1.0"


@pytest.mark.parametrize("mode", ["a --hash", "--require-hashes in the file", "--require-hashes flag", "PIP_REQUIRE_HASHES"])
def test_hash_mode_warns_about_pins_without_a_hash(mode: str, server: IndexServer, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    served = server.files[wheel_filename("hashed", "1.0")]
    assert served.content is not None
    text = "pinned==1.0\n"
    if mode == "a --hash":
        text += f"hashed==1.0 --hash=sha256:{hashlib.sha256(served.content).hexdigest()}\n"
    elif mode == "--require-hashes in the file":
        text = "--require-hashes\n" + text
    req = write(tmp_path / "req.txt", text)
    env = isolated_env(tmp_path, **({"PIP_REQUIRE_HASHES": "1"} if mode == "PIP_REQUIRE_HASHES" else {}))
    args = ["-r", str(req), *(["--require-hashes"] if mode == "--require-hashes flag" else [])]
    pip, err = pip_decides(server, env, *args)
    assert pip is None and "pinned" in err  # pip's hash-checking mode refuses the unhashed one
    cell = wheelwise_decides(server, env, monkeypatch, capsys, *args)
    assert any("refuses to install pinned: no --hash" in w for w in cell["warnings"]), cell["warnings"]


# -- a project's requires-python ----------------------------------------------------------------

@pytest.mark.parametrize("fits", [True, False])
def test_project_requires_python(fits: bool, server: IndexServer, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    spec = f">={here}" if fits else f">{here}.9999"
    project = tmp_path / "demo"
    write(project / "pyproject.toml", PYPROJECT.decode() + f'[project]\nname = "demo"\nversion = "0.1"\n'
          f'requires-python = "{spec}"\ndependencies = ["pinned"]\n')
    (project / "backend.py").write_bytes(backend("demo", "0.1", requires_python=spec, requires_dist=["pinned"]))
    env = isolated_env(tmp_path)
    pip, err = pip_decides(server, env, str(project))
    if fits:
        assert pip is not None
        pip.pop("demo")  # the project itself; wheelwise checks what it needs
    else:
        assert pip is None and "requires a different Python" in err
    cell = wheelwise_decides(server, env, monkeypatch, capsys, "--project", str(project))
    same_answer(pip, cell, "requires-python")
    if not fits:
        (blocker,) = cell["blockers"]
        assert blocker["project"] == "demo" and blocker["needs"] == spec

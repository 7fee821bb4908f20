"""plan's requirements.txt and pylock.toml, installed by real pip and uv from a loopback index.

Every lock a test writes is read back through ``packaging.pylock``; the commands run are
the ones plan prints, character for character.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.indexserver import IndexServer
from helpers.wheels import installed_wheel, make_wheel, wheel_filename
from packaging.markers import Marker
from packaging.pylock import Pylock
from packaging.version import Version

from wheelwise.cli import main
from wheelwise.errors import IndexFetchError
from wheelwise.index import IndexSettings, PackageIndex
from wheelwise.index.urls import public_url
from wheelwise.lockfile import (
    LockedFile,
    LockedPin,
    LockError,
    environment_marker,
    lock_pins,
    pylock,
    pylock_text,
)
from wheelwise.resolve import Candidate
from wheelwise.target import Target, parse_target

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

UPLOADED = "2026-03-01T12:30:00.123456Z"


@pytest.fixture(autouse=True)
def no_pip_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback ports are reused between tests: pip must not answer from another test's downloads."""
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")


def read_lock(path: Path) -> Pylock:
    """The lock as packaging reads it: this raises on anything the spec forbids."""
    return Pylock.from_dict(tomllib.loads(path.read_text()))


def serve_jax_split(server: IndexServer, links: Path) -> str:
    """jax on the index, its jaxlib only in a find-links folder; the jaxlib wheel's sha256."""
    server.add_wheel(
        wheel_filename("jax", "0.4.99"), make_wheel("jax", "0.4.99", requires_dist=["jaxlib==0.4.99"]), upload_time=UPLOADED
    )
    # a third level, behind a marker: pip's --require-hashes fails unless the whole closure is pinned
    server.add_wheel(wheel_filename("ml-dtypes", "0.5.1"), make_wheel("ml-dtypes", "0.5.1"))
    links.mkdir()
    jaxlib = make_wheel("jaxlib", "0.4.99", filler=300_000, requires_dist=["ml-dtypes>=0.5; python_version >= '3.8'"])
    (links / wheel_filename("jaxlib", "0.4.99")).write_bytes(jaxlib)
    return hashlib.sha256(jaxlib).hexdigest()


def plan_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object], str]:
    code = main(["plan", *argv, "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_files_carry_the_users_index_and_every_hash(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    links, out = tmp_path / "links", tmp_path / "out"
    jaxlib_sha = serve_jax_split(index_server, links)
    code, doc, _ = plan_json(["jax", "--accelerator", "cpu", "-i", index_server.url, "-f", str(links), "--out", str(out)], capsys)
    assert code == 0
    jax_sha = hashlib.sha256(index_server.files[wheel_filename("jax", "0.4.99")].content or b"").hexdigest()

    lines = (out / "requirements.txt").read_text().replace("\\\n", "").splitlines()
    options = [line for line in lines if line.startswith("--")]
    assert options == ["--only-binary :all:", f"--index-url {index_server.url}", f"--find-links {links.as_uri()}"]
    pins = [line.split() for line in lines if not line.startswith(("#", "--"))]
    dtypes_sha = hashlib.sha256(index_server.files[wheel_filename("ml-dtypes", "0.5.1")].content or b"").hexdigest()
    assert pins == [
        ["jax==0.4.99", f"--hash=sha256:{jax_sha}"],
        ["jaxlib==0.4.99", f"--hash=sha256:{jaxlib_sha}"],
        ["ml-dtypes==0.5.1", f"--hash=sha256:{dtypes_sha}"],
    ]

    lock = read_lock(out / "pylock.toml")
    jax, jaxlib, _ = lock.packages
    assert (jax.name, jax.version, jax.index) == ("jax", Version("0.4.99"), index_server.url)
    (jax_wheel,) = jax.wheels or []
    assert jax_wheel.hashes == {"sha256": jax_sha} and jax_wheel.size == len(index_server.files[jax_wheel.filename].content or b"")
    assert jax_wheel.upload_time is not None and jax_wheel.upload_time.isoformat() == "2026-03-01T12:30:00.123456+00:00"
    (jaxlib_wheel,) = jaxlib.wheels or []
    assert jaxlib.index is None and jaxlib_wheel.url == (links / jaxlib_wheel.filename).as_uri()
    assert jaxlib_wheel.hashes == {"sha256": jaxlib_sha} and jaxlib_wheel.size == (links / jaxlib_wheel.filename).stat().st_size
    assert lock.requires_python is not None and lock.requires_python.contains(f"{sys.version_info[0]}.{sys.version_info[1]}.0")

    plan = doc["plan"]
    assert isinstance(plan, dict) and doc["written"] == [str(out / "requirements.txt"), str(out / "pylock.toml")]
    assert plan["commands"][2] == f"python -m pip install --require-hashes -r {out / 'requirements.txt'}"
    interpreter, _, rest = plan["commands"][0].partition(" ")
    assert rest == "-m venv .venv" and os.path.samefile(interpreter, sys.executable)  # the interpreter the pins are for


def test_without_out_the_commands_name_no_file(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    links = tmp_path / "links"
    serve_jax_split(index_server, links)
    code = main(["plan", "jax", "--accelerator", "cpu", "-i", index_server.url, "-f", str(links)])
    out = capsys.readouterr().out
    assert code == 0 and "requirements.txt" not in out.replace("--out DIR writes requirements.txt", "")
    install = (
        f"python -m pip install --only-binary :all: --index-url {index_server.url} --find-links {links.as_uri()}"
        " jax==0.4.99 jaxlib==0.4.99 ml-dtypes==0.5.1"
    )
    assert install in out
    assert not list(tmp_path.glob("*.txt")) and not list(tmp_path.glob("*.toml"))


def _bash(commands: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the commands as a user pastes them (uv from the tests' environment on PATH)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env |= {"UV_PYTHON_DOWNLOADS": "never", "UV_CACHE_DIR": str(cwd / "uv-cache"), "UV_NO_CONFIG": "1"}
    env.pop("VIRTUAL_ENV", None)
    script = " && ".join(["set -e", *commands])
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def _installed(venv: Path) -> dict[str, str]:
    code = "import importlib.metadata as m, json; print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    found = json.loads(subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True).stdout)
    return {k: v for k, v in found.items() if k in ("jax", "jaxlib", "ml-dtypes", "ml_dtypes")}


def test_pip_and_uv_install_exactly_what_plan_prints(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    links, out = tmp_path / "links", tmp_path / "out"
    serve_jax_split(index_server, links)
    _, doc, _ = plan_json(["jax", "--accelerator", "cpu", "-i", index_server.url, "-f", str(links), "--out", str(out)], capsys)
    plan = doc["plan"]
    assert isinstance(plan, dict)
    make_venv, activate, pip_install, _verify = plan["commands"]
    uv_requirements, uv_lock, pip_lock = plan["other_commands"]
    assert "--require-hashes" in pip_install and "--require-hashes" in uv_requirements
    wanted = {"jax": "0.4.99", "jaxlib": "0.4.99", "ml-dtypes": "0.5.1"}

    runs = {
        "pip-requirements": [make_venv, activate, pip_install],
        "uv-requirements": [make_venv, activate, uv_requirements],
        "uv-lock": [make_venv, activate, uv_lock],
    }
    for name, commands in runs.items():
        where = tmp_path / name
        where.mkdir()
        done = _bash(commands, where)
        assert done.returncode == 0, f"{name}: {done.stdout}\n{done.stderr}"
        assert _installed(where / ".venv") == wanted, name

    # pip reads pylock.toml from 26.1 on; the venv module bundles an older pip, so the venv gets
    # the tests' own pip first (no index needed), then runs plan's command as printed
    where = tmp_path / "pip-lock"
    where.mkdir()
    filename, wheel = installed_wheel("pip")
    (where / filename).write_bytes(wheel)
    done = _bash([make_venv, activate, f"python -m pip install -q --no-index ./{filename}", "python -m pip --version", pip_lock], where)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert Version(done.stdout.split()[1]) >= Version("26.1")
    assert _installed(where / ".venv") == wanted


def test_a_file_that_is_not_what_its_hash_says_is_refused_by_the_installers(
    index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    links, out = tmp_path / "links", tmp_path / "out"
    serve_jax_split(index_server, links)
    _, doc, _ = plan_json(["jax", "--accelerator", "cpu", "-i", index_server.url, "-f", str(links), "--out", str(out)], capsys)
    plan = doc["plan"]
    assert isinstance(plan, dict)
    # the find-links wheel changes after the plan hashed it
    (links / wheel_filename("jaxlib", "0.4.99")).write_bytes(make_wheel("jaxlib", "0.4.99", filler=1000))
    for install in (plan["commands"][2], plan["other_commands"][0]):
        where = tmp_path / install.split()[0]
        where.mkdir()
        done = _bash([*plan["commands"][:2], install], where)
        assert done.returncode != 0 and "jaxlib" in done.stdout + done.stderr
        assert "hash" in (done.stdout + done.stderr).lower()


def test_install_checks_hashes(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The page's sha256 for jaxlib is not the served file's: pip (with --require-hashes) stops."""
    index_server.add_wheel(wheel_filename("jax", "0.4.99"), make_wheel("jax", "0.4.99", requires_dist=["jaxlib==0.4.99"]))
    index_server.add_wheel(wheel_filename("jaxlib", "0.4.99"), make_wheel("jaxlib", "0.4.99"), sha256="0" * 64)
    venv = tmp_path / "env"
    code = main(["install", "jax", "--accelerator", "cpu", "--venv", str(venv), "-i", index_server.url, "--no-verify"])
    err = capsys.readouterr().err
    assert code == 1 and "nothing was changed" in err
    assert "0" * 64 in err and not venv.exists(), err


def test_the_users_index_replaces_the_stacks_own(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index_server.add_wheel(wheel_filename("torch", "2.13.0+cpu", "py3-none-any"), make_wheel("torch", "2.13.0+cpu"))
    out = tmp_path / "out"
    code, doc, _ = plan_json(["torch", "--accelerator", "cpu", "-t", "linux-x86_64", "-p", "3.12", "-i", index_server.url, "--out", str(out)], capsys)
    assert code == 0
    text = (out / "requirements.txt").read_text()
    assert f"--index-url {index_server.url}\n" in text and text.count("--index-url") == 1
    assert read_lock(out / "pylock.toml").packages[0].index == index_server.url
    assert doc["plan"]["commands"][0] == "python3.12 -m venv .venv"  # type: ignore[index]


def test_a_cpu_stack_that_resolves_to_cuda_builds_is_refused(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the default index's Linux torch: a plain version that pulls NVIDIA's CUDA libraries
    index_server.add_wheel(
        wheel_filename("torch", "2.13.0", "py3-none-any"),
        make_wheel("torch", "2.13.0", requires_dist=["nvidia-cublas-cu12==12.9.1; sys_platform == 'linux'"]),
    )
    index_server.add_wheel(wheel_filename("nvidia-cublas-cu12", "12.9.1"), make_wheel("nvidia-cublas-cu12", "12.9.1"))
    out = tmp_path / "out"
    argv = ["torch", "--accelerator", "cpu", "-t", "linux-x86_64", "-p", "3.12", "-i", index_server.url, "--out", str(out)]
    code, doc, _ = plan_json(argv, capsys)
    plan = doc["plan"]
    assert isinstance(plan, dict)
    assert code == 1 and not plan["ok"] and plan["cuda_pins"] == ["nvidia-cublas-cu12==12.9.1"]
    assert "CUDA builds" in plan["reason"] and plan["commands"] == [] and doc["written"] == [] and not out.exists()
    stack_index = plan["stack"]["index_url"]
    assert plan["fix"] == f"take the CPU builds from the stack's index: --index-url {stack_index} (keep yours as --extra-index-url {index_server.url})"

    assert main(["plan", *argv]) == 1
    shown = capsys.readouterr().out
    assert "nvidia-cublas-cu12==12.9.1" in shown and f"fix: take the CPU builds from the stack's index: --index-url {stack_index}" in shown


def test_credentials_stay_out_of_commands_and_files(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    links, out = tmp_path / "links", tmp_path / "out"
    serve_jax_split(index_server, links)
    secret_url = index_server.url.replace("http://", "http://alice:s3cr3t-pw@")
    code = main(["plan", "jax", "--accelerator", "cpu", "-i", secret_url, "-f", str(links), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    for text in (captured.out, captured.err, (out / "requirements.txt").read_text(), (out / "pylock.toml").read_text()):
        assert "s3cr3t" not in text and "alice" not in text
    assert "~/.netrc" in captured.out and "keyring" in captured.out
    assert f"--index-url {index_server.url}\n" in (out / "requirements.txt").read_text()
    assert "~/.netrc" in (out / "requirements.txt").read_text()
    assert read_lock(out / "pylock.toml").packages[0].index == index_server.url
    assert main(["plan", "jax", "--accelerator", "cpu", "-i", secret_url, "-f", str(links), "--json"]) == 0
    assert "s3cr3t" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://user:pw@host/simple/", "https://host/simple/"),
        ("https://TOKEN@host:8443/simple", "https://host:8443/simple"),
        ("https://host/simple/?token=abc&region=eu", "https://host/simple/?region=eu"),
        ("https://host/f.whl?X-Amz-Signature=1&api_key=2&Auth=3", "https://host/f.whl"),
        ("file:///opt/wheels", "file:///opt/wheels"),
    ],
)
def test_public_url(url: str, public: str) -> None:
    assert public_url(url) == public


def _pin(filename: str, name: str = "numpy", version: str = "2.1.3") -> LockedPin:
    return LockedPin(name, Version(version), LockedFile(filename, f"https://host/files/{filename}", "ab" * 32, "https://host/simple/"))


def test_a_macos_lock_admits_only_the_macs_its_wheels_run_on(tmp_path: Path) -> None:
    target = parse_target("macos-arm64@15", (3, 12))
    pins = [_pin("numpy-2.1.3-cp312-cp312-macosx_14_0_arm64.whl"), _pin("six-1.17.0-py2.py3-none-any.whl", "six", "1.17.0")]
    path = tmp_path / "pylock.toml"
    path.write_text(pylock_text(pylock(pins, target)))
    lock = read_lock(path)
    (environment,) = lock.environments or []
    assert str(environment) == 'platform_python_implementation == "CPython" and sys_platform == "darwin" and platform_machine == "arm64" and platform_release >= "23.0.0"', environment
    for version, runs in (("13", False), ("14", True), ("15", True)):
        assert environment.evaluate(dict(parse_target(f"macos-arm64@{version}", (3, 12)).markers)) is runs, version
    assert not environment.evaluate(dict(parse_target("macos-x86_64@15", (3, 12)).markers))
    assert lock.tool == {"wheelwise": {"target": "macos-arm64@15 / 3.12"}}


def test_a_linux_lock_states_the_glibc_it_needs(tmp_path: Path) -> None:
    target = parse_target("linux-x86_64@2.31", (3, 12))
    pins = [_pin("numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"), _pin("torch-2.13.0-cp312-cp312-manylinux_2_28_x86_64.whl", "torch", "2.13.0")]
    path = tmp_path / "pylock.toml"
    path.write_text(pylock_text(pylock(pins, target)))
    lock = read_lock(path)
    assert lock.tool == {"wheelwise": {"target": "linux-x86_64@2.31 / 3.12", "needs": "glibc >= 2.28"}}
    (environment,) = lock.environments or []
    assert environment.evaluate(dict(target.markers))


def test_an_invalid_lock_is_never_produced() -> None:
    target = parse_target("linux-x86_64", (3, 12))
    with pytest.raises(LockError, match="not consistent with package name"):
        pylock([_pin("numpy-2.1.3-cp312-cp312-manylinux_2_28_x86_64.whl", "scipy")], target)


def test_a_file_the_page_gives_no_hash_for_is_hashed_by_download(index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index_server.mode = "html"
    jax, jaxlib = make_wheel("jax", "0.4.99", requires_dist=["jaxlib==0.4.99"]), make_wheel("jaxlib", "0.4.99", filler=50_000)
    index_server.add_wheel(wheel_filename("jax", "0.4.99"), jax)
    index_server.add_wheel(wheel_filename("jaxlib", "0.4.99"), jaxlib, sha256="")  # listed without a hash
    out = tmp_path / "out"
    assert main(["plan", "jax", "--accelerator", "cpu", "-i", index_server.url, "--out", str(out)]) == 0
    hashes = {p.name: (p.wheels or [])[0].hashes["sha256"] for p in read_lock(out / "pylock.toml").packages}
    assert hashes == {"jax": hashlib.sha256(jax).hexdigest(), "jaxlib": hashlib.sha256(jaxlib).hexdigest()}
    whole = [r.path for r in index_server.requests(r"\.whl$") if r.range is None and r.method == "GET"]
    assert whole == ["/files/jaxlib-0.4.99-py3-none-any.whl"]  # only the file without a hash is read


def test_hashing_is_bounded(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.add_wheel(wheel_filename("jaxlib", "0.4.99"), make_wheel("jaxlib", "0.4.99", filler=50_000), sha256="")
    links = tmp_path / "links"
    links.mkdir()
    (links / wheel_filename("jax", "0.4.99")).write_bytes(make_wheel("jax", "0.4.99", filler=50_000))
    settings = IndexSettings(index_url=index_server.url, find_links=(links.as_uri(),))
    with PackageIndex(settings) as index:
        for name in ("jax", "jaxlib"):
            (file,) = index.project(name).files
            with pytest.raises(IndexFetchError, match="40000"):  # exit 3, naming the file and the bound
                lock_pins(index, {name: Candidate(name, file.version, file=file)}, limit=40_000)
            (pin,) = lock_pins(index, {name: Candidate(name, file.version, file=file)})
            assert pin.file.size is not None and pin.file.size > 50_000


def test_a_lock_for_a_real_mac_interpreter_states_its_floor_too() -> None:
    """A host target carries the interpreter's own tags and markers (here as a Mac on 15 reports them)."""
    mac = parse_target("macos-arm64@15", (3, 12))
    host = Target("host", "macos", "arm64", None, (3, 12), host_tags=tuple(str(t) for t in mac.tags), host_markers=mac.markers)
    marker, unstated = environment_marker(host, [_pin("numpy-2.1.3-cp312-cp312-macosx_14_0_arm64.whl").file])
    assert unstated is None
    assert not Marker(marker).evaluate(dict(parse_target("macos-arm64@13", (3, 12)).markers))
    assert Marker(marker).evaluate(dict(parse_target("macos-arm64@14", (3, 12)).markers))


def test_plan_honours_pips_constraint_and_only_binary(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for version in ("0.4.98", "0.4.99"):
        index_server.add_wheel(wheel_filename("jax", version), make_wheel("jax", version, requires_dist=[f"jaxlib=={version}"]))
        index_server.add_wheel(wheel_filename("jaxlib", version), make_wheel("jaxlib", version))
    argv = ["plan", "jax", "--accelerator", "cpu", "-i", index_server.url, "--json"]
    assert main(argv) == 0
    assert "jax==0.4.99" in json.loads(capsys.readouterr().out)["plan"]["pins"]
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("jax<0.4.99\n", encoding="utf-8")
    monkeypatch.setenv("PIP_CONSTRAINT", str(constraints))  # as pip reads it: the plan pins what pip installs
    assert main(argv) == 0
    assert "jax==0.4.98" in json.loads(capsys.readouterr().out)["plan"]["pins"]
    monkeypatch.delenv("PIP_CONSTRAINT")
    assert main([*argv, "--no-binary", "jaxlib"]) == 1  # jaxlib has only wheels here; pip would refuse them
    capsys.readouterr()


def test_no_index_stands_alone_on_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # --no-index takes no value: the options after it keep theirs, and pip reads the file
    links, out = tmp_path / "links", tmp_path / "out"
    links.mkdir()
    (links / wheel_filename("jax", "0.4.99")).write_bytes(make_wheel("jax", "0.4.99"))
    code, _, err = plan_json(["jax", "--accelerator", "cpu", "--no-index", "-f", str(links), "--out", str(out)], capsys)
    assert code == 0, err
    lines = (out / "requirements.txt").read_text().splitlines()
    assert [line for line in lines if line.startswith("--")] == ["--only-binary :all:", "--no-index", f"--find-links {links.as_uri()}"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")} | {"PIP_CONFIG_FILE": os.devnull}
    dry = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--require-hashes",
                          "-r", str(out / "requirements.txt")], capture_output=True, text=True, env=env, timeout=120)
    assert dry.returncode == 0, dry.stderr

"""Requirements files read as pip reads them, and pyproject [project] dependencies."""

from __future__ import annotations

from pathlib import Path

import pytest

from wheelwise.errors import BadInputError
from wheelwise.requirements import parse_requirement_line, read_project, read_requirements


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_pip_file_syntax(tmp_path: Path) -> None:
    write(tmp_path, "sub/more.txt", "# nested, relative to this file\nrequests>=2 \\\n    ; python_version >= '3.8'\n-c pins.txt\n")
    write(tmp_path, "sub/pins.txt", "urllib3<3\n")
    path = write(
        tmp_path,
        "req.txt",
        "# a comment\n"
        "\n"
        "tensorflow>=2.16,<2.20  # trailing comment\n"
        "torch[opt] == 2.5.1 ; sys_platform == 'linux' --hash=sha256:abcd\n"
        "jax\\\n"
        "lib==0.4.30\n"
        "numpy==${NUMPY_VERSION}\n"
        "-r sub/more.txt\n"
        "--extra-index-url https://mirror.invalid/simple\n"
        "-f wheels\n"
        "--prefer-binary\n",
    )
    got = read_requirements(path, environ={"NUMPY_VERSION": "1.26.4"})
    assert [str(r) for r in got.requirements] == [
        "tensorflow<2.20,>=2.16",
        'torch[opt]==2.5.1; sys_platform == "linux"',
        "jaxlib==0.4.30",
        "numpy==1.26.4",
        'requests>=2; python_version >= "3.8"',
    ]
    assert [r.where for r in got.requirements] == [f"{path}:3", f"{path}:4", f"{path}:5", f"{path}:7", f"{tmp_path}/sub/more.txt:2"]
    assert [str(c) for c in got.constraints] == ["urllib3<3"]
    assert got.extra_index_urls == ["https://mirror.invalid/simple"]
    assert got.find_links == [str(tmp_path / "wheels")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("good\nbad>>1\n", ":2: 'bad>>1' is not a valid requirement"),
        ("--only-binary\n", ":1: --only-binary needs a value"),
        ("x==1 --hash=md5:abc\n", ":1: --hash 'md5:abc' is not ALGORITHM:DIGEST"),
        ("x==1 --hash=sha256:xyz\n", ":1: --hash 'sha256:xyz': the digest is not hexadecimal"),
        ("--frobnicate\n", ":1: unknown option '--frobnicate'"),
        ("-r\n", ":1: -r needs a file name"),
        ("-r missing.txt\n", ":1: cannot read"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "req.txt", text)
    with pytest.raises(BadInputError) as caught:
        read_requirements(path)
    assert f"{path}{message}" in caught.value.message


def test_include_loop_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "-r b.txt\n")
    write(tmp_path, "b.txt", "-r a.txt\n")
    with pytest.raises(BadInputError, match="includes itself"):
        read_requirements(tmp_path / "a.txt")


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such file"):
        read_requirements(tmp_path / "absent.txt")
    with pytest.raises(BadInputError, match="it is a folder"):
        read_requirements(tmp_path)
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(BadInputError, match="cannot read"):
        read_requirements(tmp_path / "latin.txt")


def test_constraint_file_entries_only_narrow(tmp_path: Path) -> None:
    path = write(tmp_path, "c.txt", "numpy<2\n-r more.txt\n")
    write(tmp_path, "more.txt", "scipy<1.14\n")
    got = read_requirements(path, constraint=True)
    assert not got.requirements
    assert [str(c) for c in got.constraints] == ["numpy<2", "scipy<1.14"]


def test_project_dependencies_and_extras(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\nversion = "1"\ndependencies = ["numpy>=1.26"]\n'
          '[project.optional-dependencies]\nGPU = ["jax[cuda12]>=0.4"]\n')
    assert [str(r) for r in read_project(tmp_path).requirements] == ["numpy>=1.26"]
    got = read_project(tmp_path, ["gpu"]).requirements
    assert [str(r) for r in got] == ["numpy>=1.26", "jax[cuda12]>=0.4"]
    assert got[1].source.endswith("pyproject.toml [project] optional-dependencies.gpu")
    with pytest.raises(BadInputError, match="has no extra 'cpu'.*") as caught:
        read_project(tmp_path, ["cpu"])
    assert caught.value.hint == "extras there: GPU"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.x]\n", r"has no \[project\] table"),
        ('[project]\nname = "x"\ndynamic = ["dependencies"]\n', "declares its dependencies dynamic"),
        ("[project\n", "is not valid TOML"),
        ('[project]\ndependencies = ["ok", "not valid ("]\n', "is not a valid requirement"),
        # issue 13: a string where an array belongs must not be read letter by letter
        ('[project]\nname = "x"\ndependencies = "demo"\n',
         r"\[project\] dependencies must be an array of strings, not a str \('demo'\)"),
        ('[project]\ndependencies = ["a", 3]\n', r"\[project\] dependencies must be an array of strings, not an array"),
        ('[project]\ndynamic = "dependencies"\n', r"\[project\] dynamic must be an array of strings"),
        ('[project]\noptional-dependencies = ["gpu"]\n', r"\[project\] optional-dependencies must be a table"),
        ('[project]\n[project.optional-dependencies]\ngpu = "jax"\n',
         r"\[project\] optional-dependencies.gpu must be an array of strings"),
        ('[project]\nrequires-python = 3.12\n', r"\[project\] requires-python must be a string, not float"),
        ('[project]\nrequires-python = "3.12+"\n', r"requires-python '3.12\+' is not a valid version specifier"),
        ('[project]\nname = ["x"]\n', r"\[project\] name must be a string"),
    ],
)
def test_bad_projects(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "pyproject.toml", text)
    with pytest.raises(BadInputError, match=message):
        read_project(tmp_path)


def test_requirement_strings() -> None:
    assert parse_requirement_line(" torch>=2 ").name == "torch"
    with pytest.raises(BadInputError, match="empty requirement"):
        parse_requirement_line("  ")


def test_project_requires_python_is_kept(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "demo"\nrequires-python = ">=3.12"\ndependencies = []\n')
    (bound,) = read_project(tmp_path).requires_python
    assert (str(bound.specifier), bound.owner) == (">=3.12", "demo")
    assert bound.where.endswith("pyproject.toml [project] requires-python")


def test_choosing_options_and_hashes_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "req.txt",
                 "--only-binary :all:\n--no-binary=numpy,scipy\n--prefer-binary\n"
                 "numpy==2.0 --hash=sha256:AB12 \\\n    --hash sha512:cd34\nscipy==1.14 --hash=sha256:ef56\n")
    got = read_requirements(path)
    assert [str(r) for r in got.requirements] == ["numpy==2.0", "scipy==1.14"]
    assert got.formats == [("only-binary", ":all:"), ("no-binary", "numpy,scipy")]
    assert got.prefer_binary
    assert got.hashes == {"numpy": {("sha256", "ab12"), ("sha512", "cd34")}, "scipy": {("sha256", "ef56")}}


def test_lines_without_a_project_on_an_index_are_skipped_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, "req.txt",
                 "-e ./src\n"
                 "-e git+https://tok:secret@host.invalid/repo.git#egg=mine\n"
                 "lib @ https://user:pw@host.invalid/lib-1.0.tar.gz\n"
                 "./local/folder\n"
                 "tool @ file:///tmp/dist/tool-2.1-py3-none-any.whl\n"
                 "https://host.invalid/files/other_pkg-0.3-py3-none-any.whl\n"
                 "plain>=1\n")
    got = read_requirements(path)
    assert [(str(r), r.where) for r in got.requirements] == [
        ("tool==2.1", f"{path}:5"), ("other-pkg==0.3", f"{path}:6"), ("plain>=1", f"{path}:7"),
    ]
    assert len(got.warnings) == 6
    assert got.warnings[0].startswith(f"{path}:1: skipped '-e ./src': an editable install")
    assert got.warnings[2].startswith(f"{path}:3: skipped 'lib @ https://user:****@host.invalid/lib-1.0.tar.gz': a direct URL")
    assert got.warnings[3].startswith(f"{path}:4: skipped './local/folder': a local path")
    assert "checked as tool==2.1 from the index" in got.warnings[4]
    assert "secret" not in " ".join(got.warnings) and ":pw@" not in " ".join(got.warnings)


def test_pip_freeze_output_of_a_real_pip(tmp_path: Path) -> None:
    """What a real pip writes for a venv with an editable project and a wheel from a file."""
    import subprocess
    import sys
    import venv

    from helpers.wheels import make_wheel, wheel_filename

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False, system_site_packages=False)
    python = env_dir / "bin" / "python"
    wheel = tmp_path / wheel_filename("frozen-dep", "1.4")
    wheel.write_bytes(make_wheel("frozen-dep", "1.4"))
    project = tmp_path / "proj"
    write(project, "pyproject.toml", '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n')
    write(project, "backend.py", EDITABLE_BACKEND)
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    isolated = {"PIP_CONFIG_FILE": "/dev/null", "PIP_NO_INDEX": "1", "PATH": "/usr/bin:/bin"}
    run = subprocess.run([*pip, "install", "-q", str(wheel), "-e", str(project)], capture_output=True, text=True,
                         env=isolated, check=False)
    if "no such option: --python" in run.stderr:
        pytest.skip("this pip has no --python")
    assert run.returncode == 0, run.stderr
    frozen = subprocess.run([*pip, "freeze"], capture_output=True, text=True, env=isolated, check=True).stdout
    path = write(tmp_path, "frozen.txt", frozen)
    got = read_requirements(path)
    assert [str(r) for r in got.requirements] == ["frozen-dep==1.4"]
    assert any("an editable install" in w for w in got.warnings), frozen


#: a PEP 517/660 backend in one file, enough for pip to install the project editable
EDITABLE_BACKEND = '''
import base64, hashlib, os, zipfile

NAME, VERSION = "edit_me", "0.1"
DIST = f"{NAME}-{VERSION}.dist-info"

def _meta():
    return f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n"

def _wheel(directory, editable):
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    files = {f"{DIST}/METADATA": _meta(), f"{DIST}/WHEEL": "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    if editable:
        files[f"{NAME}.pth"] = os.path.dirname(os.path.abspath(__file__)) + "\\n"
    record = []
    with zipfile.ZipFile(os.path.join(directory, name), "w") as zf:
        for path, text in files.items():
            data = text.encode()
            zf.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
        record.append(f"{DIST}/RECORD,,")
        zf.writestr(f"{DIST}/RECORD", "\\n".join(record) + "\\n")
    return name

def get_requires_for_build_wheel(config_settings=None):
    return []

get_requires_for_build_editable = get_requires_for_build_wheel

def prepare_metadata_for_build_wheel(directory, config_settings=None):
    os.makedirs(os.path.join(directory, DIST))
    with open(os.path.join(directory, DIST, "METADATA"), "w") as f:
        f.write(_meta())
    return DIST

prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel

def build_wheel(directory, config_settings=None, metadata_directory=None):
    return _wheel(directory, False)

def build_editable(directory, config_settings=None, metadata_directory=None):
    return _wheel(directory, True)
'''


def test_pylock_toml_is_read_as_a_lock(tmp_path: Path) -> None:
    write(tmp_path, "pylock.toml",
          'lock-version = "1.0"\ncreated-by = "hand-written for this test"\nrequires-python = ">=3.10"\n'
          '[[packages]]\nname = "numpy"\nversion = "2.1.0"\nmarker = "sys_platform == \'linux\'"\n'
          '[[packages.wheels]]\nname = "numpy-2.1.0-py3-none-any.whl"\nurl = "https://host.invalid/numpy-2.1.0-py3-none-any.whl"\n'
          'hashes = {sha256 = "ab"}\n'
          '[[packages]]\nname = "mine"\n[packages.directory]\npath = "."\n')
    got = read_requirements(tmp_path / "pylock.toml")
    assert [str(r) for r in got.requirements] == ['numpy==2.1.0; sys_platform == "linux"']
    assert [str(b.specifier) for b in got.requires_python] == [">=3.10"]
    assert got.warnings == [f"{tmp_path}/pylock.toml [[packages]] mine: skipped: a directory package, not from an index"]


def test_invalid_pylock_names_the_problem(tmp_path: Path) -> None:
    write(tmp_path, "pylock.toml", 'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\nversion = "1"\n'
          '[[packages.wheels]]\nname = "a-1-py3-none-any.whl"\nurl = "https://host.invalid/a.whl"\nhashes = {}\n')
    with pytest.raises(BadInputError, match="is not a valid PEP 751 lock"):
        read_requirements(tmp_path / "pylock.toml")


def test_dependency_groups(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml",
          '[project]\nname = "x"\ndependencies = ["numpy"]\n'
          '[dependency-groups]\nTest = ["pytest>=8", {include-group = "lint"}]\nlint = ["ruff"]\n'
          'loop-a = [{include-group = "loop_b"}]\nloop-b = [{include-group = "loop-a"}]\nbad = [3]\n')
    got = read_project(tmp_path, groups=["test"])
    assert [str(r) for r in got.requirements] == ["numpy", "pytest>=8", "ruff"]
    assert got.requirements[1].source.endswith("pyproject.toml [dependency-groups] Test")
    from wheelwise.requirements import read_groups

    only = read_groups([f"{tmp_path / 'pyproject.toml'}:lint"])
    assert [str(r) for r in only.requirements] == ["ruff"]
    with pytest.raises(BadInputError, match="includes itself"):
        read_project(tmp_path, groups=["loop-a"])
    with pytest.raises(BadInputError, match="has no dependency group 'docs'"):
        read_project(tmp_path, groups=["docs"])
    with pytest.raises(BadInputError, match=r"\[dependency-groups\] bad holds 3"):
        read_project(tmp_path, groups=["bad"])

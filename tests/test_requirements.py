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
        ("-e ./src\n", ":1: editable requirement"),
        ("https://host.invalid/x.whl\n", ":1: 'https://host.invalid/x.whl' is a path or URL"),
        ("pkg @ https://host.invalid/pkg.whl\n", ":1: 'pkg @ https://host.invalid/pkg.whl' is a direct URL requirement"),
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
    assert [str(r) for r in read_project(tmp_path)] == ["numpy>=1.26"]
    got = read_project(tmp_path, ["gpu"])
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

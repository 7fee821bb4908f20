"""Small real distributions built by the tests: wheels (zip) and sdists (tar.gz)."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import zipfile
from collections.abc import Iterable, Mapping

__all__ = ["installed_wheel", "make_metadata", "make_sdist", "make_wheel", "wheel_filename"]


def make_metadata(
    name: str,
    version: str,
    *,
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    provides_extra: Iterable[str] = (),
    metadata_version: str = "2.1",
    dynamic: Iterable[str] = (),
    description: str = "",
) -> bytes:
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {e}" for e in provides_extra]
    lines += [f"Requires-Dist: {r}" for r in requires_dist]
    lines += [f"Dynamic: {d}" for d in dynamic]
    text = "\n".join(lines) + "\n"
    if description:
        text += "\n" + description
    return text.encode()


def wheel_filename(name: str, version: str, tag: str = "py3-none-any") -> str:
    return f"{name.replace('-', '_')}-{version}-{tag}.whl"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(
    name: str,
    version: str,
    tag: str = "py3-none-any",
    *,
    metadata: bytes | None = None,
    files: Mapping[str, bytes] | None = None,
    filler: int = 0,
    omit_metadata: bool = False,
    compression: int = zipfile.ZIP_DEFLATED,
    comment: bytes = b"",
    dist_info_first: bool = False,
    **metadata_fields: object,
) -> bytes:
    """A real wheel: package files, then ``.dist-info`` (METADATA, WHEEL, RECORD) last.

    :param filler: bytes of incompressible data in a module, to make the wheel big.
    :param compression: how members are stored (zipfile's constants).
    :param comment: the archive comment (after the end-of-central-directory record).
    :param dist_info_first: write ``.dist-info`` first (some tools do), not last.
    """
    dist = f"{name.replace('-', '_')}-{version}.dist-info"
    pkg = name.replace("-", "_")
    contents: dict[str, bytes] = {f"{pkg}/__init__.py": b"VALUE = 1\n", **(files or {})}
    if filler:
        contents[f"{pkg}/_filler.bin"] = os.urandom(filler)
    if not omit_metadata:
        contents[f"{dist}/METADATA"] = metadata or make_metadata(name, version, **metadata_fields)  # type: ignore[arg-type]
    contents[f"{dist}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: {tag}\n".encode()
    record = [_record_line(p, d) for p, d in contents.items()] + [f"{dist}/RECORD,,"]
    contents[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    if dist_info_first:
        contents = dict(sorted(contents.items(), key=lambda item: ".dist-info/" not in item[0]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        for path, data in contents.items():
            zf.writestr(path, data)
        zf.comment = comment
    return buffer.getvalue()


def make_sdist(
    name: str,
    version: str,
    *,
    metadata_version: str = "2.2",
    dynamic: Iterable[str] = (),
    files: Mapping[str, bytes] | None = None,
    **metadata_fields: object,
) -> bytes:
    """A real ``.tar.gz`` sdist with PKG-INFO and the given source files."""
    top = f"{name.replace('-', '_')}-{version}"
    contents = {
        "PKG-INFO": make_metadata(name, version, metadata_version=metadata_version, dynamic=dynamic, **metadata_fields),  # type: ignore[arg-type]
        "pyproject.toml": b'[build-system]\nrequires = ["setuptools"]\n',
        **(files or {f"{name.replace('-', '_')}/__init__.py": b""}),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for path, data in contents.items():
            info = tarfile.TarInfo(f"{top}/{path}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def installed_wheel(project: str) -> tuple[str, bytes]:
    """A wheel of a distribution installed in the tests' own environment, repacked from its files.

    For giving a fresh venv a newer pip without an index (the venv module bundles an older one).
    """
    import importlib.metadata  # noqa: PLC0415 - only this helper needs it

    dist = importlib.metadata.distribution(project)
    buffer = io.BytesIO()
    skip = {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        record = []
        for path in dist.files or []:
            name = path.as_posix()
            if name.startswith("..") or "__pycache__" in name or path.name in skip:
                continue
            data = path.locate().read_bytes()
            zf.writestr(name, data)
            record.append(_record_line(name, data))
        dist_info = f"{project}-{dist.version}.dist-info"
        zf.writestr(f"{dist_info}/RECORD", "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n")
    return wheel_filename(project, dist.version), buffer.getvalue()

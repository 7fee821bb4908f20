"""Record real index data for the hermetic tests (tests/data/index).

    python tools/record.py [--out DIR] [--versions N] [--dep-versions M] [--depth D] REQ...

Walks the dependency graph from REQ on the live main index (pip's default, or
--index-url), and writes, per project, a page of the files it keeps
(``<name>.json``, URLs relative) and each kept file's core metadata trimmed to
the fields resolution reads (``metadata/<file>.metadata``).  Sdists are kept
as trimmed archives (``files/<sdist>``): the real PKG-INFO and the real member
names, with empty contents, so that "pure Python or native?" can still be
told from them.

What is kept: the newest N releases of each requested project and the newest
M of each dependency, plus for every specifier a parent puts on a project the
newest M releases that satisfy it; wheels for the platforms wheelwise's
targets use (macOS, manylinux/glibc x86_64 and aarch64, Windows amd64/arm64,
pure), and sdists of versions that have no wheel.  Extras are followed only
where a requirement names them.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import gzip
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from wheelwise.cache import Cache, default_cache_dir  # noqa: E402
from wheelwise.index import IndexSettings, PackageIndex, parse_core_metadata, pip_default_index  # noqa: E402
from wheelwise.index.simple import DistFile  # noqa: E402

KEEP_FIELDS = ("metadata-version", "name", "version", "requires-python", "requires-dist", "provides-extra", "dynamic")
PLATFORM_WORDS = ("any", "macosx", "manylinux", "win_amd64", "win_arm64", "linux_x86_64", "linux_aarch64")
DROP_WORDS = ("i686", "ppc64", "s390x", "armv7", "musllinux", "win32", "riscv")


def platform_kept(file: DistFile) -> bool:
    if not file.is_wheel:
        return True
    if all(t.interpreter.startswith(("pp", "graalpy", "cp2", "cp35", "cp36", "cp37")) for t in file.tags):
        return False
    plats = {t.platform for t in file.tags}
    return any(any(w in p for w in PLATFORM_WORDS) and not any(d in p for d in DROP_WORDS) for p in plats)


def trim_metadata(raw: bytes) -> bytes:
    """Only the header fields resolution reads; no description, no URLs."""
    text = raw.decode("utf-8", "replace").replace("\r\n", "\n")
    head = text.split("\n\n", 1)[0]
    lines, keep = [], False
    for line in head.split("\n"):
        if line[:1] in (" ", "\t"):
            if keep:
                lines.append(line)
            continue
        keep = line.split(":", 1)[0].strip().lower() in KEEP_FIELDS
        if keep:
            lines.append(line)
    return ("\n".join(lines) + "\n").encode()


def trimmed_sdist(index: PackageIndex, file: DistFile, pkg_info: bytes) -> bytes:
    """The sdist's member names with empty contents, and its real (trimmed) PKG-INFO."""
    spool = io.BytesIO()
    index.fetcher.download(file.url, spool, limit=1 << 30)
    data = spool.getvalue()
    names: list[str] = []
    if file.filename.endswith(".zip"):
        import zipfile

        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
    else:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
            names = [m.name for m in tf.getmembers() if m.isfile()]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name in names:
            content = pkg_info if name.count("/") == 1 and name.endswith("/PKG-INFO") else b""
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tf.addfile(info, io.BytesIO(content))
    return gzip.compress(out.getvalue(), mtime=0)


def select_versions(versions: list[Version], specs: list[Requirement], newest: int, per_spec: int) -> set[Version]:
    finals = [v for v in versions if not v.is_prerelease]
    chosen = set(finals[:newest])
    for req in specs:
        chosen.update(list(req.specifier.filter(versions))[:per_spec])
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("requirements", nargs="+")
    parser.add_argument("--out", type=Path, default=Path("tests/data/index"))
    parser.add_argument("--index-url", default=None)
    parser.add_argument("--versions", type=int, default=10, help="newest releases kept of a requested project")
    parser.add_argument("--dep-versions", type=int, default=2, help="newest releases kept of a dependency")
    parser.add_argument("--depth", type=int, default=6)
    args = parser.parse_args(argv)

    settings = IndexSettings(index_url=args.index_url or pip_default_index())
    index = PackageIndex(settings, cache=Cache(default_cache_dir()), workers=24)
    roots = [Requirement(r) for r in args.requirements]
    specs: dict[str, list[Requirement]] = collections.defaultdict(list)
    depth: dict[str, int] = {}
    for req in roots:
        specs[canonicalize_name(req.name)].append(req)
        depth[canonicalize_name(req.name)] = 0
    selected: dict[str, set[Version]] = {}
    kept_files: dict[str, list[DistFile]] = collections.defaultdict(list)
    metadata: dict[str, bytes] = {}
    sdists: dict[str, bytes] = {}
    level = [canonicalize_name(r.name) for r in roots]
    while level:
        level = sorted(set(level))
        index.prefetch(names=level)
        next_level: list[str] = []
        for name in level:
            page = index.project(name)
            if not page.files:
                if name not in kept_files:
                    print(f"  {name}: not on the index", file=sys.stderr)
                kept_files[name] = []
                continue
            newest = args.versions if depth[name] == 0 else args.dep_versions
            # a project met again under new specifiers gets the versions they add
            versions = select_versions(page.versions(), specs[name], newest, args.dep_versions)
            versions -= selected.setdefault(name, set())
            if not versions:
                continue
            selected[name] |= versions
            files = [f for f in page.files if f.version in versions and platform_kept(f)]
            with_wheels = {f.version for f in files if f.is_wheel}
            files = [f for f in files if f.is_wheel or f.version not in with_wheels]
            kept_files[name].extend(files)
            print(f"  {name}: +{len(versions)} versions, {len(files)} files", file=sys.stderr)
            extras = {e for r in specs[name] for e in r.extras}
            for f, got in zip(files, index.map(index.metadata, files), strict=True):
                raw = got.raw  # type: ignore[attr-defined]
                metadata[f.filename] = trim_metadata(raw)
                if not f.is_wheel:
                    sdists[f.filename] = trimmed_sdist(index, f, metadata[f.filename])
                if depth[name] >= args.depth:
                    continue
                for dep in parse_core_metadata(raw).requires_dist:
                    try:
                        req = Requirement(dep)
                    except InvalidRequirement:
                        print(f"  {f.filename}: skipped invalid requirement {dep!r}", file=sys.stderr)
                        continue
                    if req.marker and "extra" in str(req.marker) and not any(
                        req.marker.evaluate({"extra": e}) for e in extras
                    ):
                        continue
                    dep_name = canonicalize_name(req.name)
                    if str(req) not in {str(s) for s in specs[dep_name]}:
                        specs[dep_name].append(req)
                    depth.setdefault(dep_name, depth[name] + 1)
                    next_level.append(dep_name)
        # a project seen again with new specifiers gets its extra versions too
        level = next_level
    write(args.out, kept_files, metadata, sdists)
    stats = index.fetcher.stats
    print(f"recorded {len(kept_files)} projects, {len(metadata)} files; {stats.total_requests()} requests", file=sys.stderr)
    index.close()
    return 0


def write(out: Path, kept: dict[str, list[DistFile]], metadata: dict[str, bytes], sdists: dict[str, bytes]) -> None:
    """One JSON page per project; metadata texts stored once per project, by hash."""
    (out / "files").mkdir(parents=True, exist_ok=True)
    today = datetime.date.today().isoformat()
    for name, files in sorted(kept.items()):
        entries = []
        texts: dict[str, str] = {}
        for f in sorted(files, key=lambda f: (f.version, f.filename), reverse=True):
            text = metadata[f.filename]
            digest = hashlib.sha256(text).hexdigest()
            texts[digest] = text.decode()
            entry: dict[str, object] = {"filename": f.filename, "url": f"../../files/{f.filename}"}
            if f.filename not in sdists:  # a trimmed sdist's hash is computed when served
                entry["hashes"] = dict(f.hashes)
            if f.requires_python:
                entry["requires-python"] = f.requires_python
            if f.yanked is not None:
                entry["yanked"] = f.yanked
            entry["core-metadata"] = {"sha256": digest}
            entries.append(entry)
            if f.filename in sdists:
                (out / "files" / f.filename).write_bytes(sdists[f.filename])
        doc = {"name": name, "recorded": today, "files": entries, "metadata": texts}
        (out / f"{name}.json").write_text(json.dumps(doc, indent=0, sort_keys=True) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())

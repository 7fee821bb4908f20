"""Project pages of the simple repository API: PEP 503 HTML and PEP 691 JSON.

Pure: text in, records out, no I/O.  Keeps what resolution needs and what
the index says about each file: hashes, ``requires-python``, yanked (PEP 592)
and whether core metadata is served beside the file (PEP 658, PEP 714).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import html
import html.parser
import json
import re
import sys
import types
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from packaging.tags import Tag, parse_tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from ..errors import IndexFetchError
from .limits import LIMITS
from .stamps import body_crc

__all__ = [
    "JSON_CONTENT_TYPE",
    "DistFile",
    "ProjectPage",
    "SimpleParseError",
    "is_distribution",
    "parse_filename",
    "parse_html",
    "parse_json",
    "parse_page",
    "variant_label",
]

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
#: Accept header preferring PEP 691 JSON, as pip sends it.
ACCEPT = f"{JSON_CONTENT_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

#: ``True`` when metadata is served without a hash, a hash mapping, or False.
CoreMetadata = bool | Mapping[str, str]


class SimpleParseError(ValueError):
    """A page is not a simple-API page this module can read."""


_NO_HASHES: Mapping[str, str] = types.MappingProxyType({})


@dataclasses.dataclass(frozen=True, slots=True)
class DistFile:
    """One file of a project, as the index lists it.

    :param url: absolute URL of the file (fragment removed).
    :param yanked: ``None`` when not yanked, else the reason (may be ``""``).
    :param core_metadata: PEP 658/714: ``False`` when not served, ``True`` or
        the metadata file's hashes when ``url + ".metadata"`` exists.
    """

    filename: str
    url: str
    hashes: Mapping[str, str] = dataclasses.field(default_factory=lambda: _NO_HASHES)
    requires_python: str | None = None
    yanked: str | None = None
    core_metadata: CoreMetadata = False
    size: int | None = None
    #: PEP 700 ``upload-time`` (ISO 8601), as the page gives it
    upload_time: str | None = None

    def __post_init__(self) -> None:
        # A big page lists tens of thousands of files (slots, and one copy of each
        # Requires-Python text, keep a check's memory down): the same few texts repeat.
        if self.requires_python is not None:
            object.__setattr__(self, "requires_python", sys.intern(self.requires_python))

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def name(self) -> NormalizedName:
        return parse_filename(self.filename)[0]

    @property
    def version(self) -> Version:
        return parse_filename(self.filename)[1]

    @property
    def tags(self) -> frozenset[Tag]:
        """Wheel tags; empty for an sdist."""
        return parse_filename(self.filename)[2]

    @property
    def metadata_url(self) -> str:
        return self.url + ".metadata"

    @property
    def variant(self) -> str | None:
        """The PEP 825 variant label of a variant wheel (``cu128``, ``null``); ``None`` otherwise."""
        return variant_label(self.filename)

    @property
    def is_variants_json(self) -> bool:
        """An index-level ``{name}-{version}-variants.json`` (PEP 825), not a distribution."""
        return self.filename.endswith(VARIANTS_JSON)

    def to_dict(self) -> dict[str, Any]:
        """The fields that differ from their defaults (a page of 40,000 files stays small)."""
        data: dict[str, Any] = {"filename": self.filename, "url": self.url}
        if self.hashes:
            data["hashes"] = dict(self.hashes)
        if self.requires_python is not None:
            data["requires_python"] = self.requires_python
        if self.yanked is not None:
            data["yanked"] = self.yanked
        if self.core_metadata:
            data["core_metadata"] = dict(self.core_metadata) if isinstance(self.core_metadata, Mapping) else True
        if self.size is not None:
            data["size"] = self.size
        if self.upload_time is not None:
            data["upload_time"] = self.upload_time
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DistFile:
        return cls(**{k: v for k, v in data.items() if k in _FIELDS})


_FIELDS = frozenset(f.name for f in dataclasses.fields(DistFile))


#: the first line of a page as the cache stores it (:meth:`ProjectPage.to_json`)
_STORED_FORMAT = "wheelwise-page 3"


def _stored_url(url: str, filename: str) -> str | list[str]:
    """A file's URL as a row keeps it: without the file name when it ends with it (the text then
    ends with ``/``); a URL that itself ends with ``/`` is kept whole, in a list."""
    if url.endswith("/" + filename):
        return url[: -len(filename)]
    return [url] if url.endswith("/") else url


def _row(f: DistFile) -> list[Any]:
    """One file as a compact JSON row: defaults trimmed from the end, the URL without its file
    name when it ends with it, a lone sha256 as its digest."""
    url = _stored_url(f.url, f.filename)
    hashes: object = None
    if f.hashes:
        hashes = f.hashes["sha256"] if len(f.hashes) == 1 and "sha256" in f.hashes else dict(f.hashes)
    metadata = dict(f.core_metadata) if isinstance(f.core_metadata, Mapping) else f.core_metadata
    row = [f.filename, url, hashes, f.requires_python, f.yanked, metadata, f.size, f.upload_time]
    while len(row) > 2 and (row[-1] is None or row[-1] is False):
        row.pop()
    return row


def _from_row(row: list[Any]) -> DistFile:
    if not isinstance(row, list) or not 2 <= len(row) <= 8:
        raise SimpleParseError("a stored file row has the wrong shape")
    filename, url, hashes, requires_python, yanked, metadata, size, upload = row + [None] * (8 - len(row))
    if isinstance(url, list) and len(url) == 1:
        url = url[0]
    elif isinstance(url, str) and url.endswith("/"):
        url += filename
    if not isinstance(filename, str) or not isinstance(url, str) or not filename:
        raise SimpleParseError("a stored file row has the wrong shape")
    return DistFile(
        filename=filename,
        url=url,
        hashes={"sha256": hashes} if isinstance(hashes, str) else (hashes or {}),
        requires_python=requires_python,
        yanked=yanked,
        core_metadata=metadata or False,
        size=size,
        upload_time=upload,
    )


def _encode(files: Iterable[DistFile]) -> str:
    return json.dumps([_row(f) for f in files], separators=(",", ":"))


class ProjectPage:
    """Every distribution file the index lists for one project, grouped by version.

    A big page lists tens of thousands of files, of which a check looks at a few versions:
    each version's files are kept as compact text and made into :class:`DistFile` records
    when first asked for (:meth:`release`).  Threads may share a page: at worst two of them
    decode the same version.
    """

    __slots__ = ("_groups", "name", "url", "variants_json")

    def __init__(
        self, name: NormalizedName, url: str, files: Iterable[DistFile] = (), variants_json: Iterable[DistFile] = ()
    ) -> None:
        self.name = name
        self.url = url
        #: PEP 825 ``{name}-{version}-variants.json`` files the page links (never among :meth:`release`)
        variants = list(variants_json)
        grouped: dict[str, list[DistFile]] = {}
        for f in files:
            if f.is_variants_json:
                variants.append(f)
            else:
                grouped.setdefault(version_text(f.filename), []).append(f)
        self.variants_json: tuple[DistFile, ...] = tuple(variants)
        #: version text (as file names spell it) -> its files, as text until first asked for
        self._groups: dict[str, str | tuple[DistFile, ...]] = {text: _encode(fs) for text, fs in grouped.items()}

    @property
    def files(self) -> tuple[DistFile, ...]:
        """Every file (decodes them all: for a whole-page view, not for resolution)."""
        return tuple(f for text in self._groups for f in self.release(text))

    def version_texts(self) -> list[str]:
        """The versions as the file names spell them, in the page's order."""
        return list(self._groups)

    def release(self, text: str) -> tuple[DistFile, ...]:
        """The files whose names spell the version *text*; none for a text the page lacks.

        :raises IndexFetchError: the version's line does not read (only a stored page altered
            behind its checksum's back can hold such a line; a fresh page never does).
        """
        group = self._groups.get(text, ())
        if isinstance(group, str):
            try:
                rows = json.loads(group)
                group = tuple(_from_row(row) for row in rows)
            except (ValueError, TypeError, RecursionError) as exc:
                raise IndexFetchError(
                    f"the cached page of {self.name} cannot be read: {exc!r}",
                    url=self.url.split(" ")[0],  # stored without credentials
                    hint="`wheelwise cache clear` empties the cache; the next check reads the page from the index again",
                ) from exc
            self._groups[text] = group
        return group

    def files_of(self, version: Version) -> tuple[DistFile, ...]:
        """The files of one version, however their names spell it (``1.0``, ``1.0.0``)."""
        found: list[DistFile] = []
        for text in self._groups:
            with contextlib.suppress(ValueError):
                if Version(text) == version:
                    found.extend(self.release(text))
        return tuple(found)

    def lists(self, filename: str) -> bool:
        """Whether the page lists a file of that name."""
        return any(f.filename == filename for f in self.release(version_text(filename)))

    def versions(self) -> list[Version]:
        """Distinct versions, newest first."""
        found: set[Version] = set()
        for text in self._groups:
            with contextlib.suppress(ValueError):
                found.add(Version(text))
        return sorted(found, reverse=True)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ProjectPage):
            return NotImplemented
        return (self.name, self.url, self.files, self.variants_json) == (other.name, other.url, other.files, other.variants_json)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ProjectPage(name={self.name!r}, url={self.url!r}, versions={len(self._groups)})"

    def to_json(self) -> str:
        """The page as the cache stores it: a header line, then a line per version."""
        body = "\n".join(f"{text}\t{group if isinstance(group, str) else _encode(group)}" for text, group in self._groups.items())
        head = json.dumps({
            "name": self.name, "url": self.url, "variants": [_row(f) for f in self.variants_json], "crc": body_crc(body),
        })
        return f"{_STORED_FORMAT}\n{head}\n{body}"

    @classmethod
    def from_json(cls, text: str) -> ProjectPage:
        """A page stored by :meth:`to_json`; its versions are decoded when first asked for.

        :raises SimpleParseError: the stored text is damaged, or from another format.
        """
        stored, _, rest = text.partition("\n")
        if stored != _STORED_FORMAT:
            raise SimpleParseError("a stored page is in another format")
        first, _, body = rest.partition("\n")
        try:
            head = json.loads(first)
            if head["crc"] != body_crc(body):  # cut short or altered: a miss, not a failure later on
                raise ValueError("its checksum does not match")
            page = cls(canonicalize_name(head["name"]), head["url"], (), [_from_row(r) for r in head["variants"]])
            if not isinstance(page.url, str):
                raise TypeError("url")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            raise SimpleParseError(f"a stored page is damaged: {exc!r}") from exc
        for line in body.split("\n") if body else ():
            version, tab, rows = line.partition("\t")
            if not tab or not rows.startswith("["):
                raise SimpleParseError("a stored page is damaged: a line without its version")
            page._groups[version] = rows
        return page


_FILENAME_CACHE: dict[str, tuple[NormalizedName, Version, frozenset[Tag]]] = {}
#: names remembered at most (each holds its text, a Version and a tag set)
_FILENAME_CACHE_MAX = 1 << 14


def parse_filename(filename: str) -> tuple[NormalizedName, Version, frozenset[Tag]]:
    """Name, version and tags of a wheel or sdist file name.

    :raises ValueError: for names that are neither a valid wheel nor sdist.
    """
    hit = _FILENAME_CACHE.get(filename)
    if hit is not None:
        return hit
    if len(_FILENAME_CACHE) >= _FILENAME_CACHE_MAX:
        _FILENAME_CACHE.clear()  # a run reads some 100,000 names: keep the recent ones only
    if filename.endswith(".whl"):
        # An index lists thousands of wheels sharing a few name-version prefixes and tag
        # triples: packaging checks each prefix once (with a stand-in tag) and each triple is
        # parsed once.  Same checks, same result as parse_wheel_filename on the whole name.
        # A PEP 825 variant label (packaging cannot parse it yet) is set aside first.
        stem = filename[: -len(".whl")]
        parts = stem.split("-")
        if len(parts) == 5:  # the usual name: no build tag, no label
            result = _usual_wheel(parts)
        else:
            label = variant_label(filename)
            prefix, _, triple = (stem[: -len(label) - 1] if label else stem).rpartition("-")
            prefix, _, abi = prefix.rpartition("-")
            prefix, _, interpreter = prefix.rpartition("-")
            name, version = _wheel_prefix(prefix)
            result = (name, version, _tags(f"{interpreter}-{abi}-{triple}"))
    elif filename.endswith(VARIANTS_JSON):
        name, version = _wheel_prefix(filename[: -len(VARIANTS_JSON)])
        result = (name, version, frozenset())
    else:
        name, version = parse_sdist_filename(filename)
        result = (name, version, frozenset())
    _FILENAME_CACHE[filename] = result
    return result


#: the end of a PEP 825 index-level variant metadata file's name
VARIANTS_JSON = "-variants.json"
#: PEP 825: a variant label is 1-16 of ``0-9 a-z _ .``
_LABEL = re.compile(r"[0-9a-z_.]{1,16}")


@functools.lru_cache(maxsize=1 << 13)
def variant_label(filename: str) -> str | None:
    """The PEP 825 variant label of a wheel file name, ``None`` for a plain wheel (or not a wheel).

    ``{name}-{version}(-{build})?-{python}-{abi}-{platform}(-{label})?.whl``: six parts are a
    build tag (it starts with a digit) or a label (a Python tag never does); seven have both.
    """
    if not filename.endswith(".whl"):
        return None
    parts = filename[: -len(".whl")].split("-")
    if len(parts) == 7 or (len(parts) == 6 and not parts[2][:1].isdigit()):
        return parts[-1] if _LABEL.fullmatch(parts[-1]) else None
    return None


def _usual_wheel(parts: list[str]) -> tuple[NormalizedName, Version, frozenset[Tag]]:
    """Name, version and tags of the usual wheel name split at its dashes (five parts: no build
    tag, no label); each name-version prefix and tag triple is checked once.

    :raises ValueError: a part packaging refuses.
    """
    name, version = _wheel_prefix(f"{parts[0]}-{parts[1]}")
    return name, version, _tags(f"{parts[2]}-{parts[3]}-{parts[4]}")


@functools.lru_cache(maxsize=1 << 14)
def _wheel_prefix(prefix: str) -> tuple[NormalizedName, Version]:
    name, version, _build, _tags = parse_wheel_filename(f"{prefix}-py3-none-any.whl")
    return name, version


@functools.lru_cache(maxsize=1 << 12)
def _tags(triple: str) -> frozenset[Tag]:
    return parse_tag(triple)


def version_text(filename: str) -> str:
    """The version part of a distribution file name, without parsing its tags (fast path)."""
    if filename.endswith(".whl"):
        return filename.split("-")[1]
    stem = filename[: -len(".tar.gz")] if filename.endswith(".tar.gz") else filename.rsplit(".", 1)[0]
    return stem.rsplit("-", 1)[-1]


def _project_of(filename: str) -> NormalizedName | None:
    """The project a distribution file (or its PEP 825 variants.json) belongs to; None when
    the name is not a distribution's."""
    try:
        return parse_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return None


def is_distribution(filename: str) -> bool:
    return _project_of(filename) is not None


def _unwanted(filename: str, wanted: str | None) -> bool:
    """Not a distribution, or (with *wanted*) another project's."""
    project = _project_of(filename)
    return project is None or (wanted is not None and project != wanted)


def _hashes_from_fragment(url: str) -> tuple[str, dict[str, str]]:
    base, _, fragment = url.partition("#")
    hashes: dict[str, str] = {}
    for part in fragment.split("&"):
        algo, sep, value = part.partition("=")
        if sep and algo in {"sha256", "sha384", "sha512", "md5", "sha1", "sha224"}:
            hashes[algo] = value
    return base, hashes


def _core_metadata_attr(value: str | None) -> CoreMetadata:
    """Read ``data-core-metadata`` / ``data-dist-info-metadata`` (PEP 714)."""
    if value is None:
        return False
    if value.lower() == "true":
        return True
    algo, sep, digest = value.partition("=")
    return {algo: digest} if sep else False


def _filename_of(url: str) -> str:
    if "?" in url or "#" in url:
        url = urllib.parse.urlsplit(url).path
    last = url.rsplit("/", 1)[-1]
    return urllib.parse.unquote(last) if "%" in last else last


class _Joiner:
    """``urljoin(base, href)`` for the hrefs of one page; each directory is joined once."""

    def __init__(self, base: str) -> None:
        self.base = base
        self._dirs: dict[str, str] = {}

    def __call__(self, href: str) -> str:
        if href.startswith(("https://", "http://")) and "/." not in href:
            return href
        head, slash, leaf = href.rpartition("/")
        if not slash or leaf in (".", "..") or leaf.startswith(("?", "#")) or "?" in leaf:
            return urllib.parse.urljoin(self.base, href)
        joined = self._dirs.get(head)
        if joined is None:
            joined = self._dirs[head] = urllib.parse.urljoin(self.base, head + "/")
        return joined + leaf


class _AnchorParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag == "a":
            self.anchors.append(dict(attrs))
            if len(self.anchors) > LIMITS.links_per_page.value:
                _check_links(len(self.anchors))


# The markup of simple pages as indexes write them: <a ...> and <base ...> tags whose
# attributes are quoted, unquoted or bare.  A page with anything this does not read
# for certain (comments, scripts, CDATA, a tag it cannot match) goes to html.parser.
_ATTR = r"""[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
_ANCHOR_TAG = re.compile(rf"<(a|base)((?:\s+{_ATTR})*)\s*/?>", re.IGNORECASE)
_ANCHOR_START = re.compile(r"<(?:a|base)[\s/>]", re.IGNORECASE)
_ONE_ATTR = re.compile(r"""([^\s"'>/=]+)(\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_UNSURE = re.compile(r"<!--|<!\[CDATA\[|<(?:script|style|textarea|xmp|plaintext)[\s>]", re.IGNORECASE)
#: a <title> holding plain text is read alike by every html.parser; one holding markup is not
_TITLE = re.compile(r"<title[\s>]([^<]*<)?", re.IGNORECASE)


def _fast_tags(text: str) -> tuple[str | None, list[dict[str, str | None]]] | None:
    """(base href, anchors' attributes) as html.parser would give them, or None when unsure."""
    if _UNSURE.search(text) or text.rfind("<") > text.rfind(">"):
        return None
    if any(not text.startswith("</title", m.end() - 1) for m in _TITLE.finditer(text)):
        return None
    starts = len(_ANCHOR_START.findall(text))
    _check_links(starts)
    found = list(_ANCHOR_TAG.finditer(text))
    if len(found) != starts:
        return None
    base: str | None = None
    anchors: list[dict[str, str | None]] = []
    for match in found:
        attrs: dict[str, str | None] = {}
        for name, assigned, double, single, bare in _ONE_ATTR.findall(match.group(2)):
            # at most one of the three value groups took part; a bare attribute has no "="
            value: str | None = (double or single or bare) if assigned else None
            if value and "&" in value:
                value = html.unescape(value)
            attrs[name.lower()] = value
        if match.group(1).lower() == "a":
            anchors.append(attrs)
        elif base is None:
            base = attrs.get("href")
    return base, anchors


def _parsed_tags(text: str) -> tuple[str | None, list[dict[str, str | None]]]:
    parser = _AnchorParser()
    parser.feed(text)
    # html.parser keeps an unfinished tag back instead of failing: a page
    # cut off inside a tag would otherwise lose its last files in silence.
    if parser.rawdata.lstrip().startswith("<"):
        raise SimpleParseError("malformed HTML: the page ends inside a tag")
    parser.close()
    return parser.base, parser.anchors


def parse_html(text: str, page_url: str, name: str | None = None, *, fast: bool = True) -> list[DistFile]:
    """Files listed by a PEP 503 HTML page (or a find-links HTML page).

    :param name: keep only files of this project; ``None`` keeps all.
    :param fast: read plain pages with regular expressions (html.parser reads the
        rest); ``False`` always uses html.parser.
    """
    if text.strip() and "<" not in text:
        raise SimpleParseError("not an HTML page: no markup at all")
    found = _fast_tags(text) if fast else None
    base_href, anchors = found if found is not None else _parsed_tags(text)
    join = _Joiner(_join(page_url, base_href) if base_href else page_url)
    wanted = canonicalize_name(name) if name else None
    files: list[DistFile] = []
    for attrs in anchors:
        href = attrs.get("href")
        if not href:
            continue
        try:
            joined = join(href)
        except ValueError as exc:  # e.g. an unclosed IPv6 bracket in the host
            raise SimpleParseError(f"a link cannot be read: {exc}") from exc
        url, hashes = _hashes_from_fragment(joined)
        filename = _filename_of(url)
        if _unwanted(filename, wanted):
            continue
        metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        files.append(
            DistFile(
                filename=filename,
                url=url,
                hashes=hashes,
                requires_python=attrs.get("data-requires-python") or None,
                yanked=(attrs.get("data-yanked") or "") if "data-yanked" in attrs else None,
                core_metadata=_core_metadata_attr(metadata),
            )
        )
    return files


def _json_depth_ok(text: str, limit: int) -> bool:
    """Whether no array or object in *text* nests deeper than *limit* (valid JSON assumed;
    an invalid text is refused by the parser anyway).

    One level of empty brackets is removed per pass: a few passes at C speed, for a page of
    any size, instead of a parser's recursion.  Brackets are first taken as they come,
    strings and all (a page's strings hold none); only when that does not settle it are the
    strings cut out, which costs as much as parsing.  Brackets in strings could only make a
    deeper document look shallower: the parser's own recursion limit still stops it, and
    fields outside the schema are never read.
    """
    if text.count("[") + text.count("{") <= limit:
        return True
    # bytes.translate deletes at memory speed; UTF-8 never puts a bracket byte inside a character
    if _nesting_within(text.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKET_BYTES).decode(), limit):
        return True
    if "\\" in text:
        text = text.replace("\\\\", "").replace('\\"', "")
    return _nesting_within(_NOT_BRACKETS.sub("", "".join(text.split('"')[::2])), limit)


def _nesting_within(brackets: str, limit: int) -> bool:
    for _ in range(limit):
        if not brackets:
            return True
        brackets = brackets.replace("[]", "").replace("{}", "")
    return not brackets


_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_NOT_BRACKET_BYTES = bytes(code for code in range(256) if code not in b"[]{}")


class _Fields:
    """Type-checked access to one JSON object of a page; errors name the field's path."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            raise SimpleParseError(f"{where} must be an object, not {_kind(data)}")
        self.data: dict[str, object] = data
        self.where = where

    def _bad(self, key: str, wanted: str) -> SimpleParseError:
        return SimpleParseError(f"{self.where}.{key} must be {wanted}, not {_kind(self.data[key])}")

    def text(self, key: str, *, required: bool = False) -> str | None:
        """A string; absent or null is None unless *required*."""
        if key not in self.data:
            if required:
                raise SimpleParseError(f"{self.where} lacks {key!r}")
            return None
        value = self.data[key]
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def strings(self, key: str) -> dict[str, str]:
        """An object of strings (``hashes``); absent or null is empty."""
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self._bad(key, "an object of strings")
        return value

    def flag_or(self, key: str, kind: type, wanted: str) -> object:
        """A boolean, or a value of *kind* (``yanked``: a reason; ``core-metadata``: hashes)."""
        value = self.data.get(key, False)
        if value is None:
            return False
        if isinstance(value, (bool, kind)):
            if isinstance(value, dict) and not all(isinstance(v, str) for v in value.values()):
                raise self._bad(key, wanted)
            return value
        raise self._bad(key, wanted)

    def size(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._bad(key, "a non-negative integer")
        return value


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _load_json(text: str) -> object:
    depth = LIMITS.json_depth
    if not _json_depth_ok(text, depth.value):
        raise SimpleParseError(f"malformed PEP 691 JSON: nested deeper than {depth.describe()}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise SimpleParseError(f"malformed PEP 691 JSON: {exc}") from exc


def parse_json(text: str, page_url: str, name: str | None = None) -> list[DistFile]:
    """Files listed by a PEP 691 JSON page, every field type-checked against the PEP's schema.

    :raises SimpleParseError: not JSON, too deep, a field of the wrong type, or too many files.
    """
    return _json_files(_load_json(text), page_url, name)


def _json_files(data: object, page_url: str, name: str | None) -> list[DistFile]:
    """:func:`parse_json` of a page already loaded."""
    page = _Fields(data, "the page")
    meta = _Fields(page.data.get("meta"), "the page's meta")
    meta_version = meta.text("api-version", required=True) or ""
    if not meta_version.startswith("1."):
        raise SimpleParseError(f"unsupported simple API version {meta_version}")
    raw_files = page.data.get("files")
    if not isinstance(raw_files, list):
        raise SimpleParseError(f"the page's files must be an array, not {_kind(raw_files)}")
    _check_links(len(raw_files))
    wanted = canonicalize_name(name) if name else None
    join = _Joiner(page_url)
    files: list[DistFile] = []
    for at, raw in enumerate(raw_files):
        file = _plain_json_file(raw, wanted)
        if file is _CHECK:  # anything unusual goes through the field-by-field checks
            file = _json_file(_Fields(raw, f"files[{at}]"), join, wanted)
        if file is not None:
            files.append(file)
    return files


#: :func:`_plain_json_file`'s answer for an entry it leaves to the checked path (never a page's file)
_CHECK = DistFile("", "")


def _plain_json_file(raw: object, wanted: str | None, *, record: bool = True) -> DistFile | None:
    """The usual entry (an absolute link, fields of the PEP's types)
    read without the checked path's overhead; the same answer, or :data:`_CHECK`.

    :param record: ``False`` only checks the entry's shape (``None`` when it is usual).
    """
    if type(raw) is not dict:
        return _CHECK
    get = raw.get
    filename, href, hashes = get("filename"), get("url"), get("hashes")
    requires_python, yanked, size, upload = get("requires-python"), get("yanked"), get("size"), get("upload-time")
    metadata = get("core-metadata") if "core-metadata" in raw else get("dist-info-metadata")
    if (
        type(filename) is not str or type(href) is not str
        or not href.startswith(("https://", "http://")) or "#" in href or "/." in href
        or (hashes is not None and (type(hashes) is not dict or any(type(v) is not str for v in hashes.values())))
        or (requires_python is not None and type(requires_python) is not str)
        or (yanked is not None and type(yanked) is not bool and type(yanked) is not str)
        or (size is not None and (type(size) is not int or size < 0))
        or (upload is not None and type(upload) is not str)
        or (metadata is not None and type(metadata) is not bool and not _string_map(metadata))
    ):
        return _CHECK
    if not record or _unwanted(filename, wanted):
        return None
    return DistFile(
        filename=filename,
        url=href,
        hashes=hashes or {},
        requires_python=requires_python or None,
        yanked=None if yanked is None or yanked is False else ("" if yanked is True else yanked),
        core_metadata=dict(metadata) if type(metadata) is dict else metadata is True,
        size=size,
        upload_time=upload,
    )


def _string_map(value: object) -> bool:
    """A non-empty object of strings (PEP 714 metadata hashes)."""
    return type(value) is dict and bool(value) and all(type(v) is str for v in value.values())


def _json_file(entry: _Fields, join: _Joiner, wanted: str | None) -> DistFile | None:
    filename = entry.text("filename", required=True) or ""
    href = entry.text("url", required=True) or ""
    if _unwanted(filename, wanted):
        return None
    try:
        joined = join(href)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket in the host
        raise SimpleParseError(f"a file URL cannot be read: {exc}") from exc
    url, fragment_hashes = _hashes_from_fragment(joined)
    hashes = entry.strings("hashes")
    yanked = entry.flag_or("yanked", str, "a boolean or a string")
    key = "core-metadata" if "core-metadata" in entry.data else "dist-info-metadata"
    metadata = entry.flag_or(key, dict, "a boolean or an object of strings")
    return DistFile(
        filename=filename,
        url=url,
        hashes=hashes or fragment_hashes,
        requires_python=entry.text("requires-python") or None,
        yanked=("" if yanked is True else yanked) if yanked is not False else None,  # type: ignore[arg-type]
        core_metadata=dict(metadata) if isinstance(metadata, dict) else metadata is True,
        size=entry.size("size"),
        upload_time=entry.text("upload-time"),
    )


def _join(page_url: str, href: str) -> str:
    try:
        return urllib.parse.urljoin(page_url, href)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket in the host
        raise SimpleParseError(f"a file URL cannot be read: {exc}") from exc


def _check_links(count: int) -> None:
    limit = LIMITS.links_per_page
    if count > limit.value:
        raise SimpleParseError(f"it lists {count:,} files, over {limit.describe()}")


def _quick_json_page(data: object, page_url: str, name: str) -> ProjectPage | None:
    """A PEP 691 page whose every entry is of the usual shape (:func:`_plain_json_file`), kept as
    compact rows without making a record of each file; ``None`` leaves it to the checked path.

    Only links a caller keeps as they are qualify: absolute ``http(s)`` URLs with neither
    userinfo nor query (no credential to take off, no local file to refuse).
    """
    meta = data.get("meta") if type(data) is dict else None
    version = meta.get("api-version") if type(meta) is dict else None
    files = data.get("files") if type(data) is dict else None
    if type(version) is not str or not version.startswith("1.") or type(files) is not list:
        return None
    _check_links(len(files))
    wanted = canonicalize_name(name)
    groups: dict[str, list[list[Any]]] = {}
    variants: list[DistFile] = []
    for raw in files:
        row = _usual_row(raw)
        if row is None:
            return None
        filename = row[0]
        parts = filename[: -len(".whl")].split("-") if filename.endswith(".whl") else []
        if len(parts) == 5:  # the usual wheel name, checked as parse_filename does, without remembering it
            try:
                if _usual_wheel(parts)[0] != wanted:
                    continue
            except ValueError:
                continue
            groups.setdefault(parts[1], []).append(row)
        elif _unwanted(filename, wanted):
            continue
        elif filename.endswith(VARIANTS_JSON):
            variants.append(_from_row(row))
        else:
            groups.setdefault(version_text(filename), []).append(row)
    page = ProjectPage(wanted, page_url, (), variants)
    page._groups = {text: json.dumps(rows, separators=(",", ":")) for text, rows in groups.items()}
    return page


def _usual_row(raw: object) -> list[Any] | None:
    """:func:`_row` of an entry that :func:`_plain_json_file` reads as usual and whose link
    has neither userinfo nor query, checked and made in one pass (a big page lists tens of
    thousands); ``None`` for any other entry."""
    if type(raw) is not dict:
        return None
    get = raw.get
    filename, href = get("filename"), get("url")
    if (
        type(filename) is not str or type(href) is not str
        or not href.startswith(("https://", "http://")) or "#" in href or "/." in href or "@" in href or "?" in href
    ):
        return None
    hashes = get("hashes")
    if hashes is not None:
        if type(hashes) is not dict:
            return None
        if len(hashes) == 1 and type(hashes.get("sha256")) is str:
            hashes = hashes["sha256"]
        elif any(type(v) is not str for v in hashes.values()):
            return None
        else:
            hashes = dict(hashes) or None
    requires_python, yanked, size, upload = get("requires-python"), get("yanked"), get("size"), get("upload-time")
    if (
        (requires_python is not None and type(requires_python) is not str)
        or (size is not None and (type(size) is not int or size < 0))
        or (upload is not None and type(upload) is not str)
    ):
        return None
    if yanked is None or yanked is False:
        yanked = None
    elif yanked is True:
        yanked = ""
    elif type(yanked) is not str:
        return None
    metadata = get("core-metadata") if "core-metadata" in raw else get("dist-info-metadata")
    if metadata is None or metadata is False:
        metadata = False
    elif metadata is not True:
        if not _string_map(metadata):
            return None
        metadata = dict(metadata)
    row = [filename, _stored_url(href, filename), hashes, requires_python or None, yanked, metadata, size, upload]
    while len(row) > 2 and (row[-1] is None or row[-1] is False):
        row.pop()
    return row


def parse_page(
    text: str, content_type: str, page_url: str, name: str, links: Callable[[Iterable[DistFile]], Iterable[DistFile]] | None = None,
) -> ProjectPage:
    """Parse a project page by its content type (JSON or HTML).

    :param links: keeps (and may rewrite) the files a caller may follow; a JSON page whose every
        link is a plain ``http(s)`` URL without userinfo or query is kept as it is, unasked.
    """
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == JSON_CONTENT_TYPE or mime == "application/json":
        data = _load_json(text)
        quick = _quick_json_page(data, page_url, name)
        if quick is not None:
            return quick
        files = _json_files(data, page_url, name)
    else:
        files = parse_html(text, page_url, name)
    return ProjectPage(canonicalize_name(name), page_url, links(files) if links else files)


def merge_pages(name: str, pages: Iterable[ProjectPage]) -> ProjectPage:
    """One page from several sources; the first listing of a filename wins.

    Only the versions that several sources list are decoded to be merged; the others are
    taken as they are.
    """
    pages = list(pages)
    variants: dict[str, DistFile] = {}
    owners: dict[str, list[ProjectPage]] = {}
    for page in pages:
        for f in page.variants_json:
            variants.setdefault(f.filename, f)
        for text in page.version_texts():
            owners.setdefault(text, []).append(page)
    merged = ProjectPage(canonicalize_name(name), " ".join(page.url for page in pages), (), variants.values())
    for text, listing in owners.items():
        if len(listing) == 1:
            merged._groups[text] = listing[0]._groups[text]
            continue
        seen: dict[str, DistFile] = {}
        for page in listing:
            for f in page.release(text):
                seen.setdefault(f.filename, f)
        merged._groups[text] = tuple(seen.values())
    return merged

"""Every bound on what wheelwise reads from an index, in one table.

Index pages, wheels and sdists are written by strangers: each number below caps
memory or time for one thing read, whatever its bytes claim.  A bound that is hit
ends as an error naming the URL and the bound (``Limit.describe``), never as a
partial answer.  The values leave real distributions a wide margin (the largest
real METADATA, with a long README, is about 1 MiB; tensorflow's wheels have about
20,000 members; the largest project pages list tens of thousands of files).

The network's bounds (page bytes after decoding, range replies, redirects, the
per-request deadline; ``WHEELWISE_*`` overrides) are :class:`NetworkLimits`, below:
the client applies them to every request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

__all__ = ["LIMITS", "Limit", "Limits", "NetworkLimits"]


@dataclasses.dataclass(frozen=True, slots=True)
class Limit:
    """One bound: a stable name (shown in errors), its value and what it bounds."""

    name: str
    value: int
    unit: str
    what: str

    def describe(self) -> str:
        """``the metadata-bytes bound (10 MiB of decompressed METADATA or PKG-INFO)``."""
        return f"the {self.name} bound ({_amount(self.value, self.unit)} {self.what})"


def _amount(value: int, unit: str) -> str:
    if unit != "bytes":
        return f"{value:,} {unit}"
    for shift, suffix in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if value >= 1 << shift and value % (1 << shift) == 0:
            return f"{value >> shift} {suffix}"
    return f"{value:,} bytes"


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """The table (one instance, :data:`LIMITS`); tests may build smaller ones."""

    metadata_bytes: Limit = Limit(
        "metadata-bytes", 10 << 20, "bytes", "of METADATA or PKG-INFO, decompressed, whatever the method or path"
    )
    metadata_compressed_bytes: Limit = Limit(
        "metadata-compressed-bytes", 11 << 20, "bytes", "of a METADATA or PKG-INFO member as stored in its archive"
    )
    central_directory_bytes: Limit = Limit(
        "central-directory-bytes", 32 << 20, "bytes", "of a zip's central directory (its list of members)"
    )
    archive_members: Limit = Limit("archive-members", 100_000, "members", "in one wheel or sdist")
    sdist_unpacked_bytes: Limit = Limit(
        "sdist-unpacked-bytes", 1 << 30, "bytes", "of a tar sdist read after decompression"
    )
    tar_header_bytes: Limit = Limit(
        "tar-header-bytes", 1 << 20, "bytes", "of one pax or GNU long-name header in a tar sdist"
    )
    range_reads: Limit = Limit("range-reads", 8, "range requests", "to read one wheel's metadata")
    full_download_bytes: Limit = Limit(
        "full-download-bytes", 1 << 30, "bytes", "downloaded when an index serves neither PEP 658 nor ranges"
    )
    links_per_page: Limit = Limit("links-per-page", 200_000, "links", "on one project or find-links page")
    json_depth: Limit = Limit("json-depth", 32, "levels", "of nesting in a PEP 691 JSON page")

    def all(self) -> tuple[Limit, ...]:
        """Every bound, in table order (the README lists them)."""
        return tuple(getattr(self, field.name) for field in dataclasses.fields(self))


#: The bounds wheelwise applies.
LIMITS = Limits()


@dataclasses.dataclass(frozen=True)
class NetworkLimits:
    """Every bound on what an index may make wheelwise wait for or hold, in one place.

    :param page_bytes: a page (or a PEP 658 metadata file, or any body read
        whole), counted after gzip/deflate decoding (``WHEELWISE_MAX_PAGE_BYTES``).
    :param range_slack: bytes a 206 reply may carry beyond the range asked
        (a server may round a range up; a reply larger still is refused before
        its body is read).
    :param redirects: redirects followed per request (a loop stops at once).
    :param deadline: seconds one request may take in all, retries and their
        sleeps included, whatever the idle timeout (``WHEELWISE_DEADLINE``).
    :param download_deadline: the same for a full file download
        (``WHEELWISE_DOWNLOAD_DEADLINE``).
    :param backoff_cap: longest sleep between two attempts.
    """

    page_bytes: int = 64 << 20
    range_slack: int = 1 << 20
    redirects: int = 10
    deadline: float = 60.0
    download_deadline: float = 600.0
    backoff_cap: float = 8.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> NetworkLimits:
        """The defaults, with the ``WHEELWISE_*`` overrides named above."""
        base = cls()
        fields = {
            "WHEELWISE_MAX_PAGE_BYTES": ("page_bytes", int),
            "WHEELWISE_DEADLINE": ("deadline", float),
            "WHEELWISE_DOWNLOAD_DEADLINE": ("download_deadline", float),
        }
        changes: dict[str, object] = {}
        for variable, (name, kind) in fields.items():
            raw = environ.get(variable)
            if raw is None or not raw.strip():
                continue
            try:
                value = kind(raw)
            except ValueError:
                value = -1
            if not value > 0:
                from ..errors import ConfigError  # noqa: PLC0415 - only on this path

                raise ConfigError(f"{variable} must be a positive number, not {raw!r}", source=variable)
            changes[name] = value
        return dataclasses.replace(base, **changes)  # type: ignore[arg-type]

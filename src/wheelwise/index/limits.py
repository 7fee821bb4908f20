"""Every bound on what wheelwise reads from an index, in one table.

Index pages, wheels and sdists are written by strangers: each number below caps
memory or time for one thing read, whatever its bytes claim.  A bound that is hit
ends as an error naming the URL and the bound (``Limit.describe``), never as a
partial answer.  The values leave real distributions a wide margin (the largest
real METADATA, with a long README, is about 1 MiB; tensorflow's wheels have about
20,000 members; the largest project pages list tens of thousands of files).

The network's bounds (page bytes after decoding, range replies, redirects, the
per-request deadline; ``WHEELWISE_*`` overrides) are the client's, in
:class:`wheelwise.index.client.NetworkLimits`.
"""

from __future__ import annotations

import dataclasses

__all__ = ["LIMITS", "Limit", "Limits"]


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

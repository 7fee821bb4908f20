"""Every error wheelwise raises on purpose.

Each error carries structured fields (which URL, which file and line) and a
``hint``; the CLI renders them and maps them to exit codes.  Nothing here
prints.  URLs are stored already redacted (see :func:`wheelwise.urls.redact`),
so an error can never leak a password into a terminal or a log.
"""

from __future__ import annotations

__all__ = [
    "BadInputError",
    "ConfigError",
    "HashMismatchError",
    "IndexFetchError",
    "KnowledgeError",
    "LimitExceededError",
    "MetadataError",
    "OfflineMissError",
    "WheelwiseError",
]


class WheelwiseError(Exception):
    """Base of every deliberate wheelwise error.

    :param message: one sentence saying what went wrong.
    :param hint: what the user can do about it, or ``None``.
    """

    #: kebab-case reference, stable, shown to users and in JSON output.
    reference = "wheelwise-error"
    #: process exit code the CLI uses for this kind of error (DESIGN.md).
    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, object]:
        return {"reference": self.reference, "message": self.message, "hint": self.hint}


class BadInputError(WheelwiseError):
    """The user gave something wheelwise cannot use (exit 2)."""

    reference = "bad-input"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        source: str | None = None,
        line: int | None = None,
    ) -> None:
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.source = source
        self.line = line


class ConfigError(BadInputError):
    """pip's configuration (a file or a ``PIP_*`` variable) cannot be used."""

    reference = "bad-pip-config"


class IndexFetchError(WheelwiseError):
    """An index could not be reached or answered wrongly (exit 3).

    :param url: the redacted URL that failed.
    :param status: the HTTP status, when there was a response.
    :param cached: whether the cache holds an older answer for this URL.
    """

    reference = "index-unreachable"
    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        url: str,
        status: int | None = None,
        cached: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.url = url
        self.status = status
        self.cached = cached

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "url": self.url, "status": self.status}


class LimitExceededError(IndexFetchError):
    """Something an index sent went past one of wheelwise's bounds (exit 3).

    :param bound: the bound's name in :class:`wheelwise.index.client.Limits`
        (``page_bytes``, ``range``, ``download``, ``redirects``, ``deadline``).
    """

    reference = "limit-exceeded"

    def __init__(
        self, message: str, *, url: str, bound: str, status: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, url=url, status=status, hint=hint)
        self.bound = bound

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "bound": self.bound}


class HashMismatchError(IndexFetchError):
    """Downloaded bytes do not match the hash the index published."""

    reference = "hash-mismatch"


class MetadataError(IndexFetchError):
    """A distribution's core metadata is missing, too large or malformed."""

    reference = "bad-metadata"


class OfflineMissError(WheelwiseError):
    """``--offline`` was asked for and the cache lacks what is needed (exit 3)."""

    reference = "offline-cache-miss"
    exit_code = 3

    def __init__(self, missing: list[str]) -> None:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        super().__init__(
            f"offline, and the cache does not hold: {shown}",
            hint="run once without --offline to fill the cache",
        )
        self.missing = missing


class KnowledgeError(WheelwiseError):
    """A knowledge data file has an entry that does not validate (a bug in wheelwise's data)."""

    reference = "bad-knowledge"
    exit_code = 70

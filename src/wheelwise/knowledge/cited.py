"""What every fact in the knowledge base carries: where it comes from and when that was checked."""

from __future__ import annotations

import dataclasses

__all__ = ["Cited"]


@dataclasses.dataclass(frozen=True)
class Cited:
    """An entry's id, a one-line summary, its sources (https URLs) and the date they were checked."""

    id: str
    summary: str
    sources: tuple[str, ...]
    verified: str

    def citation(self) -> str:
        return f"{self.sources[0]} (verified {self.verified})"

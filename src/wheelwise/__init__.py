"""wheelwise: get ML frameworks installed and working, and know why when they are not."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]

"""Scripts that run *inside another interpreter* and print JSON.

They use the standard library only and Python 3.8 syntax, so that wheelwise,
installed once, can examine any Python on the machine: ``host.py`` collects
the facts ``doctor`` analyses; ``verify.py`` measures a framework.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["script"]


def script(name: str) -> Path:
    """The file system path of probe *name* (``host`` or ``verify``)."""
    path = Path(str(resources.files(__name__).joinpath(f"{name}.py")))
    if not path.is_file():  # pragma: no cover - a broken install
        raise FileNotFoundError(path)
    return path

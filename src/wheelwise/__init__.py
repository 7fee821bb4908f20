"""wheelwise: get ML frameworks installed and working, and know why when they are not.

The library in one import each (nothing printed; errors are :class:`WheelwiseError`)::

    import wheelwise
    report = wheelwise.check(["torch"], ["linux-x86_64", "macos-arm64"], ["3.12"])
    for cell in report.cells:
        print(cell.target.label, cell.verdict, [b.project for b in cell.blockers])
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import check, doctor, explain, matrix  # noqa: E402 - after __version__, which the CLI imports
from .check import Blocker, Cell, CheckReport  # noqa: E402
from .doctor import Finding, Report  # noqa: E402
from .errors import WheelwiseError  # noqa: E402
from .explain import Match  # noqa: E402
from .target import Target  # noqa: E402

__all__ = [
    "Blocker", "Cell", "CheckReport", "Finding", "Match", "Report", "Target", "WheelwiseError", "__version__",
    "check", "doctor", "explain", "matrix",
]

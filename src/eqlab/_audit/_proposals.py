"""Which fixes the audit proposes, in order, each from `eqlab._audit._fixes` (applied to a copy and
measured there)."""

from __future__ import annotations

import time
from typing import Any

from eqlab._audit import _fixes as fixes
from eqlab._audit._report import AuditReport
from eqlab.exactness._analyser import _Grid

__all__ = ["propose"]


def propose(
    report: AuditReport,
    setting: fixes.Setting,
    grid: _Grid,
    transform: str | None,
    aligned: Any,
    data: Any,
) -> None:
    if report.grid_prediction is False and grid.analysis is not None:
        found, notes = fixes.size_fixes(setting)
        report.fixes += found
        report.notes += notes
        geometry = fixes.geometry_fix(setting)
        if geometry is not None:
            report.fixes.append(geometry)
    invariant = grid.analysis is not None and grid.analysis.output.kind in ("invariant", "constant")
    if transform is not None and aligned is not None and invariant:
        start = time.perf_counter()
        exact_size = setting.size[0] if report.architecture_exact else _nearest_verified_size(report)
        if (
            exact_size is None
        ):  # its promise, exact invariance where the architecture is exact, is uncheckable
            where = (
                "square inputs only are searched" if _not_square(setting.size) else "none was found nearby"
            )
            report.notes.append(
                f"group average not proposed: it needs a size where the architecture is exact ({where})"
            )
        else:
            try:
                report.fixes.append(fixes.group_average_fix(setting, transform, aligned, data, exact_size))
            except (ValueError, TypeError, NotImplementedError) as exc:
                report.notes.append(f"group average not applicable: {exc}")
        report.seconds["group average"] = time.perf_counter() - start
    if "not understood" not in report.out_action:
        orbit = fixes.orbit_fix(setting)
        if orbit is not None:
            report.fixes.append(orbit)


def _not_square(size: tuple[int, int]) -> bool:
    """Whether the input is not square."""
    return size[0] != size[1]


def _nearest_verified_size(report: AuditReport) -> int | None:
    """The verified input-size fix nearest the audited size, if any."""
    sizes = [f.details["size"] for f in report.fixes if f.kind == "input size" and f.verified]
    return min(sizes, key=lambda n: abs(n - report.input_size[0])) if sizes else None

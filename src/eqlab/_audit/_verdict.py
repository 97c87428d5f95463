"""The audit's verdict (exact, approximate, not equivariant) and whether the architecture is exact: the
grid prediction against the averaged copy's measurement."""

from __future__ import annotations

import math

from eqlab._audit._report import AuditReport, AuditVerdict
from eqlab.exactness._analyser import EXACT, _Grid

__all__ = ["judge_architecture", "judge_verdict"]


def judge_architecture(report: AuditReport, grid: _Grid, understood_output: bool) -> None:
    predicted, measured = report.grid_prediction, report.architecture_error
    if predicted is None or measured is None or not understood_output:
        report.architecture_exact = None
        return
    confirmed = measured <= EXACT
    if predicted == confirmed:
        report.architecture_exact = predicted
        return
    report.architecture_exact = None
    if predicted:
        report.notes.append(
            f"the grid analysis predicts exact but the averaged copy measures {measured:.2g}: something no "
            "rule sees breaks the symmetry"
        )
    else:
        report.notes.append(
            f"the grid analysis predicts not exact but the averaged copy measures {measured:.2g}: "
            "asymmetries that cancel, or one that does not reach the output"
        )


def judge_verdict(report: AuditReport, grid: _Grid, understood_output: bool, unsupported: str | None) -> None:
    error = report.end_to_end_error
    measured = f"the model measures {error:.1e}"
    analysis = grid.analysis
    broken = [r for r in analysis.rows if r.understood and not r.exact] if analysis is not None else []
    unknown = [r for r in analysis.rows if not r.understood] if analysis is not None else []
    if report.architecture_exact is True and error <= EXACT:
        report.verdict = AuditVerdict.EXACT
        report.reason = f"every sampling grid maps onto itself and {measured} (float64)"
        return
    if unsupported is not None:
        cause = unsupported
    elif broken:
        first = broken[0]
        cause = f"{first.name} ({first.kind}) breaks the grid: {first.effect}"
    elif unknown:
        cause = f"{unknown[0].name} ({unknown[0].kind}) is not understood: {unknown[0].effect}"
    elif not understood_output:
        cause = f"the output's action is not understood ({report.out_action})"
    elif analysis is None:
        cause = "the model could not be analysed" + (f" ({grid.failure})" if grid.failure else "")
    elif report.architecture_exact is None:
        cause = "the grid analysis and the averaged copy disagree"
    else:
        cause = "the architecture is exact, but the weights are not symmetric"
    if error <= report.tolerance:
        report.verdict = AuditVerdict.APPROXIMATE
        report.reason = f"{measured} (tolerance {report.tolerance:g}); not exact: {cause}"
    else:
        report.verdict = AuditVerdict.NOT_EQUIVARIANT
        shown = "fails or changes shape" if math.isinf(error) else measured
        report.reason = f"{shown}, above the tolerance {report.tolerance:g}; {cause}"

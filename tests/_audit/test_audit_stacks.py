"""`eqlab.audit` on a hypothesis-generated family of stacks (convolutions, pools with and without
ceil_mode, upsampling, transposed convolutions, adaptive pooling, dense heads; `tests.zoo.stacks`).

For every stack, size and symmetry: the grid prediction is never contradicted by an averaged copy that
measures *above* 1e-12 (that would be an asymmetry no rule sees, a false "exact" in waiting); where the
two disagree the other way (the grid says not exact, the averaged copy measures exact: asymmetries that
cancel, such as a subsampling that reads duplicated pixels), ``architecture_exact`` is None and a note
says so; and every fix the audit proposes is verified by its own measurement."""

from __future__ import annotations

import hypothesis.strategies as st
import pytest
import torch
from hypothesis import HealthCheck, given, settings

import eqlab
from tests.zoo import SIZES, stack_from_spec, stack_output_shape, stacks

EXACT = 1e-12


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stacks(), st.sampled_from(["rot90", "hflip", "rot180"]), st.data())
def test_the_prediction_holds_and_every_fix_is_verified(
    spec: list, symmetry: str, data: st.DataObject
) -> None:
    size = data.draw(st.sampled_from([n for n in SIZES if stack_output_shape(spec, 1, n) is not None]))
    report = eqlab.audit(
        stack_from_spec(spec, 1), symmetry, size, example_input=torch.zeros(1, 1, size, size)
    )
    assert report.architecture_error is not None
    if report.grid_prediction is True:
        assert report.architecture_error <= EXACT, report.table()
        assert report.architecture_exact is True
    elif report.architecture_error <= EXACT:
        assert report.architecture_exact is None
        assert any("predicts not exact but the averaged copy measures" in note for note in report.notes)
    else:
        assert report.architecture_exact is False
    assert report.verdict != "exact" or report.architecture_exact is True
    for fix in report.fixes:
        assert fix.verified, (fix, report.table())

"""eqlab models (not only exported ones) under torch.jit.trace, torch.export and torch.compile, in train and
eval mode; one inductor smoke test."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import eqlab
from tests.export.cases import CASES, Case

pytestmark = pytest.mark.usefixtures("one_torch_thread")

_BY_NAME = {c.name: c for c in CASES}
COMPILED = [_BY_NAME[n] for n in ("gcnn-p4", "equivariant-mlp", "soft-s-fc+s-conv")]
"""Few, tiny models: a G-CNN (batch norm, strides, circular padding, pools), parameter sharing with an
orbit pool, and a soft block with both sparsified paths and polyphase subsampling."""


def _model(case: Case, mode: str) -> tuple[nn.Module, torch.Tensor]:
    model = case.build()
    example = case.inputs(3)
    with torch.no_grad():
        model.eval()(example)  # sets up lazy modules without touching batch-norm statistics
    return model.train(mode == "train"), example


def _same(actual: torch.Tensor, expected: torch.Tensor) -> bool:
    return torch.allclose(actual, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:`torch.jit")
def test_jit_trace_of_a_gcnn_in_eval_mode_passes_its_own_check() -> None:
    model, example = _model(_BY_NAME["gcnn-p4"], "eval")
    for grad in (True, False):  # the cached filter bank made the traced graphs differ across calls
        with torch.set_grad_enabled(grad):
            traced = torch.jit.trace(model, example)  # check_trace=True: raises when the graphs differ
            fresh = torch.randn(5, *example.shape[1:])
            assert _same(traced(fresh), model(fresh))


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("case", COMPILED, ids=[c.name for c in COMPILED])
def test_torch_export_of_an_eqlab_model(case: Case, mode: str) -> None:
    model, example = _model(case, mode)
    reference = copy.deepcopy(model)
    program = torch.export.export(model, (example,))
    assert _same(program.module()(example), reference(example))


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("case", COMPILED, ids=[c.name for c in COMPILED])
def test_torch_compile_of_an_eqlab_model(case: Case, mode: str) -> None:
    model, example = _model(case, mode)
    reference = copy.deepcopy(model)
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    out, expected = compiled(example), reference(example)
    assert _same(out, expected)
    if mode == "train":
        out.square().sum().backward()
        expected.square().sum().backward()
        for p, q in zip(model.parameters(), reference.parameters(), strict=True):
            assert p.grad is not None and q.grad is not None and _same(p.grad, q.grad)


def test_a_compiled_gcnn_in_eval_mode_sees_new_weights() -> None:
    model, example = _model(_BY_NAME["gcnn-p4"], "eval")
    compiled = torch.compile(model, backend="aot_eager")
    with torch.no_grad():
        before = compiled(example)
        model[0].weight.mul_(2.0)  # the eval-mode bank cache must not serve the old filters
        after = compiled(example)
        assert _same(after, model(example))
        assert not _same(after, before)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:`torch.jit")
def test_an_exported_model_traces_and_exports() -> None:
    model, example = _model(_BY_NAME["soft-s-fc+s-conv"], "eval")
    plain = eqlab.export(model, example)
    traced = torch.jit.trace(plain, example)
    program = torch.export.export(plain, (example,))
    with torch.no_grad():
        expected = model(example)
        assert _same(traced(example), expected)
        assert _same(program.module()(example), expected)


@pytest.mark.slow
def test_inductor_compiles_an_exported_gcnn() -> None:
    model, example = _model(_BY_NAME["group-pool-max"], "eval")
    compiled = torch.compile(eqlab.export(model, example), backend="inductor")
    with torch.no_grad():
        assert _same(compiled(example), model(example))

"""`eqlab.export` on every layer of `eqlab.nn` (and `BasisActivation`): plain torch modules computing the
same numbers, 1e-12 in float64 and 1e-5 in float32, on the example and on fresh inputs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import eqlab
from eqlab.nn import GroupConv2d, LiftingConv2d, SetLinear
from tests.export.cases import CASES, Case
from tests.export.helpers import difference, eqlab_layers

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TOLERANCE = {torch.float64: 1e-12, torch.float32: 1e-5}


def _model(case: Case, dtype: torch.dtype) -> tuple[nn.Module, torch.Tensor]:
    """The case's model in ``dtype`` with its lazy modules set up (one eval-mode pass) and an example."""
    model = case.build().to(dtype)
    example = case.inputs(3, dtype)
    model.eval()
    with torch.no_grad():
        model(example)
    return model, example


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_layer_exports_to_plain_torch_computing_the_same_numbers(
    case: Case, dtype: torch.dtype
) -> None:
    model, example = _model(case, dtype)
    exported = eqlab.export(model, example)
    assert eqlab_layers(exported) == []
    assert not exported.training
    fresh = case.inputs(5, dtype)
    assert difference(exported, model, example) < TOLERANCE[dtype]
    assert difference(exported, model, fresh) < TOLERANCE[dtype]
    assert exported(fresh).dtype == dtype


def test_the_model_is_left_untouched_and_shares_nothing_with_the_export() -> None:
    case = CASES[0]
    model = case.build().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    types = [type(m) for m in model.modules()]
    exported = eqlab.export(model, case.inputs(4))
    assert model.training
    assert [type(m) for m in model.modules()] == types
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with torch.no_grad():
        for p in exported.parameters():
            p.add_(1.0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_gcnn_exports_for_every_input_size() -> None:
    model = nn.Sequential(
        LiftingConv2d(1, 2, 3, padding=1), nn.ReLU(), GroupConv2d(2, 3, 3, stride=2, padding=1)
    ).double()
    exported = eqlab.export(model, torch.randn(2, 1, 8, 8, dtype=torch.float64))
    for size in (5, 11, 16):
        x = torch.randn(3, 1, size, size, dtype=torch.float64)
        assert difference(exported, model, x) < 1e-12


def test_the_group_convolution_is_one_conv2d_on_the_folded_group_axis() -> None:
    layer = GroupConv2d(2, 3, 3, group="p4m").double()
    (conv,) = [
        m
        for m in eqlab.export(layer, torch.randn(1, 2, 8, 5, 5, dtype=torch.float64)).modules()
        if isinstance(m, nn.Conv2d)
    ]
    assert (conv.in_channels, conv.out_channels) == (16, 24)
    assert torch.equal(conv.weight, layer.filter_bank()[0])


def test_set_layers_are_exported_for_the_example_size_only() -> None:
    model = SetLinear(2, 3).double()
    exported = eqlab.export(model, torch.randn(4, 5, 2, dtype=torch.float64))
    assert difference(exported, model, torch.randn(7, 5, 2, dtype=torch.float64)) < 1e-12
    with pytest.raises(RuntimeError):
        exported(torch.randn(4, 6, 2, dtype=torch.float64))

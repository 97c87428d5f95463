"""`eqlab.export`'s refusals: bad arguments, eqlab layers it cannot export, and exports that do not compute
the model's numbers (the check is real)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import eqlab
from eqlab._export._export import CONVERTERS
from eqlab._export._verify import ExportMismatchError
from eqlab.nn import GroupConv2d, GroupPool, LiftingConv2d, OrbitAverage, SetLinear, SoftBlock


def _gcnn() -> nn.Module:
    return nn.Sequential(LiftingConv2d(1, 2, 3), GroupPool())


@pytest.mark.parametrize("model", [lambda x: x, "model", None, [LiftingConv2d(1, 2, 3)]])
def test_a_model_that_is_not_a_module_is_refused(model: object) -> None:
    with pytest.raises(TypeError, match=r"model must be a torch.nn.Module, got"):
        eqlab.export(model, torch.randn(1, 1, 5, 5))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "example",
    [np.zeros((1, 1, 5, 5)), [torch.randn(1, 1, 5, 5)], (), (torch.randn(1, 1, 5, 5), 3), None, 1.0],
    ids=["numpy", "list", "empty-tuple", "tuple-with-int", "none", "float"],
)
def test_an_example_input_that_is_not_tensors_is_refused(example: object) -> None:
    with pytest.raises(TypeError, match=r"example_input must be a tensor or a (non-empty )?tuple of tensors"):
        eqlab.export(_gcnn(), example)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "example, message",
    [
        (torch.randn(0, 1, 5, 5), r"example_input must hold at least one number"),
        (torch.full((1, 1, 5, 5), float("nan")), r"example_input must be finite"),
        ((torch.randn(1, 1, 5, 5), torch.full((2,), float("inf"))), r"example_input\[1\] must be finite"),
        (
            torch.randn(1, 3, 5, 5),
            r"model must run on example_input, but it raised ValueError: LiftingConv2d expects",
        ),
        (
            torch.randn(5, 5),
            r"model must run on example_input, but it raised ValueError: LiftingConv2d expects",
        ),
    ],
    ids=["empty-batch", "nan", "inf-in-tuple", "other-channels", "2-d"],
)
def test_an_example_input_the_check_cannot_use_is_refused(example: object, message: str) -> None:
    # an empty or non-finite example would make the check compare nothing: a pass that proves nothing
    with pytest.raises(ValueError, match=message):
        eqlab.export(_gcnn(), example)  # type: ignore[arg-type]


def test_a_model_whose_output_is_not_finite_cannot_be_checked() -> None:
    class Log(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.log(x - x)  # -inf everywhere

    with pytest.raises(
        ExportMismatchError, match=r"NaN or infinite entries, so the export cannot be checked"
    ):
        eqlab.export(nn.Sequential(_gcnn(), Log()), torch.randn(1, 1, 5, 5))


def test_a_model_whose_output_is_empty_cannot_be_checked() -> None:
    class Empty(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, :0]

    with pytest.raises(ExportMismatchError, match=r"holds no numbers, so the export cannot be checked"):
        eqlab.export(nn.Sequential(_gcnn(), Empty()), torch.randn(1, 1, 5, 5))


def test_a_tuple_of_inputs_is_passed_as_arguments() -> None:
    class Two(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lift = LiftingConv2d(1, 2, 3)

        def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return self.lift(x) + self.lift(y)

    model = Two().double()
    x, y = torch.randn(2, 1, 5, 5, dtype=torch.float64), torch.randn(2, 1, 5, 5, dtype=torch.float64)
    exported = eqlab.export(model, (x, y))
    assert type(exported) is Two  # a module that is not eqlab's is kept, its children exported
    assert not isinstance(exported.lift, LiftingConv2d)
    assert torch.allclose(exported(x, y), model(x, y), rtol=1e-12, atol=1e-12)


def test_an_eqlab_layer_without_a_plain_equivalent_is_refused_by_name() -> None:
    unknown = type("Unknown", (nn.Identity,), {"__module__": "eqlab.nn._unknown"})
    model = nn.Sequential(LiftingConv2d(1, 2, 3), nn.Sequential(unknown()))
    with pytest.raises(TypeError, match=r"cannot export eqlab\.nn\._unknown\.Unknown at model\.1\.0"):
        eqlab.export(model, torch.randn(1, 1, 5, 5))


def test_a_soft_block_path_without_a_plain_equivalent_is_refused_by_name() -> None:
    block = SoftBlock("fc+conv", 1, 2, 4)
    block.conv = type("NewPath", (nn.Identity,), {"__module__": "eqlab.nn._soft"})()
    with pytest.raises(TypeError, match=r"cannot export eqlab\.nn\._soft\.NewPath at model\.conv"):
        eqlab.export(block, torch.randn(1, 1, 4, 4))


def test_a_set_layer_the_example_does_not_reach_is_refused() -> None:
    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used, self.unused = SetLinear(1, 2), SetLinear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.used(x)

    with pytest.raises(ValueError, match=r"input size of SetLinear at model\.unused"):
        eqlab.export(Unused(), torch.randn(3, 4, 1))


def _scaling_converter(monkeypatch: pytest.MonkeyPatch, factor: float) -> None:
    """Break the GroupConv2d converter on purpose: its plain conv gets ``factor`` times the weights."""
    original = CONVERTERS[GroupConv2d]

    def broken(layer: nn.Module, context: object) -> nn.Module:
        plain = original(layer, context)  # type: ignore[arg-type]
        with torch.no_grad():
            for module in plain.modules():
                if isinstance(module, nn.Conv2d):
                    module.weight.mul_(factor)
        return plain

    monkeypatch.setitem(CONVERTERS, GroupConv2d, broken)


def test_an_export_computing_other_numbers_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _scaling_converter(monkeypatch, 3.0)
    model = GroupConv2d(1, 1, 3).double()
    with pytest.raises(ExportMismatchError, match=r"relative difference .* above 1e-12 for torch.float64"):
        eqlab.export(model, torch.randn(2, 1, 4, 5, 5, dtype=torch.float64))


def test_an_example_of_zeros_does_not_hide_a_wrong_export(monkeypatch: pytest.MonkeyPatch) -> None:
    # on zeros the tripled weights change nothing; the seeded random input of the same shape does
    _scaling_converter(monkeypatch, 3.0)
    with pytest.raises(ExportMismatchError, match=r"on a random input of example_input's shapes"):
        eqlab.export(GroupConv2d(1, 1, 3).double(), torch.zeros(2, 1, 4, 5, 5, dtype=torch.float64))


def test_a_subclass_with_its_own_forward_is_refused() -> None:
    class Shifted(GroupConv2d):
        """A subclass whose forward the exporter does not know."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x) + 1e-9 * (x.shape[0] > 2)

    with pytest.raises(
        TypeError, match=r"Shifted at model: it subclasses an eqlab layer and defines its own"
    ):
        eqlab.export(Shifted(1, 1, 3).double(), torch.randn(2, 1, 4, 5, 5, dtype=torch.float64))


def test_a_subclass_without_its_own_forward_exports() -> None:
    class Named(GroupConv2d):
        pass

    x = torch.randn(2, 1, 4, 5, 5, dtype=torch.float64)
    model = Named(1, 1, 3).double()
    torch.testing.assert_close(eqlab.export(model, x)(x), model(x), rtol=1e-12, atol=1e-12)


def test_an_eqlab_layer_held_in_a_list_is_refused() -> None:
    class Hidden(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = [LiftingConv2d(1, 2, 3)]  # a plain list: not a submodule

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.layers[0](x)

    with pytest.raises(ExportMismatchError, match=r"still runs eqlab layers .*LiftingConv2d"):
        eqlab.export(Hidden(), torch.randn(1, 1, 5, 5))


def test_an_orbit_average_of_a_function_is_refused() -> None:
    inner = _gcnn()
    with pytest.raises(TypeError, match=r"OrbitAverage at model: its model is a function"):
        eqlab.export(OrbitAverage(lambda t: inner(t), "rot90"), torch.randn(1, 1, 5, 5))


def test_a_float32_model_is_also_checked_in_float64(monkeypatch: pytest.MonkeyPatch) -> None:
    # a converter off by far less than float32's tolerance, but not float64's
    _scaling_converter(monkeypatch, 1 + 1e-9)
    with pytest.raises(ExportMismatchError, match=r"in float64"):
        eqlab.export(GroupConv2d(1, 1, 3), torch.randn(2, 1, 4, 5, 5))

"""Models and inputs made to fool each checker into a false yes; every one must get a no.

One test per way of fooling a checker: the cases of the user trial (functional pooling, slicing,
transposed convolutions, upsampling, non-square inputs, NaN outputs, a verdict beside its own error of
2.4, non-entry-wise callables, generators of no common group) and others found while building the
checks (a constant offset, a fixed positional map, a branch that fx drops, data-dependent control
flow, zeros as the example input).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from eqlab.activations import check as check_activation
from eqlab.activations import scan
from eqlab.exactness import check
from eqlab.groups import Representation, cyclic
from eqlab.layerwise import transform_network
from eqlab.nn import EquivariantLinear, EquivariantMLP, GroupConv2d, GroupPool, LiftingConv2d, RepLinear
from eqlab.testing import assert_equivariant, equivariance_error


class Wrap(nn.Module):
    """A conv followed by a function of its output: the functional op is the one under test."""

    def __init__(self, then: object, channels: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, channels, 3, padding=1)
        self.then = then

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.then(self.conv(x))  # type: ignore[operator]


def _no(report: object) -> None:
    assert report.verdict != "exact", report.table()  # type: ignore[attr-defined]


# exactness.check ----------------------------------------------------------------------------------


def test_functional_max_pool_at_an_odd_size_is_not_exact() -> None:
    report = check(Wrap(lambda y: F.max_pool2d(y, 2)), 33)
    assert report.verdict == "not exact" and report.end_to_end_error > 0.1
    assert "max_pool2d" in report.reason


def test_slicing_with_a_step_at_an_even_size_is_not_exact() -> None:
    report = check(Wrap(lambda y: y[..., ::2, ::2]), 32)
    assert report.verdict == "not exact" and report.end_to_end_error > 0.1


@pytest.mark.parametrize(
    "layer",
    [
        nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, output_padding=1),
        nn.Upsample(scale_factor=1.5),
        nn.Upsample(size=(14, 14)),
    ],
    ids=["output padding", "nearest x1.5", "nearest to 14"],
)
def test_transposed_convolutions_and_upsampling_are_seen(layer: nn.Module) -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), layer)
    report = check(model, 9)
    assert report.verdict == "not exact" and report.end_to_end_error > 1e-6
    assert any(row.name == "1" for row in report.layers if not row.exact)


def test_non_square_inputs_are_measured_with_height_and_width_swapped() -> None:
    model = Wrap(lambda y: F.max_pool2d(y, 2))
    assert check(model, (32, 33), group="p4").verdict == "not exact"  # the width is off by one
    assert check(model, (33, 32), group="hflip").verdict == "exact"  # a mirror only reads the width
    swapped = check(model, (32, 16), group="p4")
    assert swapped.exact and swapped.end_to_end_error < 1e-12


def test_a_large_constant_offset_cannot_hide_an_error() -> None:
    model = Wrap(lambda y: y[..., 1:, 1:].mean((-1, -2)) + 1e9)
    report = check(model, 9)
    # relative to a thousandth of the output at least (testing.SATURATION_FLOOR): still far above 1e-12
    assert report.verdict == "not exact" and report.end_to_end_error > 1e-9


def test_a_fixed_positional_map_is_not_certified() -> None:
    class Positional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)
            self.position = nn.Parameter(torch.randn(1, 2, 9, 9))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x) + self.position

    report = check(Positional(), 9)
    _no(report)
    assert report.not_understood and report.end_to_end_error > 1e-3


@pytest.mark.parametrize(
    "then",
    [
        lambda y: F.pixel_shuffle(y, 2),
        lambda y: torch.rot90(y, 1, (-2, -1)),
        lambda y: y.transpose(-1, -2),
        lambda y: torch.roll(y, 1, -1),
        lambda y: nn.functional.linear(y, torch.ones(3, 9, dtype=y.dtype)),
    ],
    ids=["pixel shuffle", "rot90", "transpose", "roll", "dense along the width"],
)
def test_ops_without_a_rule_are_never_certified(then: object) -> None:
    report = check(Wrap(then, channels=4), 9)
    _no(report)
    assert report.not_understood or report.grid_exact is False


def test_a_branch_that_fx_drops_is_seen_through_torch_export() -> None:
    class Sneaky(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.conv(x)
            if isinstance(y, torch.Tensor):  # False for fx's proxies: fx alone would drop the pooling
                y = F.max_pool2d(y, 2)
            return y

    report = check(Sneaky(), 33)
    assert report.method == "export" and report.verdict == "not exact"


def test_data_dependent_control_flow_is_not_certified() -> None:
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 1e9:  # never taken on the measured inputs, but the rules cannot see inside
                return self.conv(x)[..., 1:, :]
            return self.conv(x)

    report = check(Branchy(), 9)
    assert report.verdict == "not certified" and report.method is None


def test_zeros_as_example_input_do_not_make_a_model_exact() -> None:
    model = Wrap(lambda y: F.max_pool2d(y, 2))
    report = check(model, 33, example_input=torch.zeros(4, 1, 33, 33))
    assert report.verdict == "not exact" and report.end_to_end_error > 0.1


def test_an_output_of_unknown_action_is_not_certified() -> None:
    report = check(Wrap(lambda y: (y, y)), 9)
    assert report.verdict == "not certified"


def test_nan_outputs_are_an_infinite_error() -> None:
    report = check(Wrap(lambda y: torch.log(y)), 9)
    assert report.verdict == "not exact" and math.isinf(report.end_to_end_error)


def test_a_non_square_kernel_is_not_rotation_exact() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, (1, 3), padding=(0, 1)))
    assert check(model, 9, group="p4").verdict == "not exact"
    assert check(model, 9, group="hflip").exact


# transform_network ------------------------------------------------------------------------------------


def test_transform_network_sees_functional_pooling() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)
            self.head = nn.Linear(2, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(F.max_pool2d(self.conv(x), 2).mean((-1, -2)))

    net = Net().double()
    with pytest.raises(ValueError, match="max_pool2d"):
        transform_network(net, "rot90", input_size=33)
    moved = transform_network(net, "rot90", input_size=32)
    x = torch.randn(2, 1, 32, 32, dtype=torch.float64)
    torch.testing.assert_close(moved(x), net(torch.rot90(x, 1, (-2, -1))), rtol=1e-12, atol=1e-12)


# eqlab.testing --------------------------------------------------------------------------------------


CYCLE = [[1, 2, 3, 0]]


def test_nan_and_inf_outputs_fail() -> None:
    x = torch.randn(3, 4)
    assert math.isinf(equivariance_error(lambda t: t * float("nan"), x, CYCLE, CYCLE))
    assert math.isinf(equivariance_error(lambda t: t / 0.0, x, CYCLE, CYCLE))
    with pytest.raises(AssertionError, match="inf"):
        assert_equivariant(lambda t: torch.log(t), x - 10, CYCLE, CYCLE)


def test_a_constant_offset_cannot_hide_an_error_in_assert_equivariant() -> None:
    x = torch.randn(8, 4)
    with pytest.raises(AssertionError):
        assert_equivariant(lambda t: t.flip(-1) + 1e9, x, CYCLE, CYCLE)


def test_shape_mismatches_and_empty_actions_are_refused() -> None:
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 2\)|\(3, 2\).*\(3, 4\)"):
        equivariance_error(lambda t: t, x, CYCLE, [lambda t: t[..., :2]])
    with pytest.raises(ValueError, match="in_action"):
        equivariance_error(lambda t: t, x, [], [])


# activations.check ------------------------------------------------------------------------------


def test_a_verdict_never_stands_beside_a_larger_measured_error() -> None:
    result = check_activation(Representation.rotation(4), torch.log)
    assert result.equivariant is not True and math.isinf(result.max_error)
    c4 = Representation.from_permutations(cyclic(4).action())
    with pytest.raises(TypeError, match="entry-wise"):
        check_activation(c4, lambda x: x.cumsum(-1))
    with pytest.raises(TypeError, match="entry-wise"):
        check_activation(c4, nn.PReLU(4))


def test_scales_float64_cannot_tell_discrete_or_dense_are_undecided() -> None:
    b = 2 ** (1 / 1009)
    scales = np.array([[[2.0, 0.0], [0.0, 0.5]], [[b, 0.0], [0.0, 1 / b]]])

    def b_multiplicative(x: torch.Tensor) -> torch.Tensor:
        t = torch.log(x.abs().clamp_min(1e-300)) / math.log(b)
        return x * (1 + 0.3 * torch.sin(2 * math.pi * t)) * (x != 0)

    result = check_activation(scales, b_multiplicative)
    assert result.equivariant is None and result.max_error < 1e-6 and "float64 cannot" in result.reason
    assert check_activation(scales, "relu").equivariant is True  # semilinear: admissible either way


# scan -----------------------------------------------------------------------------------------------


ROT = Representation.rotation(4)


class Between(nn.Module):
    """Two rotation layers with a function between them."""

    def __init__(self, between: object) -> None:
        super().__init__()
        self.a, self.b = RepLinear(ROT, ROT), RepLinear(ROT, ROT)
        self.between = between

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.between(self.a(x)))  # type: ignore[operator]


@pytest.mark.parametrize(
    "between", [F.relu, torch.relu, lambda t: t.relu()], ids=["F.relu", "torch.relu", "x.relu()"]
)
def test_scan_finds_functional_activations(between: object) -> None:
    report = scan(Between(between), ROT)
    assert not report.ok and report.broken and report.end_to_end_error > 1e-3


@pytest.mark.parametrize(
    "between",
    [
        lambda t: t.flip(-1),
        lambda t: t + torch.tensor([1.0, 0.0], dtype=t.dtype),
        lambda t: t * t.new_tensor([1, 2]),
    ],
    ids=["flip", "a non-invariant bias", "scaling one coordinate"],
)
def test_scan_does_not_pass_an_op_it_cannot_follow(between: object) -> None:
    report = scan(Between(between), ROT)
    assert not report.ok and report.unchecked


# one group ------------------------------------------------------------------------------------------


def test_generators_of_no_common_group_are_refused() -> None:
    with pytest.raises(ValueError, match="generator 0 has order 4 on in_perms but 5 on out_perms"):
        EquivariantLinear(cyclic(4).action(), cyclic(5).action())
    layer = EquivariantLinear(cyclic(4).action(), cyclic(5).action(), joint=True)
    assert layer.num_free_parameters == 2  # C20 acts transitively on both sides: one weight, one bias
    with pytest.raises(ValueError, match="hidden_action"):
        EquivariantMLP(cyclic(4).action(), [3], 1, hidden_action=cyclic(5).action())
    with pytest.raises(ValueError, match="order 4 and 3"):
        Representation.direct_sum(Representation.rotation(4), Representation.rotation(3))
    assert Representation.direct_sum(ROT, ROT).dim == 4


@pytest.mark.parametrize(
    "matrices", [[[[2.0, 0.0], [0.0, 1.0]]], [[[2.0, 0.0], [0.0, 0.5]]]], ids=["|det| 2", "scales 2 and 1/2"]
)
def test_enumerating_an_infinite_group_is_refused(matrices: list[object]) -> None:
    with pytest.raises(ValueError, match="infinite"):
        Representation(matrices).elements()


# found by an independent review -------------------------------------------------------------------


class Gate(nn.Module):
    """A symmetry break behind a gate that stays shut for standard normal inputs and opens for pixels."""

    def __init__(self, broken: object) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.broken = broken

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        gate = torch.relu(x.amax((-1, -2), keepdim=True) - 10)
        return y + gate * self.broken(y)  # type: ignore[operator]


@pytest.mark.parametrize(
    "broken",
    [
        lambda y: y * torch.arange(9, dtype=y.dtype),  # a 1-D bias per column
        lambda y: torch.cat([y, torch.linspace(0, 1, 9, dtype=y.dtype).expand_as(y)], 1).sum(1, keepdim=True),
        lambda y: y.flip(-1),
    ],
    ids=["1-D column weights", "coordinate channels", "a flip"],
)
def test_a_break_behind_a_gate_is_never_certified(broken: object) -> None:
    report = check(Gate(broken), 9)
    assert report.verdict != "exact" and report.grid_exact is not True, report.table()
    assert report.end_to_end_error > 1e-3  # the pixel-valued inputs open the gate


def test_group_axis_constants_and_layers_are_seen() -> None:
    class PerOrientation(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lift = LiftingConv2d(1, 2, 3, padding=1)
            self.weight = nn.Parameter(torch.randn(4, 1, 1))
            self.mix = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.lift(x) * self.weight  # a weight per orientation
            return self.mix(y.mean((-1, -2)))  # a dense layer across orientations

    report = check(PerOrientation(), 9)
    assert report.verdict == "not certified" and report.not_understood


def test_per_channel_ops_on_a_flattened_image_are_not_understood() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Flatten(), nn.BatchNorm1d(2 * 81))
    assert check(model.eval(), 9).verdict == "not certified"


def test_modules_whose_forward_is_changed_are_not_trusted_by_class() -> None:
    hooked = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1))
    hooked[0].register_forward_pre_hook(lambda m, args: (args[0] * torch.arange(9, dtype=args[0].dtype),))
    assert check(hooked, 9).verdict == "not certified"
    with pytest.raises(ValueError, match="forward hook"):
        transform_network(hooked, "rot90", input_size=9)
    normed = nn.Sequential(nn.utils.parametrizations.weight_norm(nn.Conv2d(1, 2, 3, padding=1)))
    assert check(normed, 9).verdict == "not certified"


def test_a_layer_called_twice_is_two_nodes_on_the_export_path() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lift = LiftingConv2d(1, 2, 3, padding=1)
            self.down = GroupConv2d(2, 2, 3, stride=2, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[-1] > 4:  # control flow on the shape: fx fails, torch.export specialises
                x = x * 1.0
            return self.down(self.down(self.lift(x)))

    report = check(Twice(), 11)  # 11 -> 6 is exact, 6 -> 3 is not
    assert report.method == "export" and report.verdict == "not exact"
    assert [row.name for row in report.spatial_layers] == ["lift", "down", "down_2"]


def test_clamps_far_from_zero_are_not_linear() -> None:
    rotation = Representation.rotation(1, degrees=37)
    for clamp in (nn.Hardtanh(-65504, 65504), lambda x: x.clamp(-65504, 65504), nn.Threshold(-1e4, -1e4)):
        assert check_activation(rotation, clamp).equivariant is False
    assert check_activation(
        Representation.from_permutations(cyclic(4).action()), nn.ELU(alpha=0.0)
    ).equivariant


def test_scan_is_not_ok_without_a_measurement() -> None:
    broken = nn.Sequential(LiftingConv2d(1, 2, 2, stride=2), nn.ReLU(), GroupConv2d(2, 2, 3), GroupPool())
    report = scan(broken, ROT)
    assert not report.ok and report.end_to_end_error > 1e-3
    numerator = Between(lambda t: 2.0 / t)
    assert not scan(numerator, ROT).ok


def test_huge_outputs_do_not_overflow_the_error() -> None:
    x = torch.randn(4, 4, dtype=torch.float64)
    error = equivariance_error(lambda t: 1e160 * (t + 1e-9 * t[..., :1] ** 2), x, CYCLE, CYCLE)
    assert error > 1e-12  # the first coordinate singled out: not equivariant, by about 1e-9

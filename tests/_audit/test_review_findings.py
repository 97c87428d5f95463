"""The defects an independent review found in `eqlab.audit` and `exact_sizes`, each as the model that
exposed it: none may come back."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import eqlab
from eqlab.exactness import check, exact_sizes
from eqlab.groups._image import transform_image
from tests import zoo

EXACT = 1e-12


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def symmetric_conv(*args: int, **kwargs: int) -> nn.Conv2d:
    """A Conv2d whose filters are averaged over D4: exactly equivariant where its grid maps."""
    conv = nn.Conv2d(*args, **kwargs)
    with torch.no_grad():
        conv.weight.copy_(sum(transform_image(conv.weight, g) for g in range(8)) / 8)
    return conv


class Gate(nn.Module):
    """Exactly invariant on standard normal inputs; an asymmetric path opens above 6."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = symmetric_conv(1, 4, 3, padding=1)
        self.side = nn.Conv2d(1, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x) + self.side(torch.relu(x - 6.0))).mean((2, 3))


def test_a_gate_that_opens_on_pixel_values_is_not_exact() -> None:
    report = eqlab.audit(Gate(), "rot90", 16)
    assert report.verdict != "exact"
    assert report.end_to_end_error > 1e-3


class Branchy(nn.Module):
    """fx drops the strided branch (a proxy is no tensor); the model runs it."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(1, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.a(x)
        if isinstance(y, torch.Tensor):
            y = self.b(y)
        return torch.relu(y).mean((2, 3))


def test_exact_sizes_does_not_trust_a_graph_that_drops_a_branch() -> None:
    assert exact_sizes(Branchy(), range(14, 19), group="p4") == [15, 17]


class LiteralReshape(nn.Module):
    def __init__(self, batch_from_shape: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.batch_from_shape = batch_from_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        y = y.reshape(y.shape[0], 4, 8, 8) if self.batch_from_shape else y.reshape(-1, 4, 8, 8)
        return y.mean((2, 3))


@pytest.mark.parametrize("batch_from_shape", [True, False])
def test_a_reshape_to_a_literal_plane_fixes_the_size(batch_from_shape: bool) -> None:
    assert exact_sizes(LiteralReshape(batch_from_shape), range(6, 20)) == [8]


@pytest.mark.parametrize(
    "reduce",
    [
        lambda y: y.max(-1)[0],
        lambda y: y.min(-1).values,
        lambda y: y.std(-1),
        lambda y: y.max(-1)[1],
    ],
    ids=["max(-1)[0]", "min(-1).values", "std(-1)", "max(-1)[1]"],
)
def test_a_reduction_over_one_axis_is_not_invariant(reduce: object) -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return reduce(self.conv(x))  # type: ignore[operator]

    assert exact_sizes(Net(), [8, 9], group="vflip") == []
    assert check(Net(), 8, group="vflip").verdict != "exact"


def test_a_model_in_training_mode_is_measured_in_eval_mode_and_says_so() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(symmetric_conv(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout2d(0.5))
    report = eqlab.audit(net.train(), "hflip", 12, out_action="image")
    assert any("training mode" in note for note in report.notes)
    assert net.training


class StrideView(nn.Module):
    """A strided symmetric conv, then a reshape to a literal 4 x 4 plane: runs at 7 and 8 only."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = symmetric_conv(1, 4, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).reshape(-1, 4, 4, 4).mean((2, 3))


def test_sizes_where_the_model_does_not_run_are_never_proposed() -> None:
    report = eqlab.audit(StrideView(), "rot90", 8)  # used to raise a ValueError about example_input
    for fix in report.fixes:
        assert fix.verified
        if fix.kind == "input size":
            assert fix.details["size"] == 7


class OneAtATime(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = symmetric_conv(1, 2, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return self.conv(x).reshape(2, h, w).mean((1, 2))


def test_a_model_taking_one_input_at_a_time_is_measured() -> None:
    """It used to raise; its output has no batch axis, so the errors are relative to the whole output."""
    report = eqlab.audit(OneAtATime(), "rot90", 8)
    assert report.end_to_end_error < 1e-6


def test_no_size_fix_collapses_the_image() -> None:
    class Resize(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = symmetric_conv(1, 2, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = nn.functional.interpolate(self.conv(x), scale_factor=1.5, mode="nearest")
            return y.mean((2, 3))

    report = eqlab.audit(Resize(), "rot90", 10)
    assert all(f.details["size"] >= 5 for f in report.fixes if f.kind == "input size")


def test_group_layers_without_the_symmetry_are_named_as_the_cause() -> None:
    report = eqlab.audit(zoo.p4_cnn(), "d4", 11)
    assert report.verdict != "exact"
    assert "p4 layers do not carry p4m" in report.reason
    assert report.architecture_error is None  # nothing was averaged that could stand for the architecture


def test_activations_are_admissible_only_where_the_action_is_a_known_permutation() -> None:
    """Pointwise activations commute with permutations (Pacini et al., Theorem 1): the audit says so for
    those on image features, and leaves one after an op it does not understand undecided."""

    class Rolled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = symmetric_conv(1, 2, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.relu(self.conv(x))  # on image positions: admissible
            return torch.tanh(torch.roll(y, 1, dims=-1)).mean((2, 3))  # after a roll: undecided

    report = eqlab.audit(Rolled(), "rot90", 9)
    assert report.verdict != "exact"
    assert any("1 on image positions" in note and "admissible" in note for note in report.notes)
    undecided = [row for row in report.layers if row.op == "tanh"]
    assert len(undecided) == 1 and undecided[0].exact is None and "undecided" in undecided[0].effect

"""`eqlab.audit` on the zoo's standard layouts and on models built to fool it: the grid prediction agrees with
the averaged copy's measurement, the verdict follows its rule, bad arguments are named, the report
serialises, and the model passed in is left as it was."""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import eqlab
from eqlab._audit import AuditReport
from eqlab.groups._image import transform_image
from tests import zoo

EXACT = 1e-12
F64 = torch.float64
ROT90 = (0, 1, 2, 3)
D4 = tuple(range(8))
GRID_SYMMETRIES = {"p4", "p4m", "rot180", "hflip", "vflip"}
M = TypeVar("M", bound=nn.Module)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ----------------------------------------------------------------------------------------------------------
# the zoo: one audit per (model, symmetry, size), shared with test_fixes.py


@dataclass(frozen=True)
class Case:
    build: Callable[[], nn.Module]
    symmetries: tuple[str, str]  # rot90 and a flip (or rot180 where the model's layers carry no flip)
    exact: int  # a size where the zoo docstring says the grid maps onto itself
    broken: int | None  # a size where it does not (None: the model runs only at exact sizes)
    first_broken: str | None  # the traced node that breaks the grid first at ``broken``


ZOO: dict[str, Case] = {
    "resnet18": Case(lambda: zoo.resnet(18, 4), ("rot90", "hflip"), 33, 64, "conv1"),
    "resnet50": Case(lambda: zoo.resnet(50, 4), ("rot90", "hflip"), 33, 64, "conv1"),
    "vgg11_bn": Case(lambda: zoo.vgg11_bn(4, hidden=8), ("rot90", "hflip"), 32, 48, "features.28"),
    "vgg11_bn flatten head": Case(
        lambda: zoo.vgg11_bn(4, adaptive=False, input_size=64, hidden=8),
        ("rot90", "vflip"),
        64,
        70,
        "features.7",
    ),
    "unet": Case(lambda: zoo.unet(width=4), ("rot90", "hflip"), 16, None, None),
    "unet resize_to_skip": Case(
        lambda: zoo.unet(width=4, resize_to_skip=True), ("rot90", "hflip"), 16, 20, "pool_3"
    ),
    "functional_net": Case(zoo.functional_net, ("rot90", "hflip"), 18, 20, "avg_pool2d"),
    "p4_cnn": Case(lambda: zoo.p4_cnn(), ("rot90", "rot180"), 11, 12, "2"),
    "p4m_cnn": Case(lambda: zoo.p4m_cnn(), ("rot90", "hflip"), 11, 12, "2"),
}


@functools.cache
def model(name: str) -> nn.Module:
    return ZOO[name].build()


@functools.cache
def audited(name: str, symmetry: str, size: int) -> AuditReport:
    """The audit of a zoo model (cached: the fixes' tests re-check the same reports)."""
    return eqlab.audit(model(name), symmetry, size)


def zoo_params(kind: str) -> list[Any]:
    params = []
    for name, case in ZOO.items():
        for symmetry in case.symmetries:
            size = case.exact if kind == "exact" else case.broken
            if size is None:
                continue
            params.append(pytest.param(name, symmetry, size, id=f"{name}-{symmetry}-{size}"))
    return params


def agrees(report: AuditReport) -> None:
    """The grid prediction, made before any measurement, and the averaged copy's measurement agree."""
    assert report.grid_prediction is not None, report.table()
    assert report.architecture_error is not None
    assert (report.architecture_error <= EXACT) == report.grid_prediction, report.table()
    assert report.architecture_exact is report.grid_prediction, report.notes


@pytest.mark.parametrize(("name", "symmetry", "size"), zoo_params("exact"))
def test_zoo_at_an_exact_size(name: str, symmetry: str, size: int) -> None:
    report = audited(name, symmetry, size)
    agrees(report)
    assert report.architecture_exact is True
    assert report.architecture_error is not None and report.architecture_error <= EXACT
    assert all(row.exact is not False for row in report.layers)


@pytest.mark.parametrize(("name", "symmetry", "size"), zoo_params("broken"))
def test_zoo_at_a_size_that_is_not_exact(name: str, symmetry: str, size: int) -> None:
    report = audited(name, symmetry, size)
    agrees(report)
    assert report.architecture_exact is False
    first = ZOO[name].first_broken
    assert f"{first} (" in report.reason, report.reason
    broken = [row.name for row in report.layers if row.exact is False]
    assert broken and broken[0] == first, broken
    assert report.verdict != "exact"


def test_the_zoo_models_are_random_so_not_equivariant_as_given() -> None:
    """Random filters: the plain models measure far above the tolerance even where the grid is exact, and
    say why; the group CNNs of eqlab's layers are exact there."""
    for name in ("resnet18", "vgg11_bn", "unet"):
        report = audited(name, "rot90", ZOO[name].exact)
        assert report.verdict == "not equivariant" and report.end_to_end_error > 1e-2
        assert "weights are not symmetric" in report.reason
    for name in ("p4_cnn", "p4m_cnn"):
        report = audited(name, "rot90", 11)
        assert report.verdict == "exact" and report.end_to_end_error <= EXACT


# ----------------------------------------------------------------------------------------------------------
# the verdict rule on small plain CNNs


def plain_cnn(seed: int = 0, stride: int = 2, kernel: int = 3) -> nn.Sequential:
    """A plain CNN with an invariant head, its grid exact at odd sides: ``(B, 1, H, W) -> (B, 3)``."""
    generator = torch.Generator().manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(1, 4, kernel, padding=kernel // 2),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, stride=stride, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    ).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=F64) * 0.5)
    return net


def symmetrised(net: M, elements: tuple[int, ...] = ROT90) -> M:
    """Every Conv2d filter averaged over ``elements`` of D4, by hand (in float64), in place."""
    with torch.no_grad():
        for layer in net.modules():
            if isinstance(layer, nn.Conv2d):
                w = layer.weight.detach().to(F64)
                layer.weight.copy_(torch.stack([transform_image(w, g) for g in elements]).mean(0))
    return net


def test_eqlab_group_cnn_at_an_exact_size_is_exact() -> None:
    report = eqlab.audit(zoo.p4_cnn(), "rot90", 15)
    assert report.verdict == "exact" and report.exact
    assert report.end_to_end_error <= EXACT
    assert report.architecture_exact is True
    assert report.fixes == []


def test_plain_cnn_with_random_filters_is_not_equivariant() -> None:
    report = eqlab.audit(plain_cnn(), "rot90", 15)
    assert report.verdict == "not equivariant"
    assert report.end_to_end_error > 1e-2
    assert report.architecture_exact is True  # the grid is fine; the filters are not


@pytest.mark.parametrize(("symmetry", "elements"), [("rot90", ROT90), ("hflip", (0, 4)), ("d4", D4)])
def test_filters_symmetrised_by_hand_are_exact(symmetry: str, elements: tuple[int, ...]) -> None:
    report = eqlab.audit(symmetrised(plain_cnn(), elements), symmetry, 15)
    assert report.verdict == "exact", report.table()
    assert report.end_to_end_error <= EXACT


def test_symmetric_filters_at_a_size_that_is_not_exact_are_not_exact() -> None:
    report = eqlab.audit(symmetrised(plain_cnn()), "rot90", 16)  # stride 2 on an even side
    assert report.verdict != "exact"
    assert report.architecture_exact is False
    assert report.end_to_end_error > EXACT


def test_a_tiny_asymmetry_is_approximate() -> None:
    net = symmetrised(plain_cnn())
    conv = net[2]
    assert isinstance(conv, nn.Conv2d)
    with torch.no_grad():
        conv.weight[0, 0, 0, 0] += 1e-6
    report = eqlab.audit(net, "rot90", 15, tolerance=1e-2)
    assert report.verdict == "approximate", report.table()
    assert EXACT < report.end_to_end_error <= 1e-2
    assert report.architecture_exact is True
    strict = eqlab.audit(net, "rot90", 15, tolerance=1e-9)
    assert strict.verdict == "not equivariant"


# ----------------------------------------------------------------------------------------------------------
# adversarial models: every one is otherwise symmetric (filters averaged over D4, an exact size)


class NaNOutput(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = symmetrised(plain_cnn(), D4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x)
        return y * torch.where(y > 0, 1.0, float("nan"))  # NaN wherever a logit is not positive


class Positional(nn.Module):
    """Adds a fixed random image: the same for every input, so it does not move with it."""

    position: torch.Tensor

    def __init__(self, size: int) -> None:
        super().__init__()
        self.net = symmetrised(plain_cnn(), D4)
        generator = torch.Generator().manual_seed(1)
        self.register_buffer("position", torch.randn(1, 1, size, size, generator=generator, dtype=F64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x + self.position)


class Inside(nn.Module):
    """A symmetric convolution whose output image is flipped (or rotated) inside the forward."""

    def __init__(self, op: str) -> None:
        super().__init__()
        self.conv = symmetrised(nn.Conv2d(1, 2, 3, padding=1).double(), D4)
        self.op = op

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return torch.flip(y, dims=[-1]) if self.op == "flip" else torch.rot90(y, 1, dims=(-2, -1))


class FunctionalPool(nn.Module):
    """``F.max_pool2d(x, 2)`` on an odd side: the windows miss the last row and column."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = symmetrised(nn.Conv2d(1, 2, 3, padding=1).double(), D4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(self.conv(x), 2).mean(dim=(-2, -1))


class Sliced(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = symmetrised(nn.Conv2d(1, 2, 3, padding=1).double(), D4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)[:, :, 1:, 1:].mean(dim=(-2, -1))


class NonSquareStride(nn.Module):
    """Stride 1 along height, 2 along width: a square input gives an ``H x W/2`` image, so a rotated input
    gives an output of another shape than the rotated output."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = symmetrised(nn.Conv2d(1, 2, 3, stride=(1, 2), padding=1).double(), D4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class _NumpyOp(torch.autograd.Function):
    """A custom autograd op computed in numpy, which no tracer sees into."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kind: str) -> torch.Tensor:
        a = x.detach().cpu().numpy()
        return torch.from_numpy(np.tanh(a) if kind == "tanh" else np.cumsum(a, axis=-1))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad, None


class CustomOp(nn.Module):
    def __init__(self, kind: str) -> None:
        super().__init__()
        self.conv = symmetrised(nn.Conv2d(1, 2, 3, padding=1).double(), D4)
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _NumpyOp.apply(self.conv(x), self.kind).mean(dim=(-2, -1))


ADVERSARIAL: dict[str, tuple[Callable[[], nn.Module], str, int]] = {
    "NaN in the output": (NaNOutput, "rot90", 15),
    "a fixed positional tensor": (lambda: Positional(15), "rot90", 15),
    "torch.flip inside": (lambda: Inside("flip"), "rot90", 15),
    "torch.rot90 inside": (lambda: Inside("rot90"), "hflip", 15),
    "F.max_pool2d off the grid": (FunctionalPool, "rot90", 15),
    "a slice x[:, :, 1:, 1:]": (Sliced, "rot90", 15),
    "a non-square stride": (NonSquareStride, "rot90", 16),
    "a custom op (asymmetric)": (lambda: CustomOp("cumsum"), "rot90", 15),
}


def test_the_adversarial_models_are_symmetric_but_for_the_trap() -> None:
    """Without the trap, each is exact: so what the audit catches below is the trap itself."""
    assert eqlab.audit(symmetrised(plain_cnn(), D4), "d4", 15).verdict == "exact"
    conv = symmetrised(nn.Conv2d(1, 2, 3, padding=1).double(), D4)
    assert eqlab.audit(conv, "d4", 15, out_action="image").verdict == "exact"


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_models_are_never_exact(name: str) -> None:
    build, symmetry, size = ADVERSARIAL[name]
    report = eqlab.audit(build(), symmetry, size)
    assert report.verdict != "exact", report.table()
    assert report.architecture_exact is not True
    assert report.end_to_end_error > 1e-2  # each trap really breaks the symmetry


def test_a_nan_output_is_an_infinite_error() -> None:
    report = eqlab.audit(NaNOutput(), "rot90", 15)
    assert report.verdict == "not equivariant"
    assert math.isinf(report.end_to_end_error)


def test_the_traps_the_grid_sees_are_named() -> None:
    pool = eqlab.audit(FunctionalPool(), "rot90", 15)
    assert pool.architecture_exact is False and "max_pool2d (" in pool.reason
    sliced = eqlab.audit(Sliced(), "rot90", 15)
    assert sliced.architecture_exact is False and "getitem (" in sliced.reason


def test_an_output_that_changes_shape_fails_the_measurement() -> None:
    report = eqlab.audit(NonSquareStride(), "rot90", 16)
    assert report.verdict == "not equivariant"
    assert math.isinf(report.end_to_end_error)
    assert "fails or changes shape" in report.reason
    assert all(fix.kind != "orbit average" for fix in report.fixes)  # nothing to average


def test_an_opaque_custom_op_is_never_certified() -> None:
    """A numpy tanh is pointwise, so the model is equivariant, but no tracer sees that: not exact."""
    report = eqlab.audit(CustomOp("tanh"), "rot90", 15)
    assert report.end_to_end_error <= EXACT  # it is equivariant ...
    assert report.verdict == "approximate"  # ... but nothing certifies it
    assert report.architecture_exact is None


# ----------------------------------------------------------------------------------------------------------
# symmetry="all"


@pytest.mark.parametrize(
    ("build", "everything_exact"),
    [
        (zoo.p4m_cnn, True),
        (zoo.p4_cnn, False),  # its layers carry no reflection
        (lambda: symmetrised(plain_cnn(), D4), True),
        # a 5x5 filter averaged over rotations is not mirror-symmetric (a 3x3 one would be)
        (lambda: symmetrised(plain_cnn(kernel=5), ROT90), False),
    ],
    ids=["p4m_cnn", "p4_cnn", "plain, D4 filters", "plain, C4 filters"],
)
def test_all_gives_one_report_per_symmetry(build: Callable[[], nn.Module], everything_exact: bool) -> None:
    report = eqlab.audit(build(), "all", 11)
    assert len(report.symmetries) == 5
    assert {one.symmetry for one in report.symmetries} == GRID_SYMMETRIES
    assert all(one.input_size == (11, 11) for one in report.symmetries)
    exact = [one.verdict == "exact" for one in report.symmetries]
    assert all(exact) is everything_exact
    assert (report.verdict == "exact") is all(exact)
    assert report.end_to_end_error == max(one.end_to_end_error for one in report.symmetries)
    by_name = {one.symmetry: one for one in report.symmetries}
    assert by_name["p4"].verdict == "exact" and by_name["rot180"].verdict == "exact"
    assert report.verdict.value in report.table()
    for one in report.symmetries:
        assert one.symmetry in report.table()


# ----------------------------------------------------------------------------------------------------------
# bad arguments


BAD = [
    ({"model": "a model"}, TypeError, "model"),
    ({"model": None}, TypeError, "model"),
    ({"symmetry": "rot45"}, ValueError, "symmetry"),
    ({"symmetry": 90}, TypeError, "symmetry"),
    ({"input_size": 0}, ValueError, "input_size"),
    ({"input_size": "a"}, TypeError, "input_size"),
    ({"input_size": (15, 0)}, ValueError, "input_size"),
    ({"tolerance": -1}, ValueError, "tolerance"),
    ({"tolerance": float("nan")}, ValueError, "tolerance"),
    ({"tolerance": "small"}, TypeError, "tolerance"),
    ({"out_action": "sideways"}, ValueError, "out_action"),
    ({"example_input": [[0.0]]}, TypeError, "example_input"),
    ({"example_input": torch.zeros(1, 1, 10, 10)}, ValueError, "example_input"),  # not input_size
    ({"example_input": torch.zeros(1, 2, 15, 15)}, ValueError, "example_input"),  # not the channels
    ({"example_input": torch.zeros(15, 15)}, ValueError, "example_input"),  # not a batch
    ({"data": [1, 2]}, TypeError, "data"),
    ({"data": "images"}, TypeError, "data"),
    ({"data": {"x": 1}}, TypeError, "data"),
]


@pytest.mark.parametrize(("change", "error", "word"), BAD)
def test_bad_arguments_are_named(change: dict[str, Any], error: type[Exception], word: str) -> None:
    arguments: dict[str, Any] = {"model": plain_cnn(), "symmetry": "rot90", "input_size": 15, **change}
    net, symmetry, size = arguments.pop("model"), arguments.pop("symmetry"), arguments.pop("input_size")
    with pytest.raises(error, match=word):
        eqlab.audit(net, symmetry, size, **arguments)


def test_example_input_only_tells_the_shape() -> None:
    net = zoo.functional_net()
    given = eqlab.audit(net, "rot90", 18, example_input=torch.full((1, 1, 18, 18), 7.0))
    read = eqlab.audit(net, "rot90", 18)  # its F.conv2d filters tell the channels
    assert given.to_dict() | {"seconds": {}} == read.to_dict() | {"seconds": {}}


# ----------------------------------------------------------------------------------------------------------
# the report as data


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    "report",
    [
        pytest.param(lambda: audited("resnet18", "rot90", 64), id="resnet18 with fixes"),
        pytest.param(lambda: eqlab.audit(NaNOutput(), "rot90", 15), id="an infinite error"),
        pytest.param(lambda: eqlab.audit(zoo.p4m_cnn(), "all", 11), id="all"),
    ],
)
def test_json_round_trips_and_the_table_holds_the_verdict(report: Callable[[], AuditReport]) -> None:
    one = report()
    data = _strict_json(one.to_json())  # strict: no NaN or Infinity tokens
    assert data == one.to_dict()
    assert data["verdict"] == one.verdict.value
    assert data["symmetry"] == one.symmetry
    assert len(data["fixes"]) == len(one.fixes) and len(data["symmetries"]) == len(one.symmetries)
    assert one.verdict.value in one.table()


def test_json_keeps_the_numbers() -> None:
    one = audited("resnet18", "rot90", 64)
    data = json.loads(one.to_json())
    assert data["end_to_end_error"] == one.end_to_end_error
    assert data["architecture_exact"] is False and data["grid_prediction"] is False
    assert [fix["kind"] for fix in data["fixes"]] == [fix.kind for fix in one.fixes]
    assert [row["name"] for row in data["layers"]] == [row.name for row in one.layers]


# ----------------------------------------------------------------------------------------------------------
# the model passed in is not touched


class WithStatistics(nn.Module):
    """Batch norm and dropout, whose behaviour depends on the mode: ``(B, 1, H, W) -> (B, 3)``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.drop = nn.Dropout(0.5)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.drop(torch.relu(self.bn(self.conv(x))))), 1))


@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
def test_the_model_is_unchanged(training: bool) -> None:
    net = zoo.randomize_batchnorm(WithStatistics(), 3).train(training)
    before = copy.deepcopy(net.state_dict())
    modes = [m.training for m in net.modules()]
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(8, 1, 16, 16, generator=generator)
    data = (x, torch.randint(0, 3, (8,), generator=generator))
    for symmetry, size in (("rot90", 16), ("hflip", 15)):
        eqlab.audit(net, symmetry, size, data=data)
    after = net.state_dict()
    assert list(after) == list(before)
    for key, value in before.items():
        assert after[key].dtype == value.dtype, key
        assert torch.equal(after[key], value), key
    assert [m.training for m in net.modules()] == modes
    assert all(p.grad is None and p.requires_grad for p in net.parameters())

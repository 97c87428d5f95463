"""eqlab.trace: both ways of tracing (fx with eqlab layers as leaves, torch.export), the check that a
graph reproduces the model, and the vocabulary of the nodes."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from eqlab.nn import GroupConv2d, GroupPool, LiftingConv2d
from eqlab.trace import TracedNode, TraceFailure, trace_model
from eqlab.trace._graph import is_eqlab_layer


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.weight = nn.Parameter(torch.randn(2, 2, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        x = F.conv2d(x[..., ::2, 1:], self.weight, padding=1).tanh()
        return F.interpolate(x, scale_factor=2, mode="bilinear").mean((-1, -2))


def test_fx_names_modules_functions_and_methods_alike() -> None:
    view = trace_model(Functional(), torch.zeros(1, 1, 16, 16))
    assert view.method == "fx" and not view.rejected
    ops = [(n.name, n.op) for n in view.calls()]
    assert ops == [
        ("conv", "Conv2d"),
        ("relu", "relu"),
        ("max_pool2d", "max_pool2d"),
        ("getitem", "getitem"),
        ("conv2d", "conv2d"),
        ("tanh", "tanh"),
        ("interpolate", "interpolate"),
        ("mean", "mean"),
    ]
    pool = next(n for n in view.nodes if n.op == "max_pool2d")
    assert pool.arg("kernel_size") == 2 and pool.arg("stride") is None and tuple(pool.shape) == (1, 2, 8, 8)
    conv = next(n for n in view.nodes if n.op == "conv2d")
    weight = conv.arg("weight")
    assert isinstance(weight, TracedNode) and weight.kind == "attribute" and weight.path == "weight"
    assert conv.arg("padding") == 1


def test_eqlab_layers_are_leaves_though_they_branch_on_the_input() -> None:
    model = nn.Sequential(LiftingConv2d(1, 2, 3, padding=1), GroupConv2d(2, 2, 3, padding=1), GroupPool())
    view = trace_model(model, torch.zeros(1, 1, 9, 9))
    assert view.method == "fx"
    assert [(n.op, tuple(n.shape)) for n in view.calls()] == [
        ("LiftingConv2d", (1, 2, 4, 9, 9)),
        ("GroupConv2d", (1, 2, 4, 9, 9)),
        ("GroupPool", (1, 2, 9, 9)),
    ]
    assert is_eqlab_layer(model[0]) and not is_eqlab_layer(model) and not is_eqlab_layer(nn.ReLU())


class ShapeBranch(nn.Module):
    """Control flow on the input's shape: fx cannot trace it, torch.export specialises it."""

    def __init__(self) -> None:
        super().__init__()
        self.lift = LiftingConv2d(1, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 2 == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return self.lift(x)


def test_torch_export_takes_over_where_fx_fails_and_keeps_eqlab_layers_whole() -> None:
    view = trace_model(ShapeBranch(), torch.zeros(1, 1, 8, 8))
    assert view.method == "export" and view.rejected and view.rejected[0].startswith("fx")
    assert [n.op for n in view.calls()] == ["pad", "LiftingConv2d"]
    lift = view.calls()[1]
    assert lift.module is not None and tuple(lift.shape) == (1, 2, 4, 7, 7)


def test_a_graph_that_drops_a_branch_is_not_trusted() -> None:
    class Sneaky(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if isinstance(x, torch.Tensor):  # False for fx's proxies
                x = x * 2
            return x + 1

    view = trace_model(Sneaky(), torch.zeros(2, 3))
    assert view.method == "export" and "does not reproduce" in view.rejected[0]
    assert [n.op for n in view.calls()] == ["mul", "add"]


def test_a_model_neither_way_can_trace_is_refused() -> None:
    class ValueBranch(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2 if float(x.sum()) > 0 else x

    with pytest.raises(TraceFailure, match="fx: .*; export: "):
        trace_model(ValueBranch(), torch.zeros(2, 3))


def test_run_records_any_node_and_call_alone_reruns_one() -> None:
    model = Functional().double()
    view = trace_model(model, torch.zeros(1, 1, 16, 16, dtype=torch.float64))
    x = torch.randn(2, 1, 16, 16, dtype=torch.float64)
    pool = next(n for n in view.nodes if n.op == "max_pool2d")
    out, seen = view.run(x, [pool])
    torch.testing.assert_close(out, model(x), rtol=0, atol=0)
    alone = view.call_alone(pool, pool.arg("input"))
    assert alone is not None
    y = torch.randn(2, 2, 16, 16, dtype=torch.float64)
    assert torch.equal(alone(y), F.max_pool2d(y, 2)) and seen["max_pool2d"].shape == (2, 2, 8, 8)


class Everything(nn.Module):
    """Every op the checkers must see: functional pools and convolutions, tensor methods, and the
    modules that move the plane."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)
        self.resize = nn.Upsample(scale_factor=2)
        self.shuffle = nn.PixelShuffle(2)
        self.unfold = nn.Unfold(2)
        self.weight = nn.Parameter(torch.randn(4, 4, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(x.repeat(1, 4, 1, 1), 2)
        x = F.conv_transpose2d(x, self.weight, stride=2, padding=1)
        x = self.resize(self.up(x.narrow(-1, 0, 6).narrow(-2, 0, 6)))
        x = F.pad(self.shuffle(x), (1, 1, 1, 1)).reshape(1, 1, 50, 50).view(1, 1, 50, 50)
        return self.unfold(x).flatten(1)


def test_the_vocabulary_covers_functions_methods_and_the_modules_that_move_the_plane() -> None:
    view = trace_model(Everything(), torch.zeros(1, 1, 8, 8))
    assert [n.op for n in view.calls()] == [
        "repeat", "avg_pool2d", "conv_transpose2d", "narrow", "narrow", "ConvTranspose2d", "Upsample",
        "PixelShuffle", "pad", "reshape", "view", "Unfold", "flatten",
    ]  # fmt: skip

"""The exactness analyser: the grid rule against brute force and PyTorch, and verdicts that agree with
measured errors on randomised stacks, group CNNs and a ResNet."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from eqlab.exactness import Certificate, check, exact_sizes, nearest_exact_sizes
from eqlab.exactness._grid import axis_offset, output_length
from eqlab.nn import GroupAvgPool2d, GroupConv2d, GroupMaxPool2d, GroupPool, LiftingConv2d


@given(
    n=st.integers(1, 40),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 4),
    before=st.integers(0, 2),
    after=st.integers(0, 2),
    dilation=st.integers(1, 3),
    ceil_mode=st.booleans(),
)
def test_offset_is_zero_exactly_when_the_mirrored_windows_are_the_windows(
    n: int, kernel: int, stride: int, before: int, after: int, dilation: int, ceil_mode: bool
) -> None:
    count = output_length(n, kernel, stride, (before, after), dilation, ceil_mode)
    windows = [(i * stride - before, i * stride - before + dilation * (kernel - 1)) for i in range(count)]
    mirrored = sorted((n - 1 - end, n - 1 - start) for start, end in windows)
    trivial = n == 1 and count == 1  # the mirror fixes the one input and the one output cell
    assert (axis_offset(n, kernel, stride, (before, after), dilation, ceil_mode) == 0) == (
        mirrored == windows or trivial
    )
    if before == after and before <= kernel // 2 and n + 2 * before >= dilation * (kernel - 1) + 1:
        x = torch.zeros(1, 1, 1, n)
        pooled = F.max_pool2d(x, (1, kernel), (1, stride), (0, before), (1, dilation), ceil_mode=ceil_mode)
        assert pooled.shape[-1] == count  # PyTorch's own rounding, ceil_mode included


def _random_stack(draw: st.DrawFn) -> tuple[nn.Module, int]:
    layers: list[nn.Module] = [nn.Conv2d(2, 3, draw(st.sampled_from([1, 3, 5])), padding="same")]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["conv", "max", "avg", "pad"]))
        k, s = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        p = draw(st.integers(0, k // 2))
        if kind == "conv":
            layers.append(nn.Conv2d(3, 3, k, stride=s, padding=p, dilation=draw(st.integers(1, 2))))
        elif kind == "max":
            layers.append(nn.MaxPool2d(k, s, p, ceil_mode=draw(st.booleans())))
        elif kind == "avg":
            layers.append(nn.AvgPool2d(k, s, p))
        else:
            layers.append(nn.ZeroPad2d((draw(st.integers(0, 1)), draw(st.integers(0, 1)), 0, 0)))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers), draw(st.integers(12, 31))


@given(st.data())
def test_verdicts_agree_with_measured_errors_on_random_stacks(data: st.DataObject) -> None:
    model, size = _random_stack(data.draw)
    try:
        report = check(model, size)
    except RuntimeError:
        return  # the stack shrank the input below a kernel: not a network
    for layer in report.spatial_layers:
        assert layer.error is not None
        if layer.exact:
            assert layer.error < 1e-12, layer
        else:
            assert layer.error > 1e-6, layer


@pytest.mark.parametrize("group", ["p4", "p4m"])
def test_group_cnn_exact_at_33_and_not_at_32_or_29(group: str) -> None:
    net = nn.Sequential(
        LiftingConv2d(1, 4, 3, group=group, padding=1),
        nn.ReLU(),
        GroupConv2d(4, 4, 3, group=group, stride=2, padding=1),
        nn.ReLU(),
        GroupConv2d(4, 4, 3, group=group, stride=2, padding=1),
        nn.ReLU(),
        GroupConv2d(4, 4, 3, group=group, stride=2, padding=1),
        GroupPool(),
    )
    assert check(net, 33).exact and max(e for _, e in check(net, 33).depth_errors) < 1e-12
    at_32 = check(net, 32)
    assert not at_32.exact and [layer.offset for layer in at_32.layers] == [(1, 1)] * 3
    at_29 = check(net, 29)
    assert [layer.exact for layer in at_29.layers] == [True, True, False]
    assert at_29.depth_errors[-1][1] > 1e-3 and at_29.depth_errors[2][1] < 1e-12
    assert exact_sizes(net, range(20, 50)) == [25, 33, 41, 49]
    assert nearest_exact_sizes(net, 29) == (25, 33)
    assert group in at_29.table() and "NOT exact" in at_29.table()


def test_group_pooling_layers_are_checked() -> None:
    net = nn.Sequential(LiftingConv2d(1, 2, 3, padding=1), GroupMaxPool2d(2), GroupAvgPool2d(3, 2, 1))
    report = check(net, 28)
    assert [layer.kind for layer in report.layers] == ["GroupMaxPool2d", "GroupAvgPool2d"]
    assert [layer.exact for layer in report.layers] == [True, False]  # 28 -> 14 exact, then 14 is even


class BasicBlock(nn.Module):
    """A torchvision-style residual block with a strided 1x1 shortcut."""

    def __init__(self, channels_in: int, channels_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.downsample = (
            nn.Sequential(
                nn.Conv2d(channels_in, channels_out, 1, stride, bias=False), nn.BatchNorm2d(channels_out)
            )
            if stride != 1 or channels_in != channels_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.downsample(x))


def tiny_resnet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 7, 2, 3, bias=False),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
        BasicBlock(4, 4, 1),
        BasicBlock(4, 8, 2),
        BasicBlock(8, 8, 2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),
    )


def test_resnet_exact_at_225_and_not_at_224() -> None:
    model = tiny_resnet()
    exact = check(model, 225)
    assert exact.exact and max(layer.error for layer in exact.spatial_layers) < 1e-12
    broken = check(model, 224)
    assert not broken.exact
    assert broken.layers[0].name == "0" and broken.layers[0].offset == (1, 1)
    assert any(name.endswith("downsample.0") for name in (layer.name for layer in broken.layers))
    assert broken.depth_errors[-1][1] > 1e-3


def test_asymmetric_same_padding_is_caught() -> None:
    report = check(nn.Sequential(nn.Conv2d(1, 1, 4, padding="same")), 16)
    assert not report.exact and report.layers[0].padding == ((1, 2), (1, 2))
    assert report.layers[0].error is not None and report.layers[0].error > 1e-6


def test_the_verdict_is_a_certificate_equal_to_its_string() -> None:
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2))
    exact, broken = check(net, 28), check(net, 27)
    assert exact.verdict is Certificate.EXACT and exact.verdict == "exact" and exact.exact
    assert broken.verdict is Certificate.NOT_EXACT and broken.verdict == "not exact" and not broken.exact
    assert [str(c) for c in Certificate] == ["exact", "not exact", "not certified"]


def test_clear_error_without_a_convolution() -> None:
    with pytest.raises(ValueError, match="example_input"):
        check(nn.Sequential(nn.MaxPool2d(2)), 8)
    assert check(nn.Sequential(nn.MaxPool2d(2)), 8, example_input=torch.zeros(1, 3, 8, 8)).exact


def test_command_line_reports_and_suggests_sizes() -> None:
    from typer.testing import CliRunner

    from eqlab._cli import app

    runner = CliRunner()
    exact = runner.invoke(app, ["exactness", "tests.exactness.test_check:tiny_resnet", "--size", "33"])
    assert exact.exit_code == 0, exact.output
    assert "exact" in exact.stdout and "cumulative error by depth" in exact.stdout
    broken = runner.invoke(
        app, ["exactness", "tests.exactness.test_check:tiny_resnet", "--size", "32", "--no-confirm"]
    )
    assert (
        broken.exit_code == 1
        and "NOT exact" in broken.stdout
        and "nearest exact sizes: 17 below, 33 above" in broken.stdout  # 4 stride-2 stages: n = 1 mod 16
    )
    bad = runner.invoke(app, ["exactness", "no_such_module:f", "--size", "8"])
    assert bad.exit_code == 2 and "cannot load" in bad.output

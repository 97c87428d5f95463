"""A zoo of image models in the standard layouts, for the audit and grid-analysis tests and benchmarks.

Plain PyTorch (no torchvision), deterministic (every builder takes a ``seed`` and leaves the global random
state as it was), and with small-width options so float64 forwards stay fast:

- `resnet`: ResNet-18/34 (basic blocks) and ResNet-50/101/152 (bottlenecks), laid out as torchvision lays
  them out, same module names and parameter counts;
- `vgg11_bn`: VGG-11 with batch norm, with torchvision's adaptive head or a flatten head that fixes the size;
- `unet`: a U-Net with transposed convolutions and skip concatenations, optionally resizing to the skip;
- `functional_net`: a CNN in functional ops (``F.conv2d``, pooling, slicing, ``mean``, ``F.linear``);
- `stack_from_spec`, `stack_output_shape` and the hypothesis strategy `stacks`: random sequential stacks;
- `p4_cnn`, `p4m_cnn`: group CNNs of eqlab's layers.

Batch norm layers get non-trivial running statistics and affine parameters (`randomize_batchnorm`), so that
eval-mode models do not reduce to the identity there. Run the models in eval mode: some stacks reach 1x1
maps, where training-mode batch norm refuses a batch of one.

The sizes where a docstring says a model is exactly equivariant are those where every strided layer's
sampling grid maps onto itself under the square's symmetries: there the model (for `vgg11_bn`, its features
and pool) commutes with rot90 and flips once every filter is averaged over them, and the p4/p4m CNNs are
invariant as built. ``tests/test_zoo.py`` checks each such claim.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from hypothesis import strategies as st
from torch import nn

from eqlab._arguments import choice, describe, flag, integer
from eqlab.nn import GroupConv2d, GroupMaxPool2d, GroupPool, LiftingConv2d

__all__ = [
    "SIZES",
    "VGG",
    "BasicBlock",
    "Bottleneck",
    "FunctionalNet",
    "ResNet",
    "UNet",
    "functional_net",
    "p4_cnn",
    "p4m_cnn",
    "randomize_batchnorm",
    "resnet",
    "stack_from_spec",
    "stack_output_shape",
    "stacks",
    "unet",
    "vgg11_bn",
]

_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every batch norm layer of ``model`` random running statistics and affine parameters, in place.

    Per channel: running mean ~ N(0, 0.1^2), running variance ~ U(0.5, 2), weight ~ U(0.5, 1.5), bias ~
    N(0, 0.1^2), drawn from a generator seeded with ``seed`` (the global random state is left alone). Layers
    without running statistics or affine parameters keep what they lack.

    Parameters
    ----------
    model
        Any module; its `torch.nn.BatchNorm1d`/``2d``/``3d`` layers (and subclasses) are changed.
    seed
        Seed of the draws.

    Returns
    -------
    nn.Module
        ``model`` itself.
    """
    generator = torch.Generator().manual_seed(integer(seed, "seed"))
    with torch.no_grad():
        for layer in model.modules():
            if not isinstance(layer, _BATCHNORMS):
                continue
            n = layer.num_features

            def draw(low: float, high: float, n: int = n) -> torch.Tensor:
                return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)

            if layer.running_mean is not None and layer.running_var is not None:
                layer.running_mean.copy_(0.1 * torch.randn(n, generator=generator, dtype=torch.float64))
                layer.running_var.copy_(draw(0.5, 2.0))
            if layer.weight is not None:
                layer.weight.copy_(draw(0.5, 1.5))
            if layer.bias is not None:
                layer.bias.copy_(0.1 * torch.randn(n, generator=generator, dtype=torch.float64))
    return model


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed torch's global generator for the construction of a model, then restore its state."""
    seed = integer(seed, "seed")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _width(value: Any, name: str) -> int:
    return integer(value, name, minimum=1)


# ----------------------------------------------------------------------------------------------------------
# ResNet


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, the stride on ``conv1``:
    ``(B, C_in, H, W) -> (B, planes, H', W')`` with ``H' = (H - 1) // stride + 1``; expansion 1."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int, downsample: nn.Module | None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """conv1, bn1, relu, conv2, bn2, add the (downsampled) input, relu."""
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1, 3x3 (with the stride: torchvision's "v1.5") and 1x1 convolutions with batch norm:
    ``(B, C_in, H, W) -> (B, 4 planes, H', W')`` with ``H' = (H - 1) // stride + 1``; expansion 4."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int, downsample: nn.Module | None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """conv1, bn1, relu, conv2, bn2, relu, conv3, bn3, add the (downsampled) input, relu."""
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


_RESNET_LAYOUTS: dict[int, tuple[type[BasicBlock] | type[Bottleneck], tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}


class ResNet(nn.Module):
    """torchvision's ResNet layout; build it with `resnet`. ``(B, C_in, H, W) -> (B, num_classes)``."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: Sequence[int],
        width: int,
        num_classes: int,
        in_channels: int,
    ) -> None:
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, width, layers[0], 1)
        self.layer2 = self._make_layer(block, 2 * width, layers[1], 2)
        self.layer3 = self._make_layer(block, 4 * width, layers[2], 2)
        self.layer4 = self._make_layer(block, 8 * width, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * width * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(
        self, block: type[BasicBlock] | type[Bottleneck], planes: int, blocks: int, stride: int
    ) -> nn.Sequential:
        out_channels = planes * block.expansion
        downsample = None
        if stride != 1 or self.inplanes != out_channels:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        modules: list[nn.Module] = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = out_channels
        modules += [block(self.inplanes, planes, 1, None) for _ in range(1, blocks)]
        return nn.Sequential(*modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W) -> (B, num_classes)``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


def resnet(
    depth: int = 18, width: int = 64, num_classes: int = 10, in_channels: int = 3, *, seed: int = 0
) -> ResNet:
    """A ResNet laid out as torchvision's: ``(B, in_channels, H, W) -> (B, num_classes)``.

    Layout: stem ``conv1`` (7x7, stride 2, padding 3, no bias), ``bn1``, ``relu``, ``maxpool`` (3x3, stride
    2, padding 1); stages ``layer1``..``layer4`` of widths ``width * (1, 2, 4, 8)``, strides 1, 2, 2, 2;
    ``avgpool`` (`torch.nn.AdaptiveAvgPool2d` to 1), ``torch.flatten(x, 1)``, ``fc``. Depth 18 and 34 use
    `BasicBlock` ([2, 2, 2, 2] and [3, 4, 6, 3]; stride on ``conv1``), depth 50, 101 and 152 `Bottleneck`
    ([3, 4, 6, 3], [3, 4, 23, 3], [3, 8, 36, 3]; expansion 4, stride on the 3x3 ``conv2``). The first block
    of a stage has a ``downsample`` shortcut (``nn.Sequential`` of a 1x1 convolution with the stride, no
    bias, and batch norm) whenever the stride is not 1 or the channels change; ``out += identity`` then
    ``relu``, with torchvision's in-place ReLUs. Convolutions are Kaiming-normal (fan out), batch norms
    randomized by `randomize_batchnorm`. At ``width=64`` the parameter counts are torchvision's (ResNet-18
    with 1000 classes: 11,689,512; ResNet-50: 25,557,032). torch.fx traces it.

    Sizes: runs at every ``H, W >= 1``; meant for 224 (ImageNet) and, at small width, 32 to 65. Its
    sampling grids map onto themselves exactly when ``H, W = 1 (mod 32)`` (33, 65, 225), not at 224.

    Parameters
    ----------
    depth
        18, 34, 50, 101 or 152.
    width
        Channels of the stem and of ``layer1``'s 3x3 convolutions (64 in torchvision).
    num_classes, in_channels
        Outputs of ``fc``; input channels of ``conv1``.
    seed
        Seed of the initial weights and batch norm statistics.
    """
    depth = integer(depth, "depth")
    if depth not in _RESNET_LAYOUTS:
        raise ValueError(f"depth must be one of {sorted(_RESNET_LAYOUTS)}, got {describe(depth)}")
    block, layers = _RESNET_LAYOUTS[depth]
    width = _width(width, "width")
    num_classes = _width(num_classes, "num_classes")
    in_channels = _width(in_channels, "in_channels")
    with _seeded(seed):
        model = ResNet(block, layers, width, num_classes, in_channels)
    randomize_batchnorm(model, seed)
    return model


# ----------------------------------------------------------------------------------------------------------
# VGG

_VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class VGG(nn.Module):
    """torchvision's VGG layout (``features``, ``avgpool``, ``classifier``); build it with `vgg11_bn`."""

    def __init__(self, features: nn.Sequential, avgpool: nn.Module | None, classifier: nn.Sequential) -> None:
        super().__init__()
        self.features = features
        self.avgpool = avgpool
        self.classifier = classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W) -> (B, num_classes)``."""
        x = self.features(x)
        if self.avgpool is not None:
            x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def vgg11_bn(
    width: int = 64,
    num_classes: int = 10,
    adaptive: bool = True,
    input_size: int = 224,
    *,
    hidden: int = 4096,
    in_channels: int = 3,
    dropout: float = 0.5,
    seed: int = 0,
) -> VGG:
    """VGG-11 with batch norm (configuration A), laid out as torchvision's:
    ``(B, in_channels, H, W) -> (B, num_classes)``.

    Layout: ``features``, an ``nn.Sequential`` of [64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M]
    with every number ``v`` scaled to ``v * width // 64`` channels and becoming a 3x3 convolution (padding
    1, with bias), ``BatchNorm2d`` and in-place ``ReLU``, and every M a ``MaxPool2d(2, 2)``; ``avgpool``,
    ``AdaptiveAvgPool2d((7, 7))`` when ``adaptive``, else None (no module); ``torch.flatten(x, 1)``;
    ``classifier``, an ``nn.Sequential`` of Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear (hidden
    width ``hidden``). At ``width=64, hidden=4096, num_classes=1000`` the parameter count is torchvision's
    132,868,840. torch.fx traces it.

    Sizes: the features output ``H // 32``, so the model needs ``H, W >= 32``. With ``adaptive`` it runs
    at every such size (meant for 224, or 32 and 64 at small width); without it the first Linear reads
    ``8 width * (input_size // 32)**2`` features, so it runs exactly at the sizes with ``H // 32 = W // 32
    = input_size // 32`` (224..255 for 224): the flatten head fixes the size. ``features`` and ``avgpool``
    map their sampling grids onto themselves at ``H, W = 0 (mod 32)``; the flatten head reads positions.

    Parameters
    ----------
    width
        Channels of the first convolution (64 in torchvision); the others scale with it.
    num_classes
        Outputs of the last Linear.
    adaptive
        Whether to pool to 7x7 before the head, as torchvision does.
    input_size
        The input side the head is made for when not ``adaptive`` (at least 32); unused otherwise.
    hidden
        Width of the two hidden Linear layers.
    in_channels
        Input channels.
    dropout
        Probability of the two Dropout layers.
    seed
        Seed of the initial weights and batch norm statistics.
    """
    width = _width(width, "width")
    num_classes = _width(num_classes, "num_classes")
    adaptive = flag(adaptive, "adaptive")
    input_size = integer(input_size, "input_size", minimum=32)
    hidden = _width(hidden, "hidden")
    in_channels = _width(in_channels, "in_channels")
    if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0.0 <= dropout <= 1.0:
        raise ValueError(f"dropout must be a probability in 0..1, got {describe(dropout)}")
    with _seeded(seed):
        layers: list[nn.Module] = []
        channels = in_channels
        for v in _VGG11:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
                continue
            out = int(v) * width // 64
            layers += [nn.Conv2d(channels, out, 3, padding=1), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
            channels = out
        side = 7 if adaptive else input_size // 32
        classifier = nn.Sequential(
            nn.Linear(channels * side * side, hidden),
            nn.ReLU(True),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        model = VGG(nn.Sequential(*layers), nn.AdaptiveAvgPool2d((7, 7)) if adaptive else None, classifier)
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.normal_(m.bias, 0.0, 0.1)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.normal_(m.bias, 0.0, 0.1)
    randomize_batchnorm(model, seed)
    return model


# ----------------------------------------------------------------------------------------------------------
# U-Net


def _double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """A U-Net; build it with `unet`. ``(B, C_in, H, W) -> (B, C_out, H, W)``."""

    def __init__(self, in_channels: int, out_channels: int, width: int, depth: int, resize_to_skip: bool):
        super().__init__()
        self.resize_to_skip = resize_to_skip
        widths = [width * 2**i for i in range(depth + 1)]
        self.encoders = nn.ModuleList(
            _double_conv(c_in, c_out)
            for c_in, c_out in zip([in_channels, *widths[:-2]], widths[:-1], strict=True)
        )
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = _double_conv(widths[-2], widths[-1])
        # deepest level first, in the order the decoder uses them
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in reversed(range(depth))
        )
        self.decoders = nn.ModuleList(_double_conv(2 * widths[i], widths[i]) for i in reversed(range(depth)))
        self.head = nn.Conv2d(width, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W) -> (B, C_out, H, W)``."""
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, decoder, skip in zip(self.up, self.decoders, reversed(skips), strict=True):
            x = up(x)
            if self.resize_to_skip:
                x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
            x = decoder(torch.cat([skip, x], dim=1))
        return self.head(x)


def unet(
    in_channels: int = 1,
    out_channels: int = 1,
    width: int = 8,
    depth: int = 3,
    resize_to_skip: bool = False,
    *,
    seed: int = 0,
) -> UNet:
    """A U-Net: ``(B, in_channels, H, W) -> (B, out_channels, H, W)``.

    Layout: ``encoders[i]`` (``i < depth``), each two 3x3 convolutions (padding 1, no bias) with
    ``BatchNorm2d`` and ``ReLU``, of ``width * 2**i`` channels, each followed by ``pool``
    (``MaxPool2d(2)``); ``bottleneck``, the same block with ``width * 2**depth`` channels; then per level,
    deepest first, ``up[j]`` (``ConvTranspose2d`` with kernel 2, stride 2, halving the channels), with
    ``resize_to_skip`` ``F.interpolate(up, size=skip.shape[-2:], mode="nearest")``, then
    ``decoders[j]`` on ``torch.cat([skip, up], dim=1)``; ``head``, a 1x1 convolution. He-initialised, so
    the deep levels reach the output with their full weight. torch.fx traces it
    (the interpolation size is then read from the skip's traced shape).

    Sizes: without ``resize_to_skip`` it runs exactly at ``H, W`` divisible by ``2**depth`` (elsewhere the
    concatenation fails); with it, at every ``H, W >= 2**depth``, the resize size being derived from data.
    Its sampling grids map onto themselves exactly at multiples of ``2**depth``.

    Parameters
    ----------
    in_channels, out_channels
        Channels of the input and output images.
    width
        Channels of the first level; level ``i`` has ``width * 2**i``.
    depth
        Number of poolings (and of upsamplings), at least 1.
    resize_to_skip
        Resize every upsampled map to its skip's size (nearest), so any size runs.
    seed
        Seed of the initial weights and batch norm statistics.
    """
    in_channels = _width(in_channels, "in_channels")
    out_channels = _width(out_channels, "out_channels")
    width = _width(width, "width")
    depth = _width(depth, "depth")
    resize_to_skip = flag(resize_to_skip, "resize_to_skip")
    with _seeded(seed):
        model = UNet(in_channels, out_channels, width, depth, resize_to_skip)
        for m in model.modules():  # He initialisation, so the deep levels reach the output undamped
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            elif isinstance(m, nn.ConvTranspose2d):  # each output pixel reads one tap per input channel
                nn.init.normal_(m.weight, 0.0, (2.0 / m.in_channels) ** 0.5)
    randomize_batchnorm(model, seed)
    return model


# ----------------------------------------------------------------------------------------------------------
# functional ops


class FunctionalNet(nn.Module):
    """A CNN in functional ops; build it with `functional_net`. ``(B, C_in, H, W) -> (B, num_classes)``."""

    def __init__(self, in_channels: int, num_classes: int, width: int) -> None:
        super().__init__()
        self.conv1_weight, self.conv1_bias = self._conv(in_channels, width)
        self.conv2_weight, self.conv2_bias = self._conv(width, 2 * width)
        self.conv3_weight, self.conv3_bias = self._conv(2 * width, 2 * width)
        bound = (2 * width) ** -0.5
        self.fc_weight = nn.Parameter(bound * (2 * torch.rand(num_classes, 2 * width) - 1))
        self.fc_bias = nn.Parameter(bound * (2 * torch.rand(num_classes) - 1))

    @staticmethod
    def _conv(c_in: int, c_out: int) -> tuple[nn.Parameter, nn.Parameter]:
        """A 3x3 filter bank, He-uniform for the ReLUs, and a bias as `torch.nn.Conv2d` draws it."""
        weight = (6 / (c_in * 9)) ** 0.5 * (2 * torch.rand(c_out, c_in, 3, 3) - 1)
        bias = (c_in * 9) ** -0.5 * (2 * torch.rand(c_out) - 1)
        return nn.Parameter(weight), nn.Parameter(bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, H, W) -> (B, num_classes)``."""
        x = F.relu(F.conv2d(x, self.conv1_weight, self.conv1_bias, padding=1))
        x = F.max_pool2d(x, 2)
        x = F.relu(F.conv2d(x, self.conv2_weight, self.conv2_bias, padding=1))
        x = F.avg_pool2d(x, 3, stride=2, padding=1)
        x = x[:, :, ::2, ::2]
        x = F.relu(F.conv2d(x, self.conv3_weight, self.conv3_bias, padding=1))
        x = x.mean(dim=(-2, -1))
        return F.linear(x, self.fc_weight, self.fc_bias)


def functional_net(
    in_channels: int = 1, num_classes: int = 4, width: int = 4, *, seed: int = 0
) -> FunctionalNet:
    """A CNN whose forward calls functional ops on registered parameters:
    ``(B, in_channels, H, W) -> (B, num_classes)``.

    Forward: ``F.conv2d`` (3x3, padding 1, ``width`` channels) and ``F.relu``; ``F.max_pool2d(x, 2)``;
    ``F.conv2d`` (``2 width`` channels) and ``F.relu``; ``F.avg_pool2d(x, 3, stride=2, padding=1)``; the slice
    ``x[:, :, ::2, ::2]``; ``F.conv2d`` and ``F.relu``; ``x.mean(dim=(-2, -1))``; ``F.linear``. Parameters
    ``conv{1,2,3}_weight``/``_bias`` and ``fc_weight``/``fc_bias``. torch.fx traces it into
    ``call_function`` and ``call_method`` nodes only.

    Sizes: runs at every ``H, W >= 2``; its sampling grids map onto themselves exactly at
    ``H, W = 2 (mod 8)`` (10, 18, 26, 34): the max pool needs an even side, the average pool an odd one, the
    slice an odd one.

    Parameters
    ----------
    in_channels, num_classes
        Input channels and outputs.
    width
        Channels of the first convolution; the others have ``2 width``.
    seed
        Seed of the initial weights.
    """
    in_channels = _width(in_channels, "in_channels")
    num_classes = _width(num_classes, "num_classes")
    width = _width(width, "width")
    with _seeded(seed):
        return FunctionalNet(in_channels, num_classes, width)


# ----------------------------------------------------------------------------------------------------------
# eqlab group CNNs


def p4_cnn(
    group: str = "p4", in_channels: int = 1, width: int = 4, num_classes: int = 10, *, seed: int = 0
) -> nn.Sequential:
    """A group CNN of eqlab's layers, invariant to ``group``: ``(B, in_channels, H, W) -> (B, num_classes)``.

    Layout (``nn.Sequential``): ``LiftingConv2d(in_channels, width, 3, padding=1, group=group)``, ``ReLU``,
    ``GroupConv2d(width, width, 3, group=group, stride=2, padding=1)``, ``ReLU``, ``GroupMaxPool2d(2)``,
    ``GroupPool()`` (max over the group axis), ``AdaptiveAvgPool2d(1)``, ``Flatten``, ``Linear``. torch.fx
    traces it with eqlab's layers kept as leaves (as `eqlab.trace` does); a plain ``torch.fx.symbolic_trace``
    descends into them and stops at their input checks.

    Sizes: runs at every ``H, W >= 3``; exactly invariant at ``H, W = 3 (mod 4)`` (11, 15, 19): the
    strided convolution needs an odd side, the max pool then an even one.

    Parameters
    ----------
    group
        A point group name eqlab knows: ``"p4"``, ``"p4m"``, ``"rot180"``, ``"hflip"``, ``"vflip"``.
    in_channels, width, num_classes
        Input channels, channels of the group layers (not counting the group axis), outputs.
    seed
        Seed of the initial weights.
    """
    in_channels = _width(in_channels, "in_channels")
    width = _width(width, "width")
    num_classes = _width(num_classes, "num_classes")
    with _seeded(seed):
        return nn.Sequential(
            LiftingConv2d(in_channels, width, 3, padding=1, group=group),
            nn.ReLU(),
            GroupConv2d(width, width, 3, group=group, stride=2, padding=1),
            nn.ReLU(),
            GroupMaxPool2d(2),
            GroupPool(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(width, num_classes),
        )


def p4m_cnn(in_channels: int = 1, width: int = 4, num_classes: int = 10, *, seed: int = 0) -> nn.Sequential:
    """`p4_cnn` on p4m (rotations and reflections, ``|G| = 8``); the same layout and sizes."""
    return p4_cnn("p4m", in_channels, width, num_classes, seed=seed)


# ----------------------------------------------------------------------------------------------------------
# random sequential stacks

SIZES = range(8, 41)
"""The input sides at which every `stacks` draw is guaranteed to run at least once."""

_ARITY = {
    "conv": 5,
    "maxpool": 5,
    "avgpool": 6,
    "relu": 1,
    "bn": 1,
    "upsample": 3,
    "convT": 5,
    "adaptive": 2,
    "flatten": 1,
    "linear": 2,
}
_UPSAMPLE_MODES = ("nearest", "bilinear")


_FIELDS = {
    "conv": (("kernel", 1), ("stride", 1), ("padding", 0), ("dilation", 1)),
    "maxpool": (("kernel", 1), ("stride", 1), ("padding", 0)),
    "avgpool": (("kernel", 1), ("stride", 1), ("padding", 0)),
    "upsample": (("scale", 1),),
    "convT": (("kernel", 1), ("stride", 1), ("padding", 0), ("output_padding", 0)),
    "adaptive": (("size", 1),),
    "linear": (("out_features", 1),),
}
"""The integer entries of each item kind, after the kind, with their minimum."""


def _check_item(item: Any, index: int) -> tuple[Any, ...]:
    name = f"spec[{index}]"
    if not isinstance(item, tuple) or not item or item[0] not in _ARITY:
        raise ValueError(
            f"{name} must be a tuple starting with one of {sorted(_ARITY)}, got {describe(item)}"
        )
    kind = item[0]
    if len(item) != _ARITY[kind]:
        raise ValueError(f"{name} must have {_ARITY[kind]} entries for {kind!r}, got {describe(item)}")
    for value, (what, minimum) in zip(item[1:], _FIELDS.get(kind, ()), strict=False):
        integer(value, f"{name} {what}", minimum=minimum)
    if kind in ("maxpool", "avgpool"):
        if item[3] > item[1] // 2:
            raise ValueError(f"{name} padding must be at most kernel // 2 = {item[1] // 2}, got {item[3]}")
        for value, what in zip(item[4:], ("ceil_mode", "count_include_pad"), strict=False):
            flag(value, f"{name} {what}")
    elif kind == "upsample":
        choice(item[2], f"{name} mode", _UPSAMPLE_MODES)
    elif kind == "convT" and item[4] >= item[2]:
        raise ValueError(f"{name} output_padding must be smaller than the stride {item[2]}, got {item[4]}")
    return item


def _walk(spec: Sequence[tuple[Any, ...]], in_channels: int, width: int) -> Iterator[tuple[Any, ...]]:
    """Check ``spec``; yield ``(item, channels_in, channels_out, flat_features)`` per item."""
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence) or not spec:
        raise ValueError(f"spec must be a non-empty list of tuples, got {describe(spec)}")
    channels, fixed, features = in_channels, None, None
    for index, raw in enumerate(spec):
        item = _check_item(raw, index)
        kind = item[0]
        if features is not None and kind != "linear":
            raise ValueError(f"spec[{index}] must be ('linear', n) after a flatten, got {describe(item)}")
        if kind == "flatten":
            if fixed is None:
                raise ValueError(
                    f"spec[{index}] ('flatten',) must follow an ('adaptive', n) with only relu/bn between, "
                    f"so the head does not fix the input size, got {describe(list(spec[: index + 1]))}"
                )
            features = channels * fixed * fixed
            yield item, channels, channels, features
            continue
        if kind == "linear":
            if features is None:
                raise ValueError(
                    f"spec[{index}] ('linear', n) must follow ('flatten',), got {describe(item)}"
                )
            yield item, features, item[1], features
            features = item[1]
            continue
        c_out = width if kind in ("conv", "convT") else channels
        yield item, channels, c_out, None
        channels = c_out
        fixed = item[1] if kind == "adaptive" else (fixed if kind in ("relu", "bn") else None)


def stack_from_spec(
    spec: Sequence[tuple[Any, ...]], in_channels: int, *, width: int = 4, seed: int = 0
) -> nn.Sequential:
    """A sequential image model from a list of layer specifications: ``(B, in_channels, H, W) -> (B, C, H',
    W')``, or ``(B, n)`` when it ends with ``("flatten",), ("linear", n)``.

    Items (square kernels, strides and paddings):

    - ``("conv", kernel, stride, padding, dilation)``: ``Conv2d`` to ``width`` channels, with bias;
    - ``("maxpool", kernel, stride, padding, ceil_mode)``: ``MaxPool2d`` (padding at most ``kernel // 2``);
    - ``("avgpool", kernel, stride, padding, ceil_mode, count_include_pad)``: ``AvgPool2d``;
    - ``("relu",)``, ``("bn",)``: ``ReLU``, ``BatchNorm2d`` (randomized by `randomize_batchnorm`);
    - ``("upsample", scale, mode)``: ``Upsample`` by an integer ``scale``, mode ``"nearest"`` or
      ``"bilinear"`` (``align_corners=False``);
    - ``("convT", kernel, stride, padding, output_padding)``: ``ConvTranspose2d`` to ``width`` channels
      (``output_padding < stride``);
    - ``("adaptive", n)``: ``AdaptiveAvgPool2d(n)``;
    - ``("flatten",)`` then ``("linear", n)``: ``Flatten`` and ``Linear``; the flatten must follow an
      ``("adaptive", m)`` (with only relu/bn between) and be followed by linears only.

    `stack_output_shape` says at which sizes the result runs. torch.fx traces it.

    Parameters
    ----------
    spec
        The items, in order.
    in_channels
        Channels of the input.
    width
        Output channels of every convolution.
    seed
        Seed of the initial weights and batch norm statistics.

    Raises
    ------
    ValueError
        For an unknown item, a wrong number of entries, or parameters PyTorch refuses.
    """
    in_channels = _width(in_channels, "in_channels")
    width = _width(width, "width")
    with _seeded(seed):
        layers: list[nn.Module] = []
        for item, c_in, c_out, _ in _walk(spec, in_channels, width):
            kind, args = item[0], item[1:]
            if kind == "conv":
                k, s, p, d = args
                layers.append(nn.Conv2d(c_in, c_out, k, stride=s, padding=p, dilation=d))
            elif kind == "maxpool":
                k, s, p, ceil = args
                layers.append(nn.MaxPool2d(k, stride=s, padding=p, ceil_mode=ceil))
            elif kind == "avgpool":
                k, s, p, ceil, include = args
                layers.append(nn.AvgPool2d(k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=include))
            elif kind == "relu":
                layers.append(nn.ReLU())
            elif kind == "bn":
                layers.append(nn.BatchNorm2d(c_in))
            elif kind == "upsample":
                scale, mode = args
                corners = False if mode == "bilinear" else None
                layers.append(nn.Upsample(scale_factor=scale, mode=mode, align_corners=corners))
            elif kind == "convT":
                k, s, p, op = args
                layers.append(nn.ConvTranspose2d(c_in, c_out, k, stride=s, padding=p, output_padding=op))
            elif kind == "adaptive":
                layers.append(nn.AdaptiveAvgPool2d(args[0]))
            elif kind == "flatten":
                layers.append(nn.Flatten())
            else:
                layers.append(nn.Linear(c_in, c_out))
        model = nn.Sequential(*layers)
    randomize_batchnorm(model, seed)
    return model


def _side(item: tuple[Any, ...], n: int) -> int | None:
    """The output side of one item on an input side ``n`` (as PyTorch computes it), or None if it fails."""
    kind = item[0]
    if kind in ("conv", "maxpool", "avgpool"):
        k, s, p = item[1:4]
        reach = (item[4] if kind == "conv" else 1) * (k - 1) + 1
        ceil = kind != "conv" and item[4]
        # floor division rounds down like PyTorch's: a kernel past the padded input gives no output, except
        # in ceil mode, where one window may overhang as long as it starts inside the input or left padding
        out = (n + 2 * p - reach + (s - 1 if ceil else 0)) // s + 1
        if ceil and (out - 1) * s >= n + p:
            out -= 1
        return out if out >= 1 else None
    if kind == "upsample":
        return n * item[1]
    if kind == "convT":
        k, s, p, op = item[1:]
        out = (n - 1) * s - 2 * p + (k - 1) + op + 1
        return out if out >= 1 else None
    if kind == "adaptive":
        return int(item[1])
    return n


def stack_output_shape(
    spec: Sequence[tuple[Any, ...]], in_channels: int, size: int, *, width: int = 4
) -> tuple[int, ...] | None:
    """The output shape, without the batch axis, of ``stack_from_spec(spec, in_channels, width=width)`` on a
    ``size x size`` input, or None when PyTorch would refuse it (some map would be empty).

    >>> stack_output_shape([("conv", 3, 2, 1, 1), ("maxpool", 2, 2, 0, False)], 1, 9)
    (4, 2, 2)
    >>> stack_output_shape([("conv", 3, 2, 1, 1), ("maxpool", 2, 2, 0, True)], 1, 9)
    (4, 3, 3)
    >>> stack_output_shape([("conv", 5, 1, 0, 2)], 1, 8) is None
    True
    """
    size = integer(size, "size", minimum=1)
    in_channels = _width(in_channels, "in_channels")
    width = _width(width, "width")
    n, channels = size, in_channels
    flat: int | None = None
    for item, _, c_out, features in _walk(spec, in_channels, width):
        if item[0] == "linear":
            flat = c_out
            continue
        if item[0] == "flatten":
            flat = features
            continue
        side = _side(item, n)
        if side is None:
            return None
        n, channels = side, c_out
    return (flat,) if flat is not None else (channels, n, n)


_MAX_SIDE = 96  # no upsampling past this side, so that draws stay cheap to run


def _alive(spec: list[tuple[Any, ...]], sizes: range) -> list[int]:
    """The sides reached by the input sizes in ``sizes`` at which ``spec`` runs (empty: none runs)."""
    sides = []
    for n in sizes:
        side: int | None = n
        for item in spec:
            side = _side(item, side) if side is not None else None
        if side is not None:
            sides.append(side)
    return sides


@st.composite
def _item(draw: st.DrawFn, grow: bool) -> tuple[Any, ...]:
    kinds = ["conv", "maxpool", "avgpool", "relu", "bn", "adaptive", *(["upsample", "convT"] if grow else [])]
    kind = draw(st.sampled_from(kinds))
    if kind == "conv":
        k, d = draw(st.integers(1, 5)), draw(st.integers(1, 2))
        return ("conv", k, draw(st.integers(1, 3)), draw(st.integers(0, (d * (k - 1) + 1) // 2)), d)
    if kind in ("maxpool", "avgpool"):
        k = draw(st.integers(1, 4))
        pool = (kind, k, draw(st.integers(1, 3)), draw(st.integers(0, k // 2)), draw(st.booleans()))
        return (*pool, draw(st.booleans())) if kind == "avgpool" else pool
    if kind == "upsample":
        return ("upsample", draw(st.integers(2, 3)), draw(st.sampled_from(_UPSAMPLE_MODES)))
    if kind == "convT":
        k, s = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        return ("convT", k, s, draw(st.integers(0, (k - 1) // 2)), draw(st.integers(0, s - 1)))
    if kind == "adaptive":
        return ("adaptive", draw(st.integers(1, 4)))
    return (kind,)


@st.composite
def stacks(draw: st.DrawFn, max_items: int = 6) -> list[tuple[Any, ...]]:
    """A hypothesis strategy of `stack_from_spec` specifications that run at some input side in `SIZES`.

    Draws 1 to ``max_items`` body items (``conv``, ``maxpool``, ``avgpool``, ``relu``, ``bn``,
    ``adaptive`` and, while every map is at most 96 pixels wide, ``upsample`` and ``convT``) with small
    parameters PyTorch accepts: kernels up to 5 (pools and transposed convolutions 4), strides up to 3,
    dilation up to 2, pool padding at most ``kernel // 2``, output padding below the stride, upsampling by 2
    or 3. An item after which no size in `SIZES` would run is replaced by ``("relu",)``. With probability
    1/2 the stack ends with the head ``("adaptive", 1), ("flatten",), ("linear", n)``, ``n`` in 1..4.
    """
    spec: list[tuple[Any, ...]] = []
    for _ in range(draw(st.integers(1, max_items))):
        sides = _alive(spec, SIZES)
        item = draw(_item(grow=max(sides) <= _MAX_SIDE))
        spec.append(item if _alive([*spec, item], SIZES) else ("relu",))
    if draw(st.booleans()):
        spec += [("adaptive", 1), ("flatten",), ("linear", draw(st.integers(1, 4)))]
    return spec

"""The ``layerwise`` study's networks: the VGG-style CNN it trains (`build_vgg`) and a small network that is
exactly flip-invariant but not layerwise equivariant (`invariant_not_layerwise`): hidden units
``relu(+-a.x)`` and ``relu(+-b.x)`` summed with signs give ``(a + b).x``, invariant when ``a + b`` is
mirror-symmetric although no permutation maps the flipped filters onto the original ones."""

from __future__ import annotations

import torch
from torch import nn


def build_vgg(
    widths: tuple[int, ...], pool_after: tuple[int, ...], in_channels: int = 1, num_classes: int = 10
) -> nn.Sequential:
    """3x3 convolutions (padding 1) with batch norm and ReLU, 2x2 max pools after the listed layers,
    global average pooling and a linear classifier: ``(N, in_channels, H, W) -> (N, num_classes)``."""
    if not widths:
        raise ValueError("widths must hold at least one convolution width, got none")
    if any(not 0 <= p < len(widths) for p in pool_after):
        raise ValueError(
            f"pool_after must name layers 0..{len(widths) - 1} of the {len(widths)} widths {list(widths)}, "
            f"got {list(pool_after)}"
        )
    layers: list[nn.Module] = []
    for index, width in enumerate(widths):
        layers += [nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
        if index in pool_after:
            layers.append(nn.MaxPool2d(2))
        in_channels = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_channels, num_classes)]
    return nn.Sequential(*layers)


def invariant_not_layerwise(size: int = 8, seed: int = 0) -> nn.Sequential:
    """An exactly hflip-invariant network that is not layerwise equivariant (see the module docstring):
    full-image filters ``a, -a, b, -b`` with ``a + b`` mirror-symmetric, ReLU, output weights
    ``(1, -1, 1, -1)``; ``(N, 1, size, size) -> (N, 1)``, float64."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(size, size, generator=gen, dtype=torch.float64)
    r = torch.randn(size, size, generator=gen, dtype=torch.float64)
    b = r + r.flip(-1) - a
    conv = nn.Conv2d(1, 4, size, bias=False).double()
    head = nn.Linear(4, 1, bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(torch.stack([a, -a, b, -b])[:, None])
        head.weight.copy_(torch.tensor([[1.0, -1.0, 1.0, -1.0]]))
    return nn.Sequential(conv, nn.ReLU(), nn.Flatten(), head).eval()

"""Networks, images and hidden layerwise structures shared by the layerwise tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from eqlab.groups._image import transform_image
from eqlab.groups._perm import compose, inverse
from eqlab.layerwise import group_average
from eqlab.layerwise._permute import permute_model
from eqlab.layerwise._spec import derive_spec
from eqlab.testing import relative_error

SIZE = 18
"""An input size exact for every transform: even for the 2x2 max pool, and 9 after it is exact for the
stride-2 3x3 convolution."""

ELEMENT = {"hflip": 4, "vflip": 6, "rot90": 1}
"""Each transform as a D4 element of `eqlab.groups._image`, the one image action."""


def image_action(transform: str, times: int = 1) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> t^times(x)`` on the last two axes, by `eqlab.groups._image.transform_image`."""

    def act(x: torch.Tensor) -> torch.Tensor:
        for _ in range(times):
            x = transform_image(x, ELEMENT[transform])
        return x

    return act


def images(n: int = 8, size: int = SIZE, channels: int = 1, seed: int = 0) -> torch.Tensor:
    """Float64 inputs ``(n, channels, size, size)``."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, channels, size, size, generator=gen, dtype=torch.float64)


def vgg(batchnorm: bool = True, stride_head: bool = False) -> nn.Sequential:
    """conv-(bn)-relu, max pool, conv-(bn)-relu, then global pooling or a stride-2 conv and a flat head."""

    def block(cin: int, cout: int) -> list[nn.Module]:
        norm: list[nn.Module] = [nn.BatchNorm2d(cout)] if batchnorm else []
        return [nn.Conv2d(cin, cout, 3, padding=1), *norm, nn.ReLU()]

    layers = [*block(1, 6), nn.MaxPool2d(2), *block(6, 8)]
    if stride_head:
        layers += [nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 5 * 5, 5)]
    else:
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5)]
    return nn.Sequential(*layers)


class Block(nn.Module):
    """A residual block: its output shares the input's channels."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels)
        self.conv2, self.bn2 = nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


class ResNet(nn.Module):
    """A stem, two residual blocks, global mean pooling and a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 6, 3, padding=1)
        self.blocks = nn.Sequential(Block(6), Block(6))
        self.head = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(torch.relu(self.stem(x))).mean((2, 3)))


def cnn(widths: Sequence[int] = (8, 12, 16), classes: int = 3) -> nn.Sequential:
    """Three conv-bn-relu layers of the given widths, global average pooling and a linear head."""
    layers: list[nn.Module] = []
    cin = 1
    for width in widths:
        layers += [nn.Conv2d(cin, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
        cin = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes))


def generic(model: nn.Module, seed: int = 0) -> nn.Module:
    """``model`` in float64 and eval mode with random parameters and batch-norm statistics."""
    gen = torch.Generator().manual_seed(seed)
    model = model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen, dtype=torch.float64))
                m.running_var.copy_(torch.rand(m.num_features, generator=gen, dtype=torch.float64) + 0.5)
    return model.eval()


def from_cycles(n: int, lengths: Sequence[int], gen: torch.Generator) -> torch.Tensor:
    """A random permutation of ``n`` channels with cycles of the given lengths (the rest fixed)."""
    order = torch.randperm(n, generator=gen)
    perm = torch.arange(n)
    start = 0
    for length in lengths:
        cycle = order[start : start + length]
        perm[cycle] = torch.roll(cycle, -1)
        start += length
    if start > n:
        raise ValueError(f"cycles of lengths {list(lengths)} do not fit in {n} channels")
    return perm


def random_involution(n: int, gen: torch.Generator) -> torch.Tensor:
    """A random involution with a random number of swapped pairs."""
    pairs = int(torch.randint(0, n // 2 + 1, (1,), generator=gen))
    return from_cycles(n, [2] * pairs, gen)


def mixed_order4(n: int, gen: torch.Generator) -> torch.Tensor:
    """A random permutation with ``pi^4 = id`` and cycles of every allowed length: 4-cycles, one pair and
    at least one fixed channel (``n >= 7``)."""
    fours = max(1, (n - 3) // 4)
    return from_cycles(n, [4] * fours + [2], gen)


def hidden_structure(
    model: nn.Module, transform: str, make: Callable[[int, torch.Generator], torch.Tensor], seed: int
) -> tuple[nn.Module, list[torch.Tensor]]:
    """A generic network made exactly layerwise equivariant, ``act(pi, T(W)) = W``, by averaging it over
    the ``(t, pi)`` orbit for random ``pi = make(n)``, then scrambled by random channel permutations ``q``
    (the same function). Returns the scrambled network and its hidden permutations ``q pi q^-1``."""
    gen = torch.Generator().manual_seed(seed)
    model = generic(model, seed)
    spec = derive_spec(model)
    hidden = [make(s.size, gen) for s in spec.channel_sets]
    equivariant = group_average(model, transform, hidden, spec=spec)
    scramble = [torch.randperm(s.size, generator=gen) for s in spec.channel_sets]
    scrambled = permute_model(equivariant, spec, scramble)
    expected = [
        torch.as_tensor(compose(q, compose(p, inverse(q)))) for p, q in zip(hidden, scramble, strict=True)
    ]
    return scrambled, expected


def state_error(actual: nn.Module, expected: nn.Module) -> float:
    """The relative error of all floating parameters and buffers, concatenated."""

    def flat(model: nn.Module) -> torch.Tensor:
        return torch.cat(
            [v.double().reshape(-1) for v in model.state_dict().values() if v.is_floating_point()]
        )

    return relative_error(flat(actual), flat(expected), batched=False)

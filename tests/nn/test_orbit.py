"""`eqlab.nn.OrbitAverage`: any model averaged over its input's orbit is exactly equivariant, at every size,
against a slow reference that sums over the group elements written out by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from eqlab.nn import OrbitAverage

F64 = torch.float64


def rot(x: torch.Tensor, k: int) -> torch.Tensor:
    return torch.rot90(x, k, dims=(-2, -1))


def test_an_invariant_average_of_a_strided_classifier_is_exact_at_every_size() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 3, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()
    ).double()
    averaged = OrbitAverage(net, "rot90")
    for size in (8, 9, 10):
        x = torch.randn(3, 1, size, size, dtype=F64)
        reference = sum(net(rot(x, k)) for k in range(4)) / 4  # the sum over C4, written out
        assert torch.allclose(averaged(x), reference, rtol=1e-12, atol=1e-14)
        for k in range(1, 4):
            assert torch.allclose(averaged(rot(x, k)), averaged(x), rtol=1e-12, atol=1e-14)


def test_an_image_average_commutes_with_d4() -> None:
    torch.manual_seed(1)
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.Tanh(), nn.Conv2d(2, 1, 3, stride=2, padding=1))
    averaged = OrbitAverage(net.double(), "d4", "image")
    x = torch.randn(2, 1, 9, 9, dtype=F64)
    out = averaged(x)
    for moved, expected in ((rot(x, 1), rot(out, 1)), (torch.flip(x, (-1,)), torch.flip(out, (-1,)))):
        assert torch.allclose(averaged(moved), expected, rtol=1e-12, atol=1e-14)


def test_integer_inputs_average_exactly() -> None:
    """Permutations of integer images: a model that sums pixels with position weights, averaged over the
    flips, gives exactly equal outputs for an image and its mirror."""
    weights = torch.arange(25, dtype=torch.int64).reshape(5, 5)
    averaged = OrbitAverage(lambda x: (x * weights).sum((-2, -1)) * 2, "hflip")
    x = torch.randint(0, 9, (4, 5, 5))
    assert torch.equal(averaged(x) * 2, averaged(torch.flip(x, (-1,))) * 2)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"model": 3, "symmetry": "rot90"}, TypeError, "model must be a module or a callable"),
        ({"model": nn.Identity(), "symmetry": "rot45"}, ValueError, "symmetry must be .*rot45"),
        ({"model": nn.Identity(), "symmetry": "rot90", "out_action": "sideways"}, ValueError, "out_action"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=words):
        OrbitAverage(**kwargs)

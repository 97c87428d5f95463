"""Softly equivariant blocks and backbones (van der Ouderaa et al. 2023): shapes, the exact shift
invariance of the convolutional path, and the factored dense path as a rank-one product."""

from __future__ import annotations

import pytest
import torch

from eqlab.nn import SoftBlock, SoftPath, soft_backbone
from eqlab.testing import equivariance_error


def _roll(shift: tuple[int, int]):  # type: ignore[no-untyped-def]
    return lambda x: torch.roll(x, shift, (2, 3))


def _unchanged(x: torch.Tensor) -> torch.Tensor:
    return x


@pytest.mark.parametrize("path", list(SoftPath))
def test_a_block_of_stride_2_halves_the_image_and_sets_the_channels(path: str) -> None:
    block = SoftBlock(path, 2, 3, size=8, stride=2)
    assert block(torch.randn(5, 2, 8, 8)).shape == (5, 3, 4, 4)


@pytest.mark.parametrize("path", list(SoftPath))
def test_a_backbone_maps_images_to_one_logit_per_class(path: str) -> None:
    assert soft_backbone(path, alpha=2, num_classes=7)(torch.randn(3, 1, 16, 16)).shape == (3, 7)


def test_the_conv_backbone_is_exactly_invariant_to_circular_shifts() -> None:
    model = soft_backbone("conv", alpha=2).double().eval()
    x = torch.randn(4, 1, 16, 16, dtype=torch.float64)
    shifts = [(8, 0), (3, 5), (15, 1)]
    error = equivariance_error(model, x, [_roll(s) for s in shifts], [_unchanged] * len(shifts))
    assert error < 1e-12


def test_the_factored_layer_is_the_rank_one_product_of_its_factors() -> None:
    block = SoftBlock("ffc", 2, 3, size=4, stride=1).double()
    factored = block.dense
    assert factored is not None
    u, v = factored.u.weight, factored.v.weight  # (C, C', X), (C', Y, C)
    w = torch.einsum("cdx,dyc->dcyx", u, v)  # W[c', c, y, x] = V[y, c', c] U[c', c, x]
    x = torch.randn(5, 2, 4, 4, dtype=torch.float64)
    dense = torch.einsum("dcyx,bcx->bdy", w, x.flatten(2)) + factored.v.bias
    torch.testing.assert_close(factored(x), dense.view(5, 3, 4, 4))

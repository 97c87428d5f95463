"""Softly equivariant blocks and backbones (van der Ouderaa et al. 2023): shapes, the exact shift
invariance of the convolutional path, and the factored dense path as a rank-one product."""

from __future__ import annotations

import pytest
import torch

from eqlab.groups import point_group
from eqlab.groups._image import transform_image
from eqlab.nn import GroupConv2d, LiftingConv2d, SoftBlock, SoftPath, soft_backbone
from eqlab.testing import equivariance_error


def _roll(shift: tuple[int, int]):  # type: ignore[no-untyped-def]
    return lambda x: torch.roll(x, shift, (2, 3))


def _unchanged(x: torch.Tensor) -> torch.Tensor:
    return x


def _p4(path: str) -> bool:
    return "p4" in path.split("+")


@pytest.mark.parametrize("path", list(SoftPath))
def test_a_block_of_stride_2_halves_the_image_and_sets_the_channels(path: str) -> None:
    c_out = 4 if _p4(path) else 3  # the p4 path folds its group axis into the channels
    block = SoftBlock(path, 2, c_out, size=8, stride=2)
    assert block(torch.randn(5, 2, 8, 8)).shape == (5, c_out, 4, 4)


@pytest.mark.parametrize("path", list(SoftPath))
def test_a_backbone_maps_images_to_one_logit_per_class(path: str) -> None:
    alpha = 4 if _p4(path) else 2
    assert soft_backbone(path, alpha=alpha, num_classes=7)(torch.randn(3, 1, 16, 16)).shape == (3, 7)


def _quarter_turn(x: torch.Tensor) -> torch.Tensor:
    return transform_image(x, 1)


@pytest.mark.parametrize("strides", [(1, 2, 2), (2, 1, 2)])
def test_the_p4_blocks_are_exactly_equivariant_to_quarter_turns(strides: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    blocks = soft_backbone("p4", alpha=4, size=16, widths=(1, 2, 1), strides=strides)[:3].double()
    x = torch.randn(4, 1, 16, 16, dtype=torch.float64)
    p4 = point_group("p4")

    def on_features(f: torch.Tensor) -> torch.Tensor:  # folded (B, 4 C, H, W): rotate and permute g
        return p4.act_on_features(f.unflatten(1, (-1, 4)), 1).flatten(1, 2)

    out = blocks(x)
    assert out.shape == (4, 4, 4, 4)
    assert equivariance_error(blocks, x, [_quarter_turn], [on_features]) < 1e-12
    torch.testing.assert_close(blocks(_quarter_turn(x)), on_features(out), rtol=0, atol=1e-12)
    # pooled over the plane and the group axis: invariant
    pooled = blocks(_quarter_turn(x)).unflatten(1, (-1, 4)).mean(dim=(2, 3, 4))
    torch.testing.assert_close(pooled, out.unflatten(1, (-1, 4)).mean(dim=(2, 3, 4)), rtol=0, atol=1e-12)
    # the conv path beside it is not rotation-equivariant: the test can tell the difference
    mixed = soft_backbone("p4+conv+ffc", alpha=4, size=16, widths=(1, 2, 1), strides=strides)[:3].double()
    assert equivariance_error(mixed, x, [_quarter_turn], [on_features]) > 1e-3


def test_the_p4_path_lifts_in_the_first_block_and_group_convolves_after() -> None:
    model = soft_backbone("p4+conv+ffc", alpha=4, widths=(1, 2), strides=(2, 2))
    first, second = model[0], model[1]
    assert isinstance(first.group.gconv, LiftingConv2d) and first.group.gconv.out_channels == 1
    assert isinstance(second.group.gconv, GroupConv2d) and second.group.gconv.in_channels == 1
    assert second.group.gconv.out_channels == 2
    assert first.conv is not None and first.dense is not None and second.dense is not None


def test_the_three_path_block_averages_its_paths() -> None:
    torch.manual_seed(1)
    block = SoftBlock("p4+conv+ffc", 4, 8, size=8, stride=2, group_input=True).double()
    x = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    parts = [block.group(x), block.conv(x), block.dense(x)]
    torch.testing.assert_close(block(x), torch.relu((parts[0] + parts[1] + parts[2]) / 3))


def test_p4_channels_that_do_not_fold_are_refused() -> None:
    with pytest.raises(ValueError, match="c_out must be a multiple of 4"):
        SoftBlock("p4", 1, 6, size=8)
    with pytest.raises(ValueError, match="c_in must be a multiple of 4"):
        SoftBlock("p4", 6, 8, size=8, group_input=True)
    with pytest.raises(TypeError, match="group_input"):
        SoftBlock("p4", 4, 8, size=8, group_input="yes")


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

"""The sparsified paths (van der Ouderaa et al. 2023, Section 5): weights RBF-interpolated from anchor
values, equal to the plain layers with the interpolated weights, and shift invariant where convolutional."""

from __future__ import annotations

import torch
from torch import nn

from eqlab.nn import SparseConv, SparseDense, soft_backbone
from eqlab.nn._sparse import grid_points, rbf_interpolation
from eqlab.testing import equivariance_error


def test_sparse_conv_is_a_circular_conv_with_its_interpolated_filters() -> None:
    torch.manual_seed(0)
    layer = SparseConv(2, 3, stride=1, factor=0.5).double()
    x = torch.randn(4, 2, 6, 6, dtype=torch.float64)
    expected = nn.functional.conv2d(
        nn.functional.pad(x, (1, 1, 1, 1), mode="circular"), layer.effective_weight(), layer.mix.bias
    )
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)


def test_sparse_dense_is_the_factored_layer_with_interpolated_factors() -> None:
    torch.manual_seed(0)
    layer = SparseDense(2, 3, size=4, stride=2).double()
    r_in, r_out = layer.projection_in.double(), layer.interpolation_out.double()
    u = layer.u.weight @ r_in  # (C, C', X)
    v = r_out.T @ layer.v.weight  # (C', Y, C)
    bias = layer.v.bias @ r_out  # (C', Y)
    x = torch.randn(5, 2, 4, 4, dtype=torch.float64)
    w = torch.einsum("cdx,dyc->dcyx", u, v)
    expected = torch.einsum("dcyx,bcx->bdy", w, x.flatten(2)) + bias
    torch.testing.assert_close(layer(x), expected.view(5, 3, 2, 2), rtol=1e-12, atol=1e-12)


def test_rbf_interpolation_reproduces_values_at_the_anchors() -> None:
    anchors = grid_points(3, 3)[[0, 4, 8]]
    r = rbf_interpolation(anchors, anchors)
    torch.testing.assert_close(r, torch.eye(3, dtype=torch.float64), atol=1e-3, rtol=0)


def test_the_sparse_conv_backbone_is_invariant_to_circular_shifts() -> None:
    torch.manual_seed(0)
    model = soft_backbone("s-conv", alpha=2).double().eval()
    x = torch.randn(8, 1, 16, 16, dtype=torch.float64)
    error = equivariance_error(model, x, lambda t: torch.roll(t, (3, 5), (2, 3)), lambda t: t)
    assert error < 1e-12

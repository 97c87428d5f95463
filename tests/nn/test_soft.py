"""Softly equivariant blocks, KFAC for the factored layer, the online marginal-likelihood loop, and a
quick run of the soft study."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset
from typer.testing import CliRunner

from eqlab._cli import app
from eqlab.bayes import KronLaplace, MarglikSettings, train_marglik
from eqlab.bayes._marglik import parameter_group_names
from eqlab.nn import SoftBlock, SoftPath, soft_backbone
from eqlab.nn._primitives import BlockLinear, polyphase_subsample
from tests.bayes.test_laplace import _dense_lml


@pytest.mark.parametrize("path", list(SoftPath))
def test_blocks_and_backbones_have_the_right_shapes(path: str) -> None:
    block = SoftBlock(path, 2, 3, size=8, stride=2)
    assert block(torch.randn(5, 2, 8, 8)).shape == (5, 3, 4, 4)
    assert soft_backbone(path, alpha=2, num_classes=7)(torch.randn(3, 1, 16, 16)).shape == (3, 7)


def test_the_conv_backbone_is_exactly_invariant_to_circular_shifts() -> None:
    model = soft_backbone("conv", alpha=2).double().eval()
    x = torch.randn(4, 1, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        for shift in ((8, 0), (3, 5), (15, 1)):
            torch.testing.assert_close(model(torch.roll(x, shift, (2, 3))), model(x), rtol=1e-12, atol=1e-12)


def test_polyphase_subsampling_commutes_with_shifts_up_to_a_shift() -> None:
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    y, y_shifted = polyphase_subsample(x), polyphase_subsample(torch.roll(x, (1, 3), (2, 3)))
    matches = [torch.equal(torch.roll(y, (a, b), (2, 3)), y_shifted) for a in range(4) for b in range(4)]
    assert any(matches)
    with pytest.raises(ValueError, match="even height and width"):
        polyphase_subsample(torch.randn(1, 1, 5, 4))


def test_factored_layer_is_the_rank_one_product_of_its_factors() -> None:
    block = SoftBlock("ffc", 2, 3, size=4, stride=1).double()
    factored = block.dense
    assert factored is not None
    u, v = factored.u.weight, factored.v.weight  # (C, C', X), (C', Y, C)
    w = torch.einsum("cdx,dyc->dcyx", u, v)  # W[c', c, y, x] = V[y, c', c] U[c', c, x]
    x = torch.randn(5, 2, 4, 4, dtype=torch.float64)
    dense = torch.einsum("dcyx,bcx->bdy", w, x.flatten(2)) + factored.v.bias
    torch.testing.assert_close(factored(x), dense.view(5, 3, 4, 4))


class _GroupedNet(nn.Module):
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups
        self.grouped = BlockLinear(groups, 4, 2)
        self.head = nn.Linear(2 * groups, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.grouped(x.view(-1, self.groups, 4))).flatten(1))


def test_kfac_of_grouped_linear_against_the_dense_evidence() -> None:
    torch.manual_seed(0)
    delta = torch.tensor([0.5, 1.0, 1.5, 2.0], dtype=torch.float64)
    y = torch.tensor([1])
    # one group is a Linear layer: exact for one data point
    model = _GroupedNet(1).double()
    x = torch.randn(1, 4, dtype=torch.float64)
    la = KronLaplace(model, "classification")
    la.fit([(x, y)])
    assert la.parameter_groups == parameter_group_names(model)
    assert la.parameter_groups == ["grouped.weight", "grouped.bias", "head.weight", "head.bias"]
    dense = _dense_lml(model, x, y, "classification", delta)
    torch.testing.assert_close(la.log_marginal_likelihood(delta), dense, rtol=1e-10, atol=1e-10)
    # three groups: KFAC drops the coupling between groups, so only close
    model = _GroupedNet(3).double()
    x = torch.randn(1, 12, dtype=torch.float64)
    la = KronLaplace(model, "classification")
    la.fit([(x, y)])
    dense = _dense_lml(model, x, y, "classification", delta)
    gap = abs(float(la.log_marginal_likelihood(delta) - dense))
    assert 0 < gap < 0.05 * abs(float(dense))


def test_marglik_training_learns_precisions_and_records_the_evidence() -> None:
    torch.manual_seed(0)
    x = torch.randn(120, 1, 8, 8)
    y = (x[:, 0, :4].sum((1, 2)) > 0).long()
    model = soft_backbone("fc+conv", alpha=2, size=8, widths=(1, 2), strides=(2, 2), num_classes=2)
    settings = MarglikSettings(epochs=6, batch_size=32, lr=3e-3, burn_in=2, frequency=2, hyper_steps=5)
    history = train_marglik(model, TensorDataset(x, y), settings)
    assert [e for e, _ in history["marglik"]] == [4, 6]
    assert len(history["prior_precision"]) == len(history["groups"]) == len(parameter_group_names(model))
    assert any(abs(p - 1.0) > 1e-3 for p in history["prior_precision"])
    fixed = train_marglik(
        soft_backbone("conv", alpha=2, size=8, widths=(1,), strides=(2,), num_classes=2),
        TensorDataset(x, y),
        MarglikSettings(epochs=2, learn_prior=False, burn_in=1, frequency=1),
    )
    assert fixed["prior_precision"] == [1.0] * len(fixed["groups"]) and len(fixed["marglik"]) == 1


def test_quick_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "soft", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in tmp_path.iterdir() if p.name.endswith("-soft")]
    units = json.loads((folder / "results.json").read_text())["units"]
    assert len(units) == 2 * 2 * 4 * 2
    assert sorted(p.name for p in (folder / "plots").glob("*.png")) == [
        "accuracy.png",
        "conv_share.png",
        "marglik.png",
    ]


def test_sparse_conv_is_a_circular_conv_with_its_interpolated_filters() -> None:
    from eqlab.nn import SparseConv

    torch.manual_seed(0)
    layer = SparseConv(2, 3, stride=1, factor=0.5).double()
    x = torch.randn(4, 2, 6, 6, dtype=torch.float64)
    expected = nn.functional.conv2d(
        nn.functional.pad(x, (1, 1, 1, 1), mode="circular"), layer.effective_weight(), layer.mix.bias
    )
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)


def test_sparse_dense_is_the_factored_layer_with_interpolated_factors() -> None:
    from eqlab.nn import SparseDense

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
    from eqlab.nn._sparse import grid_points, rbf_interpolation

    anchors = grid_points(3, 3)[[0, 4, 8]]
    r = rbf_interpolation(anchors, anchors)
    torch.testing.assert_close(r, torch.eye(3, dtype=torch.float64), atol=1e-3, rtol=0)


@pytest.mark.parametrize("path", ["s-conv", "s-fc", "s-fc+s-conv"])
def test_sparse_backbones_are_shift_invariant_where_convolutional_and_fit_kfac(path: str) -> None:
    torch.manual_seed(0)
    model = soft_backbone(path, alpha=2).double().eval()
    x = torch.randn(8, 1, 16, 16, dtype=torch.float64)
    if path == "s-conv":
        torch.testing.assert_close(model(torch.roll(x, (3, 5), (2, 3))), model(x), rtol=1e-12, atol=1e-12)
    la = KronLaplace(model, "classification")
    la.fit([(x, torch.randint(0, 10, (8,)))])
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert sorted(la.parameter_groups) == sorted(trainable)  # the anchor values are the groups
    assert torch.isfinite(la.log_marginal_likelihood(torch.ones(len(trainable))))

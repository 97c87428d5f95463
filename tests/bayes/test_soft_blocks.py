"""KronLaplace and the online marginal-likelihood loop on the soft blocks of `eqlab.nn`: the per-block
Kronecker factors of `BlockLinear` against the dense evidence, learned prior precisions, and the
sparsified backbones' anchor values as parameter groups."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.bayes import KronLaplace, MarglikSettings, train_marglik
from eqlab.bayes._marglik import parameter_group_names
from eqlab.nn import soft_backbone
from eqlab.nn._primitives import BlockLinear
from tests.bayes.test_laplace import _dense_lml

DELTA = torch.tensor([0.5, 1.0, 1.5, 2.0], dtype=torch.float64)


class _GroupedNet(nn.Module):
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups
        self.grouped = BlockLinear(groups, 4, 2)
        self.head = nn.Linear(2 * groups, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.grouped(x.view(-1, self.groups, 4))).flatten(1))


def _fitted(groups: int) -> tuple[nn.Module, torch.Tensor, torch.Tensor, KronLaplace]:
    """A grouped net in float64, one data point and the KronLaplace fitted on it."""
    model = _GroupedNet(groups).double()
    x, y = torch.randn(1, 4 * groups, dtype=torch.float64), torch.tensor([1])
    la = KronLaplace(model, "classification")
    la.fit([(x, y)])
    return model, x, y, la


def test_kfac_groups_the_parameters_of_block_linear_by_tensor() -> None:
    model, _, _, la = _fitted(1)
    assert la.parameter_groups == parameter_group_names(model)
    assert la.parameter_groups == ["grouped.weight", "grouped.bias", "head.weight", "head.bias"]


def test_kfac_of_one_block_equals_the_dense_evidence() -> None:
    torch.manual_seed(0)
    model, x, y, la = _fitted(1)  # one block is a Linear layer: KFAC is exact for one data point
    dense = _dense_lml(model, x, y, "classification", DELTA)
    torch.testing.assert_close(la.log_marginal_likelihood(DELTA), dense, rtol=1e-10, atol=1e-10)


def test_kfac_of_three_blocks_is_close_to_the_dense_evidence_but_not_equal() -> None:
    torch.manual_seed(0)
    model, x, y, la = _fitted(3)  # KFAC drops the coupling between blocks, so only close
    dense = _dense_lml(model, x, y, "classification", DELTA)
    gap = abs(float(la.log_marginal_likelihood(DELTA) - dense))
    assert 0 < gap < 0.05 * abs(float(dense))


def _data() -> TensorDataset:
    x = torch.randn(120, 1, 8, 8)
    return TensorDataset(x, (x[:, 0, :4].sum((1, 2)) > 0).long())


@pytest.fixture(scope="module")
def learned() -> tuple[nn.Module, dict[str, Any]]:
    """A small soft backbone trained for 6 epochs with learned prior precisions."""
    torch.manual_seed(0)
    data = _data()
    model = soft_backbone("fc+conv", alpha=2, size=8, widths=(1, 2), strides=(2, 2), num_classes=2)
    settings = MarglikSettings(epochs=6, batch_size=32, lr=3e-3, burn_in=2, frequency=2, hyper_steps=5)
    return model, train_marglik(model, data, settings)


def test_marglik_records_the_evidence_every_frequency_epochs_after_the_burn_in(
    learned: tuple[nn.Module, dict[str, Any]],
) -> None:
    _, history = learned
    assert [e for e, _ in history["marglik"]] == [4, 6]


def test_marglik_keeps_one_prior_precision_per_parameter_group(
    learned: tuple[nn.Module, dict[str, Any]],
) -> None:
    model, history = learned
    assert len(history["prior_precision"]) == len(history["groups"]) == len(parameter_group_names(model))


def test_marglik_moves_the_prior_precisions_away_from_their_start(
    learned: tuple[nn.Module, dict[str, Any]],
) -> None:
    _, history = learned
    assert any(abs(p - 1.0) > 1e-3 for p in history["prior_precision"])


def test_a_fixed_prior_keeps_its_precisions_and_still_records_the_evidence() -> None:
    torch.manual_seed(0)
    data = _data()
    fixed = train_marglik(
        soft_backbone("conv", alpha=2, size=8, widths=(1,), strides=(2,), num_classes=2),
        data,
        MarglikSettings(epochs=2, learn_prior=False, burn_in=1, frequency=1),
    )
    assert fixed["prior_precision"] == [1.0] * len(fixed["groups"]) and len(fixed["marglik"]) == 1


@pytest.mark.parametrize("path", ["s-conv", "s-fc", "s-fc+s-conv"])
def test_kfac_of_a_sparse_backbone_groups_its_anchor_values(path: str) -> None:
    torch.manual_seed(0)
    model = soft_backbone(path, alpha=2).double().eval()
    x = torch.randn(8, 1, 16, 16, dtype=torch.float64)
    la = KronLaplace(model, "classification")
    la.fit([(x, torch.randint(0, 10, (8,)))])
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert sorted(la.parameter_groups) == sorted(trainable)  # the anchor values are the groups
    assert torch.isfinite(la.log_marginal_likelihood(torch.ones(len(trainable))))


def test_kfac_covers_the_p4_path_and_marglik_learns_a_precision_per_path_and_layer() -> None:
    torch.manual_seed(0)
    data = _data()
    model = soft_backbone("p4+conv+ffc", alpha=4, size=8, widths=(1, 2), strides=(2, 2), num_classes=2)
    names = parameter_group_names(model)
    for block in ("0", "1"):  # every path of every block is a group of its own
        for path in ("group.gconv", "conv.conv", "dense.u", "dense.v"):
            assert f"{block}.{path}.weight" in names
    assert names == [n for n, p in model.named_parameters() if p.requires_grad]
    settings = MarglikSettings(epochs=2, batch_size=32, burn_in=1, frequency=1, hyper_steps=3)
    history = train_marglik(model, data, settings)
    assert history["groups"] == names and len(history["marglik"]) == 1
    precisions = dict(zip(names, history["prior_precision"], strict=True))
    assert precisions["0.group.gconv.weight"] != 1.0 and precisions["1.group.gconv.weight"] != 1.0
    assert all(math.isfinite(v) for _, v in history["marglik"])

"""eqlab's KronLaplace beside laplace-torch's KronLaplace (AsdlGGN backend) on standard Linear and Conv2d
models: the same GGN and batch conventions give the same log determinant and evidence, and the same
gradient in the prior precision.

laplace-torch is an optional test extra (`make laplace-extra`; it must be installed without its
torchvision requirement). The comparison is skipped when the package is absent and FAILS when it is
installed but does not import.
"""

from __future__ import annotations

import importlib
import importlib.util

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from eqlab.bayes import KronLaplace

INSTALLED = importlib.util.find_spec("laplace") is not None


def _models() -> list[tuple[nn.Module, torch.Tensor]]:
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 4)).double()
    cnn = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 6 * 6, 4)
    ).double()
    return [
        (mlp, torch.randn(40, 3, dtype=torch.float64)),
        (cnn, torch.randn(20, 1, 6, 6, dtype=torch.float64)),
    ]


@pytest.mark.skipif(not INSTALLED, reason="laplace-torch (the optional test extra) is not installed")
@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize("batch_size", [5, 40])
def test_log_det_evidence_and_gradient_match_laplace_torch(index: int, batch_size: int) -> None:
    laplace = importlib.import_module("laplace")  # installed: an import error fails the test
    curvature = importlib.import_module("laplace.curvature")
    model, x = _models()[index]
    y = torch.randint(0, 4, (x.shape[0],), generator=torch.Generator().manual_seed(1))
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size)
    ours = KronLaplace(model, "classification")
    ours.fit(loader)
    theirs = laplace.KronLaplace(model, "classification", backend=curvature.AsdlGGN)
    theirs.fit(loader)
    for value in (0.5, 2.0):
        mine = torch.tensor(value, dtype=torch.float64, requires_grad=True)
        other = torch.tensor(value, dtype=torch.float64, requires_grad=True)
        theirs.prior_precision = other.detach()
        torch.testing.assert_close(
            ours.log_det_posterior_precision(value),
            theirs.log_det_posterior_precision.double(),
            rtol=1e-10,
            atol=1e-10,
        )
        lml_mine = ours.log_marginal_likelihood(mine)
        lml_theirs = theirs.log_marginal_likelihood(prior_precision=other)
        torch.testing.assert_close(lml_mine, lml_theirs.double(), rtol=1e-10, atol=1e-10)
        lml_mine.backward()
        lml_theirs.backward()
        assert mine.grad is not None and other.grad is not None
        torch.testing.assert_close(mine.grad, other.grad.double(), rtol=1e-8, atol=1e-10)

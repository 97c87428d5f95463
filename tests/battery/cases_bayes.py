"""Bad inputs for `eqlab.bayes`: the Kronecker-factored Laplace evidence and the marginal-likelihood loop."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.bayes import KronLaplace, Likelihood, MarglikSettings, train_marglik
from eqlab.bayes._curvature import accumulate_factors, supported_layers
from eqlab.bayes._laplace import kron_logdet
from eqlab.bayes._marglik import parameter_group_names
from eqlab.runs import RunFolder
from eqlab.train import TrainSettings
from tests.battery.harness import Battery

N, D, C = 8, 3, 4  # data points, inputs, classes / outputs
_ROOT = tempfile.TemporaryDirectory(prefix="eqlab-battery-bayes-")


def _folder() -> Path:
    return Path(tempfile.mkdtemp(dir=_ROOT.name))


def _mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(D, 5), nn.Tanh(), nn.Linear(5, C)).double()


def _x(n: int = N, d: int = D) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def _labels(n: int = N) -> torch.Tensor:
    return torch.randint(0, C, (n,), generator=torch.Generator().manual_seed(2))


def _targets(n: int = N) -> torch.Tensor:
    return torch.randn(n, C, generator=torch.Generator().manual_seed(3), dtype=torch.float64)


def _loader() -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(_x(), _labels())]


class _Unused(nn.Module):
    """A model with a trainable layer its forward pass never calls."""

    def __init__(self) -> None:
        super().__init__()
        self.used = nn.Linear(D, C).double()
        self.unused = nn.Linear(D, C).double()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.used(x)


def _frozen() -> nn.Module:
    model = _mlp()
    model.requires_grad_(False)
    return model


def _bad_models() -> list[tuple[str, Any]]:
    return [
        ("None", None),
        ("string", "net"),
        ("a class, not an instance", nn.Linear),
        ("batch norm", nn.Sequential(nn.Linear(D, C), nn.BatchNorm1d(C)).double()),
        ("layer norm", nn.Sequential(nn.Linear(D, C), nn.LayerNorm(C)).double()),
        ("no parameters", nn.Tanh()),
        ("every parameter frozen", _frozen()),
    ]


def _bad_loaders() -> list[tuple[str, Any]]:
    x, y = _x(), _labels()
    out: list[tuple[str, Any]] = [
        ("a bare tensor", x),
        ("None", None),
        ("int", 5),
        ("empty", []),
        ("a 1-tuple batch", [(x,)]),
        ("labels of another length", [(x, _labels(N - 1))]),
        ("inputs of the wrong size", [(_x(d=D + 2), y)]),
    ]
    out += [
        ("labels out of range", [(x, y + C)]),
        ("float labels", [(x, y.double())]),
        ("rank 2 labels", [(x, y[:, None])]),
    ]
    return out


def _fit(likelihood: str = "classification") -> KronLaplace:
    la = KronLaplace(_mlp(), likelihood)
    la.fit([(_x(), _labels() if likelihood == "classification" else _targets())])
    return la


def build() -> Battery:
    b = Battery()

    def fit_and_evaluate(la: KronLaplace) -> torch.Tensor:
        la.fit(_loader())
        return la.log_marginal_likelihood(1.0)

    b.mutate(
        "eqlab.bayes.KronLaplace",
        KronLaplace,
        lambda: {"model": _mlp(), "likelihood": "classification", "ggn": "mc", "mc_samples": 2, "seed": 0},
        {
            "model": [
                *_bad_models(),
                ("a layer the forward pass skips", _Unused()),
                ("outputs of rank 3", nn.Sequential(nn.Linear(D, C), nn.Unflatten(1, (2, 2))).double()),
            ],
            "likelihood": [
                ("unknown", "poisson"),
                ("None", None),
                ("int", 5),
                ("capitalised", "Classification"),
                ("a ggn", "exact"),
                ("enum class", Likelihood),
            ],
            "ggn": [("unknown", "kfac"), ("None", None), ("a likelihood", Likelihood.CLASSIFICATION)],
            "mc_samples": [("zero", 0), ("negative", -1), ("float", 1.5), ("bool", True), ("string", "2")],
            "seed": [("negative", -1), ("float", 1.5), ("string", "0")],
        },
        then=fit_and_evaluate,
    )
    for label, loader in _bad_loaders():
        b.add(
            "eqlab.bayes.KronLaplace",
            "loader",
            label,
            lambda loader=loader: KronLaplace(_mlp(), "classification").fit(loader),
        )
    x, targets = _x(), _targets()
    nan_targets = targets.clone()
    nan_targets[0, 0] = float("nan")
    for label, loader in [
        ("a 1-tuple batch", [(x,)]),
        ("targets of another length", [(x, _targets(N - 1))]),
        ("targets of the wrong width", [(x, targets[:, :2])]),
        ("inputs of the wrong size", [(_x(d=D + 2), targets)]),
        ("NaN targets", [(x, nan_targets)]),
    ]:
        b.add(
            "eqlab.bayes.KronLaplace",
            "loader",
            f"regression: {label}",
            lambda loader=loader: KronLaplace(_mlp(), "regression").fit(loader),
        )
    bad_precisions = [
        ("negative", -1.0),
        ("zero", 0.0),
        ("nan", float("nan")),
        ("inf", float("inf")),
        ("string", "1"),
        ("None", None),
        ("a negative entry", torch.tensor([1.0, -1.0, 1.0, 1.0])),
        ("a list with a negative entry", [1.0, -1.0, 1.0, 1.0]),
        ("one entry too few", torch.ones(3)),
    ]
    for label, value in bad_precisions:
        b.add(
            "eqlab.bayes.KronLaplace",
            "prior_precision",
            label,
            lambda value=value: _fit().log_marginal_likelihood(value),
        )
    for label, value in bad_precisions[:3]:
        b.add(
            "eqlab.bayes.KronLaplace",
            "prior_precision",
            f"log_det_posterior_precision: {label}",
            lambda value=value: _fit().log_det_posterior_precision(value),
        )
    for label, value in [
        ("zero", 0.0),
        ("negative", -1.0),
        ("nan", float("nan")),
        ("inf", float("inf")),
        ("string", "1"),
        ("a tensor of two", torch.ones(2)),
    ]:
        b.add(
            "eqlab.bayes.KronLaplace",
            "sigma_noise",
            label,
            lambda value=value: _fit("regression").log_marginal_likelihood(1.0, value),
        )
        b.add(
            "eqlab.bayes.KronLaplace",
            "sigma_noise",
            f"log_likelihood: {label}",
            lambda value=value: _fit("regression").log_likelihood(value),
        )
    b.add(
        "eqlab.bayes.KronLaplace",
        "sigma_noise",
        "given for classification",
        lambda: _fit().log_marginal_likelihood(1.0, 0.5),
    )
    b.add_valid(
        "eqlab.bayes.KronLaplace", lambda: _fit("regression").log_marginal_likelihood([0.5, 1, 2, 3], 0.7)
    )
    for label, value in [("string", "yes"), ("int", 1), ("None", None)]:
        b.add(
            "eqlab.bayes.KronLaplace",
            "distributed",
            label,
            lambda value=value: KronLaplace(_mlp(), "classification").fit(_loader(), distributed=value),
        )
    b.add_valid(  # without a process group there is nothing to sum
        "eqlab.bayes.KronLaplace",
        lambda: KronLaplace(_mlp(), "classification").fit(_loader(), distributed=True),
    )

    b.mutate(
        "eqlab.bayes._laplace.kron_logdet",
        kron_logdet,
        lambda: {
            "eig_a": torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64),
            "eig_g": torch.tensor([0.5, 3.0], dtype=torch.float64),
            "delta": torch.tensor(0.7, dtype=torch.float64),
        },
        {
            "eig_a": [
                ("None", None),
                ("list", [1.0, 2.0]),
                ("a negative eigenvalue", torch.tensor([-1.0, 1.0], dtype=torch.float64)),
                ("nan", torch.tensor([float("nan"), 1.0], dtype=torch.float64)),
                ("rank 3", torch.ones(2, 2, 2, dtype=torch.float64)),
            ],
            "eig_g": [
                ("None", None),
                ("rank 2 against rank 1", torch.ones(2, 2, dtype=torch.float64)),
                ("a negative eigenvalue", torch.tensor([-1.0, 1.0], dtype=torch.float64)),
                ("inf", torch.tensor([float("inf"), 1.0], dtype=torch.float64)),
            ],
            "delta": [
                ("negative", -1.0),
                ("zero", 0.0),
                ("nan", float("nan")),
                ("string", "1"),
                ("None", None),
                ("a tensor of two", torch.ones(2, dtype=torch.float64)),
            ],
        },
    )
    b.add(
        "eqlab.bayes._laplace.kron_logdet",
        "eig_g",
        "groups that disagree",
        lambda: kron_logdet(
            torch.ones(2, 3, dtype=torch.float64), torch.ones(3, 2, dtype=torch.float64), 1.0
        ),
    )
    b.add_valid(
        "eqlab.bayes._laplace.kron_logdet",
        lambda: kron_logdet(
            torch.ones(2, 3, dtype=torch.float64), torch.ones(2, 4, dtype=torch.float64), 1.0
        ),
    )

    b.mutate(
        "eqlab.bayes._curvature.accumulate_factors",
        accumulate_factors,
        lambda: {
            "model": _mlp(),
            "loader": _loader(),
            "likelihood": "classification",
            "ggn": "mc",
            "samples": 2,
            "seed": 0,
        },
        {
            "model": [*_bad_models(), ("a layer the forward pass skips", _Unused())],
            "loader": _bad_loaders(),
            "likelihood": [("unknown", "poisson"), ("None", None)],
            "ggn": [("unknown", "kfac"), ("None", None)],
            "samples": [("zero", 0), ("negative", -1), ("float", 1.5), ("bool", True)],
            "seed": [("negative", -1), ("string", "0"), ("float", 0.5)],
        },
    )

    for name, fn in (
        ("_curvature.supported_layers", supported_layers),
        ("_marglik.parameter_group_names", parameter_group_names),
    ):
        b.mutate(
            f"eqlab.bayes.{name}",
            fn,
            lambda: {"model": _mlp()},
            {"model": [*_bad_models(), ("int", 5), ("embedding", nn.Sequential(nn.Embedding(5, 3)))]},
        )

    b.mutate(
        "eqlab.bayes.MarglikSettings",
        MarglikSettings,
        {
            "epochs": 2,
            "batch_size": 4,
            "lr": 1e-3,
            "learn_prior": True,
            "prior_precision": 1.0,
            "burn_in": 0,
            "frequency": 1,
            "hyper_steps": 2,
            "hyper_lr": 0.1,
            "ggn": "exact",
            "marglik_batch_size": 8,
            "track_marglik": True,
        },
        {
            "epochs": [("zero", 0), ("negative", -1), ("float", 1.5), ("bool", True), ("string", "3")],
            "batch_size": [("zero", 0), ("float", 2.5), ("None", None)],
            "lr": [
                ("nan", float("nan")),
                ("negative", -1.0),
                ("zero", 0.0),
                ("inf", float("inf")),
                ("string", "0.1"),
            ],
            "learn_prior": [("string", "yes"), ("int", 1)],
            "prior_precision": [
                ("negative", -1.0),
                ("zero", 0.0),
                ("nan", float("nan")),
                ("inf", float("inf")),
                ("string", "1"),
            ],
            "burn_in": [("negative", -1), ("float", 1.5)],
            "frequency": [("zero", 0), ("float", 1.5)],
            "hyper_steps": [("negative", -1), ("float", 2.5)],
            "hyper_lr": [("nan", float("nan")), ("negative", -0.1), ("zero", 0.0)],
            "ggn": [("unknown", "kfac"), ("None", None), ("capitalised", "MC"), ("int", 1)],
            "marglik_batch_size": [("zero", 0), ("negative", -5), ("float", 1.5)],
            "track_marglik": [("string", "no"), ("None", None)],
        },
    )

    def marglik_valid() -> dict[str, Any]:
        return {
            "model": _mlp().float(),
            "data": TensorDataset(_x().float(), _labels()),
            "settings": MarglikSettings(epochs=1, batch_size=4, burn_in=0, frequency=1, hyper_steps=1),
            "seed": 0,
            "likelihood": "classification",
            "run": RunFolder(_folder()),
            "unit": "unit",
            "config": {"epochs": 1},
            "checkpoint_every": 1,
        }

    b.add_valid(
        "eqlab.bayes.MarglikSettings",
        lambda: MarglikSettings(np.int64(3), batch_size=np.int32(8), hyper_steps=np.int64(0)),
    )

    b.mutate(
        "eqlab.bayes.train_marglik",
        train_marglik,
        marglik_valid,
        {
            "model": [
                ("None", None),
                ("string", "net"),
                ("batch norm", nn.Sequential(nn.Linear(D, C), nn.BatchNorm1d(C))),
                ("no parameters", nn.Tanh()),
            ],
            "data": [
                ("a bare tensor", _x().float()),
                ("None", None),
                ("empty", TensorDataset(torch.zeros(0, D), torch.zeros(0, dtype=torch.long))),
                ("inputs only", TensorDataset(_x().float())),
                ("float labels", TensorDataset(_x().float(), _labels().float())),
                ("inputs of the wrong size", TensorDataset(_x(d=D + 1).float(), _labels())),
                ("labels out of range", TensorDataset(_x().float(), _labels() + C)),
            ],
            "settings": [
                ("None", None),
                ("a dict", {"epochs": 1}),
                ("TrainSettings", TrainSettings(epochs=1, batch_size=4)),
            ],
            "seed": [("negative", -1), ("float", 1.5), ("string", "0")],
            "likelihood": [
                ("regression", "regression"),
                ("regression member", Likelihood.REGRESSION),
                ("unknown", "poisson"),
                ("None", None),
                ("bytes", b"classification"),
            ],
            "run": [("a path string", "runs/x"), ("int", 5), ("a dict", {"path": "runs/x"})],
            "unit": [("empty", ""), ("None", None), ("int", 5), ("a path", "../escape"), ("slash", "a/b")],
            "config": [("string", "cfg"), ("int", 5), ("list", [1, 2])],
            "checkpoint_every": [
                ("zero", 0),
                ("negative", -1),
                ("float", 1.5),
                ("bool", True),
                ("None", None),
            ],
        },
    )
    return b

"""The ``activations`` study's scale and networks: `ActivationsConfig`, its quick and paper presets, the
`Network` kinds of the rotation part with their labels, and the fixed sizes of the networks' measurement."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eqlab._options import Option
from eqlab.train import TrainSettings


class Network(Option):
    """The networks of the rotation part, named by their hidden features."""

    ROTATION = "rotation"
    """Copies of the 2-d rotation of C_n, with ReLU: not a monomial representation."""
    TRIVIAL = "trivial"
    """Trivial features, with ReLU: the zero map by construction (not trained)."""
    REGULAR = "regular"
    """Copies of the regular representation of C_n (a permutation representation), with ReLU."""
    MLP = "mlp"
    """A plain MLP of the same width, with ReLU: no symmetry built in."""


NETWORK_LABELS = {
    Network.ROTATION: "rotation features + ReLU",
    Network.TRIVIAL: "trivial features + ReLU",
    Network.REGULAR: "regular features + ReLU",
    Network.MLP: "plain MLP (ReLU)",
}
"""How the report names each network."""
ANGLES = 16
"""Random rotation angles (SO(2)) per seed at which the networks' equivariance is measured."""
MEASURED_POINTS = 256
"""Test points on which the equivariance errors and the output spread are measured."""


def _default_train() -> TrainSettings:
    return TrainSettings(epochs=60, batch_size=100, lr=3e-3, checkpoint_every=20)


@dataclass(frozen=True)
class ActivationsConfig:
    """Scale of the ``activations`` study (the defaults take about a minute on 2 cores)."""

    seeds: int = 5
    """Seeds: each redraws the table's random representations and inputs, and the networks' points."""
    rotation_order: int = field(default=8, metadata={"minimum": 2})
    """n of the rotation group C_n that acts on the networks' plane."""
    hidden_copies: int = 4
    """Copies of the regular representation of C_n per hidden layer (width ``hidden_copies * n``)."""
    train_points: int = 2000
    """Training points per seed, Gaussian with standard deviation 1.5 in the plane."""
    test_points: int = 1000
    """Test points per seed, drawn like the training points."""
    train: TrainSettings = field(default_factory=_default_train)
    """How the rotation, regular and MLP networks train (mean squared error)."""


QUICK: dict[str, Any] = {
    "seeds": 2,
    "train_points": 200,
    "test_points": 100,
    "hidden_copies": 1,
    "train.epochs": 2,
    "train.checkpoint_every": 1,
}
"""The ``--quick`` preset: two seeds, few points, one regular copy per hidden layer, two epochs."""

PAPER: dict[str, Any] = {
    "seeds": 10,
    "rotation_order": 16,
    "hidden_copies": 2,
    "train_points": 10000,
    "test_points": 2000,
    "train.epochs": 200,
}
"""The ``--set scale=paper`` preset: the larger sweep the study judges meaningful (the paper has no
experimental scale; see the package's docstring)."""

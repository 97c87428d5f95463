"""The choices of `eqlab.train.TrainSettings`: the optimiser and the learning-rate schedule."""

from __future__ import annotations

from eqlab._options import Option

__all__ = ["Optimizer", "Schedule"]


class Optimizer(Option):
    """The optimiser of the weights."""

    ADAM = "adam"
    """``torch.optim.Adam`` with the settings' ``lr`` and ``weight_decay``."""
    SGD = "sgd"
    """``torch.optim.SGD`` with the settings' ``lr``, ``momentum`` and ``weight_decay``."""


class Schedule(Option):
    """How the learning rate changes over the optimisation steps."""

    CONSTANT = "constant"
    """The learning rate stays ``lr``."""
    COSINE = "cosine"
    """Cosine annealing from ``lr`` to 0 over all steps of all epochs (``CosineAnnealingLR``)."""

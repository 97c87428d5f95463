"""The choices of `eqlab.bayes`: the likelihood of the data and how its curvature is computed."""

from __future__ import annotations

from eqlab._options import Option

__all__ = ["GGN", "Likelihood"]


class Likelihood(Option):
    """The likelihood of the targets given the model's outputs ``(N, C)``."""

    CLASSIFICATION = "classification"
    """Softmax cross-entropy over ``C`` classes; targets are class indices ``(N,)``."""
    REGRESSION = "regression"
    """Gaussian with noise standard deviation ``sigma_noise``; targets are values ``(N, C)``."""


class GGN(Option):
    """How the generalised Gauss-Newton's output Hessian enters the Kronecker factors."""

    EXACT = "exact"
    """From a square root of the output Hessian: ``C - 1`` backward passes per batch for classification
    (the softmax Hessian has the null vector ``(1, ..., 1)``), ``C`` for regression."""
    MC = "mc"
    """From sampled labels (classification) or noise (regression): ``mc_samples`` backward passes."""

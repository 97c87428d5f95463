"""Laplace marginal likelihoods with Kronecker-factored curvature (for van der Ouderaa et al. 2023)."""

from eqlab.bayes._curvature import LIKELIHOODS, accumulate_factors, supported_layers
from eqlab.bayes._laplace import KronLaplace, kron_logdet
from eqlab.bayes._marglik import MarglikSettings, parameter_group_names, train_marglik

__all__ = [
    "LIKELIHOODS",
    "KronLaplace",
    "MarglikSettings",
    "accumulate_factors",
    "kron_logdet",
    "parameter_group_names",
    "supported_layers",
    "train_marglik",
]

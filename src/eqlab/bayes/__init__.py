"""Laplace marginal likelihoods with Kronecker-factored curvature (for van der Ouderaa et al. 2023)."""

from eqlab.bayes.curvature import LIKELIHOODS, accumulate_factors, supported_layers
from eqlab.bayes.laplace import KronLaplace, kron_logdet

__all__ = ["LIKELIHOODS", "KronLaplace", "accumulate_factors", "kron_logdet", "supported_layers"]

"""Laplace marginal likelihoods with Kronecker-factored curvature (for van der Ouderaa et al. 2023).

- `KronLaplace` fits the Kronecker factors of a network's curvature and gives a differentiable log
  marginal likelihood in the prior precisions;
- `train_marglik` trains a classifier while learning one prior precision per parameter tensor, as
  `MarglikSettings` says;
- `Likelihood` names the likelihoods (``"classification"``, ``"regression"``).

.. include:: README.md
"""

from eqlab.bayes._laplace import KronLaplace
from eqlab.bayes._marglik import MarglikSettings, train_marglik
from eqlab.bayes._options import Likelihood

__all__ = ["KronLaplace", "Likelihood", "MarglikSettings", "train_marglik"]

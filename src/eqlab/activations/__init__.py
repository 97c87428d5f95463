"""Which pointwise activations keep a layer equivariant (Pacini, Dong, Lepri & Santin, ICLR 2024).

- `check` decides a (representation, activation) pair by Theorem 1, explains and measures it;
- `rescale_to_permutation` and `permutation_basis` find the change of basis that fixes a failing pair
  where the theory allows one (Theorem 2, Corollary 1); their results build the fixed activation;
- `scan` checks every activation of a model built from eqlab layers;
- `named_representation` gives the catalogue's representations by name (``"D4:rot2d"``).

.. include:: README.md
"""

from eqlab.activations._check import ActivationCheck, check
from eqlab.activations._named import named_representation
from eqlab.activations._permutation_basis import PermutationBasis, permutation_basis
from eqlab.activations._rescale import Rescaling, rescale_to_permutation
from eqlab.activations._scan import ScanReport, scan

__all__ = [
    "ActivationCheck",
    "PermutationBasis",
    "Rescaling",
    "ScanReport",
    "check",
    "named_representation",
    "permutation_basis",
    "rescale_to_permutation",
    "scan",
]

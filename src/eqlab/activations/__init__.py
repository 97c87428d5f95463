"""Which pointwise activations keep a layer equivariant (Pacini, Dong, Lepri & Santin, ICLR 2024).

- `check` decides a (representation, activation) pair by Theorem 1, explains and measures it;
- `rescale_to_permutation` and `permutation_basis` find the change of basis that fixes a failing pair
  where the theory allows one (Theorem 2, Corollary 1);
- `scan` checks every activation of a model built from eqlab layers.
"""

from eqlab.activations._check import ActivationCheck, WorstCase, bias_is_invariant, check, measure, worst_case
from eqlab.activations._classes import ADMISSIBLE, MAX_DENOMINATOR, TOLERANCE, MatrixClass, classify
from eqlab.activations._functions import TABLE, ActivationInfo, as_activation, probe
from eqlab.activations._permutation_basis import BasisActivation, PermutationBasis, permutation_basis
from eqlab.activations._rescale import Rescaling, rescale_to_permutation
from eqlab.activations._scan import ScanEntry, ScanReport, scan

__all__ = [
    "ADMISSIBLE",
    "MAX_DENOMINATOR",
    "TABLE",
    "TOLERANCE",
    "ActivationCheck",
    "ActivationInfo",
    "BasisActivation",
    "MatrixClass",
    "PermutationBasis",
    "Rescaling",
    "ScanEntry",
    "ScanReport",
    "WorstCase",
    "as_activation",
    "bias_is_invariant",
    "check",
    "classify",
    "measure",
    "permutation_basis",
    "probe",
    "rescale_to_permutation",
    "scan",
    "worst_case",
]

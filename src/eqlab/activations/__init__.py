"""Which pointwise activations keep a layer equivariant (Pacini, Dong, Lepri & Santin, ICLR 2024)."""

from eqlab.activations.check import ActivationCheck, bias_is_invariant, check, measure
from eqlab.activations.classes import ADMISSIBLE, MAX_DENOMINATOR, TOLERANCE, MatrixClass, classify
from eqlab.activations.functions import TABLE, ActivationInfo, as_activation, probe

__all__ = [
    "ADMISSIBLE",
    "MAX_DENOMINATOR",
    "TABLE",
    "TOLERANCE",
    "ActivationCheck",
    "ActivationInfo",
    "MatrixClass",
    "as_activation",
    "bias_is_invariant",
    "check",
    "classify",
    "measure",
    "probe",
]

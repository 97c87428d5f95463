"""Layerwise equivariance of trained networks, alignment and merging (Bökman & Kahl 2023).

- `transform_network(model, t)`: the network computing ``x -> model(t(x))`` for flips and ``rot90``;
- `align(model_a, model_b)`: channel permutations by weight or activation matching, with the
  permutation spec derived from the model by `torch.fx` (`derive_spec`);
- `self_align(model, t)`: the alignment with the transformed self, per-layer errors and cycle structure;
- `merge`, `group_average` (exactly invariant), `interpolation_barrier`.
"""

from eqlab.layerwise._align import (
    METHODS,
    AlignResult,
    GroupStructure,
    SelfAlignResult,
    align,
    cycle_structure,
    involution_assignment,
    self_align,
)
from eqlab.layerwise._barrier import BarrierCurve, evaluate, interpolation_barrier, interpolation_barriers
from eqlab.layerwise._merge import group_average, interpolate, merge, repair, reset_batchnorm
from eqlab.layerwise._permute import permute_model
from eqlab.layerwise._spec import Member, PermGroup, PermutationSpec, derive_spec
from eqlab.layerwise._transform import TRANSFORMS, apply_transform, transform_network

__all__ = [
    "METHODS",
    "TRANSFORMS",
    "AlignResult",
    "BarrierCurve",
    "GroupStructure",
    "Member",
    "PermGroup",
    "PermutationSpec",
    "SelfAlignResult",
    "align",
    "apply_transform",
    "cycle_structure",
    "derive_spec",
    "evaluate",
    "group_average",
    "interpolate",
    "interpolation_barrier",
    "interpolation_barriers",
    "involution_assignment",
    "merge",
    "permute_model",
    "repair",
    "reset_batchnorm",
    "self_align",
    "transform_network",
]

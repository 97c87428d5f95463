"""Layerwise equivariance of trained networks, alignment and merging (Bökman & Kahl 2023).

- `transform_network(model, t)`: the network computing ``x -> model(t(x))`` for a `Transform` ``t``;
- `align(model_a, model_b)`: channel permutations by weight or activation matching (`Method`), the
  channels that move together derived from the model by `torch.fx`;
- `self_align(model, t)`: the alignment with the transformed self, its cycle structure and per-layer
  errors; constrained to ``pi^m = id`` (``m`` the order of ``t``) for merging;
- `merge`, `group_average` (exactly invariant), `interpolation_barrier`.

Permutations act by `eqlab.groups.act`: channel ``i`` moves to position ``p[i]``.
.. include:: README.md
"""

from eqlab.layerwise._align import AlignResult, SelfAlignResult, align, self_align
from eqlab.layerwise._barrier import BarrierCurve, interpolation_barrier
from eqlab.layerwise._merge import group_average, merge
from eqlab.layerwise._options import Method, Transform
from eqlab.layerwise._transform import transform_network

__all__ = [
    "AlignResult",
    "BarrierCurve",
    "Method",
    "SelfAlignResult",
    "Transform",
    "align",
    "group_average",
    "interpolation_barrier",
    "merge",
    "self_align",
    "transform_network",
]

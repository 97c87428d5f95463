"""Is a CNN exactly rotation/reflection equivariant at a given input size? (Edixhoven, Lengyel &
van Gemert, "Using and Abusing Equivariance", 2023.)

- `check` traces the model, applies a rule to every op that touches the plane and confirms the
  prediction end to end in float64; its `ExactnessReport` says why, node by node, with a `Certificate`;
- `exact_sizes` and `nearest_exact_sizes` list the input sizes the grid analysis predicts exact.

.. include:: README.md

>>> import torch
>>> from eqlab.nn import LiftingConv2d, GroupConv2d
>>> net = torch.nn.Sequential(
...     LiftingConv2d(1, 4, 3, padding=1, stride=2), GroupConv2d(4, 4, 3, padding=1, stride=2)
... )
>>> exact_sizes(net, range(10, 20))
[13, 17]
>>> check(net, 15).exact
False
"""

from eqlab.exactness._analyser import ExactnessReport, check, exact_sizes, nearest_exact_sizes
from eqlab.exactness._options import Certificate

__all__ = ["Certificate", "ExactnessReport", "check", "exact_sizes", "nearest_exact_sizes"]

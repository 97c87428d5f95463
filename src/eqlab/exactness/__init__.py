"""Is a CNN exactly rotation/reflection equivariant at a given input size? (Edixhoven, Lengyel &
van Gemert, "Using and Abusing Equivariance", 2023.)

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

from eqlab.exactness._analyser import (
    EXACT,
    ExactnessReport,
    LayerExactness,
    check,
    exact_sizes,
    nearest_exact_sizes,
)
from eqlab.exactness._grid import adaptive_offset, axis_offset, output_length

__all__ = [
    "EXACT",
    "ExactnessReport",
    "LayerExactness",
    "adaptive_offset",
    "axis_offset",
    "check",
    "exact_sizes",
    "nearest_exact_sizes",
    "output_length",
]

"""eqlab: symmetry in neural networks.

Build layers that are equivariant to a finite group, check whether a layer or a network really is,
measure how a trained network encodes a symmetry, and learn how much symmetry each layer should have.

Subpackages load on first use, so ``import eqlab`` is cheap:

- `eqlab.groups`: finite groups acting on index sets, the point groups of the plane, the conventions;
- `eqlab.nn`: every layer (parameter sharing, group convolutions, representations, soft equivariance);
- `eqlab.testing`: equivariance errors measured in float64, and `assert_equivariant`;
- `eqlab.audit` (a function) and its `AuditReport`: does any image model respect a grid symmetry,
  where does it break, and which verified fix repairs it;
- `eqlab.export` (a function): a model with every eqlab layer replaced by plain torch modules,
  checked to compute the same numbers, for torch.export, torch.compile and ONNX;
- `eqlab.exactness`: is a CNN exactly rotation or reflection equivariant at a given input size?
- `eqlab.activations`: which pointwise activations keep a layer equivariant;
- `eqlab.layerwise`: how a trained network encodes a symmetry layer by layer; merging it with its
  transformed self;
- `eqlab.bayes`: Laplace marginal likelihoods that learn how much symmetry each layer keeps;
- `eqlab.trace`: one traced view of any model, shared by the checkers;
- `eqlab.data`, `eqlab.train`, `eqlab.runs`, `eqlab.studies`: the data, training loop, run folders and
  studies behind ``eqlab run``;
- `eqlab.sharing`, `eqlab.gconv`: the implementations behind `eqlab.nn`.

>>> import eqlab
>>> eqlab.groups.dihedral(5).order
10
"""

from __future__ import annotations

import importlib
from typing import Any

from eqlab._version import __version__ as __version__

_SUBPACKAGES = (
    "activations",
    "bayes",
    "data",
    "exactness",
    "gconv",
    "groups",
    "layerwise",
    "nn",
    "runs",
    "sharing",
    "studies",
    "testing",
    "trace",
    "train",
)

_TOP_LEVEL = {"audit": "eqlab._audit", "AuditReport": "eqlab._audit", "export": "eqlab._export"}
"""Functions and classes at the top level, loaded on first use like the subpackages."""

__all__: list[str] = ["AuditReport", "audit", "export"]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"eqlab.{name}")
    if name in _TOP_LEVEL:
        value = getattr(importlib.import_module(_TOP_LEVEL[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'eqlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBPACKAGES, *_TOP_LEVEL])

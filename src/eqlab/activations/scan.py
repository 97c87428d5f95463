"""`scan`: find the activations of a model that break its equivariance, and say why.

The scan walks the model's leaf modules in registration order (the forward order of `nn.Sequential`
models and of models that create their layers in the order they call them) and tracks the
representation acting on the current features:

- `RepLinear` outputs carry ``rep_out`` (its ``rep_in`` must match the features it receives);
- `EquivariantLinear` outputs are permuted by its output generators; the size-generic `SetLinear` /
  `GraphLinear` (any ``n``) are checked with S_4 acting on their output tuples;
- group convolutions (`LiftingConv2d`, `GroupConv2d`) carry the regular representation of the point
  group on the orientation axis (with the spatial permutation, still a permutation);
- `GroupPool` and `OrbitPool` leave invariant (trivial) features; group pools, group batch norm,
  dropout and flatten keep the representation; a pointwise activation keeps it when it commutes.

Every pointwise activation is judged by `eqlab.activations.check` against the current representation.
Any other leaf module (``nn.Linear``, ``nn.Conv2d``, ...) makes the representation unknown, and the
activations after it are reported as unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from eqlab.activations.check import ActivationCheck, check
from eqlab.activations.classes import as_matrices
from eqlab.gconv.conv import _GroupConvBase
from eqlab.gconv.pool import GroupAvgPool2d, GroupBatchNorm2d, GroupMaxPool2d, GroupPool
from eqlab.groups.catalogue import on_tuples, symmetric
from eqlab.groups.group import Action, Group
from eqlab.groups.representation import Representation
from eqlab.nn.replinear import RepLinear
from eqlab.sharing.ign import SymmetricLinear
from eqlab.sharing.linear import EquivariantLinear
from eqlab.sharing.mlp import OrbitPool

__all__ = ["POINTWISE", "ScanEntry", "ScanReport", "scan"]

POINTWISE: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.CELU, nn.SELU, nn.GELU, nn.SiLU, nn.Mish, nn.Sigmoid,
    nn.Tanh, nn.Softplus, nn.Softsign, nn.Hardtanh, nn.ReLU6, nn.Hardswish, nn.Hardsigmoid,
    nn.LogSigmoid, nn.Tanhshrink, nn.Softshrink, nn.Hardshrink,
)  # fmt: skip
"""Module types treated as pointwise activations."""

_KEEP = (nn.Dropout, nn.Identity, nn.Flatten, GroupMaxPool2d, GroupAvgPool2d, GroupBatchNorm2d)
_INVARIANT = (GroupPool, OrbitPool)


@dataclass(frozen=True)
class ScanEntry:
    """One finding: an activation checked (or not), or a layer that receives the wrong representation.

    Attributes
    ----------
    name
        The module's path in the model (``"body.1"``).
    module
        Its type name.
    acts_on
        What the representation acting on its input is, in words.
    equivariant
        ``True``/``False``, or ``None`` when the representation is unknown.
    reason
        Why, in one or two sentences.
    check
        The full `ActivationCheck`, for activations that were checked.
    """

    name: str
    module: str
    acts_on: str
    equivariant: bool | None
    reason: str
    check: ActivationCheck | None = None


@dataclass(frozen=True)
class ScanReport:
    """All findings of `scan`, in model order."""

    entries: tuple[ScanEntry, ...]

    @property
    def ok(self) -> bool:
        """No finding breaks equivariance and none is unchecked."""
        return all(e.equivariant for e in self.entries)

    @property
    def broken(self) -> list[ScanEntry]:
        """The findings that break equivariance."""
        return [e for e in self.entries if e.equivariant is False]

    @property
    def unchecked(self) -> list[ScanEntry]:
        """Activations after a layer whose output representation is unknown."""
        return [e for e in self.entries if e.equivariant is None]

    def table(self) -> str:
        """A plain-text table, one line per finding."""
        lines = [f"{'module':<24} {'type':<16} {'verdict':<14} reason"]
        for e in self.entries:
            verdict = {True: "equivariant", False: "BREAKS", None: "unchecked"}[e.equivariant]
            lines.append(f"{e.name:<24} {e.module:<16} {verdict:<14} {e.reason}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Current:
    description: str
    matrices: np.ndarray | None  # (k, n, n) or None when unknown


def _as_current(rep: Any) -> _Current:
    if isinstance(rep, Representation):
        return _Current(rep.name, np.asarray(rep.generators))
    if isinstance(rep, (Action, Group)):
        perm = Representation.from_permutations(rep)
        return _Current(perm.name, np.asarray(perm.generators))
    mats = as_matrices(rep)
    return _Current(f"{mats.shape[-1]}-dimensional representation", mats)


def _permutations(perms: np.ndarray, description: str) -> _Current:
    return _Current(description, np.asarray(Representation.from_permutations(perms).generators))


def _output_of(module: nn.Module, current: _Current) -> _Current | None:
    """The representation on the module's output, or ``None`` if the module is not an eqlab layer."""
    if isinstance(module, RepLinear):
        return _Current(module.rep_out.name, np.asarray(module.rep_out.generators))
    if isinstance(module, EquivariantLinear):
        return _permutations(module.out_generators, f"permutations of {module.out_features} outputs")
    if isinstance(module, SymmetricLinear):
        tuples = on_tuples(symmetric(4), module.out_order)
        return _permutations(tuples.generators[0], f"S_n on {module.out_order}-tuples (checked with n=4)")
    if isinstance(module, _GroupConvBase):
        table = module.pg.table.numpy()
        return _permutations(table, f"regular representation of {module.group} (with spatial permutations)")
    if isinstance(module, _INVARIANT):
        return _Current("trivial (invariant features)", np.ones((1, 1, 1)))
    if isinstance(module, (*_KEEP, *POINTWISE)):
        return current
    return None


def _mismatch(module: RepLinear, current: _Current) -> str | None:
    expected = np.asarray(module.rep_in.generators)
    got = current.matrices
    if got is None:
        return None
    if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-9):
        return (
            f"its rep_in ({module.rep_in.name}, generators {expected.shape}) differs from the representation "
            f"of its input ({current.description}, {got.shape})"
        )
    return None


def scan(model: nn.Module, input_rep: Any) -> ScanReport:
    """Walk ``model`` and check every pointwise activation against the representation it acts on.

    Parameters
    ----------
    model
        A model built from eqlab layers, pointwise activations and pass-through modules.
    input_rep
        The representation on the model's input: a `Representation`, ``(k, n, n)`` matrices, or an eqlab
        `Action` / single-set `Group` acting by permutations.

    Examples
    --------
    A ReLU after a layer on the 90-degree rotation of the plane breaks equivariance; tanh does not.

    >>> rot = Representation.rotation(4)
    >>> report = scan(nn.Sequential(RepLinear(rot, rot), nn.ReLU(), RepLinear(rot, rot), nn.Tanh()), rot)
    >>> [e.equivariant for e in report.entries]
    [False, True]
    """
    current: _Current = _as_current(input_rep)
    unknown_after = ""
    entries: list[ScanEntry] = []
    for name, module in model.named_modules():
        if next(module.children(), None) is not None:
            continue  # a container: its leaves come next
        kind = type(module).__name__
        if isinstance(module, RepLinear):
            problem = _mismatch(module, current)
            if problem:
                entries.append(ScanEntry(name, kind, current.description, False, f"{problem}."))
        if isinstance(module, POINTWISE):
            if current.matrices is None:
                reason = f"it follows {unknown_after}, not an eqlab layer, so its representation is unknown."
                entries.append(ScanEntry(name, kind, "unknown", None, reason))
            else:
                verdict = check(current.matrices, module)
                entries.append(
                    ScanEntry(name, kind, current.description, verdict.equivariant, verdict.reason, verdict)
                )
            continue
        following = _output_of(module, current)
        if following is None:
            unknown_after = f"{name} ({kind})"
            current = _Current("unknown", None)
        else:
            current = following
    return ScanReport(tuple(entries))

"""An equivariant MLP: parameter-sharing layers, pointwise activations and an invariant head.

A pointwise activation commutes with any permutation action, so stacking `EquivariantLinear` layers
with activations stays equivariant; `OrbitPool` averages each orbit of the last action, which makes
the features invariant, and any linear map of invariant features stays invariant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from eqlab._arguments import describe, flag, integer
from eqlab.groups._group import Action, Group, joint_generators, orbit_labels, stack_generators
from eqlab.sharing._linear import EquivariantLinear
from eqlab.sharing._options import Design

__all__ = ["EquivariantMLP", "OrbitPool"]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "elu": nn.ELU,
    "sigmoid": nn.Sigmoid,
}
"""The activations `EquivariantMLP` takes by name, as factories of modules."""


class OrbitPool(nn.Module):
    """Average over each orbit of an action: ``(..., N, C) -> (..., num_orbits, C)``, invariant.

    Parameters
    ----------
    action
        The action on the ``N`` positions: an `eqlab.groups.Action`, a single-set `eqlab.groups.Group`, or
        ``(k, N)`` permutations.
    """

    num_orbits: int
    """The number of orbits of the action on the ``N`` positions."""
    labels: torch.Tensor
    """``(N,)`` int64: the orbit of each position, numbered ``0 .. num_orbits - 1``."""
    counts: torch.Tensor
    """``(num_orbits,)`` float32: the positions in each orbit."""

    def __init__(self, action: Any) -> None:
        super().__init__()
        (generators,) = stack_generators([action], ["action"])
        labels = torch.as_tensor(orbit_labels(generators))
        self.num_orbits = int(labels.max()) + 1
        self.register_buffer("labels", labels, persistent=False)
        self.register_buffer("counts", torch.bincount(labels).float(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., N, C) -> (..., num_orbits, C)``."""
        if x.dim() < 2 or x.shape[-2] != self.labels.numel():
            raise ValueError(f"OrbitPool expects (..., {self.labels.numel()}, C), got {tuple(x.shape)}")
        sums = x.new_zeros(*x.shape[:-2], self.num_orbits, x.shape[-1]).index_add_(-2, self.labels, x)
        return sums / self.counts.to(x.dtype)[:, None]


def _widths(value: Any, name: str) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence of positive integer widths, got {describe(value)}")
    return [integer(w, f"{name}[{i}]", minimum=1) for i, w in enumerate(value)]


def _activation_factory(activation: Any) -> Callable[[], nn.Module]:
    """A factory of activation modules from a name in `ACTIVATIONS` or a factory, checked by calling it."""
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)} or a callable, got {activation!r}"
            )
        return ACTIVATIONS[activation]
    if isinstance(activation, nn.Module) or not callable(activation):
        raise TypeError(
            f"activation must be a name in {sorted(ACTIVATIONS)} or a factory of modules (nn.ReLU, not "
            f"nn.ReLU()), got {describe(activation)}"
        )
    try:
        made = activation()
    except Exception as exc:  # a factory that cannot be called without arguments
        raise TypeError(
            f"activation must be callable without arguments, got {describe(activation)}: {exc}"
        ) from None
    if not isinstance(made, nn.Module):
        raise TypeError(f"activation must make torch.nn.Module objects, but it made {describe(made)}")
    return activation


class EquivariantMLP(nn.Module):
    """An MLP of `EquivariantLinear` layers with pointwise activations and an invariant head.

    Maps ``(..., N)``, or ``(..., N, in_channels)`` when ``in_channels`` is given, to
    ``(..., out_features)``, invariant to the group.

    Parameters
    ----------
    in_action
        The group's action on the ``N`` inputs (`eqlab.groups.Action`, single-set `eqlab.groups.Group` or
        ``(k, N)`` permutations).
    hidden_channels
        Channels of each hidden layer; every hidden layer lives on ``hidden_action``.
    out_features
        Size of the invariant output.
    hidden_action
        The action on hidden positions (same generators as ``in_action``); default: ``in_action``.
    in_channels
        Channels of the input, ``(..., N, in_channels)``; ``None`` reads inputs of shape ``(..., N)``.
    activation
        ``"relu"``, ``"tanh"``, ``"gelu"``, ``"silu"``, ``"elu"``, ``"sigmoid"``, or a factory of modules
        called once per hidden layer (``nn.ReLU``, not ``nn.ReLU()``).
    design
        ``"dense"`` or ``"sparse"`` parameter sharing (`eqlab.sharing.Design`).
    head_channels
        Widths of an MLP applied to the pooled invariant features before the output layer (the
        ``rho`` of Deep Sets); empty for a single linear output layer.
    joint
        Passed to every `EquivariantLinear`: accept an ``in_action`` and a ``hidden_action`` whose
        generators only generate a larger joint group together.

    Examples
    --------
    >>> from eqlab.groups import symmetric
    >>> model = EquivariantMLP(symmetric(6).action(), [16, 16], out_features=1)
    >>> model(torch.randn(3, 6)).shape
    torch.Size([3, 1])
    """

    body: nn.Sequential
    """The equivariant layers: `EquivariantLinear` and activation, alternating, one pair per hidden width;
    ``(..., N, C_in) -> (..., N_hidden, hidden_channels[-1])``."""
    pool: OrbitPool
    """Averages each orbit of ``hidden_action``: ``(..., N_hidden, C) -> (..., num_orbits, C)``."""
    head: nn.Sequential
    """The invariant head on the flattened pooled features, ``(..., num_orbits * C) -> (..., out_features)``:
    the ``head_channels`` layers with activations, then a `torch.nn.Linear` output layer."""

    def __init__(
        self,
        in_action: Action | Group | Any,
        hidden_channels: Sequence[int],
        out_features: int,
        *,
        hidden_action: Action | Group | Any | None = None,
        in_channels: int | None = None,
        activation: str | Callable[[], nn.Module] = "relu",
        design: Design | str = Design.DENSE,
        head_channels: Sequence[int] = (),
        joint: bool = False,
    ) -> None:
        super().__init__()
        widths = _widths(hidden_channels, "hidden_channels")
        if not widths:
            raise ValueError("hidden_channels must name at least one hidden layer, got none")
        head_widths = _widths(head_channels, "head_channels")
        out_features = integer(out_features, "out_features", minimum=1)
        in_channels = None if in_channels is None else integer(in_channels, "in_channels", minimum=1)
        joint = flag(joint, "joint")
        activation = _activation_factory(activation)
        hidden_action = in_action if hidden_action is None else hidden_action
        joint_generators([in_action, hidden_action], ["in_action", "hidden_action"], joint=joint)
        self._flat_input = in_channels is None
        layers: list[nn.Module] = []
        source, channels = in_action, in_channels or 1
        for width in widths:
            layers += [
                EquivariantLinear(
                    source,
                    hidden_action,
                    design=design,
                    in_channels=channels,
                    out_channels=width,
                    joint=joint,
                ),
                activation(),
            ]
            source, channels = hidden_action, width
        self.body = nn.Sequential(*layers)
        self.pool = OrbitPool(hidden_action)
        head: list[nn.Module] = []
        features = self.pool.num_orbits * channels
        for width in head_widths:
            head += [nn.Linear(features, width), activation()]
            features = width
        self.head = nn.Sequential(*head, nn.Linear(features, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., N[, in_channels]) -> (..., out_features)``."""
        if self._flat_input:
            x = x.unsqueeze(-1)
        return self.head(self.pool(self.body(x)).flatten(-2))

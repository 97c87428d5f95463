"""Applying channel permutations to a model's parameters and statistics.

Every permutation acts by `eqlab.groups.act`, eqlab's one convention: channel ``i`` moves to position
``p[i]`` (``new[..., p[i], ...] = old[..., i, ...]``). A channel set's permutation acts on each of its
members' axes at once, so the permuted network computes the same function.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from eqlab._arguments import describe
from eqlab._arguments import module as check_module
from eqlab.groups._perm import act
from eqlab.layerwise._checks import permutations, spec_fits
from eqlab.layerwise._spec import PermutationSpec

__all__ = ["expand", "permute_model", "permute_state", "permute_tensor", "power"]


def expand(perm: torch.Tensor, block: int) -> torch.Tensor:
    """The permutation of ``len(perm) * block`` features that moves whole blocks of ``block`` consecutive
    features as ``perm`` moves channels: ``(n,) -> (n * block,)``."""
    if block == 1:
        return perm
    return (perm[:, None] * block + torch.arange(block, device=perm.device)).reshape(-1)


def power(perm: torch.Tensor, k: int) -> torch.Tensor:
    """``perm^k`` (``k >= 0``): acting by it is acting by ``perm`` ``k`` times."""
    out = torch.arange(perm.numel())
    for _ in range(k):
        out = perm[out]
    return out


def permute_tensor(
    tensor: torch.Tensor, axes: Sequence[tuple[int, int, int]], perms: Sequence[torch.Tensor], skip: int = -1
) -> torch.Tensor:
    """``tensor`` acted on along each ``(axis, channel set, block)`` by ``perms[channel set]`` (all axes but
    ``skip``)."""
    for axis, index, block in axes:
        if axis != skip:
            tensor = act(expand(perms[index], block), tensor, dim=axis)
    return tensor


def permute_state(
    state: Mapping[str, torch.Tensor], spec: PermutationSpec, perms: Sequence[torch.Tensor]
) -> dict[str, torch.Tensor]:
    """A ``state_dict`` with every axis of the spec acted on by its channel set's permutation."""
    axes = spec.param_axes()
    return {k: permute_tensor(v, axes[k], perms) if k in axes else v for k, v in state.items()}


def permute_model(model: nn.Module, spec: PermutationSpec, perms: Sequence[torch.Tensor]) -> nn.Module:
    """A copy of ``model`` with its hidden channels permuted, one permutation ``(n,)`` per channel set of
    ``spec`` (channel ``i`` moves to ``perm[i]``); it computes the same function."""
    check_module(model, "model")
    if not isinstance(spec, PermutationSpec):
        raise TypeError(f"spec must be a PermutationSpec (from derive_spec), got {describe(spec)}")
    spec_fits(spec, model)
    perms = permutations(perms, [(s.name, s.size) for s in spec.channel_sets], "perms")
    out = copy.deepcopy(model)
    out.load_state_dict(permute_state(model.state_dict(), spec, perms))
    return out

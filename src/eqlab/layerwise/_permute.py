"""Applying channel permutations to a model's parameters and statistics."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from eqlab._arguments import describe
from eqlab._arguments import module as check_module
from eqlab.layerwise._checks import permutations, spec_fits
from eqlab.layerwise._spec import PermutationSpec

__all__ = ["expand", "permute_model", "permute_state", "permute_tensor"]


def expand(perm: torch.Tensor, block: int) -> torch.Tensor:
    """The index over ``len(perm) * block`` features that moves whole blocks: ``(n,) -> (n * block,)``."""
    if block == 1:
        return perm
    return (perm[:, None] * block + torch.arange(block, device=perm.device)).reshape(-1)


def permute_tensor(
    tensor: torch.Tensor, axes: Sequence[tuple[int, int, int]], perms: Sequence[torch.Tensor], skip: int = -1
) -> torch.Tensor:
    """``tensor`` with each ``(axis, group, block)`` permuted by ``perms[group]`` (not ``skip``)."""
    for axis, group, block in axes:
        if axis != skip:
            tensor = tensor.index_select(axis, expand(perms[group], block).to(tensor.device))
    return tensor


def permute_state(
    state: Mapping[str, torch.Tensor], spec: PermutationSpec, perms: Sequence[torch.Tensor]
) -> dict[str, torch.Tensor]:
    """A ``state_dict`` with every spec'd axis permuted: ``new[..., o, ...] = old[..., perm[o], ...]``."""
    axes = spec.param_axes()
    return {k: permute_tensor(v, axes[k], perms) if k in axes else v for k, v in state.items()}


def permute_model(model: nn.Module, spec: PermutationSpec, perms: Sequence[torch.Tensor]) -> nn.Module:
    """A copy of ``model`` with its hidden channels permuted; it computes the same function."""
    check_module(model, "model")
    if not isinstance(spec, PermutationSpec):
        raise TypeError(f"spec must be a PermutationSpec (from derive_spec), got {describe(spec)}")
    spec_fits(spec, model)
    perms = permutations(perms, [(g.name, g.size) for g in spec.groups], "perms")
    out = copy.deepcopy(model)
    out.load_state_dict(permute_state(model.state_dict(), spec, perms))
    return out

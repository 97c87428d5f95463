"""Merging aligned networks: interpolation with repaired statistics, and the exact group average.

Interpolating two networks shrinks the variance of hidden features ("variance collapse", Jordan et
al. 2022); `merge` fixes it with data, by recomputing batch-norm statistics (`reset_batchnorm`) or,
without batch norm, by REPAIR: rescaling each channel of each layer so its mean and standard deviation
are the interpolation of the two endpoints'.

`group_average` is the exact case. With ``pi`` aligning ``T(W)`` to ``W`` for a transform ``t`` of order
``m`` (2 for flips, 4 for ``rot90``), the average over the orbit of ``pi T``,
``W_avg = (1/m) sum_k (pi T)^k (W)`` (``pi`` acting by `eqlab.groups.act`), satisfies
``pi T(W_avg) = W_avg`` whenever ``pi^m = id`` (then ``(pi T)^m = id``, and ``pi T`` only reorders the
orbit), so ``f_W_avg(t x) = f_T(W_avg)(x) = f_W_avg(x)``: the network is exactly invariant, whatever
the weights. Each entry's ``m`` terms are summed in sorted order, so the entries that ``pi T`` maps onto
each other, which sum the same numbers, agree to the last bit. Batch-norm statistics must share the
symmetry: they are recomputed on the data together with its transformed copies and then averaged over
``pi``'s orbits the same way.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from eqlab._arguments import integer
from eqlab._arguments import module as check_module
from eqlab.layerwise._align import self_aligned
from eqlab.layerwise._checks import alpha as check_alpha
from eqlab.layerwise._checks import (
    check_inputs,
    device_of,
    forward,
    same_architecture,
    spec_fits,
)
from eqlab.layerwise._checks import permutations as check_permutations
from eqlab.layerwise._match import batches, collect_features
from eqlab.layerwise._options import Method, Statistics, Transform
from eqlab.layerwise._permute import permute_model, power
from eqlab.layerwise._spec import PermutationSpec, spec_of
from eqlab.layerwise._transform import apply_transform, transformed_network

__all__ = ["group_average", "interpolate", "merge", "repair", "reset_batchnorm"]

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def interpolate(model_a: nn.Module, model_b: nn.Module, alpha: float) -> nn.Module:
    """``(1 - alpha) W_a + alpha W_b`` for every floating parameter and buffer (a copy of model_a)."""
    same_architecture([("model_a", model_a), ("model_b", model_b)])
    alpha = check_alpha(alpha)
    return _interpolate(model_a, model_b, alpha)


def _interpolate(model_a: nn.Module, model_b: nn.Module, alpha: float) -> nn.Module:
    out = copy.deepcopy(model_a)
    state_b = model_b.state_dict()
    mixed = {
        k: (1 - alpha) * v + alpha * state_b[k] if v.is_floating_point() else v
        for k, v in model_a.state_dict().items()
    }
    out.load_state_dict(mixed)
    return out


def has_batchnorm(model: nn.Module) -> bool:
    """Whether the model has a batch-norm layer."""
    return any(isinstance(m, _NORMS) for m in model.modules())


def reset_batchnorm(model: nn.Module, data: Any) -> nn.Module:
    """Recompute every batch-norm layer's running statistics as the exact average over ``data``
    (train-mode forward passes, no gradients); the model is left in eval mode."""
    check_module(model, "model")
    if data is None:
        raise TypeError(
            "data must be inputs to recompute the statistics on (a tensor or a DataLoader), got None"
        )
    check_inputs(data)
    return _reset_batchnorm(model, data)


def _reset_batchnorm(model: nn.Module, data: Any, name: str = "data") -> nn.Module:
    norms = [m for m in model.modules() if isinstance(m, _NORMS)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    device = device_of(model)
    try:
        with torch.no_grad():
            for x in batches(data, name):
                forward(model, x, name, device)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
    return model.eval()


def _channel_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    rows = features.double().movedim(1, -1).reshape(-1, features.shape[1])
    return rows.mean(dim=0), rows.std(dim=0)


def repair(merged: nn.Module, model_a: nn.Module, model_b: nn.Module, alpha: float, data: Any) -> nn.Module:
    """REPAIR: rescale each hidden channel of ``merged`` so its pre-activation mean and standard deviation
    are ``(1 - alpha)`` times model_a's plus ``alpha`` times model_b's, layer by layer on ``data``."""
    same_architecture([("merged", merged), ("model_a", model_a), ("model_b", model_b)])
    alpha = check_alpha(alpha)
    if data is None:
        raise TypeError(
            "data must be inputs to measure the statistics on (a tensor or a DataLoader), got None"
        )
    check_inputs(data)
    return _repair(merged, model_a, model_b, alpha, data)


def _repair(
    merged: nn.Module, model_a: nn.Module, model_b: nn.Module, alpha: float, data: Any, name: str = "data"
) -> nn.Module:
    spec = spec_of(merged, "merged")
    hidden = {m.module for s in spec.channel_sets for m in s.members if m.param == "weight" and m.axis == 0}
    modules = dict(merged.named_modules())
    unbiased = [
        layer
        for layer in spec.layers
        if layer in hidden and not isinstance(modules[layer].bias, torch.Tensor)
    ]
    if unbiased:
        raise ValueError(
            "merged: REPAIR (statistics='repair', or 'auto' without batch norm) needs a bias in every "
            f"hidden layer to shift its mean; {unbiased} have none"
        )
    for layer in spec.layers:
        if layer not in hidden:
            continue  # the output layer keeps its channels
        node = spec.layer_nodes[layer]
        mean_a, std_a = _channel_stats(collect_features(model_a, spec, [node], data, name)[node])
        mean_b, std_b = _channel_stats(collect_features(model_b, spec, [node], data, name)[node])
        mean_m, std_m = _channel_stats(collect_features(merged, spec, [node], data, name)[node])
        target_mean, target_std = (1 - alpha) * mean_a + alpha * mean_b, (1 - alpha) * std_a + alpha * std_b
        scale = target_std / std_m.clamp_min(1e-12)
        module = modules[layer]
        weight, bias = module.weight, module.bias
        if not isinstance(weight, torch.Tensor) or not isinstance(bias, torch.Tensor):
            raise TypeError(f"merged: {layer} has no weight and bias tensors")
        with torch.no_grad():
            shape = (-1,) + (1,) * (weight.dim() - 1)
            weight.mul_(scale.view(shape).to(weight.dtype))
            new_bias = (bias.double() - mean_m) * scale + target_mean
            bias.copy_(new_bias.to(bias.dtype))
    return merged.eval()


def merge(
    model_a: nn.Module,
    model_b_aligned: nn.Module,
    alpha: float = 0.5,
    data: Any = None,
    statistics: str = "auto",
) -> nn.Module:
    """Interpolate two aligned networks, ``(1 - alpha) W_a + alpha W_b``, and, given ``data``, repair their
    statistics.

    Parameters
    ----------
    model_a, model_b_aligned
        Networks of one architecture, the second aligned to the first (`align`'s ``aligned``).
    alpha
        0 gives model_a, 1 model_b_aligned.
    data
        Inputs ``(N, C, H, W)`` (a tensor, an ``(x, y)`` pair or a DataLoader) for the statistics;
        without it the interpolated running statistics are kept.
    statistics
        ``"auto"``: reset batch norm if the model has it, else REPAIR (which rescales every hidden
        channel to the interpolated mean and standard deviation of the endpoints); or ``"reset"``,
        ``"repair"``, ``"none"``.

    Returns
    -------
    nn.Module
        The merged network, in eval mode.
    """
    same_architecture([("model_a", model_a), ("model_b_aligned", model_b_aligned)])
    alpha = check_alpha(alpha)
    statistics = Statistics.parse(statistics, "statistics")
    if data is not None:
        check_inputs(data)
    return _merge(model_a, model_b_aligned, alpha, data, statistics)


def _merge(
    model_a: nn.Module, model_b: nn.Module, alpha: float, data: Any, statistics: str, name: str = "data"
) -> nn.Module:
    merged = _interpolate(model_a, model_b, alpha)
    if data is None or statistics == "none":
        return merged.eval()
    if statistics == "reset" or (statistics == "auto" and has_batchnorm(merged)):
        return _reset_batchnorm(merged, data, name)
    return _repair(merged, model_a, model_b, alpha, data, name)


def group_average(
    model: nn.Module,
    transform: str,
    permutations: list[torch.Tensor] | None = None,
    data: Any = None,
    spec: PermutationSpec | None = None,
    *,
    input_size: int | None = None,
) -> nn.Module:
    """The exactly ``transform``-invariant average ``W_avg = (1/m) sum_k (pi T)^k (W)``.

    With ``pi`` aligning ``T(W)`` to ``W`` and ``pi^m = id`` (``m`` the transform's order), ``pi T`` only
    reorders the orbit, so ``pi T(W_avg) = W_avg`` and the network is exactly invariant, whatever the
    weights. Batch-norm statistics are recomputed on the data with its transformed copies and averaged
    over ``pi``'s orbits the same way.

    Parameters
    ----------
    model
        A CNN taking images ``(N, C, H, W)`` (what `transform_network` takes).
    transform
        A `Transform`: ``"hflip"``, ``"vflip"`` (``m = 2``) or ``"rot90"`` (``m = 4``).
    permutations
        One LongTensor ``(n,)`` per channel set, aligning ``T(W)`` to ``W`` (`self_align`'s, constrained);
        each must satisfy ``pi^m = id``, else a ValueError names the set. None: found here by constrained
        weight matching, ``self_align(model, transform, constrain=True).permutations``.
    data
        Inputs ``(N, C, H, W)`` for batch-norm statistics, used together with their transformed copies;
        the statistics are then averaged over the permutations' orbits.
    spec
        The model's permutation spec, when the caller has derived it already.
    input_size
        When given, the transform is checked to be exact at this square input size (`transform_network`),
        where the average is then exactly invariant.

    Returns
    -------
    nn.Module
        The averaged network, in eval mode: ``f(t x) = f(x)`` up to float rounding in the forward pass.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    ...                     nn.Linear(4, 2)).double()
    >>> merged = group_average(net, "rot90", input_size=8)
    >>> x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    >>> torch.allclose(merged(torch.rot90(x, 1, (-2, -1))), merged(x), rtol=1e-12, atol=1e-12)
    True
    """
    check_module(model, "model")
    transform = Transform.parse(transform, "transform")
    spec = spec_of(model, "model") if spec is None else spec_fits(spec, model)
    if input_size is not None:
        integer(input_size, "input_size", minimum=1)
    if data is not None:
        check_inputs(data)
    order = transform.order
    if permutations is None:
        perms = self_aligned(model, transform, spec, Method.WEIGHTS, None, True, input_size).permutations
    else:
        sizes = [(s.name, s.size) for s in spec.channel_sets]
        perms = check_permutations(permutations, sizes, "permutations")
    for k, (channels, perm) in enumerate(zip(spec.channel_sets, perms, strict=True)):
        if not torch.equal(power(perm, order), torch.arange(perm.numel())):
            raise ValueError(
                f"permutations[{k}] (channels of {channels.name!r}) does not have order dividing {order}, so "
                f"the group average is not invariant; constrain the alignment: "
                f"self_align(model, {str(transform)!r}, constrain=True)"
            )
    terms, current = [model], model
    for k in range(1, order):
        current = transformed_network(current, transform, spec, input_size if k == 1 else None)
        terms.append(permute_model(current, spec, [power(p, k) for p in perms]))
    states = [t.state_dict() for t in terms]
    averaged = {
        key: _orbit_mean([s[key] for s in states]) if value.is_floating_point() else value
        for key, value in states[0].items()
    }
    out = copy.deepcopy(model)
    out.load_state_dict(averaged)
    if data is not None and has_batchnorm(out):
        orbit = (torch.cat([apply_transform(x, transform, k) for k in range(order)]) for x in batches(data))
        _reset_batchnorm(out, list(orbit))
    if has_batchnorm(out):
        _symmetrise_statistics(out, spec, perms, order)
    return out.eval()


def _orbit_mean(tensors: list[torch.Tensor]) -> torch.Tensor:
    """The entrywise mean of ``m`` tensors of one shape, each entry's terms summed in sorted order: entries
    with the same terms in any order get bitwise the same mean."""
    terms = torch.stack(tensors).sort(dim=0).values
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total / len(tensors)


def _symmetrise_statistics(
    model: nn.Module, spec: PermutationSpec, perms: list[torch.Tensor], order: int
) -> None:
    """Average batch-norm running statistics over each permutation's orbits (exactly invariant)."""
    modules = dict(model.named_modules())
    with torch.no_grad():
        for channels, perm in zip(spec.channel_sets, perms, strict=True):
            for member in channels.members:
                module = modules[member.module]
                if isinstance(module, _NORMS) and member.param in ("running_mean", "running_var"):
                    stat = getattr(module, member.param)
                    stat.copy_(_orbit_mean([stat[power(perm, k)] for k in range(order)]))

"""Argument checks shared by `eqlab.layerwise`: models of one architecture, interpolation weights,
unlabelled and labelled data, permutations.

Data comes in one of three forms everywhere in this package: a tensor ``x`` of inputs, an ``(x, y)``
tuple of inputs and labels, or an iterable of batches (a DataLoader), each batch ``x`` or ``(x, y)``.
Functions that need labels (`evaluate`, the barriers) refuse inputs alone, saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from eqlab._arguments import describe, real
from eqlab._arguments import module as check_module
from eqlab.layerwise._spec import PermutationSpec

LABELLED = "an (x, y) pair of tensors, or batches of (x, y) such as a DataLoader"
UNLABELLED = "a tensor of inputs, an (x, y) pair, or batches of x or (x, y) such as a DataLoader"


def device_of(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (the CPU for a model without any)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def alpha(value: Any, name: str = "alpha") -> float:
    """An interpolation weight: a finite number in [0, 1] (0: the first model, 1: the second)."""
    return real(value, name, minimum=0.0, maximum=1.0)


def same_architecture(models: Sequence[tuple[str, Any]]) -> None:
    """Every ``(name, model)`` a module, all with the same parameter and buffer names and shapes."""
    for name, model in models:
        check_module(model, name)
    (first_name, first), *rest = models
    shapes = {k: tuple(v.shape) for k, v in first.state_dict().items()}
    for name, model in rest:
        other = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        if other == shapes:
            continue
        only = sorted(set(shapes) ^ set(other))
        if only:
            detail = f"only one has {only[:3]}"
        else:
            key = next(k for k in shapes if shapes[k] != other[k])
            detail = f"{key!r} has shape {shapes[key]} in {first_name} and {other[key]} in {name}"
        raise ValueError(
            f"{first_name} and {name} must have the same architecture (parameters and buffers); {detail}"
        )


def _input_batch(x: Any, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be {UNLABELLED}; it holds {describe(x)}")
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must hold batches (N, ...) of at least one input, got {describe(x)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must hold floating-point inputs, got {describe(x)}")
    return x


def _is_pair(data: Any) -> bool:
    """An ``(x, y)`` pair: two tensors, ``y`` one label (or target) per row of ``x``."""
    return (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and all(isinstance(t, torch.Tensor) for t in data)
        and data[0].dim() >= 1
        and data[1].dim() >= 1
        and data[1].shape[0] == data[0].shape[0]
        and not data[1].is_floating_point()
    )


def input_batches(data: Any, name: str = "data") -> Iterator[torch.Tensor]:
    """The input batches of ``data`` (module docstring), each checked; at least one."""
    if isinstance(data, torch.Tensor):
        yield _input_batch(data, name)
        return
    if _is_pair(data):
        yield _input_batch(data[0], name)
        return
    if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, Iterable):
        raise TypeError(f"{name} must be {UNLABELLED}, got {describe(data)}")
    count = 0
    for item in data:
        x = item[0] if isinstance(item, (tuple, list)) and item else item
        yield _input_batch(x, name)
        count += 1
    if count == 0:
        raise ValueError(f"{name} must hold at least one batch of inputs, got none")


def check_inputs(data: Any, name: str = "data") -> None:
    """Check ``data`` now when that is cheap (a tensor, a pair, a list of batches); a DataLoader is
    checked batch by batch as it is read."""
    if isinstance(data, (torch.Tensor, tuple, list)) or not isinstance(data, Iterable):
        for _ in input_batches(data, name):
            pass


def check_labelled(data: Any, name: str = "data") -> None:
    """Check labelled ``data`` now when that is cheap (see `check_inputs`)."""
    if isinstance(data, (torch.Tensor, tuple, list)) or not isinstance(data, Iterable):
        for _ in labelled_batches(data, name):
            pass


def labelled_batches(data: Any, name: str = "data") -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The ``(x, y)`` batches of labelled ``data``, each checked; at least one."""
    if isinstance(data, torch.Tensor):
        raise TypeError(
            f"{name} must be labelled, {LABELLED}; got {describe(data)} of inputs alone (align and merge "
            "take inputs alone, but loss and accuracy need the labels)"
        )
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data):
        yield _labelled_batch(data, name)
        return
    if isinstance(data, (tuple, list)) and data and all(isinstance(t, torch.Tensor) for t in data):
        raise ValueError(f"{name} must be {LABELLED}, got {len(data)} tensors")
    if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, Iterable):
        raise TypeError(f"{name} must be {LABELLED}, got {describe(data)}")
    count = 0
    for item in data:
        yield _labelled_batch(item, name)
        count += 1
    if count == 0:
        raise ValueError(f"{name} must hold at least one (x, y) batch, got none")


def _labelled_batch(item: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not (isinstance(item, (tuple, list)) and len(item) == 2):
        raise TypeError(f"{name} must be {LABELLED}; it holds {describe(item)}")
    x, y = item
    _input_batch(x, name)
    if not isinstance(y, torch.Tensor) or y.dim() != 1:
        raise ValueError(f"{name} must pair each batch with a 1-D tensor of class labels, got {describe(y)}")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels, got {describe(y)}")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"{name} must hold one label per input, got {describe(x)} and {describe(y)}")
    return x, y


def forward(
    model: Callable[[torch.Tensor], Any],
    x: torch.Tensor,
    name: str = "data",
    device: torch.device | None = None,
) -> Any:
    """``model(x)`` with ``x`` on the model's device; an error inside the model names the data it could
    not take."""
    if device is None:
        device = device_of(model) if isinstance(model, nn.Module) else torch.device("cpu")
    try:
        return model(x.to(device))
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(f"{name}: the model cannot take the batch {describe(x)}: {exc}") from exc


def permutations(perms: Any, sizes: Sequence[tuple[str, int]], name: str) -> list[torch.Tensor]:
    """One permutation (a 1-D integer tensor holding ``0..n-1`` once each) per ``(channel set, n)``."""
    if not isinstance(perms, (list, tuple)):
        raise TypeError(
            f"{name} must be a list of permutation tensors, one per channel set, got {describe(perms)}"
        )
    if len(perms) != len(sizes):
        raise ValueError(f"{name} must hold one permutation per channel set ({len(sizes)}), got {len(perms)}")
    out = []
    for k, (perm, (channels, size)) in enumerate(zip(perms, sizes, strict=True)):
        where = f"{name}[{k}] (channels of {channels!r})"
        if not isinstance(perm, torch.Tensor) or perm.dim() != 1:
            raise TypeError(f"{where} must be a 1-D tensor of channel indices, got {describe(perm)}")
        if perm.is_floating_point() or perm.is_complex() or perm.dtype == torch.bool:
            raise TypeError(f"{where} must be an integer tensor, got {describe(perm)}")
        if perm.shape[0] != size or not torch.equal(perm.sort().values.cpu().long(), torch.arange(size)):
            raise ValueError(f"{where} must be a permutation of 0..{size - 1}, got {perm.tolist()}")
        out.append(perm.long())
    return out


def spec_fits(spec: Any, model: nn.Module, name: str = "spec") -> PermutationSpec:
    """``spec`` when it is a `PermutationSpec` whose parameter axes exist in ``model`` with its sizes."""
    if not isinstance(spec, PermutationSpec):
        raise TypeError(f"{name} must be a PermutationSpec (from derive_spec) or None, got {describe(spec)}")
    state = model.state_dict()
    for channels in spec.channel_sets:
        for m in channels.members:
            t = state.get(m.key)
            if t is None or m.axis >= t.dim() or t.shape[m.axis] != channels.size * m.block:
                found = "missing" if t is None else f"of shape {tuple(t.shape)}"
                raise ValueError(
                    f"{name} does not fit model: it permutes {channels.size} channels of {m.key!r} along "
                    f"axis {m.axis}, which is {found} in model"
                )
    return spec

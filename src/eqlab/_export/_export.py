"""`eqlab.export`: a model with every eqlab layer replaced by plain torch modules, checked."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from eqlab._arguments import describe
from eqlab._export._group_layers import GROUP_CONVERTERS
from eqlab._export._sharing_layers import SHARING_CONVERTERS
from eqlab._export._soft_layers import SOFT_CONVERTERS
from eqlab._export._verify import compare
from eqlab._export._walk import Converter, ExportContext, record_shapes, walk

__all__ = ["CONVERTERS", "export"]

CONVERTERS: dict[type, Converter] = {**GROUP_CONVERTERS, **SHARING_CONVERTERS, **SOFT_CONVERTERS}
"""The converter of every eqlab layer class export knows."""


def _inputs(example_input: Any) -> tuple[torch.Tensor, ...]:
    inputs: tuple[torch.Tensor, ...]
    if isinstance(example_input, torch.Tensor):
        inputs = (example_input,)
    elif isinstance(example_input, tuple) and example_input:
        for i, item in enumerate(example_input):
            if not isinstance(item, torch.Tensor):
                raise TypeError(
                    f"example_input must be a tensor or a tuple of tensors, got a tuple whose item {i} is "
                    f"{describe(item)}"
                )
        inputs = example_input
    else:
        raise TypeError(
            f"example_input must be a tensor or a non-empty tuple of tensors, got {describe(example_input)}"
        )
    for i, item in enumerate(inputs):
        where = "example_input" if len(inputs) == 1 else f"example_input[{i}]"
        if item.numel() == 0:  # a check on no numbers would prove nothing
            raise ValueError(
                f"{where} must hold at least one number to check the export on, got {describe(item)}"
            )
        if item.is_floating_point() and not bool(torch.isfinite(item).all()):
            raise ValueError(f"{where} must be finite to check the export on, got NaN or infinite entries")
    return inputs


def _converted(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> tuple[nn.Module, nn.Module]:
    """A working copy of ``model`` in eval mode, run once on ``inputs`` (which sets up lazy modules), and
    its plain export (made from a second copy)."""
    working = copy.deepcopy(model).eval()
    with torch.no_grad():
        try:
            working(*inputs)
        except Exception as exc:  # the model's own error, e.g. a shape mismatch: the input does not fit it
            raise ValueError(
                f"model must run on example_input, but it raised {type(exc).__name__}: {exc}"
            ) from exc
    plain = copy.deepcopy(working)
    shapes = record_shapes(plain, inputs)
    context = ExportContext(CONVERTERS, shapes)
    with torch.no_grad():
        exported = walk(plain, context)
    return working, exported.eval()


def _random_like(inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """Standard normal tensors of the shapes, dtypes and devices of the floating ``inputs`` (others are
    kept), drawn from a fixed seed."""
    generator = torch.Generator().manual_seed(0)
    return tuple(
        torch.randn(x.shape, generator=generator, dtype=torch.float64).to(x.dtype).to(x.device)
        if x.is_floating_point()
        else x
        for x in inputs
    )


def _float64(
    model: nn.Module, inputs: tuple[torch.Tensor, ...]
) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    doubled = copy.deepcopy(model).double()
    return doubled, tuple(x.double() if x.is_floating_point() else x for x in inputs)


def export(model: nn.Module, example_input: torch.Tensor | tuple[torch.Tensor, ...]) -> nn.Module:
    """A copy of ``model`` for inference in which every eqlab layer is a plain torch module computing the
    same numbers: `torch.nn.Conv2d`, `torch.nn.Linear`, `torch.nn.BatchNorm3d`, pooling, and a few small
    modules of plain tensor operations (`eqlab._export._modules`).

    The copy is checked before it is returned: it is run beside the model on ``example_input`` and on a
    seeded random input of the same shapes, and must agree to a relative difference (``max |a - b| / max
    |b|`` over each output tensor) of 1e-12 in float64 and 1e-5 in float32, in the same dtype, without
    running any eqlab layer. A float32 model is exported a second time as a float64 copy and checked at
    1e-12 on the float64 example, so a successful export shows the conversion exact to rounding on those
    inputs.

    How each layer is exported:

    - `LiftingConv2d` and `GroupConv2d`: their `to_conv2d` `torch.nn.Conv2d`, with the group axis folded
      into the channels as documented in `eqlab.gconv._conv` (output channel ``c * |G| + g``), reshaped
      back to ``(B, C, |G|, H, W)`` around it;
    - `GroupMaxPool2d`, `GroupAvgPool2d`: `torch.nn.MaxPool2d`, `torch.nn.AvgPool2d` on the folded maps;
      `GroupPool`: max or mean over the group axis; `GroupBatchNorm2d`: `torch.nn.BatchNorm3d` with the
      same statistics and affine parameters (one per channel, shared over the group axis and space);
    - `EquivariantLinear`, `RepLinear`: `torch.nn.Linear` with the materialised matrix (`to_linear`);
      `EquivariantMLP` and `OrbitPool`: their layers and the orbit mean as a membership matrix;
    - `SymmetricLinear`, `SetLinear`, `GraphLinear`: exported for the set or graph size ``n`` of
      ``example_input`` only, as a `torch.nn.Linear` on the flattened features; they are no longer
      size-generic;
    - `SoftBlock` (and `soft_backbone`), `SparseConv`, `SparseDense`: each path through its own layers,
      the polyphase subsampling as plain tensor operations;
    - `OrbitAverage`: the averaged model, exported, inside a plain loop over the group elements.

    Modules that are not eqlab's are kept as they are (they are plain torch already); an eqlab layer with
    no plain equivalent is refused with a `TypeError` naming it and where it sits.

    **Weight tying is gone.** Every tied or expanded weight becomes an independent entry of a plain
    tensor, so fine-tuning the exported model does not keep the equivariance; fine-tune the eqlab model and
    export again.

    Parameters
    ----------
    model
        Any `torch.nn.Module`; it is left untouched (the export works on a deep copy).
    example_input
        A tensor, or a tuple of tensors passed as positional arguments: ``model(*example_input)``. It sets
        the sizes of the size-generic layers and is the input of the check.

    Returns
    -------
    torch.nn.Module
        The exported copy, in eval mode, on the model's device and in its dtype.

    Raises
    ------
    TypeError
        ``model`` is not a module, ``example_input`` not a tensor or tuple of tensors, or the model holds an
        eqlab layer that cannot be exported.
    ValueError
        ``example_input`` holds no numbers or non-finite ones, or the model cannot run on it.
    RuntimeError
        The exported model does not compute the model's numbers, or the model's output on
        ``example_input`` is empty or not finite, so nothing could be checked (an `ExportMismatchError`).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from eqlab.nn import GroupConv2d, GroupPool, LiftingConv2d
    >>> model = nn.Sequential(LiftingConv2d(1, 4, 3, padding=1), nn.ReLU(), GroupConv2d(4, 2, 3), GroupPool())
    >>> plain = export(model, torch.randn(2, 1, 9, 9))
    >>> [type(m).__name__ for m in plain.modules() if type(m).__module__.startswith("eqlab")]
    ['GroupFolded', 'GroupFolded', 'GroupReduce']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    inputs = _inputs(example_input)
    reference, exported = _converted(model, inputs)
    compare(reference, exported, inputs, "example_input")
    # a second input of the example's shapes, so that an example of zeros or of repeated values cannot
    # hide a wrong conversion
    compare(reference, exported, _random_like(inputs), "a random input of example_input's shapes")
    floating = [t for t in (*reference.parameters(), *reference.buffers(), *inputs) if t.is_floating_point()]
    if any(t.dtype != torch.float64 for t in floating):
        try:
            reference64, inputs64 = _float64(reference, inputs)
        except (RuntimeError, TypeError):  # a device without float64: the native check stands alone
            return exported
        reference64, exported64 = _converted(reference64, inputs64)
        compare(reference64, exported64, inputs64, "example_input in float64")
    return exported

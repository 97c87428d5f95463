"""The check that ends every export: both models run on the same input, and their outputs must agree
to the tolerance of the output's dtype."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from eqlab._export._walk import is_eqlab_layer

__all__ = ["TOLERANCES", "ExportMismatchError", "compare", "relative_difference"]

TOLERANCES = {torch.float64: 1e-12, torch.float32: 1e-5}
"""The largest relative difference accepted per output dtype; other dtypes (half precision) get 1e-2."""

_HALF_TOLERANCE = 1e-2


class ExportMismatchError(RuntimeError):
    """The exported model computes other numbers than the eqlab model."""


def _tensors(value: Any, where: str) -> list[tuple[str, torch.Tensor]]:
    """The tensors of a model output (a tensor, or tuples, lists and dicts of them), with their place."""
    if isinstance(value, torch.Tensor):
        return [(where, value)]
    if isinstance(value, (tuple, list)):
        return [item for i, v in enumerate(value) for item in _tensors(v, f"{where}[{i}]")]
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _tensors(v, f"{where}[{k!r}]")]
    raise TypeError(
        f"eqlab.export compares tensor outputs (or tuples, lists, dicts of them); got {where} = "
        f"{type(value).__name__}"
    )


def relative_difference(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """``max |actual - expected| / max |expected|`` (the absolute difference where ``expected`` is zero)."""
    if actual.shape != expected.shape:
        return float("inf")
    if expected.numel() == 0:
        return 0.0
    a, e = actual.detach().double(), expected.detach().double()
    scale = float(e.abs().max())
    difference = float((a - e).abs().max())
    return difference / scale if scale > 0 else difference


def _run_plain(exported: nn.Module, inputs: tuple[torch.Tensor, ...], what: str) -> Any:
    """``exported(*inputs)``, refusing any eqlab layer that runs on the way (one held outside the module
    tree, in a list or a function, is not converted by the walk)."""
    ran: list[str] = []

    def hook(module: nn.Module, args: Any) -> None:
        if is_eqlab_layer(module):
            ran.append(f"{type(module).__module__}.{type(module).__qualname__}")

    handle = torch.nn.modules.module.register_module_forward_pre_hook(hook)
    try:
        output = exported(*inputs)
    finally:
        handle.remove()
    if ran:
        raise ExportMismatchError(
            f"the exported model still runs eqlab layers on {what} ({', '.join(sorted(set(ran)))}): they are "
            "held where the export does not reach them (a list, a dict or a function); hold them as "
            "submodules"
        )
    return output


def compare(reference: nn.Module, exported: nn.Module, inputs: tuple[torch.Tensor, ...], what: str) -> float:
    """Run both models on ``inputs`` without gradients and return the largest relative difference over
    their output tensors; raise `ExportMismatchError` above the output dtype's tolerance, when the
    outputs' dtypes differ, or when an eqlab layer runs inside ``exported``."""
    with torch.no_grad():
        expected = _tensors(reference(*inputs), "output")
        actual = _tensors(_run_plain(exported, inputs, what), "output")
    if [w for w, _ in expected] != [w for w, _ in actual]:
        raise ExportMismatchError(f"the exported model's outputs are not laid out like the model's ({what})")
    if not any(e.numel() for _, e in expected):
        raise ExportMismatchError(
            f"the model's output on {what} holds no numbers, so the export cannot be checked"
        )
    worst = 0.0
    for (where, e), (_, a) in zip(expected, actual, strict=True):
        if e.is_floating_point() and not bool(torch.isfinite(e).all()):
            raise ExportMismatchError(
                f"the model's {where} on {what} has NaN or infinite entries, so the export cannot be checked"
            )
        tolerance = TOLERANCES.get(e.dtype, _HALF_TOLERANCE) if e.is_floating_point() else 0.0
        if a.dtype != e.dtype or a.device != e.device:
            raise ExportMismatchError(
                f"the exported model's {where} on {what} is {a.dtype} on {a.device}, the model's "
                f"{e.dtype} on {e.device}"
            )
        if e.is_complex():
            raise ExportMismatchError(f"eqlab.export compares real outputs; the model's {where} is complex")
        difference = relative_difference(a, e)
        if not difference <= tolerance:
            raise ExportMismatchError(
                f"the exported model differs from the model on {what}: {where} has relative difference "
                f"{difference:.3g} (shapes {tuple(a.shape)} and {tuple(e.shape)}), above {tolerance:g} for "
                f"{e.dtype}"
            )
        worst = max(worst, difference)
    return worst

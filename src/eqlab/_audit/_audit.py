"""`audit`: does a model respect a grid symmetry, where does it break, and how to fix it.

One call composes eqlab's checkers on any PyTorch image model:

1. **trace and grid** (`eqlab.trace`, `eqlab.exactness`): what every node does to the sampling grid, and
   the prediction, before any measurement, of whether the architecture is exact at this size;
2. **measurements** (float64, random inputs): the model as given, end to end; then a copy whose filters
   (and dense layers reading flattened positions) are averaged over the group, end to end and node by
   node, which confirms or contradicts the prediction;
3. **layerwise** (Bökman & Kahl 2023): for a plain CNN and a flip or rot90, how far each layer is from
   equivariant up to a permutation of its channels;
4. **fixes** (`eqlab._audit._fixes`), each applied to a copy and measured.

The verdict: ``"exact"`` when the architecture is exact (prediction confirmed) and the model as given
measures at most 1e-12; ``"approximate"`` when it measures at most ``tolerance``; ``"not equivariant"``
otherwise. Nothing the rules do not understand is passed: an architecture with such a node is never
``"exact"``, and an output whose action is only guessed from its shape is named as not understood.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from eqlab._arguments import describe, module, real
from eqlab._audit import _fixes as fixes
from eqlab._audit._measuring import (
    KINDS,
    averaged,
    graph_agrees,
    identity,
    model_point_group,
    out_name,
    traced,
)
from eqlab._audit._proposals import propose
from eqlab._audit._report import AuditReport, AuditVerdict
from eqlab._audit._rows import activations, rows, self_alignment
from eqlab._audit._verdict import judge_architecture, judge_verdict
from eqlab.exactness import _measure as measure
from eqlab.exactness._analyser import (
    GUESSED,
    MEASURED_BATCH,
    _float64_copy,
    _grid,
    _OneByOne,
    _out_action,
    _validate_out_action,
)
from eqlab.exactness._symmetry import SYMMETRIES, Symmetry, symmetry
from eqlab.groups._point import PointGroup
from eqlab.trace._graph import is_eqlab_layer

__all__ = ["audit"]

ALL = "all"
"""The ``symmetry`` that audits every grid symmetry."""

_TRANSFORMS = {"p4": "rot90", "hflip": "hflip", "vflip": "vflip"}
"""The symmetries `eqlab.layerwise` self-aligns and group-averages for, by the name it takes."""


def audit(
    model: nn.Module,
    symmetry: str | PointGroup,
    input_size: int | tuple[int, int],
    *,
    out_action: str | Callable[[torch.Tensor, int], torch.Tensor] | None = None,
    example_input: torch.Tensor | None = None,
    data: Any = None,
    tolerance: float = 1e-2,
) -> AuditReport:
    """Audit ``model`` for a grid symmetry at ``input_size``: verdict, where it breaks, verified fixes.

    Parameters
    ----------
    model
        Any image model taking one tensor ``(B, C, H, W)`` (or ``(B, C, |G|, H, W)`` group features). It
        is not modified; everything is measured on float64 copies in eval mode.
    symmetry
        ``"rot90"`` (C4 on the image plane, also ``"p4"``), ``"d4"`` (rotations and reflections, also
        ``"p4m"``), ``"rot180"``, ``"hflip"``, ``"vflip"``, an `eqlab.groups.PointGroup`, or ``"all"``
        for one report per grid symmetry (in ``.symmetries``).
    input_size
        Height and width: an int for square inputs, or ``(height, width)``.
    out_action
        How the symmetry acts on the output: ``"invariant"``, ``"image"``, ``"features"`` or a callable
        ``(output, element) -> output`` (D4 elements numbered ``k + 4 j`` for ``r^k m^j``). Default:
        inferred from the traced graph, and the report says so; an output whose action cannot be
        inferred is reported as not understood (and the verdict cannot be ``"exact"``).
    example_input
        An input whose shape (not values) to trace with, when the first layer does not tell the input
        channels.
    data
        Optional ``(x, y)`` tensors or a DataLoader of them (or inputs ``x`` alone): batch-norm statistics
        for the group-average fix, and the accuracy it keeps.
    tolerance
        The largest end-to-end error an ``"approximate"`` verdict allows.

    Returns
    -------
    AuditReport
        ``verdict`` and ``reason``, ``end_to_end_error``, ``architecture_exact``, ``layers``, ``fixes``;
        ``.table()`` and ``.to_json()``.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
    >>> report = audit(net, "rot90", 28)
    >>> report.verdict, report.architecture_exact  # random filters; the grid misses by one pixel
    (<AuditVerdict.NOT_EQUIVARIANT: 'not equivariant'>, False)
    >>> [fix.details["size"] for fix in report.fixes if fix.kind == "input size"]
    [27, 29]
    """
    module(model, "model")
    tolerance = real(tolerance, "tolerance", minimum=0.0)
    if example_input is not None and not isinstance(example_input, torch.Tensor):
        raise TypeError(f"example_input must be a torch.Tensor or None, got {describe(example_input)}")
    _validate_out_action(out_action)
    _check_data_type(data)
    if isinstance(symmetry, str) and symmetry == ALL:
        return _audit_all(model, input_size, out_action, example_input, data, tolerance)
    if not isinstance(symmetry, (str, PointGroup)):
        raise TypeError(
            f"symmetry must be 'rot90', 'd4', 'rot180', 'hflip', 'vflip', a PointGroup or 'all', "
            f"got {describe(symmetry)}"
        )
    return _audit_one(model, _symmetry(symmetry), input_size, out_action, example_input, data, tolerance)


SYMMETRY_NAMES = "'rot90' (or 'p4', 'c4'), 'd4' (or 'p4m'), 'rot180', 'hflip', 'vflip' or 'all'"


def _symmetry(name: str | PointGroup) -> Symmetry:
    try:
        return symmetry(name)
    except ValueError:
        raise ValueError(f"symmetry must be one of {SYMMETRY_NAMES}, got {name!r}") from None


def _check_data_type(data: Any) -> None:
    """``data`` is None, inputs ``(N, C, H, W)``, an ``(x, y)`` pair of tensors or a DataLoader."""
    from torch.utils.data import DataLoader

    expected = "None, inputs x (N, C, H, W), an (x, y) pair of tensors, or a DataLoader of (x, y) batches"
    if data is None or isinstance(data, DataLoader):
        return
    pair = isinstance(data, (tuple, list)) and len(data) == 2
    if isinstance(data, torch.Tensor) or (pair and all(isinstance(t, torch.Tensor) for t in data)):
        x = data if isinstance(data, torch.Tensor) else data[0]
        if not x.is_floating_point() or x.dim() < 4 or x.shape[0] == 0:
            raise ValueError(
                f"data must hold a non-empty float batch of images (N, C, H, W), got inputs of shape "
                f"{tuple(x.shape)} and dtype {x.dtype}"
            )
        if pair and (data[1].dim() != 1 or data[1].shape[0] != x.shape[0]):
            raise ValueError(
                f"data's labels must be one per input, shape ({x.shape[0]},), got {tuple(data[1].shape)}"
            )
        return
    raise TypeError(f"data must be {expected}, got {describe(data)}")


def _check_data_shape(data: Any, shape: tuple[int, ...]) -> None:
    """The inputs in ``data`` have the model's input channels (``shape`` is one input, ``(1, C, ...)``)."""
    if data is None or not isinstance(data, (torch.Tensor, tuple, list)):
        return
    x = data if isinstance(data, torch.Tensor) else data[0]
    if tuple(x.shape[1:-2]) != tuple(shape[1:-2]):
        raise ValueError(
            f"data's inputs have shape {tuple(x.shape)}, but the model takes inputs (N, "
            f"{', '.join(map(str, shape[1:-2]))}, H, W)"
        )


def _audit_all(
    model: nn.Module,
    input_size: Any,
    out_action: Any,
    example_input: torch.Tensor | None,
    data: Any,
    tolerance: float,
) -> AuditReport:
    reports = [
        _audit_one(model, sym, input_size, out_action, example_input, data, tolerance)
        for sym in SYMMETRIES.values()
    ]
    verdicts = [r.verdict for r in reports]
    if all(v == AuditVerdict.EXACT for v in verdicts):
        verdict = AuditVerdict.EXACT
    elif all(v != AuditVerdict.NOT_EQUIVARIANT for v in verdicts):
        verdict = AuditVerdict.APPROXIMATE
    else:
        verdict = AuditVerdict.NOT_EQUIVARIANT
    summary = ", ".join(f"{r.symmetry} {r.verdict.value}" for r in reports)
    worst = max(r.end_to_end_error for r in reports)
    return AuditReport(
        symmetry=ALL,
        input_size=reports[0].input_size,
        verdict=verdict,
        reason=summary,
        end_to_end_error=worst,
        architecture_exact=_all_of([r.architecture_exact for r in reports]),
        tolerance=tolerance,
        symmetries=reports,
        seconds={k: sum(r.seconds.get(k, 0.0) for r in reports) for k in reports[0].seconds},
    )


def _all_of(values: list[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _audit_one(
    model: nn.Module,
    sym: Symmetry,
    input_size: Any,
    out_action: Any,
    example_input: torch.Tensor | None,
    data: Any,
    tolerance: float,
) -> AuditReport:
    from eqlab._arguments import integer_pair

    size = integer_pair(input_size, "input_size", minimum=1)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    layers_group = model_point_group(model)
    fits = layers_group is None or sym.fits(layers_group)
    probe = _float64_copy(model)
    group = sym.name if fits else None
    grid = traced(model, size, group, example_input, probe)
    if not fits:  # the model's group layers do not carry this symmetry: measure end to end only
        grid.analysis, grid.report.grid_exact = None, None
        grid.symmetry = sym
    _check_data_shape(data, grid.shape)
    seconds["trace and grid"] = time.perf_counter() - start

    start = time.perf_counter()
    generator = torch.Generator().manual_seed(0)
    inputs = torch.cat(measure.input_batches(grid.shape, MEASURED_BATCH, generator))
    in_action = measure.act(grid.input_layout, sym, grid.layers_group)
    if in_action is None:
        raise RuntimeError(f"no action on inputs of layout {grid.input_layout.kind}")
    run: Any = grid.probe if grid.batched else _OneByOne(grid.probe)
    with torch.no_grad():
        base = run(inputs)
    if not graph_agrees(grid, inputs, base):  # the shapes-only graph does not compute the model
        grid = _grid(model, size, group, example_input, probe)  # trace on values
        if not fits:
            grid.analysis, grid.report.grid_exact, grid.symmetry = None, None, sym
    shown = base if isinstance(base, torch.Tensor) else torch.zeros(())
    action, words = _out_action(out_action, grid.analysis, sym, grid.layers_group, shown)
    notes: list[str] = []
    if not fits and out_action is None:
        words = f"{words.split(' (')[0]}, guessed from its shape (not analysed: see the notes)"
    if action is None:
        action = identity
        words += "; measured as invariant, which is not understood"
    given_error, _, why = measure.end_to_end(run, inputs, sym, in_action, action, base, KINDS)
    if why:
        notes.append(why)
    if model.training:
        notes.append(
            "measured in eval mode, but the model is in training mode, where batch norm normalises by "
            "each batch's statistics and dropout is random: call model.eval() to run what was measured"
        )
    architecture_error, depth = averaged(grid, sym, inputs, in_action, action, run) if fits else (None, [])
    seconds["measurements"] = time.perf_counter() - start

    report = AuditReport(
        symmetry=sym.name,
        input_size=size,
        verdict=AuditVerdict.NOT_EQUIVARIANT,
        reason="",
        end_to_end_error=given_error,
        architecture_exact=None,
        grid_prediction=grid.report.grid_exact,
        architecture_error=architecture_error,
        out_action=words,
        tolerance=tolerance,
        depth_errors=depth,
        notes=notes,
        seconds=seconds,
    )
    understood_output = GUESSED not in words and "not understood" not in words and "unknown" not in words
    judge_architecture(report, grid, understood_output)
    report.layers = rows(grid, dict(depth))
    activations(report, grid)
    if not fits:
        report.notes.append(
            f"the model's group layers have point group {layers_group}, which does not contain every "
            f"element of {sym.name}: no grid analysis, the end-to-end measurement only"
        )

    start = time.perf_counter()
    transform = _TRANSFORMS.get(sym.name)
    plain = not any(is_eqlab_layer(m) for m in model.modules())
    aligned = None
    if transform is not None and plain:
        aligned = self_alignment(report, model, transform, grid)
    else:
        report.notes.append(
            "layerwise self-alignment: "
            + ("not for models with eqlab layers" if not plain else f"not defined for {sym.name}")
        )
    seconds["layerwise"] = time.perf_counter() - start

    judge_verdict(
        report,
        grid,
        understood_output,
        None if fits else f"the model's {layers_group} layers do not carry {sym.name}",
    )
    start = time.perf_counter()
    if report.verdict != AuditVerdict.EXACT:
        setting = fixes.Setting(
            model,
            sym,
            sym.name if fits else None,
            size,
            grid,
            in_action,
            action,
            generator,
            tolerance,
            out_name(out_action, report.out_action),
        )
        propose(report, setting, grid, transform, aligned, data)
    seconds["fixes"] = time.perf_counter() - start - seconds.get("group average", 0.0)
    return report

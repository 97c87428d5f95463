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

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from eqlab._arguments import describe, module, real
from eqlab._audit import _fixes as fixes
from eqlab._audit._report import AuditLayer, AuditReport, AuditVerdict
from eqlab.exactness import _measure as measure
from eqlab.exactness._analyser import (
    EXACT,
    GUESSED,
    MEASURED_BATCH,
    _float64_copy,
    _Grid,
    _grid,
    _meta_copy,
    _OneByOne,
    _out_action,
    _validate_out_action,
)
from eqlab.exactness._layout import Average, LayerExactness
from eqlab.exactness._symmetry import SYMMETRIES, Symmetry, symmetry
from eqlab.groups._point import PointGroup
from eqlab.trace._graph import is_eqlab_layer, same_outputs
from eqlab.trace._vocabulary import OPS

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
    layers_group = _layers_group(model)
    fits = layers_group is None or sym.fits(layers_group)
    probe = _float64_copy(model)
    group = sym.name if fits else None
    grid = _traced(model, size, group, example_input, probe)
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
    if not _graph_agrees(grid, inputs, base):  # the shapes-only graph does not compute the model
        grid = _grid(model, size, group, example_input, probe)  # trace on values
        if not fits:
            grid.analysis, grid.report.grid_exact, grid.symmetry = None, None, sym
    shown = base if isinstance(base, torch.Tensor) else torch.zeros(())
    action, words = _out_action(out_action, grid.analysis, sym, grid.layers_group, shown)
    notes: list[str] = []
    if not fits and out_action is None:
        words = f"{words.split(' (')[0]}, guessed from its shape (not analysed: see the notes)"
    if action is None:
        action = _identity
        words += "; measured as invariant, which is not understood"
    given_error, _, why = measure.end_to_end(run, inputs, sym, in_action, action, base, _KINDS)
    if why:
        notes.append(why)
    if model.training:
        notes.append(
            "measured in eval mode, but the model is in training mode, where batch norm normalises by "
            "each batch's statistics and dropout is random: call model.eval() to run what was measured"
        )
    architecture_error, depth = _averaged(grid, sym, inputs, in_action, action, run) if fits else (None, [])
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
    _judge_architecture(report, grid, understood_output)
    report.layers = _rows(grid, dict(depth))
    _activations(report, grid)
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
        aligned = _self_alignment(report, model, transform, grid)
    else:
        report.notes.append(
            "layerwise self-alignment: "
            + ("not for models with eqlab layers" if not plain else f"not defined for {sym.name}")
        )
    seconds["layerwise"] = time.perf_counter() - start

    _verdict(
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
            _out_name(out_action, report.out_action),
        )
        _propose(report, setting, grid, transform, aligned, data)
    seconds["fixes"] = time.perf_counter() - start - seconds.get("group average", 0.0)
    return report


def _traced(
    model: nn.Module,
    size: tuple[int, int],
    group: str | None,
    example_input: torch.Tensor | None,
    probe: nn.Module,
) -> _Grid:
    """The grid analysis from a shapes-only trace (the meta device: no float64 forward at full size), its
    graph rebound to the float64 ``probe`` so that it computes values; else the probe's own trace."""
    shapes = _meta_copy(model)
    if shapes is not None:
        try:
            grid = _grid(model, size, group, example_input, shapes)
        except (ValueError, RuntimeError):  # an op without a meta kernel, say: trace on values below
            grid = None
        if grid is not None and grid.view is not None and grid.view.method == "fx":
            rebound = fx.GraphModule(probe, grid.view.graph_module.graph)
            grid.view = dataclasses.replace(grid.view, model=probe, graph_module=rebound, _values=None)
            grid.view.rebound = True  # type: ignore[attr-defined]  # checked on values by _graph_agrees
            grid.probe = probe
            return grid
    return _grid(model, size, group, example_input, probe)


def _graph_agrees(grid: _Grid, inputs: torch.Tensor, base: Any) -> bool:
    """Whether the grid's graph computes the probe's output on ``inputs`` (``base``) to 1e-12, as
    `eqlab.trace` requires of every graph it uses (a graph traced on values was checked when traced; one
    traced on the meta device, where nothing is computed, is checked here). A model that takes one input
    at a time is checked on the first."""
    view = grid.view
    if view is None or not getattr(view, "rebound", False):
        return True
    if not grid.batched:
        inputs = inputs[:1]
        base = base[:1] if isinstance(base, torch.Tensor) else base
    try:
        output, _ = view.run(inputs)
    except Exception:  # a graph that cannot run on values does not compute the model
        return False
    return same_outputs(output, base)[0]


def _out_name(given: Any, words: str) -> str:
    """The output action as `eqlab.nn.OrbitAverage` takes it: ``'invariant'``, ``'image'`` or, for anything
    else (group features, a callable), the user's callable."""
    if given in ("invariant", "image"):
        return repr(given)
    if given is None and words.startswith("invariant"):
        return "'invariant'"
    if given is None and words.startswith("transform the output image"):
        return "'image'"
    return "out_action (a callable (output, element) -> output)"


def _identity(t: torch.Tensor, g: int) -> torch.Tensor:
    return t


def _layers_group(model: nn.Module) -> str | None:
    from eqlab.gconv._kinds import is_group_layer

    names: set[str] = set()
    for sub in model.modules():
        group: Any = getattr(sub, "group", None)
        if is_group_layer(sub) and group is not None:
            names.add(str(group.name))
    return names.pop() if len(names) == 1 else None


def _averaged(
    grid: _Grid,
    sym: Symmetry,
    inputs: torch.Tensor,
    in_action: measure.OutAction,
    action: measure.OutAction,
    run: Any,
) -> tuple[float, list[tuple[str, float]]]:
    """Average the probe's filters over the group (in place) and measure it end to end and, through its
    graph, node by node (``run`` calls the probe, one input at a time for a model that needs it)."""
    analysis, view = grid.analysis, grid.view
    if analysis is None or view is None:
        fallback = [
            Average(f"{name}.weight")
            for name, sub in grid.probe.named_modules()
            if isinstance(sub, (nn.Conv2d, nn.ConvTranspose2d)) and name
        ]
        measure.average(grid.probe, fallback, sym)
        return measure.end_to_end(run, inputs, sym, in_action, action, chunks=_KINDS)[0], []
    measure.average(grid.probe, analysis.averages, sym)
    if view.graph_module is not grid.probe:
        measure.average(view.graph_module, analysis.averages, sym)
    depth = measure.by_depth(view, analysis, inputs, sym, in_action, action, _KINDS) if grid.batched else []
    if depth and depth[-1][0] == "output":  # the graph ran every element: its output is the model's
        return depth[-1][1], depth[:-1]
    return measure.end_to_end(run, inputs, sym, in_action, action, chunks=_KINDS)[0], depth


_KINDS = len(measure.INPUT_SCALES)
"""The measured batch holds this many kinds of input (standard normal, raw pixels), each measured on its
own."""


def _judge_architecture(report: AuditReport, grid: _Grid, understood_output: bool) -> None:
    predicted, measured = report.grid_prediction, report.architecture_error
    if predicted is None or measured is None or not understood_output:
        report.architecture_exact = None
        return
    confirmed = measured <= EXACT
    if predicted == confirmed:
        report.architecture_exact = predicted
        return
    report.architecture_exact = None
    if predicted:
        report.notes.append(
            f"the grid analysis predicts exact but the averaged copy measures {measured:.2g}: something no "
            "rule sees breaks the symmetry"
        )
    else:
        report.notes.append(
            f"the grid analysis predicts not exact but the averaged copy measures {measured:.2g}: "
            "asymmetries that cancel, or one that does not reach the output"
        )


_MATTERS = ("adaptive", "resize", "slice", "transposed", "dense", "pad", "not understood")


def _rows(grid: _Grid, depth: dict[str, float]) -> list[AuditLayer]:
    analysis = grid.analysis
    if analysis is None:
        return []
    rows = []
    for row in analysis.rows:
        if not (row.subsamples or not row.exact or row.rule in _MATTERS):
            continue
        rows.append(_layer(row, depth))
    return rows


_ACTIVATION_MODULES = {
    "ReLU", "ReLU6", "LeakyReLU", "RReLU", "ELU", "CELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
    "Softplus", "Softsign", "Hardtanh", "Hardswish", "Hardsigmoid", "LogSigmoid", "Tanhshrink", "Softshrink",
    "Hardshrink", "Threshold", "PReLU",
}  # fmt: skip
"""Pointwise activation modules, by class name (functions are `OPS.activations`)."""

_PERMUTED = {
    "image": "image positions",
    "group": "image positions and the group axis",
    "group_axis": "the group axis",
    "flat": "flattened positions",
    "invariant": "nothing (the features do not move)",
    "constant": "nothing (the features do not move)",
}
"""What the symmetry permutes in a tensor of each layout: every such action is a permutation."""


def _activations(report: AuditReport, grid: _Grid) -> None:
    """Activation admissibility (Pacini et al. 2024, Theorem 1): a pointwise activation commutes with a
    permutation representation whatever the function, so on every layout the grid rules follow it is
    admissible; one whose input's action is not understood is a row, undecided."""
    analysis, view = grid.analysis, grid.view
    if analysis is None or view is None:
        return
    admissible: dict[str, int] = {}
    for node in view.calls():
        if node.op not in OPS.activations and node.op not in _ACTIVATION_MODULES:
            continue
        source = node.inputs[0] if node.inputs else None
        layout = analysis.layouts.get(source.name) if source is not None else None
        kind = layout.kind if layout is not None else "unknown"
        if kind in _PERMUTED:
            admissible[kind] = admissible.get(kind, 0) + 1
            continue
        report.layers.append(
            AuditLayer(
                name=node.name,
                op=node.op,
                effect=f"pointwise {node.op} on a tensor whose action is not understood ({kind}): its "
                "admissibility is undecided",
                exact=None,
            )
        )
    if admissible:
        counts = ", ".join(f"{count} on {_PERMUTED[kind]}" for kind, count in admissible.items())
        report.notes.append(
            f"pointwise activations: {counts}; the symmetry acts there by permutations, which every "
            "pointwise activation commutes with (Pacini et al. 2024, Theorem 1): admissible"
        )


def _layer(row: LayerExactness, depth: dict[str, float]) -> AuditLayer:
    offset = None if row.rule in ("not understood", "dense") else (row.offset[0], row.offset[1])
    return AuditLayer(
        name=row.name,
        op=row.kind,
        effect=row.effect,
        exact=row.exact if row.understood else None,
        offset=offset,
        cumulative_error=depth.get(row.name),
    )


def _self_alignment(report: AuditReport, model: nn.Module, transform: str, grid: _Grid) -> Any:
    """Rows' self-alignment errors: how far each layer is from equivariant up to a channel permutation,
    with permutations constrained to ``pi^m = id`` (so that the group average can reuse them). A layer
    with no row yet gets one, with its grid analysis when it has one. Returns the `SelfAlignResult`, or
    None when the model's channels cannot be traced."""
    from eqlab.layerwise import self_align

    try:
        result = self_align(model, transform, constrain=True)
    except (ValueError, TypeError, NotImplementedError) as exc:
        report.notes.append(f"layerwise self-alignment did not run: {exc}")
        return None
    by_name = {row.name: row for row in report.layers}
    analysed: dict[str, LayerExactness] = {}
    if grid.analysis is not None and grid.view is not None:
        paths = {node.name: node.path for node in grid.view.nodes if node.kind == "module"}
        for row in grid.analysis.rows:
            analysed.setdefault(paths.get(row.name, row.name), row)
    depth = dict(report.depth_errors)
    for layer, error in result.alignment.errors.items():
        if layer not in by_name:
            if layer in analysed:
                by_name[layer] = _layer(analysed[layer], depth)
            else:
                by_name[layer] = AuditLayer(
                    name=layer,
                    op=type(model.get_submodule(layer)).__name__,
                    effect="reads no plane (self-alignment only)",
                    exact=None,
                    cumulative_error=depth.get(layer),
                )
            report.layers.append(by_name[layer])
        by_name[layer].self_alignment_error = error
    order = {name: i for i, (name, _) in enumerate(report.depth_errors)}
    names = [name for name, _ in model.named_modules()]
    report.layers.sort(key=lambda r: order.get(r.name, names.index(r.name) if r.name in names else 0))
    return result


def _verdict(report: AuditReport, grid: _Grid, understood_output: bool, unsupported: str | None) -> None:
    error = report.end_to_end_error
    measured = f"the model measures {error:.1e}"
    analysis = grid.analysis
    broken = [r for r in analysis.rows if r.understood and not r.exact] if analysis is not None else []
    unknown = [r for r in analysis.rows if not r.understood] if analysis is not None else []
    if report.architecture_exact is True and error <= EXACT:
        report.verdict = AuditVerdict.EXACT
        report.reason = f"every sampling grid maps onto itself and {measured} (float64)"
        return
    if unsupported is not None:
        cause = unsupported
    elif broken:
        first = broken[0]
        cause = f"{first.name} ({first.kind}) breaks the grid: {first.effect}"
    elif unknown:
        cause = f"{unknown[0].name} ({unknown[0].kind}) is not understood: {unknown[0].effect}"
    elif not understood_output:
        cause = f"the output's action is not understood ({report.out_action})"
    elif analysis is None:
        cause = "the model could not be analysed" + (f" ({grid.failure})" if grid.failure else "")
    elif report.architecture_exact is None:
        cause = "the grid analysis and the averaged copy disagree"
    else:
        cause = "the architecture is exact, but the weights are not symmetric"
    if error <= report.tolerance:
        report.verdict = AuditVerdict.APPROXIMATE
        report.reason = f"{measured} (tolerance {report.tolerance:g}); not exact: {cause}"
    else:
        report.verdict = AuditVerdict.NOT_EQUIVARIANT
        shown = "fails or changes shape" if math.isinf(error) else measured
        report.reason = f"{shown}, above the tolerance {report.tolerance:g}; {cause}"


def _propose(
    report: AuditReport,
    setting: fixes.Setting,
    grid: _Grid,
    transform: str | None,
    aligned: Any,
    data: Any,
) -> None:
    if report.grid_prediction is False and grid.analysis is not None:
        found, notes = fixes.size_fixes(setting)
        report.fixes += found
        report.notes += notes
        geometry = fixes.geometry_fix(setting)
        if geometry is not None:
            report.fixes.append(geometry)
    invariant = grid.analysis is not None and grid.analysis.output.kind in ("invariant", "constant")
    if transform is not None and aligned is not None and invariant:
        start = time.perf_counter()
        exact_size = setting.size[0] if report.architecture_exact else _nearest_verified_size(report)
        if (
            exact_size is None
        ):  # its promise, exact invariance where the architecture is exact, is uncheckable
            where = (
                "square inputs only are searched" if _not_square(setting.size) else "none was found nearby"
            )
            report.notes.append(
                f"group average not proposed: it needs a size where the architecture is exact ({where})"
            )
        else:
            try:
                report.fixes.append(fixes.group_average_fix(setting, transform, aligned, data, exact_size))
            except (ValueError, TypeError, NotImplementedError) as exc:
                report.notes.append(f"group average not applicable: {exc}")
        report.seconds["group average"] = time.perf_counter() - start
    if "not understood" not in report.out_action:
        orbit = fixes.orbit_fix(setting)
        if orbit is not None:
            report.fixes.append(orbit)


def _not_square(size: tuple[int, int]) -> bool:
    """Whether the input is not square."""
    return size[0] != size[1]


def _nearest_verified_size(report: AuditReport) -> int | None:
    """The verified input-size fix nearest the audited size, if any."""
    sizes = [f.details["size"] for f in report.fixes if f.kind == "input size" and f.verified]
    return min(sizes, key=lambda n: abs(n - report.input_size[0])) if sizes else None

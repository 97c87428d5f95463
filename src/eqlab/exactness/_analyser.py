"""The subsampling exactness analyser: is this network exactly rotation/reflection equivariant at this
input size, and if not, which node breaks it and by how many pixels?

`check` traces the model once (`eqlab.trace`), applies a rule to every node that touches the plane
(`eqlab.exactness._rules`) and, with ``confirm=True``, measures in float64 (`eqlab.exactness._measure`)
the whole model's output for every element of the symmetry, each analysed node in isolation, and
each node's output by depth, on a copy whose filters are averaged over the symmetry.

**What "exact" means.** The verdict is ``"exact"`` only when the grid analysis predicts it *and* the
end-to-end measurement agrees (relative error below `EXACT`). Every other outcome is ``"not exact"``
(the grid or the measurement says no; a disagreement is reported with both) or ``"not certified"``
(the model cannot be traced, a node has no rule, or the output's action is unknown). The end-to-end
measurement always runs: ``confirm=False`` only skips the per-node and by-depth measurements.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.fx as fx
from torch import nn

from eqlab._arguments import describe, flag, integer, integer_pair, module
from eqlab.exactness import _measure as measure
from eqlab.exactness._layout import GROUP, IMAGE, INVARIANT, Analysis, Average, LayerExactness
from eqlab.exactness._options import Certificate, OutputAction
from eqlab.exactness._rules import analyse
from eqlab.exactness._symbolic import NotSymbolic, SizeScan, scan_sizes, understood_output
from eqlab.exactness._symmetry import Symmetry, symmetry
from eqlab.gconv._conv import GroupConv2d, LiftingConv2d
from eqlab.groups._point import PointGroup
from eqlab.trace import TracedModel, TraceFailure, trace_model

__all__ = ["EXACT", "ExactnessReport", "LayerExactness", "check", "exact_sizes", "nearest_exact_sizes"]

EXACT = 1e-12
"""The largest end-to-end relative error (float64) that an ``"exact"`` verdict may stand beside."""

MEASURED_BATCH = 2
"""Random inputs per measurement: two, so errors are relative to the input-dependent part of the output."""


@dataclass
class ExactnessReport:
    """The verdict for one model at one input size."""

    input_size: tuple[int, int]
    """``(height, width)``."""
    group: str
    """The symmetry checked (``"p4"``, ``"p4m"``, ``"rot180"``, ``"hflip"``, ``"vflip"``)."""
    layers: list[LayerExactness]
    """The rows that matter: nodes that subsample, do not commute, or are not understood. Each row has
    ``name`` and ``kind`` (the traced node and its module class or function), ``rule``, the window
    geometry (``kernel``, ``stride``, ``padding`` as ``(before, after)`` along height then width,
    ``dilation``, ``ceil_mode``), ``input_size``, ``offset`` (the pixels by which the mirrored grid
    misses itself along height and width, 0 when exact), ``exact``, ``understood``, ``effect`` (what
    it does to the symmetry, in words) and ``error`` (measured in isolation, float64, relative)."""
    spatial_layers: list[LayerExactness] = field(default_factory=list)
    """Every analysed node, in graph order (rows as in ``layers``)."""
    depth_errors: list[tuple[str, float]] = field(default_factory=list)
    """``(node, error)``: each node's output inside the averaged model when the input is transformed."""
    verdict: Certificate = Certificate.NOT_CERTIFIED
    """A `Certificate`: ``"exact"``, ``"not exact"`` or ``"not certified"``; members compare equal to their
    strings."""
    reason: str = ""
    """Why, in one sentence."""
    grid_exact: bool | None = None
    """The grid analysis's prediction, made before any measurement (``None``: something is not
    understood, or the model could not be traced)."""
    end_to_end_error: float | None = None
    """The averaged model's output error, worst over the elements (``None`` when not measured)."""
    out_action: str = ""
    """The action on the output, in words, and whether it was given or inferred."""
    method: str | None = None
    """How the model was traced: ``"fx"``, ``"export"``, or ``None`` when it could not be."""
    input_shape: tuple[int, ...] = ()
    """The shape of one input the model was traced and measured with, ``(1, C, H, W)``."""
    mode: str = "eval"
    """The mode analysed and measured: always ``"eval"`` (dropout off, batch norm on its running
    statistics); ``"eval (the model was in training mode)"`` when the model given was training."""

    @property
    def exact(self) -> bool:
        """Whether the verdict is ``"exact"``: predicted by the grid and confirmed end to end."""
        return self.verdict == Certificate.EXACT

    @property
    def not_understood(self) -> list[LayerExactness]:
        """The nodes no rule covers."""
        return [layer for layer in self.spatial_layers if not layer.understood]

    def table(self) -> str:
        """A plain-text table: one row per node that matters, verdict and measured error side by side."""
        head = (
            f"{'layer':24s} {'kind':18s} {'k':>5s} {'s':>5s} {'pad (h; w)':>14s} {'d':>5s} {'input':>9s} "
            f"{'off':>6s} {'exact':>6s} {'error':>9s}"
        )
        rows = [head, "-" * len(head)]
        for layer in self.layers:
            pad = f"{layer.padding[0][0]},{layer.padding[0][1]};{layer.padding[1][0]},{layer.padding[1][1]}"
            error = "" if layer.error is None else f"{layer.error:.1e}"
            verdict = "yes" if layer.exact else ("?" if not layer.understood else "NO")
            rows.append(
                f"{layer.name[:24]:24s} {layer.kind[:18]:18s} {_pair_text(layer.kernel):>5s} "
                f"{_pair_text(layer.stride):>5s} {pad:>14s} {_pair_text(layer.dilation):>5s} "
                f"{_pair_text(layer.input_size):>9s} {_pair_text(layer.offset):>6s} {verdict:>6s} {error:>9s}"
            )
            if not layer.exact and layer.effect:
                rows.append(f"    {layer.effect}")
        measured = "not measured" if self.end_to_end_error is None else f"{self.end_to_end_error:.1e}"
        rows.append(f"output action: {self.out_action}; end-to-end error (float64): {measured}")
        if self.mode != "eval":
            rows.append(f"analysed and measured in {self.mode}")
        verdict = {
            Certificate.EXACT: "exact",
            Certificate.NOT_EXACT: "NOT exact",
            Certificate.NOT_CERTIFIED: "NOT certified",
        }[self.verdict]
        rows.append(f"{self.group} at input {_pair_text(self.input_size)}: {verdict}: {self.reason}")
        return "\n".join(rows)


def _pair_text(pair: tuple[Any, Any]) -> str:
    def one(v: Any) -> str:
        return f"{v:g}" if isinstance(v, float) else str(v)

    return one(pair[0]) if pair[0] == pair[1] else f"{one(pair[0])}x{one(pair[1])}"


def _model_group(model: nn.Module, group: str | None) -> tuple[Symmetry, str | None]:
    found = {m.group.name for m in model.modules() if isinstance(m, (LiftingConv2d, GroupConv2d))}
    if len(found) > 1:
        raise ValueError(f"the model mixes point groups {sorted(found)}; pass group=")
    layers = found.pop() if found else None
    chosen = symmetry(group if group is not None else layers or "p4")
    if layers is not None and not chosen.fits(layers):
        raise ValueError(
            f"group {chosen.name!r} has elements outside the model's {layers} layers; "
            f"pass a subgroup of {layers}"
        )
    return chosen, layers


def _candidate_shapes(
    probe: nn.Module, size: tuple[int, int], example_input: torch.Tensor | None
) -> list[tuple[int, ...]]:
    """Shapes of one input to try, ``(1, C, [|G|,] H, W)``: ``example_input``'s, else one per input channel
    count of the model's convolutions (registration order need not be call order)."""
    if example_input is not None:
        if example_input.dim() < 3:
            raise ValueError(
                f"example_input must be a batch of images (B, C, H, W) or group features, got shape "
                f"{tuple(example_input.shape)}"
            )
        if tuple(example_input.shape[-2:]) != size:
            raise ValueError(
                f"example_input has height and width {tuple(example_input.shape[-2:])}, "
                f"but input_size is {size}"
            )
        return [(1, *example_input.shape[1:])]
    candidates: list[tuple[int, ...]] = []
    for sub in probe.modules():
        if isinstance(sub, GroupConv2d):
            candidates.append((1, sub.in_channels, sub.group.order, *size))
        elif isinstance(sub, (LiftingConv2d, nn.Conv2d)):
            candidates.append((1, sub.in_channels, *size))
    for parameter in probe.parameters():  # filters of functional convolutions, (out, in, kh, kw)
        if parameter.dim() == 4 and parameter.is_floating_point():
            candidates.append((1, int(parameter.shape[1]), *size))
    if not candidates:
        raise ValueError(
            "the model has no Conv2d, LiftingConv2d, GroupConv2d or 4-D filter to tell its input channels; "
            "pass example_input="
        )
    return list(dict.fromkeys(candidates))


def _refused(size: tuple[int, int], candidates: list[tuple[int, ...]], given: bool) -> _ModelRefusesInput:
    if given:
        return _ModelRefusesInput(
            f"example_input of shape {candidates[0]}: the model fails on inputs of this shape"
        )
    return _ModelRefusesInput(
        f"the model accepts none of the inputs {candidates} made from its convolutions at input_size "
        f"{size}; pass example_input= (or a size at which the model runs)"
    )


def _input_shape(
    probe: nn.Module, size: tuple[int, int], example_input: torch.Tensor | None
) -> tuple[tuple[int, ...], bool]:
    """The shape of one input, and whether the model takes a batch of `MEASURED_BATCH` of them (some fix
    their batch to one): the first of `_candidate_shapes` that the model accepts."""
    candidates = _candidate_shapes(probe, size, example_input)
    for shape in candidates:
        if _runs(probe, shape, MEASURED_BATCH):
            return shape, True
        if _runs(probe, shape, 1):
            return shape, False
    raise _refused(size, candidates, example_input is not None)


def _traced_on_meta(
    probe: nn.Module, size: tuple[int, int], example_input: torch.Tensor | None
) -> tuple[tuple[int, ...], bool, TracedModel | None, str]:
    """`_input_shape` and the trace in one go on a shapes-only probe: the trace's own run tells whether
    the model accepts a shape, so no separate forward probes it. Returns the shape, whether batched, the
    view (None when no way of tracing works) and why not."""
    candidates = _candidate_shapes(probe, size, example_input)
    for shape in candidates:
        for batch in (MEASURED_BATCH, 1):
            example = torch.zeros((batch, *shape[1:]), dtype=_dtype(probe), device="meta")
            try:
                return shape, batch > 1, trace_model(probe, example), ""
            except TraceFailure as exc:  # the model runs, but no way of tracing reproduces it
                return shape, batch > 1, None, str(exc)
            except ValueError:  # the model fails on this shape: try the next
                continue
    raise _refused(size, candidates, example_input is not None)


def _dtype(probe: nn.Module) -> torch.dtype:
    """The floating dtype of the probe's parameters (float64 for the measured copy)."""
    for tensor_ in itertools.chain(probe.parameters(), probe.buffers()):
        if tensor_.is_floating_point():
            return tensor_.dtype
    return torch.float64


def _device(probe: nn.Module) -> torch.device:
    """Where the probe's parameters live (``meta`` for the shapes-only copy)."""
    for tensor_ in itertools.chain(probe.parameters(), probe.buffers()):
        return tensor_.device
    return torch.device("cpu")


def _runs(probe: nn.Module, shape: tuple[int, ...], batch: int) -> bool:
    """Whether the model runs on zeros of ``shape`` with a batch of ``batch``."""
    try:
        with torch.no_grad():
            probe(torch.zeros((batch, *shape[1:]), dtype=_dtype(probe), device=_device(probe)))
    except Exception:  # not this shape
        return False
    return True


class _ModelRefusesInput(ValueError, RuntimeError):
    """The model does not run at the input size asked about: a bad ``input_size`` (ValueError), raised
    where the model's own failure (a RuntimeError) used to surface."""


def _out_action(
    out_action: Any, analysis: Analysis | None, sym: Symmetry, group: str | None, output: torch.Tensor
) -> tuple[measure.OutAction | None, str]:
    if callable(out_action):
        return out_action, "given (a callable)"
    if isinstance(out_action, str):
        layout = {OutputAction.INVARIANT: INVARIANT, OutputAction.IMAGE: IMAGE, OutputAction.FEATURES: GROUP}[
            OutputAction.parse(out_action, "out_action")
        ]
        action = measure.act(layout, sym, group)
        if action is None:
            raise ValueError("out_action 'features' needs a model with eqlab group layers")
        return action, f"{out_action} (given)"
    if analysis is None:
        return _guess(output, sym, group, "the model could not be traced")
    layout = analysis.output
    action = measure.act(layout, sym, analysis.group)
    words = {
        "image": "transform the output image",
        "group": "transform the output group features",
        "group_axis": "permute the output's group axis",
        "invariant": "invariant (the output does not move)",
        "constant": "invariant (the output does not depend on the input)",
    }
    if action is None or (layout.kind == "image" and output.dim() < 3):
        return _guess(output, sym, analysis.group, f"the rules do not know how it moves ({layout.kind})")
    return action, f"{words.get(layout.kind, layout.kind)} (inferred)"


GUESSED = "guessed from its shape"


def _guess(
    output: torch.Tensor, sym: Symmetry, group: str | None, why: str
) -> tuple[measure.OutAction | None, str]:
    """An action on the output read off its shape alone, for a measurement to stand beside a verdict
    that cannot be a certificate: a plane is transformed, a vector does not move."""
    if output.dim() == 5 and group is not None and output.shape[2] in (4, 8):
        layout = GROUP
    elif output.dim() >= 3:
        layout = IMAGE
    elif output.dim() >= 1:
        layout = INVARIANT
    else:
        return None, f"unknown: {why}; pass out_action="
    action = measure.act(layout, sym, group)
    return action, f"{layout.kind}, {GUESSED} ({why}); pass out_action= to be sure"


def _validate_out_action(out_action: Any) -> None:
    if out_action is None or callable(out_action):
        return
    OutputAction.parse(out_action, "out_action")


def check(
    model: nn.Module,
    input_size: int | tuple[int, int],
    *,
    confirm: bool = True,
    group: str | None = None,
    example_input: torch.Tensor | None = None,
    seed: int = 0,
    out_action: str | Callable[[torch.Tensor, int], torch.Tensor] | None = None,
) -> ExactnessReport:
    """Check every node of ``model`` that touches the plane at ``input_size`` and confirm end to end.

    Parameters
    ----------
    model
        Any image model taking one tensor ``(B, C, H, W)`` (or ``(B, C, |G|, H, W)`` for a first group
        convolution). It is not modified.
    input_size
        Height and width of the input: an int for square inputs, or ``(height, width)``.
    confirm
        Also measure each node in isolation and by depth (float64). The end-to-end measurement that
        backs the verdict always runs.
    group
        The symmetry: ``"p4"`` (``"rot90"``), ``"p4m"`` (``"d4"``), ``"rot180"``, ``"hflip"`` or
        ``"vflip"``; default: the group of the model's eqlab layers, else ``"p4"``.
    example_input
        An input whose shape (not values) to trace with, when the first layer does not tell the input
        channels; its height and width must be ``input_size``.
    seed
        Seeds the random inputs of the measurements: standard normal values, and raw pixel values uniform
        in [0, 255].
    out_action
        How the symmetry acts on the output: ``"invariant"``, ``"image"`` (transform it like the input),
        ``"features"`` (group feature maps of the model's group) or a callable ``(output, element) ->
        output`` with D4 elements numbered ``k + 4 j`` for ``r^k m^j`` (``r`` a quarter turn, ``m`` the
        left-right flip, as in `eqlab.groups`). Default: inferred from the traced graph, and reported as
        inferred.

    Returns
    -------
    ExactnessReport
        The verdict (a `Certificate`) and its reason, the rows of the nodes that matter, and the
        measured errors; ``.table()`` prints them.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    >>> check(net, 28).verdict
    <Certificate.EXACT: 'exact'>
    >>> check(net, 27).verdict == "not exact"  # a member is its string
    True
    """
    module(model, "model")
    size = integer_pair(input_size, "input_size", minimum=1)
    flag(confirm, "confirm")
    seed = integer(seed, "seed", minimum=0)
    if example_input is not None and not isinstance(example_input, torch.Tensor):
        raise TypeError(f"example_input must be a torch.Tensor or None, got {describe(example_input)}")
    _validate_out_action(out_action)
    grid = _grid(model, size, group, example_input)
    report, sym, analysis, view = grid.report, grid.symmetry, grid.analysis, grid.view
    generator = torch.Generator().manual_seed(seed)
    batches = measure.input_batches(grid.shape, MEASURED_BATCH, generator)
    inputs = batches[0]
    in_action = measure.act(grid.input_layout, sym, grid.layers_group)
    if in_action is None:
        raise RuntimeError(f"no action on inputs of layout {grid.input_layout.kind}")
    probe: Any = grid.probe if grid.batched else _OneByOne(grid.probe)
    with torch.no_grad():
        base_output = probe(inputs)
    if not isinstance(base_output, torch.Tensor):
        base_output = torch.zeros(())
    action, report.out_action = _out_action(out_action, analysis, sym, grid.layers_group, base_output)
    if analysis is not None and view is not None:
        measure.average(grid.probe, analysis.averages, sym)
        if view.graph_module is not grid.probe:
            measure.average(view.graph_module, analysis.averages, sym)
        if confirm:
            measure.isolated(view, analysis, sym, generator)
            report.depth_errors = measure.by_depth(view, analysis, inputs, sym, in_action)
    else:
        measure.average(grid.probe, _every_filter(grid.probe), sym)
    if action is not None:
        error, note = 0.0, ""
        for batch in batches:
            found, _element, why = measure.end_to_end(probe, batch, sym, in_action, action)
            if not found <= error:
                error, note = found, why
        report.end_to_end_error = error
        if note:
            report.out_action += f"; {note}"
    report.verdict, report.reason = _verdict(report, analysis, grid.failure)
    return report


@dataclass
class _Grid:
    """The traced model and the grid analysis at one size, before any measurement."""

    report: ExactnessReport
    symmetry: Symmetry
    layers_group: str | None
    shape: tuple[int, ...]
    input_layout: Any
    probe: nn.Module
    view: TracedModel | None
    analysis: Analysis | None
    failure: str
    batched: bool = True  # False: the model takes one input at a time, and is measured so


class _OneByOne:
    """A model that only takes a batch of one, run on each input of a batch in turn."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __call__(self, x: torch.Tensor) -> Any:
        outputs = [self.model(x[i : i + 1]) for i in range(x.shape[0])]
        if not all(isinstance(o, torch.Tensor) for o in outputs):
            return outputs[0]
        return torch.cat(outputs)


def _grid(
    model: nn.Module,
    size: tuple[int, int],
    group: str | None,
    example_input: torch.Tensor | None,
    probe: nn.Module | None = None,
) -> _Grid:
    """Trace and analyse ``model`` at ``size``, on ``probe`` (its float64 eval copy, made here if None, or
    the model itself in eval mode, for the grid alone)."""
    if group is not None and not isinstance(group, (str, PointGroup)):
        raise TypeError(f"group must be a symmetry name or None, got {describe(group)}")
    sym, layers_group = _model_group(model, group)
    probe = _float64_copy(model) if probe is None else probe
    failure = ""
    view: TracedModel | None = None
    if _device(probe).type == "meta":
        shape, batched, view, failure = _traced_on_meta(probe, size, example_input)
    else:
        shape, batched = _input_shape(probe, size, example_input)
        try:
            batch = MEASURED_BATCH if batched else 1
            view = trace_model(probe, torch.zeros((batch, *shape[1:]), dtype=_dtype(probe)))
        except TraceFailure as exc:
            failure = str(exc)
    input_layout = GROUP if len(shape) == 5 and layers_group is not None else IMAGE
    mode = "eval (the model was in training mode)" if model.training else "eval"
    report = ExactnessReport(size, sym.name, [], [], input_shape=tuple(shape), mode=mode)
    analysis = analyse(view, sym, input_layout) if view is not None else None
    if analysis is not None and view is not None:
        report.spatial_layers = analysis.rows
        report.layers = [r for r in analysis.rows if r.subsamples or not r.exact]
        report.grid_exact = analysis.exact
        report.method = view.method
    return _Grid(report, sym, layers_group, shape, input_layout, probe, view, analysis, failure, batched)


def _every_filter(model: nn.Module) -> list[Average]:
    """Every Conv2d / ConvTranspose2d filter, for a model that could not be traced."""
    return [
        Average(f"{name}.weight")
        for name, sub in model.named_modules()
        if isinstance(sub, (nn.Conv2d, nn.ConvTranspose2d)) and name
    ]


def _verdict(report: ExactnessReport, analysis: Analysis | None, failure: str) -> tuple[Certificate, str]:
    """The verdict and its reason (see the module docstring)."""
    measured = report.end_to_end_error
    numbers = "" if measured is None else f"; measured end-to-end error {measured:.2g}"
    if analysis is None:
        return Certificate.NOT_CERTIFIED, f"{failure}{numbers}"
    broken = [r for r in analysis.rows if r.understood and not r.exact]
    unknown = [r for r in analysis.rows if not r.understood]
    if broken:
        first = broken[0]
        blame = f"{first.name} ({first.kind}): {first.effect or 'does not commute'}"
        if measured is not None and measured <= EXACT:
            return Certificate.NOT_EXACT, (
                f"the grid analysis and the measurement disagree: the grid predicts not exact at {blame}, "
                f"but the averaged model measures {measured:.2g} (asymmetries that cancel, or one that "
                "does not reach the output)"
            )
        return Certificate.NOT_EXACT, blame + numbers
    if unknown:
        first = unknown[0]
        return (
            Certificate.NOT_CERTIFIED,
            f"{first.name} ({first.kind}) is not understood: {first.effect}" + numbers,
        )
    if measured is None or GUESSED in report.out_action or analysis.exact is not True:
        return Certificate.NOT_CERTIFIED, f"the output's action is {report.out_action}" + numbers
    if not measured <= EXACT:
        return Certificate.NOT_EXACT, (
            f"the grid analysis predicts exact, but the averaged model measures {measured:.2g}: "
            "something no rule sees breaks the symmetry"
        )
    return (
        Certificate.EXACT,
        f"every sampling grid maps onto itself, and the averaged model measures {measured:.1e}",
    )


def _int_sizes(sizes: Iterable[Any]) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Iterable):
        raise TypeError(f"sizes must be an iterable of integers, got {describe(sizes)}")
    return [integer(n, "sizes", minimum=1) for n in sizes]


def exact_sizes(model: nn.Module, sizes: Iterable[int], *, group: str | None = None) -> list[int]:
    """The square sizes in ``sizes`` at which the model runs and the grid analysis predicts every node
    exact for ``group``: a prediction without measurement, which `check` confirms.

    The model is traced once, at the smallest size it runs at, and the analysis is replayed over all
    sizes at once (no forward pass per size); a graph that cannot be replayed (shapes computed in ways
    eqlab does not follow, a graph from torch.export) is traced per size instead. A head that fixes the
    input size (a dense layer reading flattened positions) keeps only the sizes at which the model runs.

    Parameters
    ----------
    model
        An image model, as in `check`.
    sizes
        Candidate heights (= widths) of the input, positive integers.
    group
        The symmetry, as in `check`.

    Returns
    -------
    list of int
        The sizes predicted exact, in the order given.

    Examples
    --------
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.Conv2d(4, 4, 3, stride=2, padding=1))
    >>> exact_sizes(net, range(8, 30))  # n = 1 mod 4: both stride-2 grids map onto themselves
    [9, 13, 17, 21, 25, 29]
    """
    module(model, "model")
    wanted = _int_sizes(sizes)
    scan = size_scan(model, wanted, group)
    return [n for n, ok in zip(wanted, scan.exact.tolist(), strict=True) if ok]


def size_scan(
    model: nn.Module,
    sizes: list[int],
    group: str | None,
    probe: nn.Module | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> SizeScan:
    """The grid analysis at every size of ``sizes``: one trace at the smallest size the model runs at,
    replayed symbolically (`eqlab.exactness._symbolic`), else one trace per size. Without ``probe``, the
    trace runs on a copy whose weights are on the meta device (shapes only), else on a float64 copy.
    ``input_shape``: one input ``(1, C, ..., H, W)`` whose leading axes to use at every size, for a model
    whose layers do not tell its input channels."""
    if probe is None:
        shapes_only = _meta_copy(model)
        if shapes_only is not None:
            scan = size_scan(model, sizes, group, shapes_only, input_shape)
            if scan.runs.any() and not any(n.startswith(_UNTRACEABLE) for n in scan.notes):
                return scan
        probe = _float64_copy(model)  # no meta kernel for some op, or a graph that needs values

    def example(n: int) -> torch.Tensor | None:
        return None if input_shape is None else torch.zeros((1, *input_shape[1:-2], n, n), device="meta")

    ordered = sorted(set(sizes))
    reference: _Grid | None = None
    probing = False  # after a refusal, find the next size it runs at with plain forwards, then trace there
    for n in ordered:
        try:
            given = example(n)
            if probing:
                shape, _ = _input_shape(probe, (n, n), given)
                given = torch.zeros(shape, device=_device(probe))
            reference = _grid(model, (n, n), group, given, probe)
            break
        except _ModelRefusesInput:
            probing = True
    none = np.zeros(len(sizes), bool)
    if reference is None:
        return SizeScan(np.asarray(sizes), none, none, ["the model runs at none of these sizes"])
    if reference.analysis is None or reference.view is None:
        return SizeScan(np.asarray(sizes), none, none, [f"{_UNTRACEABLE}: {reference.failure}"])
    if _device(probe).type == "meta" and not _computes_the_model(model, reference):
        return SizeScan(np.asarray(sizes), none, none, [f"{_UNTRACEABLE} on the meta device"])
    try:
        return scan_sizes(reference.view, reference.analysis, reference.symmetry, sizes)
    except NotSymbolic as exc:
        if reference.analysis.exact is None:  # not understood at the reference: no size is exact
            return SizeScan(np.asarray(sizes), none, none, [str(exc)])
        why = f"traced per size: {exc}"
    runs, exact = none.copy(), none.copy()
    for i, n in enumerate(sizes):
        try:
            grid = _grid(model, (n, n), group, example(n), probe)
        except _ModelRefusesInput:
            continue
        understood = grid.analysis is not None and understood_output(grid.analysis.output)
        runs[i], exact[i] = True, grid.report.grid_exact is True and understood
    return SizeScan(np.asarray(sizes), runs, exact, [why])


def nearest_exact_sizes(
    model: nn.Module, size: int, radius: int = 16, *, group: str | None = None
) -> tuple[int | None, int | None]:
    """The nearest square sizes below and above ``size`` (within ``radius``) that the grid analysis
    predicts exact for ``group`` (see `exact_sizes`).

    Returns
    -------
    tuple
        ``(below, above)``, each an int, or None when no size within ``radius`` is predicted exact.
    """
    module(model, "model")
    size = integer(size, "size", minimum=1)
    radius = integer(radius, "radius", minimum=1)
    found = exact_sizes(model, range(max(size - radius, 1), size + radius + 1), group=group)
    below = [n for n in found if n < size]
    above = [n for n in found if n > size]
    return (below[-1] if below else None, above[0] if above else None)


_UNTRACEABLE = "the model cannot be traced"


def _computes_the_model(model: nn.Module, reference: _Grid) -> bool:
    """Whether a graph traced on the meta device (where nothing is computed, so nothing was checked)
    reproduces ``model`` on values at the reference shape, as `eqlab.trace` requires of every graph: the
    graph rebound to the model itself, both run in eval mode without gradients (cheap at the smallest
    size the model runs at), the model's modes restored after."""
    from eqlab.trace._graph import same_outputs

    assert reference.view is not None
    shape = tuple(reference.view.input.value)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=generator, dtype=torch.float64).to(
        device=_device(model), dtype=_dtype(model)
    )
    modes = [(sub, sub.training) for sub in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            graph = fx.GraphModule(model, reference.view.graph_module.graph)
            return same_outputs(graph(x), model(x))[0]
    except Exception:  # a graph that cannot run on values does not compute the model
        return False
    finally:
        for sub, mode in modes:
            sub.training = mode


def _meta_copy(model: nn.Module) -> nn.Module | None:
    """A float64 eval copy of ``model`` whose parameters and buffers live on the meta device: it runs and
    traces (shapes only, no arithmetic) without copying a weight. None when it cannot be made."""
    memo: dict[int, Any] = {}
    for item in itertools.chain(model.parameters(), model.buffers()):
        meta = torch.empty_like(item, device="meta")
        memo[id(item)] = nn.Parameter(meta, item.requires_grad) if isinstance(item, nn.Parameter) else meta
    try:
        return copy.deepcopy(model, memo).double().eval()
    except Exception:  # a model that cannot be copied this way is analysed on its float64 copy
        return None


def _float64_copy(model: nn.Module) -> nn.Module:
    """A float64 copy of ``model`` in eval mode (the model itself is never changed)."""
    try:
        probe = copy.deepcopy(model)
    except Exception as exc:  # a model torch cannot copy (pruned weights are computed tensors)
        raise ValueError(
            f"model cannot be copied, and eqlab measures a float64 copy so as never to change yours: "
            f"{type(exc).__name__}: {exc} (for pruning, call torch.nn.utils.prune.remove first)"
        ) from None
    return probe.double().eval()

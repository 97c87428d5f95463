"""The audit's two float64 measurements: the model as given, and a copy with averaged filters, end to
end and node by node, on a graph traced on the meta device and checked on values."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.fx as fx
from torch import nn

from eqlab.exactness import _measure as measure
from eqlab.exactness._analyser import _Grid, _grid, _meta_copy
from eqlab.exactness._layout import Average
from eqlab.exactness._symmetry import Symmetry
from eqlab.trace._graph import same_outputs

__all__ = ["KINDS", "averaged", "graph_agrees", "identity", "model_point_group", "out_name", "traced"]


def traced(
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
            grid.view.rebound = True  # type: ignore[attr-defined]  # checked on values by graph_agrees
            grid.probe = probe
            return grid
    return _grid(model, size, group, example_input, probe)


def graph_agrees(grid: _Grid, inputs: torch.Tensor, base: Any) -> bool:
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


def out_name(given: Any, words: str) -> str:
    """The output action as `eqlab.nn.OrbitAverage` takes it: ``'invariant'``, ``'image'`` or, for anything
    else (group features, a callable), the user's callable."""
    if given in ("invariant", "image"):
        return repr(given)
    if given is None and words.startswith("invariant"):
        return "'invariant'"
    if given is None and words.startswith("transform the output image"):
        return "'image'"
    return "out_action (a callable (output, element) -> output)"


def identity(t: torch.Tensor, g: int) -> torch.Tensor:
    return t


def model_point_group(model: nn.Module) -> str | None:
    from eqlab.gconv._kinds import is_group_layer

    names: set[str] = set()
    for sub in model.modules():
        group: Any = getattr(sub, "group", None)
        if is_group_layer(sub) and group is not None:
            names.add(str(group.name))
    return names.pop() if len(names) == 1 else None


def averaged(
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
        return measure.end_to_end(run, inputs, sym, in_action, action, chunks=KINDS)[0], []
    measure.average(grid.probe, analysis.averages, sym)
    if view.graph_module is not grid.probe:
        measure.average(view.graph_module, analysis.averages, sym)
    depth = measure.by_depth(view, analysis, inputs, sym, in_action, action, KINDS) if grid.batched else []
    if depth and depth[-1][0] == "output":  # the graph ran every element: its output is the model's
        return depth[-1][1], depth[:-1]
    return measure.end_to_end(run, inputs, sym, in_action, action, chunks=KINDS)[0], depth


KINDS = len(measure.INPUT_SCALES)
"""The measured batch holds this many kinds of input (standard normal, raw pixels), each measured on its
own."""

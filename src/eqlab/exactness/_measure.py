"""Measure what the grid analysis predicts, in float64 on random inputs.

The measured model is a copy whose convolution filters (and dense layers reading flattened positions)
are averaged over the symmetry, so every error that remains comes from the architecture: sampling
grids, padding, resizing, slicing, and anything the rules did not see. Three measurements:

- ``end_to_end``: the whole model's output, for every element, against the output action;
- ``isolated``: each analysed node alone, on a fresh random input of its traced shape (a propagated
  input can be degenerate, all zero after a ReLU, and would make a broken node look exact);
- ``by_depth``: each analysed node's output inside the model, when the input is transformed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from eqlab.exactness._layout import Analysis, Average, Layout
from eqlab.exactness._symmetry import Symmetry
from eqlab.testing import relative_error
from eqlab.trace import TracedModel, TracedNode

__all__ = ["OutAction", "act", "average", "by_depth", "end_to_end", "isolated"]

OutAction = Callable[[torch.Tensor, int], torch.Tensor]
"""How an element (numbered as in `eqlab.exactness._symmetry`) acts on the model's output."""


def act(layout: Layout, symmetry: Symmetry, group: str | None) -> OutAction | None:
    """The action on tensors of ``layout``; ``None`` when it is not known."""
    if layout.kind == "image":
        return lambda t, g: symmetry.act_on_image(t, g)
    if layout.kind == "group" and group is not None:
        return lambda t, g: symmetry.act_on_features(t, g, group)
    if layout.kind == "group_axis" and group is not None:
        return lambda t, g: symmetry.act_on_features(t[..., None, None], g, group)[..., 0, 0]
    if layout.kind in ("invariant", "constant"):
        return lambda t, g: t
    return None


def _fetch(root: nn.Module, path: str) -> torch.Tensor | None:
    item: Any = root
    for part in path.split("."):
        if not hasattr(item, part):
            return None
        item = getattr(item, part)
    return item if isinstance(item, torch.Tensor) else None


def _flat_permutation(shape: tuple[int, int, int], symmetry: Symmetry, element: int) -> torch.Tensor:
    """``moved[j]``: the flattened position of ``x`` that lands at position ``j`` of ``flat(T_g x)``."""
    index = torch.arange(math.prod(shape)).view(*shape)
    return symmetry.act_on_image(index, element).reshape(-1)


def average(root: nn.Module, averages: list[Average], symmetry: Symmetry) -> None:
    """Average, in place, every listed parameter of ``root`` over the symmetry's elements."""
    done: set[int] = set()
    with torch.no_grad():
        for item in averages:
            weight = _fetch(root, item.path)
            if weight is None or id(weight) in done:
                continue
            done.add(id(weight))
            if item.flat is None:
                if weight.dim() < 2:
                    continue
                if symmetry.transposes and weight.shape[-1] != weight.shape[-2]:
                    continue  # a non-square filter cannot be averaged over rotations; the rows say so
                moved = [symmetry.act_on_image(weight, g) for g in symmetry.elements]
                weight.copy_(torch.stack(moved).mean(0))
            else:
                total = torch.zeros_like(weight)
                for g in symmetry.elements:
                    moved_index = _flat_permutation(item.flat, symmetry, g).to(weight.device)
                    scattered = torch.zeros_like(weight)
                    scattered[:, moved_index] = weight
                    total += scattered
                weight.copy_(total / len(symmetry.elements))


def _random_like(shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(tuple(shape), generator=generator, dtype=torch.float64)


INPUT_SCALES = ("normal", "pixels")
"""The random inputs every measurement runs on: standard normal values, and raw pixel values uniform in
[0, 255]. A model whose symmetry breaks only for some inputs (a gate that opens above 10, say) must show
it on one of them; no finite set of inputs is a proof, which is why the grid analysis must agree too."""


def chunked_error(actual: torch.Tensor, expected: torch.Tensor, chunks: int = 1) -> float:
    """The worst `eqlab.testing.relative_error` over ``chunks`` equal slices of the batch: each slice is
    one kind of input (standard normal, raw pixels; `INPUT_SCALES`), normalised by its own
    input-dependent part, so that a large-valued kind cannot drown the other's error."""
    if chunks <= 1 or actual.dim() == 0 or actual.shape[0] % chunks:
        return relative_error(actual, expected)
    size = actual.shape[0] // chunks
    return max(
        relative_error(actual[i * size : (i + 1) * size], expected[i * size : (i + 1) * size])
        for i in range(chunks)
    )


def input_batches(shape: tuple[int, ...], batch: int, generator: torch.Generator) -> list[torch.Tensor]:
    """One float64 batch ``(batch, *shape[1:])`` of each of `INPUT_SCALES`."""
    size = (batch, *shape[1:])
    normal = torch.randn(size, generator=generator, dtype=torch.float64)
    pixels = torch.rand(size, generator=generator, dtype=torch.float64) * 255
    return [normal, pixels]


def end_to_end(
    model: Any,
    x: torch.Tensor,
    symmetry: Symmetry,
    in_action: OutAction,
    out_action: OutAction,
    base: Any = None,
    chunks: int = 1,
) -> tuple[float, int, str]:
    """The worst relative error of ``model(g x)`` against ``g model(x)`` over the non-identity elements:
    ``(error, element, what went wrong)``; ``inf`` with the reason when the model fails or the shapes
    differ. ``base``: ``model(x)``, when the caller has computed it already; ``chunks``: the batch is
    that many kinds of input, each measured on its own (`chunked_error`)."""
    worst, where, note = 0.0, symmetry.elements[0], ""
    with torch.no_grad():
        base = model(x) if base is None else base
        if not isinstance(base, torch.Tensor):
            return math.inf, where, f"the model returns {type(base).__name__}, not one tensor"
        for g in symmetry.elements[1:]:
            try:
                moved = model(in_action(x, g))
            except Exception as exc:  # the model refuses the transformed input: not equivariant
                return (
                    math.inf,
                    g,
                    f"the model fails on the input transformed by {symmetry.element_name(g)}: {exc}",
                )
            expected = out_action(base, g)
            if not isinstance(moved, torch.Tensor) or moved.shape != expected.shape:
                shape = tuple(moved.shape) if isinstance(moved, torch.Tensor) else type(moved).__name__
                return (
                    math.inf,
                    g,
                    (
                        f"under {symmetry.element_name(g)} the output has shape {shape}, "
                        "but the output action "
                        f"gives {tuple(expected.shape)}"
                    ),
                )
            error = chunked_error(moved, expected, chunks)
            if not error <= worst:
                worst, where = error, g
    return worst, where, note


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], torch.Tensor):
        return value[0]
    return None


def isolated(view: TracedModel, analysis: Analysis, symmetry: Symmetry, generator: torch.Generator) -> None:
    """Fill ``row.error`` for every row whose node reads one moving tensor (float64, relative)."""
    by_name = {n.name: n for n in view.nodes}
    for row in analysis.rows:
        node = by_name[row.name]
        data = (
            node.arg("input")
            if isinstance(node.arg("input"), TracedNode)
            else (node.inputs[0] if node.inputs else None)
        )
        if data is None or data.shape is None:
            continue
        act_in = act(analysis.layouts.get(data.name, Layout("unknown")), symmetry, analysis.group)
        out_layout = analysis.layouts.get(node.name, Layout("unknown"))
        if out_layout.kind == "tuple" and out_layout.items:
            out_layout = out_layout.items[0]
        act_out = act(out_layout, symmetry, analysis.group)
        call = view.call_alone(node, data)
        if act_in is None or act_out is None or call is None:
            continue
        inp = _random_like(data.shape, generator)
        worst = 0.0
        try:
            with torch.no_grad():
                out = _first_tensor(call(inp))
                for g in symmetry.elements[1:]:
                    moved = _first_tensor(call(act_in(inp, g)))
                    if out is None or moved is None:
                        raise ValueError("no tensor output")
                    expected = act_out(out, g)
                    error = relative_error(moved, expected) if moved.shape == expected.shape else math.inf
                    worst = error if not error <= worst else worst
        except Exception:  # the node refuses the transformed input (a non-square kernel, say)
            worst = math.inf
        row.error = worst


def by_depth(
    view: TracedModel,
    analysis: Analysis,
    x: torch.Tensor,
    symmetry: Symmetry,
    in_action: OutAction,
    out_action: OutAction | None = None,
    chunks: int = 1,
) -> list[tuple[str, float]]:
    """The error of every row node's output inside the model when its input is transformed (on the first
    of ``chunks`` kinds of input); with ``out_action``, the graph's output too, on every kind, as a last
    entry named ``"output"`` (the same runs measure it, so the end-to-end error costs no extra forward
    pass). Each moved node is compared as it is computed, so only the untransformed run is held.

    A graph from torch.export is specialised to the traced shape, so it cannot run a transformed input of
    another shape (height and width swapped); those elements are left out, and a node none of whose
    elements could run gets NaN (not measured). The end-to-end measurement runs the model itself."""
    by_name = {n.name: n for n in view.nodes}
    nodes = [by_name[r.name] for r in analysis.rows]
    try:
        base_output, base = view.run(x, nodes)
    except Exception:  # a specialised graph that refuses even the untransformed batch: nothing to report
        return []
    actions: dict[str, OutAction | None] = {}
    for node in nodes:
        layout = analysis.layouts.get(node.name, Layout("unknown"))
        if layout.kind == "tuple" and layout.items:
            layout = layout.items[0]
        actions[node.name] = act(layout, symmetry, analysis.group)
    worst = {node.name: 0.0 for node in nodes}
    output_worst, ran = 0.0, 0
    for g in symmetry.elements[1:]:

        def compare(name: str, value: Any, g: int = g) -> None:  # as the moved run computes each node
            error = _error(_leading(base.get(name), chunks), _leading(value, chunks), actions[name], g, 1)
            worst[name] = error if not error <= worst[name] else worst[name]

        try:
            moved_output, _ = view.run(in_action(x, g), nodes, visit=compare)
        except Exception:  # a graph specialised to the traced shape refuses the swapped one
            continue
        ran += 1
        if out_action is not None:
            error = _error(base_output, moved_output, out_action, g, chunks)
            output_worst = error if not error <= output_worst else output_worst
    out = [(node.name, worst[node.name] if ran else math.nan) for node in nodes]
    if out_action is not None and ran == len(symmetry.elements) - 1:
        out.append(("output", output_worst))
    return out


def _leading(value: Any, chunks: int) -> Any:
    """The first of ``chunks`` equal slices of a batched tensor (the standard normal inputs): a node's
    cumulative error is a diagnosis, measured on them alone to halve the cost; the output is measured on
    every kind of input."""
    tensor = _first_tensor(value)
    if tensor is None or chunks <= 1 or tensor.dim() == 0 or tensor.shape[0] % chunks:
        return value
    return tensor[: tensor.shape[0] // chunks]


def _error(value: Any, moved: Any, action: OutAction | None, g: int, chunks: int) -> float:
    """The error of one moved output against ``action`` applied to the untransformed one."""
    value, other = _first_tensor(value), _first_tensor(moved)
    if action is None or value is None or other is None:
        return math.inf
    expected = action(value, g)
    return math.inf if other.shape != expected.shape else chunked_error(other, expected, chunks)

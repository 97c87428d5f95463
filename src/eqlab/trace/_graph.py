"""Build a graph of a model and check that it computes what the model computes.

Two ways, tried in order:

1. **torch.fx** with a tracer that keeps eqlab's layers and torch.nn's modules as leaves (fx cannot trace
   through eqlab's group layers, which branch on ``x.dim()``, and needs no more detail about them);
2. **torch.export** (non-strict), whose ATen graph is specialised to the example input's shape, so it
   follows Python control flow on shapes that fx cannot. Nodes inside one of eqlab's layers are kept
   together and stand for that layer (`nn_module_stack`).

fx can also trace a model wrongly without failing: a check that is False for its proxies
(``isinstance(x, torch.Tensor)``) drops a branch. So a graph is trusted only when it reproduces the
model's output on a random input of the example's shape; otherwise the next way is tried.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
from typing import Any

import torch
import torch.fx as fx
from torch import nn
from torch.utils import _pytree

from eqlab._arguments import describe

log = logging.getLogger(__name__)

__all__ = ["ModelFailure", "TraceFailure", "build_graph", "is_eqlab_layer", "same_outputs"]

AGREEMENT = 1e-12
"""The largest relative difference between a graph's output and the model's for the graph to count."""


class TraceFailure(RuntimeError):
    """Neither fx nor torch.export gave a graph that reproduces the model's output."""


class ModelFailure(TraceFailure):
    """The model itself fails on inputs of the example's shape (nothing to trace)."""


def _value(result: Any) -> Any:
    """What a node computed, as recorded: a tensor's shape, a tuple of shapes, or the value itself."""
    if isinstance(result, torch.Tensor):
        return result.shape
    if isinstance(result, (tuple, list)) and any(isinstance(r, torch.Tensor) for r in result):
        return tuple(_value(r) for r in result)
    return result


def _run_recording(graph: fx.GraphModule, x: torch.Tensor, values: dict[fx.Node, Any]) -> Any:
    """Run ``graph`` on ``x``, recording every node's value (`_value`) into ``values``."""

    class _Recorder(fx.Interpreter):
        def run_node(self, node: fx.Node) -> Any:
            result = super().run_node(node)
            values[node] = _value(result)
            return result

    with torch.no_grad():
        return _Recorder(graph).run(x)


def is_eqlab_layer(module: nn.Module) -> bool:
    """Whether ``module`` is one of eqlab's layers (kept whole in the graph), not a composite model."""
    from eqlab.sharing._mlp import EquivariantMLP

    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {describe(module)}")
    return type(module).__module__.startswith("eqlab.") and not isinstance(module, EquivariantMLP)


class _LeafTracer(fx.Tracer):
    """fx's tracer, with eqlab's layers as leaves besides torch.nn's."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return is_eqlab_layer(m) or super().is_leaf_module(m, module_qualified_name)


def _flat_tensors(value: Any) -> list[Any]:
    return _pytree.tree_leaves(value)


def same_outputs(a: Any, b: Any) -> tuple[bool, str]:
    """Whether two model outputs agree leaf by leaf to `AGREEMENT`, and if not, how they differ."""
    left, right = _flat_tensors(a), _flat_tensors(b)
    if len(left) != len(right):
        return False, f"{len(left)} outputs against {len(right)}"
    for i, (x, y) in enumerate(zip(left, right, strict=True)):
        if isinstance(x, torch.Tensor) != isinstance(y, torch.Tensor):
            return False, f"output {i} is a tensor on one side only"
        if not isinstance(x, torch.Tensor):
            if x != y:
                return False, f"output {i}: {x!r} against {y!r}"
            continue
        if x.shape != y.shape:
            return False, f"output {i} has shape {tuple(x.shape)} against {tuple(y.shape)}"
        xd, yd = x.detach().double(), y.detach().double()
        both_nan = torch.isnan(xd) & torch.isnan(yd)
        gap = (xd - yd).abs().masked_fill(both_nan, 0.0).nan_to_num(nan=float("inf"))
        scale = float(yd.abs().nan_to_num(nan=0.0, posinf=0.0, neginf=0.0).max()) if y.numel() else 0.0
        if y.numel() and float(gap.max()) > AGREEMENT * max(scale, 1e-300):
            return False, f"output {i} differs by {float(gap.max()):.3g} (scale {scale:.3g})"
    return True, ""


def _fx_graph(model: nn.Module) -> fx.GraphModule:
    tracer = _LeafTracer()
    graph = tracer.trace(model)
    name = type(model).__name__
    return fx.GraphModule(tracer.root, graph, name)


def _export_graph(model: nn.Module, x: torch.Tensor) -> fx.GraphModule:
    # torch.export prints the graph and logs warnings when it fails on data-dependent control flow; the
    # failure is reported by build_graph, so its chatter is kept off the user's terminal
    quiet = logging.getLogger("torch")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exported = torch.export.export(model, (x,), strict=False)
    finally:
        quiet.setLevel(level)
    module = exported.module()
    if not isinstance(module, fx.GraphModule):
        raise TraceFailure(f"torch.export gave a {type(module).__name__}, not a graph")
    return module


def _fails_itself(model: nn.Module, x: torch.Tensor) -> Any:
    """``model(x)``; `ModelFailure` when the model itself fails on ``x``."""
    try:
        with torch.no_grad():
            return model(x)
    except Exception as exc:  # the model itself refuses inputs of this shape
        raise ModelFailure(
            f"the model fails on an input of shape {tuple(x.shape)}: {type(exc).__name__}: {exc}"
        ) from exc


def build_graph(
    model: nn.Module, x: torch.Tensor
) -> tuple[fx.GraphModule, str, list[str], dict[fx.Node, Any]]:
    """A graph module computing ``model`` on inputs shaped like ``x``, and how it was made.

    Parameters
    ----------
    model
        The model, in the mode (train or eval) and dtype to analyse; it is not modified.
    x
        An input; only its shape, dtype and device are used: the check runs on a fresh random input. On
        the meta device nothing is computed, so the graph is returned unchecked (the caller reads shapes
        only, and checks the graph on values before measuring with it).

    Returns
    -------
    (graph module, ``"fx"`` or ``"export"``, why each earlier way was rejected, what each node of the
    graph computed on the random input: shapes of tensors, values of anything else)

    Raises
    ------
    ModelFailure
        when the model fails on an input of this shape.
    TraceFailure
        when no way gives a graph that reproduces the model's output, naming why each failed.
    """
    generator = torch.Generator(device="cpu").manual_seed(12345)
    probe = torch.randn(x.shape, generator=generator, dtype=torch.float64).to(dtype=x.dtype, device=x.device)
    if not x.is_floating_point() or x.device.type == "meta":
        probe = x.clone()
    shapes_only = x.device.type == "meta"  # nothing to compare: the model runs only if fx's graph fails
    expected = None if shapes_only else _fails_itself(model, probe)
    rejected: list[str] = []
    for method in ("fx", "export"):
        values: dict[fx.Node, Any] = {}
        try:
            graph = _fx_graph(model) if method == "fx" else _export_graph(copy.deepcopy(model), probe)
            got = _run_recording(graph, probe, values)
        except Exception as exc:  # any failure of a tracer means: try the next one
            if shapes_only and method == "fx":
                _fails_itself(model, probe)  # the model was not run first: does it refuse this shape?
            rejected.append(f"{method}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            log.debug("tracing with %s failed", method, exc_info=True)
            continue
        agree, why = (True, "") if shapes_only else same_outputs(got, expected)
        if agree:
            return graph, method, rejected, values
        rejected.append(f"{method}: the graph does not reproduce the model's output ({why})")
    raise TraceFailure("cannot trace the model: " + "; ".join(rejected))

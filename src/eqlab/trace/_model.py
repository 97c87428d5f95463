"""`trace_model`: one traced view of a model, shared by every checker of eqlab.

The view is a list of `TracedNode` in execution order, each with its op named, its arguments bound and
the shape it computed on the example input, plus the graph module that computes them, so a checker can
run the graph and read any node's output (`TracedModel.run`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
from torch import nn
from torch.utils import _pytree

from eqlab._arguments import describe, module, tensor
from eqlab.trace._graph import ModelFailure, build_graph, is_eqlab_layer
from eqlab.trace._nodes import TracedNode, bind_call, module_of, op_name

__all__ = ["TracedModel", "trace_model"]


@dataclass
class TracedModel:
    """A model as a graph of `TracedNode`."""

    model: nn.Module
    """The model that was traced (the caller's object)."""
    graph_module: fx.GraphModule
    """A module computing the same outputs (validated on a random input, see `eqlab.trace`)."""
    method: str
    """``"fx"`` or ``"export"``: how the graph was made."""
    nodes: list[TracedNode]
    """Every node in execution order, the input first and the output last."""
    rejected: list[str] = field(default_factory=list)
    """Why each earlier way of tracing was not used (empty when fx worked)."""
    _values: dict[fx.Node, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def input(self) -> TracedNode:
        """The model's (first) input node."""
        return next(n for n in self.nodes if n.kind == "input")

    @property
    def output(self) -> TracedNode:
        """The output node; its ``inputs`` are the output tensors."""
        return self.nodes[-1]

    def calls(self) -> list[TracedNode]:
        """The module and function nodes, in execution order."""
        return [n for n in self.nodes if n.kind in ("module", "function")]

    def run(
        self,
        x: torch.Tensor,
        record: Iterable[TracedNode] = (),
        visit: Callable[[str, Any], None] | None = None,
    ) -> tuple[Any, dict[str, Any]]:
        """Run the graph on ``x``; return its output and the outputs of the ``record`` nodes by name. With
        ``visit``, each recorded output is handed to ``visit(name, value)`` as it is computed instead of
        being kept (a large model's intermediate outputs need not all be held at once)."""
        wanted = {n.fx_node: n.name for n in record if n.fx_node is not None}
        seen: dict[str, Any] = {}

        class _Recorder(fx.Interpreter):
            def run_node(self, node: fx.Node) -> Any:
                result = super().run_node(node)
                if node in wanted:
                    if visit is None:
                        seen[wanted[node]] = result
                    else:
                        visit(wanted[node], result)
                return result

        with torch.no_grad():
            out = _Recorder(self.graph_module).run(x)
        return out, seen

    def _recorded(self) -> dict[fx.Node, Any]:
        """What each graph node computed when traced, by graph node (built once: checkers ask per node)."""
        if self._values is None:
            self._values = {n.fx_node: n.value for n in self.nodes if n.fx_node is not None}
        return self._values

    def call_alone(self, node: TracedNode, data: TracedNode) -> Callable[[torch.Tensor], Any] | None:
        """``node`` as a function of its input ``data`` alone: its module, or its function with every other
        argument as recorded (parameters from the graph); ``None`` when it reads other graph tensors."""
        if node.kind == "module":
            return node.module
        fx_node = node.fx_node
        if fx_node is None or data.fx_node is None:
            return None
        recorded = self._recorded()
        env: dict[fx.Node, Any] = {}
        for arg in fx_node.all_input_nodes:
            if arg is data.fx_node:
                continue
            if arg.op == "get_attr":
                env[arg] = _fetch_attr(self.graph_module, str(arg.target))
            elif isinstance(recorded.get(arg), torch.Size) or _holds_tensors(recorded.get(arg)):
                return None
            else:
                env[arg] = recorded.get(arg)
        target, source = fx_node.target, data.fx_node

        def call(t: torch.Tensor) -> Any:
            def fill(v: Any) -> Any:
                return t if v is source else env[v] if isinstance(v, fx.Node) else v

            args = _pytree.tree_map(fill, fx_node.args, is_leaf=lambda v: isinstance(v, fx.Node))
            kwargs = _pytree.tree_map(fill, dict(fx_node.kwargs), is_leaf=lambda v: isinstance(v, fx.Node))
            if fx_node.op == "call_method":
                return getattr(args[0], str(target))(*args[1:], **kwargs)
            return target(*args, **kwargs)  # type: ignore[operator]

        call.__name__ = node.op
        return call


def _stack_paths(node: fx.Node) -> list[tuple[str, Any]]:
    stack = node.meta.get("nn_module_stack") or {}
    return [(str(path), kind) for path, kind in stack.values()]


def _owning_layer(root: nn.Module, node: fx.Node) -> tuple[str, str] | None:
    """The call (its ``nn_module_stack`` key, unique per call) and path of the outermost eqlab layer an
    ATen node runs inside (torch.export graphs only); a layer called twice is two calls."""
    for key, (path, _kind) in (node.meta.get("nn_module_stack") or {}).items():
        try:
            sub = module_of(root, str(path))
        except AttributeError:
            continue
        if is_eqlab_layer(sub):
            return str(key), str(path)
    return None


class _Builder:
    """Turns the nodes of a graph module into `TracedNode` objects."""

    def __init__(self, root: nn.Module, graph_module: fx.GraphModule, values: dict[fx.Node, Any]) -> None:
        self.root = root
        self.graph_module = graph_module
        self.values = values
        self.made: dict[fx.Node, TracedNode] = {}
        self.nodes: list[TracedNode] = []
        self.names: set[str] = set()

    def unique(self, name: str) -> str:
        candidate, k = name, 1
        while candidate in self.names:
            k += 1
            candidate = f"{name}_{k}"
        self.names.add(candidate)
        return candidate

    def resolve(self, value: Any) -> Any:
        """Graph nodes computing tensors become `TracedNode`; other nodes become their recorded value."""

        def one(v: Any) -> Any:
            if isinstance(v, fx.Node):
                made = self.made.get(v)
                recorded = self.values.get(v)
                if made is not None and (isinstance(recorded, torch.Size) or _holds_tensors(recorded)):
                    return made
                return recorded
            return v

        return _pytree.tree_map(one, value, is_leaf=lambda v: isinstance(v, fx.Node))

    def inputs_of(self, args: Iterable[Any]) -> tuple[TracedNode, ...]:
        found: list[TracedNode] = []
        for leaf in _pytree.tree_leaves(list(args)):
            if isinstance(leaf, TracedNode) and leaf not in found:
                found.append(leaf)
        return tuple(found)

    def add(self, node: TracedNode) -> None:
        self.nodes.append(node)
        if node.fx_node is not None:
            self.made[node.fx_node] = node

    def function_name(self, node: fx.Node, op: str) -> str:
        paths = _stack_paths(node)
        where = paths[-1][0] if paths else ""
        return self.unique(f"{where}:{op}" if where else op)

    def build(self, export: bool) -> list[TracedNode]:
        units: dict[str, list[fx.Node]] = {}
        unit_paths: dict[str, str] = {}
        if export:
            for node in self.graph_module.graph.nodes:
                if node.op == "call_function":
                    owner = _owning_layer(self.root, node)
                    if owner is not None:
                        units.setdefault(owner[0], []).append(node)
                        unit_paths[owner[0]] = owner[1]
        unit_of = {n: call for call, members in units.items() for n in members}
        done_units: set[str] = set()
        for node in self.graph_module.graph.nodes:
            if node.op == "placeholder":
                self.add(
                    TracedNode(
                        self.unique("input"), "input", "input", {}, (), self.values.get(node), None, "", node
                    )
                )
            elif node.op == "get_attr":
                target = str(node.target)
                attr = _fetch_attr(self.graph_module, target)
                value = self.values.get(node, attr.shape if isinstance(attr, torch.Tensor) else attr)
                self.add(
                    TracedNode(
                        self.unique(target), "attribute", "attribute", {}, (), value, attr, target, node
                    )
                )
            elif node.op == "call_module":
                target = str(node.target)
                if target.startswith("_guards"):
                    continue
                sub = self.graph_module.get_submodule(target)
                args = self.resolve(tuple(node.args))
                bound = {"input": args[0]} if args else {}
                bound.update(self.resolve(dict(node.kwargs)))
                self.add(
                    TracedNode(
                        self.unique(target),
                        "module",
                        type(sub).__name__,
                        bound,
                        self.inputs_of(args),
                        self.values.get(node),
                        sub,
                        target,
                        node,
                    )
                )
            elif node.op in ("call_function", "call_method"):
                if node in unit_of:
                    call = unit_of[node]
                    self.unit(units[call], unit_paths[call], call, done_units)
                    continue
                op = op_name(node.target)
                args = self.resolve(tuple(node.args))
                kwargs = self.resolve(dict(node.kwargs))
                bound = bind_call(node.target, op, args, kwargs)
                if node.op == "call_method" and "input" not in bound and args:
                    bound["input"] = args[0]
                if node.target is operator.getitem:
                    bound = {"input": args[0], "index": args[1] if len(args) > 1 else None}
                paths = _stack_paths(node)
                self.add(
                    TracedNode(
                        self.function_name(node, op),
                        "function",
                        op,
                        bound,
                        self.inputs_of([*args, *kwargs.values()]),
                        self.values.get(node),
                        None,
                        paths[-1][0] if paths else "",
                        node,
                    )
                )
            elif node.op == "output":
                args = self.resolve(tuple(node.args))
                self.add(
                    TracedNode(
                        "output",
                        "output",
                        "output",
                        {"input": args[0]},
                        self.inputs_of(args),
                        None,
                        None,
                        "",
                        node,
                    )
                )
        return self.nodes

    def unit(self, members: list[fx.Node], path: str, call: str, done: set[str]) -> None:
        """One call of an eqlab layer, traced by torch.export as several ATen nodes, made one module node."""
        if call in done:
            return
        done.add(call)
        member_set = set(members)
        external: list[fx.Node] = []
        for m in members:
            for arg in m.all_input_nodes:
                if arg not in member_set and arg.op != "get_attr" and arg not in external:
                    external.append(arg)
        consumed = [m for m in members if any(user not in member_set for user in m.users)]
        last = consumed[-1] if consumed else members[-1]
        args = tuple(self.resolve(a) for a in external)
        sub = module_of(self.root, path)
        traced = TracedNode(
            self.unique(path),
            "module",
            type(sub).__name__,
            {"input": args[0]} if args else {},
            self.inputs_of(args),
            self.values.get(last),
            sub,
            path,
            last,
        )
        self.add(traced)
        for m in members:
            self.made[m] = traced


def _holds_tensors(value: Any) -> bool:
    """Whether a recorded value stands for a tuple of tensors (their shapes)."""
    return isinstance(value, tuple) and any(isinstance(v, (torch.Size, tuple)) for v in value)


def _fetch_attr(root: nn.Module, target: str) -> Any:
    item: Any = root
    for part in target.split("."):
        item = getattr(item, part)
    return item


def trace_model(model: nn.Module, example_input: torch.Tensor) -> TracedModel:
    """Trace ``model`` on inputs shaped like ``example_input``.

    Parameters
    ----------
    model
        Any module taking one tensor. It is traced as it is (mode, dtype, device) and not modified; the
        graph of the fx path shares its submodules and parameters.
    example_input
        An input, ``(B, ...)``: its shape, dtype and device are used, never its values.

    Returns
    -------
    TracedModel

    Raises
    ------
    eqlab.trace.TraceFailure
        when neither fx nor torch.export gives a graph that reproduces the model's output.
    ValueError
        when the model fails on inputs shaped like ``example_input``.

    Examples
    --------
    >>> import torch.nn.functional as F
    >>> class Net(nn.Module):
    ...     def __init__(self) -> None:
    ...         super().__init__()
    ...         self.conv = nn.Conv2d(1, 2, 3, padding=1)
    ...     def forward(self, x: torch.Tensor) -> torch.Tensor:
    ...         return F.max_pool2d(F.relu(self.conv(x)), 2)
    >>> view = trace_model(Net(), torch.zeros(1, 1, 8, 8))
    >>> [(n.name, n.op, tuple(n.shape)) for n in view.calls()]  # doctest: +NORMALIZE_WHITESPACE
    [('conv', 'Conv2d', (1, 2, 8, 8)), ('relu', 'relu', (1, 2, 8, 8)),
     ('max_pool2d', 'max_pool2d', (1, 2, 4, 4))]
    """
    module(model, "model")
    tensor(example_input, "example_input", min_ndim=1)
    try:
        graph_module, method, rejected, values = build_graph(model, example_input)
    except ModelFailure as exc:  # the model refuses inputs of this shape: a bad example_input
        raise ValueError(f"example_input of shape {tuple(example_input.shape)}: {exc}") from None
    nodes = _Builder(model, graph_module, values).build(export=method == "export")
    if not nodes or nodes[-1].kind != "output":
        raise ValueError(f"the traced graph of {describe(model)} has no output")
    return TracedModel(model, graph_module, method, nodes, rejected)

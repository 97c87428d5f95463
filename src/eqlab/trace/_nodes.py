"""`TracedNode`: one step of a traced model, with its op named and its arguments bound by name.

Every call is described in one vocabulary, whichever way the graph was made:

- a leaf module (a torch.nn module or an eqlab layer) is a ``"module"`` node; its ``op`` is the class
  name and ``module`` the module itself;
- a function, a tensor method or an ATen operator is a ``"function"`` node whose ``op`` is the ATen name
  without overload or leading underscore (``F.max_pool2d``, ``x.max_pool2d``, ``aten.max_pool2d.default``
  are all ``"max_pool2d"``; ``operator.truediv`` is ``"div"``; in-place ``relu_`` is ``"relu"``), and
  whose ``args`` are bound by parameter name (Python signature, else the ATen schema);
- the model's input is an ``"input"`` node, a parameter, buffer or constant an ``"attribute"`` node.

In ``args``, a tensor computed by the graph is the `TracedNode` that computes it; any other value (an
int from ``x.shape``, a tuple) is the value itself, as recorded when the graph ran.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx as fx
from torch import nn

__all__ = ["TracedNode", "bind_call", "op_name"]

_ALIASES = {
    "truediv": "div",
    "true_divide": "div",
    "floordiv": "floor_divide",
    "iadd": "add",
    "isub": "sub",
    "imul": "mul",
    "itruediv": "div",
    "ifloordiv": "floor_divide",
    "concat": "cat",
    "concatenate": "cat",
    "clip": "clamp",
    "absolute": "abs",
    "negative": "neg",
    "multiply": "mul",
    "subtract": "sub",
    "divide": "div",
    "pos": "positive",
    "upsample": "interpolate",
}


@dataclass(eq=False)
class TracedNode:
    """One step of the traced model."""

    name: str
    """A readable, unique name: the module's path for a module (``"layer1.0.conv1"``), the enclosing
    module's path and the op for a function (``"layer1.0:relu"``), ``"input"`` for the input."""
    kind: str
    """``"input"``, ``"attribute"``, ``"module"``, ``"function"`` or ``"output"``."""
    op: str
    """The module's class name, or the function's ATen name without overload or leading underscore
    (``F.max_pool2d``, ``x.max_pool2d`` and ``aten.max_pool2d.default`` are all ``"max_pool2d"``; in-place
    ``relu_`` is ``"relu"``)."""
    args: dict[str, Any]
    """Arguments bound by name; graph tensors appear as `TracedNode` objects."""
    inputs: tuple[TracedNode, ...]
    """The graph nodes this node reads, in argument order (tensors and tuples of tensors)."""
    value: Any
    """What the node computed when the graph ran on the example: a ``torch.Size`` for a tensor (its
    shape), a tuple of them for a tuple of tensors, the value itself for anything else."""
    module: Any = None
    """The leaf module of a ``"module"`` node; the parameter or buffer of an ``"attribute"`` node."""
    path: str = ""
    """The dotted path of the module this node is (or runs inside), ``""`` at top level."""
    fx_node: fx.Node | None = field(default=None, repr=False)
    """The node of the graph module, for running it."""

    @property
    def shape(self) -> torch.Size | None:
        """The output shape when the node computes one tensor, else ``None``."""
        return self.value if isinstance(self.value, torch.Size) else None

    @property
    def is_tuple(self) -> bool:
        """Whether the node computes a tuple of tensors (values and indices, say)."""
        return isinstance(self.value, tuple) and not isinstance(self.value, torch.Size)

    def arg(self, name: str, default: Any = None) -> Any:
        """One bound argument, or ``default``."""
        return self.args.get(name, default)

    def __repr__(self) -> str:
        return f"TracedNode({self.name!r}, {self.kind}, {self.op}, {self.value})"


def op_name(target: Any) -> str:
    """The ATen-style name of a function target (see the module docstring)."""
    if isinstance(target, torch._ops.OpOverload):
        name = target._schema.name.split("::")[-1]
    elif isinstance(target, str):
        name = target
    else:
        name = getattr(target, "__name__", type(target).__name__)
    name = name.lstrip("_")
    if name.endswith("_") and not name.endswith("__"):
        name = name[:-1]
    return _ALIASES.get(name, name)


def _schemas(name: str, target: Any) -> list[Any]:
    if isinstance(target, torch._ops.OpOverload):
        return [target._schema]
    packet = getattr(torch.ops.aten, name, None)
    if packet is None:
        return []
    out = []
    for overload in packet.overloads():
        if "out" in overload.split("_"):
            continue
        out.append(getattr(packet, overload)._schema)
    return out


def _bind_schema(schema: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    params = list(schema.arguments)
    positional = [p for p in params if not p.kwarg_only]
    if len(args) > len(positional):
        return None
    bound: dict[str, Any] = {p.name: a for p, a in zip(positional, args, strict=False)}
    names = {p.name for p in params}
    for key, value in kwargs.items():
        if key not in names:
            return None
        bound[key] = value
    for p in params:
        if p.name in bound:
            continue
        if p.has_default_value():
            bound[p.name] = p.default_value
        elif not p.kwarg_only or p.type.kind() != "OptionalType":
            return None
    return bound


_VARARGS = {"view", "reshape", "permute", "expand", "repeat", "tile", "flip", "new_zeros", "new_ones"}
_FIRST = {"getitem": ("self", "index")}


def bind_call(target: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Bind a call's arguments by parameter name: Python signature, else ATen schema, else positional
    names ``arg0, arg1, ...``. Methods whose sizes are varargs (``x.view(2, 3)``) get one ``size``."""
    if name in _VARARGS and len(args) > 2 and all(isinstance(a, (int, fx.Node)) for a in args[1:]):
        args = (args[0], tuple(args[1:]))
    if name in _FIRST and target is operator.getitem:
        return dict(zip(_FIRST[name], args, strict=False))
    if callable(target) and not isinstance(target, torch._ops.OpOverload):
        try:
            signature = inspect.signature(target)
        except (TypeError, ValueError):
            signature = None
        if signature is not None and any(
            p.kind is inspect.Parameter.VAR_POSITIONAL for p in signature.parameters.values()
        ):
            # torch's boolean_dispatch wrappers (F.max_pool2d, ...) hide the real signature
            inner = getattr(torch.nn.functional, f"_{name}", None)
            try:
                signature = inspect.signature(inner) if inner is not None else None
            except (TypeError, ValueError):
                signature = None
        if signature is not None:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                pass
            else:
                bound.apply_defaults()
                return dict(bound.arguments)
    for schema in _schemas(name, target):
        result = _bind_schema(schema, args, kwargs)
        if result is not None:
            if "self" in result and "input" not in result:
                result["input"] = result["self"]
            return result
    out = {f"arg{i}": a for i, a in enumerate(args)}
    out.update(kwargs)
    return out


def module_of(root: nn.Module, path: str) -> nn.Module:
    """The submodule at ``path`` (``""`` is the root)."""
    return root.get_submodule(path) if path else root


Resolver = Callable[[Any], Any]

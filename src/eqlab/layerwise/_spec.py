"""Permutation specs derived from the model: which parameter axes move together when hidden channels
are permuted.

git re-basin needs a hand-written ``PermutationSpec`` per architecture, and users get them wrong
(PEERS.md, section 3). Here `torch.fx` traces the model and one pass over its graph assigns every
tensor a *channel set*: a convolution or linear layer starts a new set for its outputs; batch norm,
pointwise activations, pooling and dropout keep their input's set; ``a + b`` (a residual connection)
ties the sets of ``a`` and ``b`` into one; a flatten turns a set into blocks of ``H * W`` consecutive
features of the next linear layer. The network's input and output channels are *fixed*: they are never
permuted. Anything else is refused with an error naming the node.

A permutation ``p`` of a channel set acts on every member ``(module, parameter, axis)`` in eqlab's one
convention, `eqlab.groups.act` (``src/eqlab/groups/README.md``): channel ``i`` moves to position
``p[i]``, ``new[..., p[i], ...] = old[..., i, ...]`` (whole blocks for flattened inputs), and the
permuted network computes the same function (`eqlab.layerwise._permute`).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from eqlab._arguments import module as check_module

__all__ = ["ChannelSet", "Member", "PermutationSpec", "derive_spec", "spec_of"]

_KEEP_MODULES = (
    nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.ReLU6,
    nn.Dropout, nn.Dropout2d, nn.Identity, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
)  # fmt: skip
_ACTIVATION_MODULES = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.GELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.ReLU6,
)
_KEEP_FUNCTIONS = {
    F.relu, torch.relu, F.gelu, F.silu, torch.sigmoid, torch.tanh, F.leaky_relu, F.elu, F.dropout,
    F.max_pool2d, F.avg_pool2d, F.adaptive_avg_pool2d, F.adaptive_max_pool2d,
}  # fmt: skip
_ACTIVATION_FUNCTIONS = {F.relu, torch.relu, F.gelu, F.silu, torch.sigmoid, torch.tanh, F.leaky_relu, F.elu}
_KEEP_METHODS = {"relu", "sigmoid", "tanh", "contiguous"}
_ADD = {operator.add, operator.iadd, torch.add}
_SCALE = {operator.mul, operator.truediv, torch.mul}
_NORMS = (nn.BatchNorm2d, nn.BatchNorm1d)
_NORM_PARAMS = ("weight", "bias", "running_mean", "running_var")
FIXED = -1


@dataclass(frozen=True)
class Member:
    """One parameter axis permuted with a channel set: ``module.param`` along ``axis``, each channel
    spanning ``block`` consecutive indices (a flattened ``H * W`` map feeding a linear layer)."""

    module: str
    param: str
    axis: int
    block: int = 1

    @property
    def key(self) -> str:
        """The ``state_dict`` key."""
        return f"{self.module}.{self.param}" if self.module else self.param


@dataclass
class ChannelSet:
    """Hidden channels permuted together (by one permutation): ``size`` channels, the parameter axes they
    index, and the traced nodes whose outputs carry them on dimension 1 (``activations``: after a
    nonlinearity). ``name`` is the layer whose outputs start the set."""

    name: str
    size: int
    members: list[Member] = field(default_factory=list)
    activations: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)


@dataclass
class PermutationSpec:
    """The channel sets of a model, its weighted layers in order, and the traced graph."""

    channel_sets: list[ChannelSet]
    layers: list[str]
    graph: fx.GraphModule
    flattened: dict[str, int] = field(default_factory=dict)
    """Linear layers reading a flattened map: module name -> ``H * W`` per channel (-1: the input)."""
    layer_nodes: dict[str, str] = field(default_factory=dict)
    """Weighted layer (module name) -> the traced node of its output."""

    def param_axes(self) -> dict[str, list[tuple[int, int, int]]]:
        """``state_dict`` key -> ``[(axis, channel set index, block), ...]``."""
        out: dict[str, list[tuple[int, int, int]]] = {}
        for index, channels in enumerate(self.channel_sets):
            for m in channels.members:
                out.setdefault(m.key, []).append((m.axis, index, m.block))
        return out


class _Sets:
    """Union-find over channel sets, with the fixed input/output channels as one class."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {FIXED: FIXED}
        self.size: dict[int, int] = {}
        self.origin: dict[int, str] = {}

    def new(self, size: int, origin: str) -> int:
        g = len(self.size)
        self.parent[g], self.size[g], self.origin[g] = g, size, origin
        return g

    def find(self, g: int) -> int:
        while self.parent[g] != g:
            self.parent[g] = self.parent[self.parent[g]]
            g = self.parent[g]
        return g

    def union(self, a: int, b: int, where: str) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if FIXED in (ra, rb):
            self.parent[ra if ra != FIXED else rb] = FIXED
            return FIXED
        if self.size[ra] != self.size[rb]:
            raise ValueError(
                f"{where} adds tensors of {self.size[ra]} and {self.size[rb]} channels ({self.origin[ra]}, "
                f"{self.origin[rb]})"
            )
        self.parent[rb] = ra
        return ra


def _unsupported(node: fx.Node, what: str) -> ValueError:
    return ValueError(
        f"eqlab.layerwise cannot derive channel permutations through {what} (traced node {node.name!r}); "
        "supported: Conv2d, Linear, BatchNorm, pointwise activations, pooling, dropout, flatten, "
        "residual additions"
    )


def _flatten_start(node: fx.Node) -> int:
    start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
    return start if isinstance(start, int) else -1


def _trace(model: nn.Module) -> fx.GraphModule:
    """The one `torch.fx` trace behind a spec (the tests count its calls)."""
    return fx.symbolic_trace(model)


def derive_spec(model: nn.Module) -> PermutationSpec:
    """Trace ``model`` with `torch.fx` and derive its channel sets (see the module docstring).

    Raises
    ------
    ValueError
        For a module or operation whose channel behaviour is unknown, naming it.
    """
    return spec_of(model, "model")


def spec_of(model: Any, name: str) -> PermutationSpec:
    """`derive_spec` of the argument ``name``: errors start with the argument's name."""
    check_module(model, name)
    try:
        return _derive(model)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc.__cause__


def _derive(model: nn.Module) -> PermutationSpec:
    try:
        graph = _trace(model)
    except Exception as exc:  # fx raises many kinds; the message is what matters
        raise ValueError(f"torch.fx could not trace {type(model).__name__}: {exc}") from exc
    modules = dict(graph.named_modules())
    sets = _Sets()
    value: dict[fx.Node, int] = {}  # node -> channel set of dim 1
    flat: dict[fx.Node, int] = {}  # node -> set of a flattened (B, C * H * W) tensor
    members: list[tuple[int, Member]] = []
    tags: list[tuple[int, str, bool]] = []  # (set, node name, after a nonlinearity)
    layers: list[str] = []
    flattened: dict[str, int] = {}
    layer_nodes: dict[str, str] = {}

    def set_of(arg: Any) -> int:
        if not isinstance(arg, fx.Node) or arg not in value:
            raise _unsupported(arg if isinstance(arg, fx.Node) else node, "a non-tensor input")
        return value[arg]

    for node in graph.graph.nodes:
        if node.op == "placeholder":
            value[node] = FIXED
        elif node.op == "output":
            out = node.args[0]
            if isinstance(out, fx.Node) and out in value:
                sets.union(value[out], FIXED, "the output")
            elif isinstance(out, fx.Node) and out in flat:
                sets.union(flat[out], FIXED, "the output")
            else:
                raise _unsupported(node, "an output that is not one tensor")
        elif node.op == "call_module":
            module = modules[str(node.target)]
            name = str(node.target)
            source = node.args[0]
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                block = 1
                if isinstance(module, nn.Conv2d):
                    if module.groups != 1:
                        raise _unsupported(node, f"a grouped Conv2d ({name}, groups={module.groups})")
                    g_in, g = set_of(source), sets.new(module.out_channels, name)
                elif isinstance(source, fx.Node) and source in flat:
                    g_in, g = flat[source], sets.new(module.out_features, name)
                    size = sets.size[sets.find(g_in)] if sets.find(g_in) != FIXED else None
                    block = module.in_features // size if size else 1
                    flattened[name] = block if size else -1  # -1: the flattened input, size unknown
                else:
                    g_in, g = set_of(source), sets.new(module.out_features, name)
                members += [(g, Member(name, "weight", 0)), (g_in, Member(name, "weight", 1, block))]
                if module.bias is not None:
                    members.append((g, Member(name, "bias", 0)))
                value[node] = g
                layers.append(name)
                layer_nodes[name] = node.name
                tags.append((g, node.name, False))
            elif isinstance(module, _NORMS):
                g = set_of(source)
                members += [(g, Member(name, p, 0)) for p in _NORM_PARAMS if getattr(module, p) is not None]
                value[node] = g
                tags.append((g, node.name, False))
            elif isinstance(module, nn.Flatten):
                if module.start_dim != 1:
                    raise _unsupported(node, f"Flatten with start_dim={module.start_dim} ({name})")
                flat[node] = set_of(source)
            elif isinstance(module, _KEEP_MODULES):
                if isinstance(source, fx.Node) and source in flat:
                    flat[node] = flat[source]
                else:
                    value[node] = set_of(source)
                    tags.append((value[node], node.name, isinstance(module, _ACTIVATION_MODULES)))
            else:
                raise _unsupported(node, f"module {name} ({type(module).__name__})")
        elif node.op == "call_function":
            tensors = [a for a in node.args if isinstance(a, fx.Node)]
            if node.target in _ADD and len(tensors) == 2:
                value[node] = sets.union(set_of(tensors[0]), set_of(tensors[1]), f"node {node.name!r}")
                tags.append((value[node], node.name, False))
            elif (node.target in _SCALE or node.target in _ADD) and len(tensors) == 1:
                value[node] = set_of(tensors[0])
            elif node.target in _KEEP_FUNCTIONS:
                value[node] = set_of(node.args[0])
                tags.append((value[node], node.name, node.target in _ACTIVATION_FUNCTIONS))
            elif node.target is torch.flatten and _flatten_start(node) == 1:
                flat[node] = set_of(node.args[0])
            else:
                raise _unsupported(node, f"function {getattr(node.target, '__name__', node.target)}")
        elif node.op == "call_method":
            if node.target in _KEEP_METHODS:
                value[node] = set_of(node.args[0])
                tags.append((value[node], node.name, node.target != "contiguous"))
            elif node.target == "flatten" and _flatten_start(node) == 1:
                flat[node] = set_of(node.args[0])
            elif node.target in ("mean", "amax", "sum") and _spatial_dims(node):
                value[node] = set_of(node.args[0])
            else:
                raise _unsupported(node, f"method .{node.target}() (use nn.Flatten or torch.flatten(x, 1))")
        else:
            raise _unsupported(node, f"{node.op} {node.target}")

    roots: dict[int, ChannelSet] = {}
    for g, member in members:
        root = sets.find(g)
        if root == FIXED:
            continue
        channels = roots.setdefault(root, ChannelSet(sets.origin[root], sets.size[root]))
        channels.members.append(member)
    for g, name, activated in tags:
        root = sets.find(g)
        if root in roots:
            roots[root].features.append(name)
            if activated:
                roots[root].activations.append(name)
    return PermutationSpec(list(roots.values()), layers, graph, flattened, layer_nodes)


def _spatial_dims(node: fx.Node) -> bool:
    dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
    if isinstance(dims, int):
        dims = (dims,)
    return isinstance(dims, (tuple, list)) and all(d in (2, 3, -1, -2) for d in dims)

"""Layouts, rows and the analysis state shared by the rules of `eqlab.exactness._rules`.

Every tensor carries a *layout*, saying how the symmetry acts on it:

| layout | the tensor | the action |
| --- | --- | --- |
| ``image`` | ``(..., H, W)`` | transform the plane (the last two axes) |
| ``group`` | ``(..., |G|, H, W)``, from eqlab's group layers | transform the plane, permute the group axis |
| ``group_axis`` | ``(..., |G|)``, group features pooled over the plane | permute the group axis |
| ``invariant`` | anything that does not move (pooled features, logits) | none |
| ``constant`` | a parameter, buffer or constant | none: it never moves, so it must be symmetric itself |
| ``flat`` | an image flattened to ``(B, C H W)`` | permute the flattened positions |
| ``unknown`` | anything else | not understood |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eqlab.exactness._symmetry import Symmetry
from eqlab.trace import TracedNode

__all__ = [
    "GROUP",
    "IMAGE",
    "INVARIANT",
    "MOVING",
    "UNKNOWN",
    "VALUE",
    "Analysis",
    "Average",
    "Context",
    "LayerExactness",
    "Layout",
]

Pair = tuple[int, int]


@dataclass(frozen=True)
class Layout:
    """How the symmetry acts on one tensor (see the module docstring)."""

    kind: str
    flat: tuple[int, int, int] | None = None  # (C, H, W) of a flattened image
    items: tuple[Layout, ...] = ()  # the layouts of a tuple's entries
    spatial_extent: int = 1  # for constants: the product of their last two dims


IMAGE, GROUP, INVARIANT, UNKNOWN = Layout("image"), Layout("group"), Layout("invariant"), Layout("unknown")


VALUE = Layout("value")  # not a tensor (a shape, an int)
MOVING = ("image", "group", "group_axis", "flat", "unknown")
"""Layouts of tensors that move under the symmetry (or might: unknown)."""


@dataclass
class LayerExactness:
    """One node that touches the plane: its geometry at the traced size and whether it commutes.

    Attributes
    ----------
    name, kind
        The node's name in the traced model and its module class or function name.
    rule
        ``"window"`` (convolution, pooling), ``"transposed"``, ``"adaptive"``, ``"pad"``, ``"resize"``,
        ``"slice"``, ``"dense"`` (a dense layer reading flattened positions) or ``"not understood"``.
    kernel, stride, padding, dilation, ceil_mode
        The window geometry (``padding`` is ``(before, after)`` along height, then width); neutral values
        for other rules.
    input_size
        Height and width of its input.
    offset
        Pixels by which the mirrored grid misses itself along height and width (0 = exact).
    error
        Measured in isolation on a random input, float64, relative (``None`` until measured).
    effect
        What it does to the symmetry, in words.
    understood
        Whether a rule covers the node.
    symmetric
        Whether its geometry is the same along height and width (needed when the symmetry swaps them).
    axes, transposes
        What the checked symmetry needs: the axes whose offset must be 0, and whether ``symmetric`` must
        hold.
    pooling
        For a pooling window: ``(kind, count_include_pad, divisor_override)``, kind ``"max"`` or ``"avg"``.
    slices
        For a slice: ``(start, stop, step)`` along height, then width.
    """

    name: str
    kind: str
    kernel: Pair
    stride: Pair
    padding: tuple[Pair, Pair]
    dilation: Pair
    ceil_mode: bool
    input_size: Pair
    offset: tuple[float, float]
    error: float | None = None
    rule: str = "window"
    effect: str = ""
    understood: bool = True
    symmetric: bool = True
    axes: tuple[int, ...] = (0, 1)
    transposes: bool = True
    pooling: tuple[str, bool, int | None] | None = None
    slices: tuple[tuple[int | None, int | None, int | None], ...] | None = None

    @property
    def exact(self) -> bool:
        """Whether the node commutes with every element of the symmetry (its grid maps onto itself)."""
        if not self.understood:
            return False
        if self.transposes and not self.symmetric:
            return False
        return all(self.offset[a] == 0 for a in self.axes)

    @property
    def subsamples(self) -> bool:
        """Whether it changes the grid (stride > 1, asymmetric padding, adaptive pooling, resizing,
        slicing, a transposed convolution)."""
        asymmetric = any(before != after for before, after in self.padding)
        changes = self.rule in ("adaptive", "resize", "slice", "transposed", "dense")
        return self.stride != (1, 1) or asymmetric or changes or self.kind.startswith("Adaptive")


@dataclass(frozen=True)
class Average:
    """A parameter the measured copy averages over the symmetry: a convolution filter (``flat`` None)
    or the weight of a dense layer reading flattened ``(C, H, W)`` positions."""

    path: str
    flat: tuple[int, int, int] | None = None


@dataclass
class Analysis:
    """The rules applied to a whole traced model."""

    rows: list[LayerExactness]
    layouts: dict[str, Layout]
    output: Layout
    averages: list[Average] = field(default_factory=list)
    group: str | None = None  # "p4" or "p4m" when the model has eqlab group layers

    @property
    def understood(self) -> bool:
        """Whether a rule covers every node that touches the plane."""
        return all(r.understood for r in self.rows)

    @property
    def exact(self) -> bool | None:
        """The grid's prediction: every node commutes (``None`` when a node is not understood). How the
        output moves is a separate question (`output`, or the caller's ``out_action``)."""
        if not self.understood:
            return None
        return all(r.exact for r in self.rows)


@dataclass
class Context:
    symmetry: Symmetry
    layouts: dict[str, Layout]
    rows: list[LayerExactness]
    averages: list[Average]
    groups: set[str]

    def layout(self, value: Any) -> Layout:
        if isinstance(value, TracedNode):
            return self.layouts.get(value.name, UNKNOWN)
        if isinstance(value, (list, tuple)) and any(isinstance(v, TracedNode) for v in value):
            return Layout("tuple", items=tuple(self.layout(v) for v in value))
        return VALUE

    def row(self, node: TracedNode, rule: str, size: Pair, **fields: Any) -> LayerExactness:
        row = LayerExactness(
            name=node.name,
            kind=node.op,
            kernel=fields.pop("kernel", (1, 1)),
            stride=fields.pop("stride", (1, 1)),
            padding=fields.pop("padding", ((0, 0), (0, 0))),
            dilation=fields.pop("dilation", (1, 1)),
            ceil_mode=fields.pop("ceil_mode", False),
            input_size=size,
            offset=fields.pop("offset", (0, 0)),
            rule=rule,
            axes=self.symmetry.axes,
            transposes=self.symmetry.transposes,
            **fields,
        )
        self.rows.append(row)
        return row

    def not_understood(self, node: TracedNode, why: str) -> Layout:
        """A row saying no rule covers the node, unless it only reads what an earlier node already left
        unknown (that node's row names the cause); the output is unknown either way."""
        if any(self.layout(i).kind == "unknown" for i in node.inputs):
            return UNKNOWN
        size = plane(node.inputs[0]) if node.inputs else (0, 0)
        self.row(node, "not understood", size, understood=False, effect=why)
        return UNKNOWN


def pair(value: Any) -> Pair:
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            return (int(value[0]), int(value[0]))
        return (int(value[0]), int(value[1]))
    return (int(value), int(value))


def plane(node: TracedNode) -> Pair:
    shape = node.shape
    if shape is None or len(shape) < 2:
        return (0, 0)
    return (int(shape[-2]), int(shape[-1]))


def data_input(node: TracedNode) -> TracedNode | None:
    value = node.arg("input")
    if isinstance(value, TracedNode):
        return value
    return node.inputs[0] if node.inputs else None


MOVED_AXES = {"image": 2, "group": 3, "group_axis": 1}
"""How many trailing axes the symmetry moves in a tensor of each layout (the plane, and the group axis)."""


def extent(shape: Any, axes: int) -> int:
    """How many entries a tensor of ``shape`` has along its last ``axes`` axes (1: it broadcasts)."""
    if shape is None:
        return 1
    sizes = [int(v) for v in tuple(shape)[-axes:]] if axes else []
    out = 1
    for v in sizes:
        out *= v
    return out


def text(pair: tuple[Any, ...]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"

"""The subsampling exactness analyser: is this network exactly rotation/reflection equivariant at this
input size, and if not, which layer breaks it and by how many pixels?

`check` traces the input size of every spatial layer with forward hooks on a dummy input, applies the
grid condition of `eqlab.exactness.grid` to each subsampling layer, and (with ``confirm=True``)
measures the equivariance error in float64, per layer in isolation (each layer fed a random input of
its traced shape and the transformed version of it, so one broken layer does not make every later one
look broken, and a degenerate input cannot make a broken layer look exact) and cumulatively by depth.
Plain ``Conv2d`` layers are measured on copies whose filters are averaged over the point group: a
generic filter is never rotation-equivariant, whatever the stride.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from eqlab.exactness.grid import adaptive_offset, axis_offset
from eqlab.gconv.conv import GroupConv2d, LiftingConv2d, _GroupConvBase
from eqlab.gconv.pointgroup import PointGroup, point_group

__all__ = ["ExactnessReport", "LayerExactness", "check", "exact_sizes", "nearest_exact_sizes"]

_PADS = (nn.ZeroPad2d, nn.ConstantPad2d, nn.ReflectionPad2d, nn.ReplicationPad2d)
_SPATIAL = (
    nn.Conv2d,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool2d,
    _GroupConvBase,
    *_PADS,
)


@dataclass
class LayerExactness:
    """One spatial layer: its geometry at the traced input size, and whether its grid maps onto itself."""

    name: str
    kind: str
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]  # (before, after) along height, then width
    dilation: tuple[int, int]
    ceil_mode: bool
    input_size: tuple[int, int]
    offset: tuple[int, int]  # pixels off along height and width (0 = exact)
    error: float | None = None  # measured in isolation, float64 relative

    @property
    def exact(self) -> bool:
        """Whether the sampling grid maps onto itself along both axes."""
        return self.offset == (0, 0)

    @property
    def subsamples(self) -> bool:
        """Whether the layer changes the grid (stride > 1, asymmetric padding, adaptive pooling)."""
        asymmetric = any(before != after for before, after in self.padding)
        return self.stride != (1, 1) or asymmetric or self.kind.startswith("Adaptive")


@dataclass
class ExactnessReport:
    """The verdict for one model at one input size."""

    input_size: tuple[int, int]
    group: str
    layers: list[LayerExactness]
    spatial_layers: list[LayerExactness] = field(default_factory=list)
    depth_errors: list[tuple[str, float]] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Whether every subsampling layer's grid maps onto itself."""
        return all(layer.exact for layer in self.layers)

    def table(self) -> str:
        """A plain-text table: one row per subsampling layer, verdict and measured error side by side."""
        head = (
            f"{'layer':24s} {'kind':18s} {'k':>5s} {'s':>5s} {'pad (h; w)':>14s} {'d':>5s} {'input':>9s} "
            f"{'off':>6s} {'exact':>6s} {'error':>9s}"
        )
        rows = [head, "-" * len(head)]
        for layer in self.layers:
            pad = f"{layer.padding[0][0]},{layer.padding[0][1]};{layer.padding[1][0]},{layer.padding[1][1]}"
            error = "" if layer.error is None else f"{layer.error:.1e}"
            rows.append(
                f"{layer.name[:24]:24s} {layer.kind[:18]:18s} {_pair_text(layer.kernel):>5s} "
                f"{_pair_text(layer.stride):>5s} "
                f"{pad:>14s} {_pair_text(layer.dilation):>5s} {_pair_text(layer.input_size):>9s} "
                f"{_pair_text(layer.offset):>6s} {'yes' if layer.exact else 'NO':>6s} {error:>9s}"
            )
        verdict = "exact" if self.exact else "NOT exact"
        rows.append(f"{self.group} at input {_pair_text(self.input_size)}: {verdict}")
        return "\n".join(rows)


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _pair(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _geometry(module: nn.Module, size: tuple[int, int]) -> tuple[Any, ...]:
    """(kind, kernel, stride, padding, dilation, ceil_mode, offset) of one spatial layer."""
    kind = type(module).__name__
    kernel: Any
    stride: Any
    padding: Any
    dilation: Any
    offset: Any
    if isinstance(module, _PADS):
        left, right, top, bottom = module.padding
        padding = ((top, bottom), (left, right))
        return kind, (1, 1), (1, 1), padding, (1, 1), False, (top - bottom, left - right)
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        requested = module.output_size if module.output_size is not None else size
        requested = (requested, requested) if isinstance(requested, int) else requested
        out = (
            int(requested[0]) if requested[0] is not None else size[0],
            int(requested[1]) if requested[1] is not None else size[1],
        )
        offset = (adaptive_offset(size[0], out[0]), adaptive_offset(size[1], out[1]))
        return kind, out, (1, 1), ((0, 0), (0, 0)), (1, 1), False, offset
    if isinstance(module, _GroupConvBase):
        kernel = (module.kernel_size, module.kernel_size)
        stride, dilation, ceil_mode = module.stride, module.dilation, False
        padding = tuple((p, p) for p in module.padding)
    elif isinstance(module, nn.Conv2d):
        kernel, stride, dilation, ceil_mode = (
            _pair(module.kernel_size),
            _pair(module.stride),
            _pair(module.dilation),
            False,
        )
        if isinstance(module.padding, str):
            totals = (
                [0, 0]
                if module.padding == "valid"
                else [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
            )
            padding = tuple((t // 2, t - t // 2) for t in totals)
        else:
            padding = tuple((p, p) for p in _pair(module.padding))
    else:  # MaxPool2d / AvgPool2d and their group versions
        kernel = _pair(module.kernel_size)
        stride = _pair(module.stride if module.stride is not None else module.kernel_size)
        dilation = _pair(getattr(module, "dilation", 1))
        ceil_mode = bool(module.ceil_mode)
        padding = tuple((p, p) for p in _pair(module.padding))
    offset = tuple(
        axis_offset(n, k, s, pad, d, ceil_mode)
        for n, k, s, pad, d in zip(size, kernel, stride, padding, dilation, strict=True)
    )
    return kind, kernel, stride, padding, dilation, ceil_mode, offset


def _model_group(model: nn.Module, group: str | None) -> str:
    found = {m.group for m in model.modules() if isinstance(m, _GroupConvBase)}
    if group is not None:
        return group
    if len(found) > 1:
        raise ValueError(f"the model mixes point groups {sorted(found)}; pass group=")
    return found.pop() if found else "p4"


def _dummy_input(model: nn.Module, size: tuple[int, int], dtype: torch.dtype) -> torch.Tensor:
    for module in model.modules():
        if isinstance(module, GroupConv2d):
            return torch.zeros(1, module.in_channels, module.pg.order, *size, dtype=dtype)
        if isinstance(module, (LiftingConv2d, nn.Conv2d)):
            return torch.zeros(1, module.in_channels, *size, dtype=dtype)
    raise ValueError(
        "the model has no Conv2d, LiftingConv2d or GroupConv2d to tell its input channels; "
        "pass example_input="
    )


def _spatial_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    out: list[tuple[str, nn.Module]] = []
    for name, module in model.named_modules():
        if isinstance(module, _SPATIAL) and not any(isinstance(c, _SPATIAL) for c in module.children()):
            out.append((name or type(module).__name__, module))
    return out


def _run_with_hooks(
    model: nn.Module, x: torch.Tensor, modules: Sequence[tuple[str, nn.Module]]
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    handles = []
    for name, module in modules:

        def hook(_m: nn.Module, args: tuple[Any, ...], out: Any, name: str = name) -> None:
            if name not in seen:  # a module called twice keeps its first call
                seen[name] = (args[0].detach(), out.detach())

        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def _act(pg: PointGroup, x: torch.Tensor, g: int) -> torch.Tensor:
    if x.dim() == 5 and x.shape[2] == pg.order:
        return pg.act_on_features(x, g)
    return pg.act_on_image(x, g)


def _symmetrise_filters(model: nn.Module, pg: PointGroup) -> None:
    """Average every plain Conv2d filter over the point group (in place), making it invariant."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d) and module.kernel_size[0] == module.kernel_size[1]:
            with torch.no_grad():
                module.weight.copy_(
                    torch.stack([pg.act_on_image(module.weight, g) for g in range(pg.order)]).mean(0)
                )


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-300))


def check(
    model: nn.Module,
    input_size: int | tuple[int, int],
    *,
    confirm: bool = True,
    group: str | None = None,
    example_input: torch.Tensor | None = None,
    seed: int = 0,
) -> ExactnessReport:
    """Check every subsampling layer of ``model`` at ``input_size`` and (``confirm``) measure the error.

    Parameters
    ----------
    model
        Any module built from Conv2d, MaxPool2d, AvgPool2d, adaptive pooling, padding layers, eqlab's
        group layers, Sequential and residual blocks. It is not modified.
    input_size
        Height and width of the input (an int for square inputs).
    confirm
        Also measure float64 equivariance errors (per layer in isolation, and by depth).
    group
        Point group for the measurement; default: the group of the model's eqlab layers, else ``"p4"``.
    example_input
        An input to trace with, when the first layer does not tell the input channels.
    seed
        Seeds the random input of the measurement.
    """
    size = _pair(input_size)
    group = _model_group(model, group)
    pg = point_group(group)
    probe = copy.deepcopy(model).double().eval()
    modules = _spatial_modules(probe)
    x = example_input.double() if example_input is not None else _dummy_input(probe, size, torch.float64)
    traced = _run_with_hooks(probe, x, modules)
    spatial = []
    for name, _module in modules:
        if name not in traced:
            continue  # not on the forward path
        inp = traced[name][0]
        kind, kernel, stride, padding, dilation, ceil_mode, offset = _geometry(
            _module, (inp.shape[-2], inp.shape[-1])
        )
        spatial.append(
            LayerExactness(
                name,
                kind,
                kernel,
                stride,
                padding,
                dilation,
                ceil_mode,
                (int(inp.shape[-2]), int(inp.shape[-1])),
                offset,
            )
        )
    report = ExactnessReport(size, group, [s for s in spatial if s.subsamples], spatial)
    if confirm and size[0] == size[1]:
        _measure(probe, modules, report, x.shape, pg, seed)
    return report


def _measure(
    probe: nn.Module,
    modules: Sequence[tuple[str, nn.Module]],
    report: ExactnessReport,
    shape: Sequence[int],
    pg: PointGroup,
    seed: int,
) -> None:
    _symmetrise_filters(probe, pg)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, *shape[1:], generator=gen, dtype=torch.float64)
    base = _run_with_hooks(probe, x, modules)
    by_name = dict(modules)
    elements = range(1, pg.order)
    for layer in report.spatial_layers:
        # a fresh random input of the traced shape: the propagated one may be degenerate (all zero
        # after a ReLU), which would make any layer look exact
        inp = torch.randn(base[layer.name][0].shape, generator=gen, dtype=torch.float64)
        module = by_name[layer.name]
        with torch.no_grad():
            out = module(inp)
            layer.error = max(_relative(module(_act(pg, inp, g)), _act(pg, out, g)) for g in elements)
    moved = {g: _run_with_hooks(probe, _act(pg, x, g), modules) for g in elements}
    for layer in report.spatial_layers:
        out = base[layer.name][1]
        report.depth_errors.append(
            (layer.name, max(_relative(moved[g][layer.name][1], _act(pg, out, g)) for g in elements))
        )


def exact_sizes(model: nn.Module, sizes: Iterable[int]) -> list[int]:
    """The sizes in ``sizes`` at which every subsampling layer of ``model`` is exact (no measurement)."""
    return [n for n in sizes if check(model, n, confirm=False).exact]


def nearest_exact_sizes(model: nn.Module, size: int, radius: int = 16) -> tuple[int | None, int | None]:
    """The nearest exact input sizes below and above ``size`` (within ``radius``), ``None`` if none."""
    below = exact_sizes(model, range(size - 1, max(size - radius, 0), -1))
    above = exact_sizes(model, range(size + 1, size + radius + 1))
    return (below[0] if below else None, above[0] if above else None)

"""The fixes `eqlab.audit` proposes, each applied to a copy of the model and measured.

- **input size**: the nearest sizes below and above at which every sampling grid maps onto itself
  (`eqlab.exactness._symbolic`), with the crop or pad that makes inputs of that size; checked by
  measuring the averaged copy at the new size.
- **layer geometry**: for each strided window whose grid misses its mirror image, the kernel and padding
  that keep its output size and remove the offset; checked by analysing and measuring the changed copy.
- **group average**: for a plain CNN with an invariant output, `eqlab.layerwise.group_average` (Bökman &
  Kahl), measured, with the accuracy it keeps on ``data``.
- **orbit average**: the model averaged over the orbit of its input (`OrbitAverage`), exact at every
  size for ``|G|`` times the cost.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from eqlab._audit._report import Fix
from eqlab.exactness import _measure as measure
from eqlab.exactness._analyser import (
    EXACT,
    _float64_copy,
    _Grid,
    _grid,
    _meta_copy,
    _ModelRefusesInput,
    _OneByOne,
    size_scan,
)
from eqlab.exactness._grid import axis_offset, output_length
from eqlab.exactness._layout import LayerExactness
from eqlab.exactness._symmetry import Symmetry
from eqlab.nn._orbit import OrbitAverage

__all__ = ["Setting", "geometry_fix", "group_average_fix", "orbit_fix", "size_fixes"]

SEARCH_RADIUS = 32
"""How far (pixels) below and above the audited size the input-size fix looks (never below half of it,
where the image would be another image)."""


@dataclass
class Setting:
    """What every fix needs: the audited model and how it was measured."""

    model: nn.Module
    symmetry: Symmetry
    group: str | None  # the symmetry's name as `exactness` takes it
    size: tuple[int, int]
    grid: _Grid  # its probe is the float64 copy with averaged filters
    in_action: measure.OutAction
    out_action: measure.OutAction
    generator: torch.Generator
    tolerance: float
    out_name: str = "'invariant'"  # the output action as `OrbitAverage` takes it, in words

    def measure(self, probe: Any, x: torch.Tensor) -> float:
        """Worst float64 error of ``probe`` on ``x`` over the identity and the symmetry's generators
        (`GENERATORS`): equivariance to the generators is equivariance to the group, so this checks a
        promise of exact equivariance with fewer forward passes than every element would take."""
        generators = replace(self.symmetry, elements=GENERATORS[self.symmetry.name])
        run = probe if self.grid.batched else _OneByOne(probe)
        kinds = len(measure.INPUT_SCALES)
        return measure.end_to_end(run, x, generators, self.in_action, self.out_action, chunks=kinds)[0]

    def check_input(self, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Float64 inputs ``(2, C, H, W)`` at ``size`` (default the audited size) to check a fix on: one
        of each of `eqlab.exactness._measure.INPUT_SCALES` (standard normal, raw pixels)."""
        height, width = self.size if size is None else size
        shape = (1, *self.grid.shape[1:-2], height, width)
        return torch.cat(measure.input_batches(shape, 1, self.generator))


GENERATORS = {"p4": (0, 1), "p4m": (0, 1, 4), "rot180": (0, 2), "hflip": (0, 4), "vflip": (0, 6)}
"""The identity and a generating set of each symmetry (D4 numbering): equivariance to the generators
is equivariance to the group."""


def _averaged_error(setting: Setting, probe: nn.Module, size: int, average: bool) -> tuple[float, _Grid]:
    """The error of the float64 ``probe`` at a square ``size`` (its filters averaged first when
    ``average``), and the grid analysis there."""
    shapes = _meta_copy(probe)  # the analysis needs shapes only: no float64 forward to trace
    example = torch.zeros((1, *setting.grid.shape[1:-2], size, size), device="meta")
    try:
        grid = _grid(probe, (size, size), setting.group, example, probe if shapes is None else shapes)
    except _ModelRefusesInput:
        grid = _grid(probe, (size, size), setting.group, example, probe)
    if average and grid.analysis is not None:
        measure.average(probe, grid.analysis.averages, setting.symmetry)
    return setting.measure(probe, setting.check_input((size, size))), grid


def size_fixes(setting: Setting) -> tuple[list[Fix], list[str]]:
    """The nearest exact square sizes below and above, each measured on the averaged copy, and what the
    size scan noted (heads that fix the size, sizes read from the data)."""
    height, width = setting.size
    if height != width:
        return [], ["no input-size fix for a non-square input"]
    sizes = list(range(max(2, height // 2, height - SEARCH_RADIUS), height + SEARCH_RADIUS + 1))
    scan = size_scan(setting.model, sizes, setting.group, input_shape=setting.grid.shape)
    exact = [n for n, ok in zip(sizes, scan.exact.tolist(), strict=True) if ok and n != height]
    below = [n for n in exact if n < height]
    above = [n for n in exact if n > height]
    fixes = []
    for new in ([below[-1]] if below else []) + ([above[0]] if above else []):
        try:
            error, grid = _averaged_error(setting, setting.grid.probe, new, average=False)
        except _ModelRefusesInput:  # the scan said it runs there; the model says no: no fix at this size
            continue
        predicted = grid.report.grid_exact
        gap = abs(new - height)
        first, second = gap // 2, gap - gap // 2
        lines = "1 row and column" if gap == 1 else f"{gap} rows and columns"
        if new < height:
            how = f"crop {lines}, e.g. x[..., {first}:{first + new}, {first}:{first + new}]"
        else:
            how = f"pad {lines}, e.g. F.pad(x, ({first}, {second}, {first}, {second}))"
        fixes.append(
            Fix(
                kind="input size",
                change=f"use inputs of {new} x {new} instead of {height} x {width}: {how}",
                promise=(
                    f"every sampling grid maps onto itself at {new}, so a model with symmetric filters is "
                    f"exactly equivariant for inputs made at {new} (their rotation centre differs)"
                ),
                measured_error=error,
                verified=predicted is True and error <= EXACT,
                details={"size": new, "crop" if new < height else "pad": gap},
            )
        )
    if not fixes:
        scan.notes.append(f"no size within {SEARCH_RADIUS} pixels of {height} is exact")
    return fixes, [f"input sizes: {note}" for note in scan.notes]


_CHANGEABLE = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)


def _new_geometry(n: int, row: LayerExactness, axis: int, pool: bool) -> tuple[int, int] | None:
    """The ``(kernel, padding)`` closest to the row's that keeps its output length at input ``n`` and
    removes the offset along ``axis``."""
    k, s, d = row.kernel[axis], row.stride[axis], row.dilation[axis]
    p = row.padding[axis][0]
    ceil = row.ceil_mode
    out = output_length(n, k, s, (p, p), d, ceil)
    best: tuple[int, int, int] | None = None
    for k2 in range(1, k + 4):
        for p2 in range(0, k2 + 1):
            if pool and p2 > k2 // 2:
                continue
            if output_length(n, k2, s, (p2, p2), d, ceil) != out or axis_offset(n, k2, s, (p2, p2), d, ceil):
                continue
            cost = abs(k2 - k) + abs(p2 - p)
            if best is None or cost < best[0]:
                best = (cost, k2, p2)
    return None if best is None else (best[1], best[2])


def _changed(module: nn.Module, kernel: int, padding: int) -> nn.Module:
    if isinstance(module, nn.Conv2d):
        new = nn.Conv2d(
            module.in_channels,
            module.out_channels,
            kernel,
            module.stride,  # type: ignore[arg-type]
            padding,
            module.dilation,  # type: ignore[arg-type]
            module.groups,
            module.bias is not None,
            module.padding_mode,
            device=module.weight.device,
            dtype=module.weight.dtype,
        )
        with torch.no_grad():
            new.weight.zero_()
            k = min(kernel, module.kernel_size[0])
            at, src = (kernel - k) // 2, (module.kernel_size[0] - k) // 2
            new.weight[:, :, at : at + k, at : at + k] = module.weight[:, :, src : src + k, src : src + k]
            if module.bias is not None and new.bias is not None:
                new.bias.copy_(module.bias)
        return new
    changed: Any = copy.deepcopy(module)
    changed.kernel_size, changed.padding = kernel, padding
    return changed


def geometry_fix(setting: Setting) -> Fix | None:
    """Change the kernel and padding of every strided module whose grid misses its mirror image."""
    analysis, view = setting.grid.analysis, setting.grid.view
    if analysis is None or view is None or analysis.exact is not False:
        return None
    nodes = {node.name: node for node in view.nodes if node.kind == "module"}
    broken = [r for r in analysis.rows if r.understood and not r.exact]
    wanted: dict[str, set[tuple[int, int] | None]] = {}  # module path -> the changes its calls need
    first_row: dict[str, LayerExactness] = {}
    for row in broken:
        node = nodes.get(row.name)
        if (
            node is None
            or row.rule != "window"
            or not isinstance(node.module, _CHANGEABLE)
            or not row.symmetric
        ):
            continue
        pool = not isinstance(node.module, nn.Conv2d)
        wanted.setdefault(node.path, set()).update(
            _new_geometry(row.input_size[a], row, a, pool) for a in (0, 1)
        )
        first_row.setdefault(node.path, row)
    for row in analysis.rows:  # a module called again elsewhere must keep its grid there too
        node = nodes.get(row.name)
        if node is not None and node.path in wanted and row not in broken:
            wanted[node.path].add(None)
    plans: list[tuple[str, int, int, LayerExactness]] = [
        (path, *next(iter(changes)), first_row[path])  # type: ignore[misc]
        for path, changes in wanted.items()
        if len(changes) == 1 and None not in changes
    ]
    if not plans:
        return None
    changed = copy.deepcopy(setting.grid.probe)  # float64, filters averaged; the new ones are averaged below
    for path, kernel, padding, _ in plans:
        parent_path, _, attr = path.rpartition(".")
        parent = changed.get_submodule(parent_path) if parent_path else changed
        setattr(parent, attr, _changed(getattr(parent, attr), kernel, padding))
    height = setting.size[0]
    error: float | None = None
    still: list[str] = []  # rows of the changed copy that break its grid
    if height == setting.size[1]:
        try:
            error, grid = _averaged_error(setting, changed, height, average=True)
        except _ModelRefusesInput:
            error, grid = math.inf, None
        if grid is not None and grid.analysis is not None and grid.view is not None:
            paths = {node.name: node.path for node in grid.view.nodes if node.kind == "module"}
            still = [paths.get(r.name, r.name) for r in grid.analysis.rows if not r.exact]
    words = "; ".join(
        f"{path}: kernel {row.kernel[0]} -> {kernel}, padding {row.padding[0][0]} -> {padding}"
        for path, kernel, padding, row in plans
    )
    planned = {path for path, *_ in plans}
    left = sorted({nodes[r.name].path if r.name in nodes else r.name for r in broken} - planned)
    if not left:
        promise = (
            "each changed layer keeps its output size and its grid maps onto itself, so the architecture "
            "is exact at this size (the changed filters need retraining)"
        )
        verified = error is not None and error <= EXACT and not still
    else:
        promise = f"the changed layers' grids map onto themselves; {', '.join(left)} still break(s) the grid"
        verified = error is not None and not set(still) & planned
    return Fix(
        kind="layer geometry",
        change=words,
        promise=promise,
        measured_error=error,
        verified=bool(verified),
        details={"layers": {p: {"kernel": k, "padding": q} for p, k, q, _ in plans}, "still_broken": left},
    )


_USER_NAMES = {"p4": "rot90", "p4m": "d4"}
"""The names users pass for the symmetries `eqlab.exactness` calls p4 and p4m."""


def orbit_fix(setting: Setting) -> Fix | None:
    """Average the model over the orbit of its input (`OrbitAverage`), measured at the audited size on
    the group's generators."""
    if setting.grid.input_layout.kind != "image":
        return None
    name = _USER_NAMES.get(setting.symmetry.name, setting.symmetry.name)
    wrapped = OrbitAverage(_Remembered(_float64_copy(setting.model)), name, setting.out_action)
    count = len(setting.symmetry.elements)
    try:
        error = setting.measure(wrapped, setting.check_input())
    except RuntimeError:  # outputs of transformed inputs differ in shape: nothing to average
        return None
    return Fix(
        kind="orbit average",
        change=(
            f"wrap the model: eqlab.nn.OrbitAverage(model, {name!r}, {setting.out_name}), the mean over the "
            f"{count} elements g of g^-1 f(g x)"
        ),
        promise=f"exactly equivariant at every input size, for {count} times the cost",
        measured_error=error,
        verified=error <= EXACT,
        details={"cost_factor": count},
    )


class _Remembered:
    """A deterministic (eval-mode) model that computes each distinct input once: the orbit average of a
    transformed input runs the model on the same orbit of images, so its check costs ``|G|`` forward
    passes instead of ``2 |G|``, with the very outputs the model gives."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.seen: list[tuple[torch.Tensor, Any]] = []

    def __call__(self, x: torch.Tensor) -> Any:
        for known, output in self.seen:
            if known.shape == x.shape and torch.equal(known, x):
                return output
        output = self.model(x)
        self.seen.append((x, output))
        return output


def group_average_fix(setting: Setting, transform: str, aligned: Any, data: Any, exact_size: int) -> Fix:
    """`eqlab.layerwise.group_average` of the model with the self-alignment's permutations (``aligned``,
    a `SelfAlignResult` constrained to ``pi^m = id``), with the accuracy kept on ``data``. Its promise,
    exact invariance where the architecture is exact, is checked at ``exact_size`` (the audited size when
    the architecture is exact there, else the nearest exact size)."""
    from eqlab.layerwise import group_average
    from eqlab.layerwise._checks import input_batches, labelled_batches

    inputs = None if data is None else torch.cat([x for x in input_batches(data)])
    averaged = group_average(
        setting.model, transform, aligned.permutations, data=inputs, spec=aligned.alignment.spec
    )
    probe = _float64_copy(averaged)
    here = setting.measure(probe, setting.check_input())
    details: dict[str, Any] = {"transform": transform, "error_at_audited_size": here}
    if data is not None and _is_labelled(data):
        details["accuracy_before"] = _accuracy(setting.model, labelled_batches(data))
        details["accuracy_after"] = _accuracy(averaged, labelled_batches(data))
    kept = ""
    if "accuracy_after" in details:
        kept = f"; accuracy {details['accuracy_before']:.3f} -> {details['accuracy_after']:.3f} on data"
    error = (
        here
        if exact_size == setting.size[0]
        else setting.measure(probe, setting.check_input((exact_size,) * 2))
    )
    promise = f"exactly invariant at {exact_size} x {exact_size}, where the architecture is exact"
    if exact_size != setting.size[0]:
        promise += f" (at the audited size it measures {here:.1e})"
    verified = error <= EXACT
    details["checked_at"] = exact_size
    return Fix(
        kind="group average",
        change=f"eqlab.layerwise.group_average(model, {transform!r}, data=...){kept}",
        promise=promise,
        measured_error=error,
        verified=verified,
        details=details,
    )


def _is_labelled(data: Any) -> bool:
    return not isinstance(data, torch.Tensor)


def _accuracy(model: nn.Module, batches: Any) -> float:
    was = model.training
    model.eval()
    right = total = 0
    with torch.no_grad():
        for x, y in batches:
            param = next(model.parameters(), None)
            x = x.to(param.dtype) if param is not None and x.is_floating_point() else x
            right += int((model(x).argmax(-1) == y).sum())
            total += int(y.numel())
    model.train(was)
    return right / max(total, 1)

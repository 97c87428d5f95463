"""The audit's rows: the nodes that matter for the symmetry, activation admissibility, and the
layerwise self-alignment error of each weighted layer of a plain CNN."""

from __future__ import annotations

from typing import Any

from torch import nn

from eqlab._audit._report import AuditLayer, AuditReport
from eqlab.exactness._analyser import _Grid
from eqlab.exactness._layout import LayerExactness
from eqlab.trace._vocabulary import OPS

__all__ = ["activations", "rows", "self_alignment"]


_MATTERS = ("adaptive", "resize", "slice", "transposed", "dense", "pad", "not understood")


def rows(grid: _Grid, depth: dict[str, float]) -> list[AuditLayer]:
    analysis = grid.analysis
    if analysis is None:
        return []
    rows = []
    for row in analysis.rows:
        if not (row.subsamples or not row.exact or row.rule in _MATTERS):
            continue
        rows.append(_layer(row, depth))
    return rows


_ACTIVATION_MODULES = {
    "ReLU", "ReLU6", "LeakyReLU", "RReLU", "ELU", "CELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid", "Tanh",
    "Softplus", "Softsign", "Hardtanh", "Hardswish", "Hardsigmoid", "LogSigmoid", "Tanhshrink", "Softshrink",
    "Hardshrink", "Threshold", "PReLU",
}  # fmt: skip
"""Pointwise activation modules, by class name (functions are `OPS.activations`)."""

_PERMUTED = {
    "image": "image positions",
    "group": "image positions and the group axis",
    "group_axis": "the group axis",
    "flat": "flattened positions",
    "invariant": "nothing (the features do not move)",
    "constant": "nothing (the features do not move)",
}
"""What the symmetry permutes in a tensor of each layout: every such action is a permutation."""


def activations(report: AuditReport, grid: _Grid) -> None:
    """Activation admissibility (Pacini et al. 2024, Theorem 1): a pointwise activation commutes with a
    permutation representation whatever the function, so on every layout the grid rules follow it is
    admissible; one whose input's action is not understood is a row, undecided."""
    analysis, view = grid.analysis, grid.view
    if analysis is None or view is None:
        return
    admissible: dict[str, int] = {}
    for node in view.calls():
        if node.op not in OPS.activations and node.op not in _ACTIVATION_MODULES:
            continue
        source = node.inputs[0] if node.inputs else None
        layout = analysis.layouts.get(source.name) if source is not None else None
        kind = layout.kind if layout is not None else "unknown"
        if kind in _PERMUTED:
            admissible[kind] = admissible.get(kind, 0) + 1
            continue
        report.layers.append(
            AuditLayer(
                name=node.name,
                op=node.op,
                effect=f"pointwise {node.op} on a tensor whose action is not understood ({kind}): its "
                "admissibility is undecided",
                exact=None,
            )
        )
    if admissible:
        counts = ", ".join(f"{count} on {_PERMUTED[kind]}" for kind, count in admissible.items())
        report.notes.append(
            f"pointwise activations: {counts}; the symmetry acts there by permutations, which every "
            "pointwise activation commutes with (Pacini et al. 2024, Theorem 1): admissible"
        )


def _layer(row: LayerExactness, depth: dict[str, float]) -> AuditLayer:
    offset = None if row.rule in ("not understood", "dense") else (row.offset[0], row.offset[1])
    return AuditLayer(
        name=row.name,
        op=row.kind,
        effect=row.effect,
        exact=row.exact if row.understood else None,
        offset=offset,
        cumulative_error=depth.get(row.name),
    )


def self_alignment(report: AuditReport, model: nn.Module, transform: str, grid: _Grid) -> Any:
    """Rows' self-alignment errors: how far each layer is from equivariant up to a channel permutation,
    with permutations constrained to ``pi^m = id`` (so that the group average can reuse them). A layer
    with no row yet gets one, with its grid analysis when it has one. Returns the `SelfAlignResult`, or
    None when the model's channels cannot be traced."""
    from eqlab.layerwise import self_align

    try:
        result = self_align(model, transform, constrain=True)
    except (ValueError, TypeError, NotImplementedError) as exc:
        report.notes.append(f"layerwise self-alignment did not run: {exc}")
        return None
    by_name = {row.name: row for row in report.layers}
    analysed: dict[str, LayerExactness] = {}
    if grid.analysis is not None and grid.view is not None:
        paths = {node.name: node.path for node in grid.view.nodes if node.kind == "module"}
        for row in grid.analysis.rows:
            analysed.setdefault(paths.get(row.name, row.name), row)
    depth = dict(report.depth_errors)
    for layer, error in result.alignment.errors.items():
        if layer not in by_name:
            if layer in analysed:
                by_name[layer] = _layer(analysed[layer], depth)
            else:
                by_name[layer] = AuditLayer(
                    name=layer,
                    op=type(model.get_submodule(layer)).__name__,
                    effect="reads no plane (self-alignment only)",
                    exact=None,
                    cumulative_error=depth.get(layer),
                )
            report.layers.append(by_name[layer])
        by_name[layer].self_alignment_error = error
    order = {name: i for i, (name, _) in enumerate(report.depth_errors)}
    names = [name for name, _ in model.named_modules()]
    report.layers.sort(key=lambda r: order.get(r.name, names.index(r.name) if r.name in names else 0))
    return result

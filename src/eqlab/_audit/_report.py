"""`AuditReport`: what `eqlab.audit` found, as data, a table and JSON.

One report per symmetry; ``symmetry="all"`` gives a report whose ``symmetries`` hold one report per grid
symmetry. Every number in it was measured on the model (or a copy of it) in this call.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from eqlab._options import Option

__all__ = ["AuditLayer", "AuditReport", "AuditVerdict", "Fix"]


class AuditVerdict(Option):
    """The three verdicts of `eqlab.audit`."""

    EXACT = "exact"
    """The architecture is exact at this size (grid prediction confirmed by the averaged copy) and the model
    as given measures at most 1e-12 in float64."""
    APPROXIMATE = "approximate"
    """Not exact, but the model as given measures at most the tolerance."""
    NOT_EQUIVARIANT = "not equivariant"
    """The model as given measures more than the tolerance (or could not be measured)."""


@dataclass
class AuditLayer:
    """One traced node that matters for the symmetry."""

    name: str
    """The traced node (a module path, or ``path:function``)."""
    op: str
    """Its module class or function name."""
    effect: str
    """What it does to the symmetry, in words: the sampling-grid offset, padding, a dense layer reading
    flattened positions, a head that fixes the input size, an activation's admissibility, or why no rule
    covers it."""
    exact: bool | None
    """Whether it commutes with every element (its grid maps onto itself); None when not understood."""
    offset: tuple[float, float] | None = None
    """Pixels by which its mirrored grid misses itself along height and width (0: exact)."""
    cumulative_error: float | None = None
    """Float64 relative error of this node's output in the averaged copy when the input is transformed
    (None: not measured)."""
    self_alignment_error: float | None = None
    """For a plain CNN and a flip or rot90: the relative weight error of this layer after aligning the
    transformed network's channels to the model's (Bökman & Kahl; 0 means equivariant up to a permutation
    of channels). None when not computed."""


@dataclass
class Fix:
    """One concrete change, checked by applying it to a copy and measuring."""

    kind: str
    """``"input size"``, ``"layer geometry"``, ``"group average"`` or ``"orbit average"``."""
    change: str
    """What to change, concretely."""
    promise: str
    """What the change gives, in words."""
    measured_error: float | None
    """The float64 relative error measured after applying it (None: it could not be applied)."""
    verified: bool
    """Whether the measurement bears the promise out."""
    details: dict[str, Any] = field(default_factory=dict)
    """Numbers behind the fix (the new size, the crop or pad, accuracies, ...)."""


@dataclass
class AuditReport:
    """What `eqlab.audit` found for one model, symmetry and input size."""

    symmetry: str
    """The symmetry audited (``"p4"``, ``"p4m"``, ``"rot180"``, ``"hflip"``, ``"vflip"``, or ``"all"``)."""
    input_size: tuple[int, int]
    """``(height, width)``."""
    verdict: AuditVerdict
    """``"exact"``, ``"approximate"`` or ``"not equivariant"``: a str enum member, equal to its string."""
    reason: str
    """Why, in one line."""
    end_to_end_error: float
    """Float64 relative error of the model as given (in eval mode), worst over the group's elements and
    over two kinds of random input, standard normal and raw pixel values (``inf`` when the model fails on
    a transformed input or returns another shape)."""
    architecture_exact: bool | None
    """Whether the architecture is exact at this size: the grid prediction, made before any measurement,
    when the averaged copy's measurement agrees; None when a node is not understood or the two disagree
    (``grid_prediction`` and ``architecture_error`` then say how)."""
    grid_prediction: bool | None = None
    """The grid analysis's prediction alone (None: something is not understood)."""
    architecture_error: float | None = None
    """Float64 relative error of the averaged copy (filters and flattened dense layers averaged over the
    group), worst over the elements."""
    out_action: str = ""
    """How the symmetry acts on the output, and whether it was given, inferred, or not understood."""
    tolerance: float = 1e-2
    """The largest end-to-end error an ``"approximate"`` verdict allows."""
    layers: list[AuditLayer] = field(default_factory=list)
    """The nodes that matter, in graph order. Each row has ``name`` and ``op`` (the traced node and its
    module class or function), ``effect`` (what it does to the symmetry, in words: the sampling-grid
    offset, padding, a dense layer reading flattened positions, a head that fixes the input size, why no
    rule covers it), ``exact`` (its grid maps onto itself; None when not understood), ``offset`` (pixels
    by which its mirrored grid misses itself, height and width), ``cumulative_error`` (the averaged copy's
    float64 error after it) and ``self_alignment_error`` (for a plain CNN and a flip or rot90: the
    relative weight error after aligning the transformed network's channels to the model's, Bökman &
    Kahl; 0 means equivariant up to a permutation of channels)."""
    depth_errors: list[tuple[str, float]] = field(default_factory=list)
    """``(node, error)`` for every analysed node, in graph order: the averaged copy's cumulative error."""
    fixes: list[Fix] = field(default_factory=list)
    """Concrete changes, most direct first, each applied to a copy and measured. Each has ``kind``
    (``"input size"``, ``"layer geometry"``, ``"group average"``, ``"orbit average"``), ``change`` (what
    to change), ``promise`` (what it gives), ``measured_error`` (float64, after the change), ``verified``
    (whether the measurement bears the promise out) and ``details`` (the new size, crop or pad, kernels,
    accuracies)."""
    notes: list[str] = field(default_factory=list)
    """What the analysis could not decide or had to assume (heads that fix the size, sizes read from the
    data, why self-alignment did not run)."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each part, in seconds: ``"trace and grid"``, ``"measurements"``, ``"layerwise"``
    (self-alignment), ``"group average"`` (when proposed) and ``"fixes"`` (the others)."""
    symmetries: list[AuditReport] = field(default_factory=list)
    """With ``symmetry="all"``: one report per grid symmetry."""

    @property
    def exact(self) -> bool:
        """Whether the verdict is ``"exact"``."""
        return self.verdict == AuditVerdict.EXACT

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (floats that are not finite become strings)."""
        return _clean(asdict(self))

    def to_json(self) -> str:
        """The report as JSON text."""
        return json.dumps(self.to_dict(), indent=2)

    def table(self) -> str:
        """A plain-text summary: verdict, measurements, the rows that matter and the fixes."""
        if self.symmetries:
            lines = [f"{'symmetry':9s} {'verdict':16s} {'end-to-end':>11s} {'architecture':>13s}"]
            for one in self.symmetries:
                lines.append(
                    f"{one.symmetry:9s} {one.verdict.value:16s} {_number(one.end_to_end_error):>11s} "
                    f"{_yes_no(one.architecture_exact):>13s}"
                )
            lines.append(f"all at {_size(self.input_size)}: {self.verdict.value}: {self.reason}")
            return "\n".join(lines)
        lines = [
            f"{self.symmetry} at input {_size(self.input_size)}: {self.verdict.value}: {self.reason}",
            f"end-to-end error (model as given, in eval mode, float64): {_number(self.end_to_end_error)}",
            f"architecture exact: {_yes_no(self.architecture_exact)} (grid predicts "
            f"{_yes_no(self.grid_prediction)}, averaged copy measures {_number(self.architecture_error)})",
            f"output action: {self.out_action}",
        ]
        if self.layers:
            head = (
                f"{'layer':28s} {'op':18s} {'offset':>8s} {'exact':>6s} {'cumulative':>11s} "
                f"{'self-align':>11s}"
            )
            lines += ["", head, "-" * len(head)]
            for row in self.layers:
                offset = "" if row.offset is None else _pair(row.offset)
                lines.append(
                    f"{row.name[:28]:28s} {row.op[:18]:18s} {offset:>8s} {_yes_no(row.exact):>6s} "
                    f"{_number(row.cumulative_error):>11s} {_number(row.self_alignment_error):>11s}"
                )
                lines.append(f"    {row.effect}")
        if self.fixes:
            lines += ["", "fixes (each applied to a copy and measured):"]
            for i, fix in enumerate(self.fixes, 1):
                status = "verified" if fix.verified else "NOT verified"
                lines.append(f"{i}. [{fix.kind}] {fix.change}")
                lines.append(f"   {fix.promise}; measured {_number(fix.measured_error)}: {status}")
        for note in self.notes:
            lines.append(f"note: {note}")
        return "\n".join(lines)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, Option):
        return value.value
    return value


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"


def _yes_no(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def _pair(pair: tuple[Any, Any]) -> str:
    def one(v: Any) -> str:
        return f"{v:g}" if isinstance(v, float) else str(v)

    return one(pair[0]) if pair[0] == pair[1] else f"{one(pair[0])}x{one(pair[1])}"


def _size(size: tuple[int, int]) -> str:
    return str(size[0]) if size[0] == size[1] else f"{size[0]}x{size[1]}"

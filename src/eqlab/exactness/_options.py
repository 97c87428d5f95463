"""The choices of `eqlab.exactness`: `Certificate`, the three verdicts of `check`, and `OutputAction`, how
the symmetry acts on a model's output."""

from __future__ import annotations

from eqlab._options import Option

__all__ = ["Certificate", "OutputAction"]


class Certificate(Option):
    """What `eqlab.exactness.check` certifies about a model at one input size.

    A member is its string, so ``report.verdict == "exact"`` holds for ``Certificate.EXACT``.
    """

    EXACT = "exact"
    """The grid analysis predicts every node exact *and* the end-to-end float64 error is at most 1e-12."""
    NOT_EXACT = "not exact"
    """The grid analysis or the measurement says no; when they disagree, the reason gives both."""
    NOT_CERTIFIED = "not certified"
    """Nothing can be certified: the model cannot be traced, a node has no rule, or the action on the output
    is unknown (the measured error is still reported)."""


class OutputAction(Option):
    """How the symmetry acts on a model's output, for `eqlab.exactness.check`'s ``out_action``."""

    INVARIANT = "invariant"
    """Not at all: the output should not change (a classifier's logits)."""
    IMAGE = "image"
    """As on the input: the output is an image ``(B, C, H, W)`` transformed like the input."""
    FEATURES = "features"
    """As on group feature maps ``(B, C, |G|, H, W)`` of the model's point group (the plane transformed
    and the group axis permuted)."""

"""The choices of `eqlab.layerwise`'s arguments, as str enums (a member equals its string)."""

from __future__ import annotations

from eqlab._options import Option

__all__ = ["Method", "Statistics", "Transform"]


class Transform(Option):
    """A symmetry of the square acting on images ``(..., H, W)``: the ``transform`` of `transform_network`,
    `self_align` and `group_average`."""

    HFLIP = "hflip"
    """Mirror left-right, ``torch.flip(x, dims=(-1,))``; order 2."""
    VFLIP = "vflip"
    """Mirror top-bottom, ``torch.flip(x, dims=(-2,))``; order 2."""
    ROT90 = "rot90"
    """One counter-clockwise quarter turn, ``torch.rot90(x, 1, dims=(-2, -1))`` (square inputs); order 4."""

    @property
    def order(self) -> int:
        """The smallest ``m > 0`` with ``t^m = id``: 2 for the flips, 4 for ``rot90``."""
        return 4 if self is Transform.ROT90 else 2


class Method(Option):
    """How `align` and `self_align` match channels."""

    WEIGHTS = "weights"
    """Weight matching (git re-basin): maximise the summed inner products of all permuted parameters and
    batch-norm statistics, by coordinate descent over the channel sets."""
    ACTIVATIONS = "activations"
    """Activation matching: maximise the summed correlations of the channels' features on ``data``, in
    eval mode."""


class Statistics(Option):
    """How `merge` repairs the statistics of an interpolated network, given data."""

    AUTO = "auto"
    """``reset`` when the model has batch norm, else ``repair``."""
    RESET = "reset"
    """Recompute the batch-norm running statistics on the data."""
    REPAIR = "repair"
    """REPAIR: rescale each hidden channel to the interpolated mean and standard deviation of the two
    endpoints'."""
    NONE = "none"
    """Keep the interpolated running statistics."""

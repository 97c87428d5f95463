"""The scale of the ``soft`` study's second experiment (the paper's Section 6.3, multiple symmetries):
`MultiConfig`, nested in `SoftConfig` as ``multi``."""

from __future__ import annotations

from dataclasses import dataclass, field

from eqlab.bayes import MarglikSettings

MULTI_MODEL = "p4+conv+ffc"
"""The blocks of the second experiment: the average of a p4 group-convolution path, a convolution path
and a factored dense path (`eqlab.nn.SoftPath`)."""
CONDITIONS = ("upright", "rotated")
"""Upright digits, or every digit turned by a multiple of 90 degrees drawn per image."""
PATHS = ("group", "conv", "dense")
"""The paths of a block of the second experiment, by their attribute on `eqlab.nn._soft.SoftBlock`."""


def _multi_training() -> MarglikSettings:
    return MarglikSettings(
        epochs=20, batch_size=64, lr=3e-3, burn_in=5, frequency=5, hyper_steps=20, hyper_lr=0.1, ggn="mc"
    )


@dataclass(frozen=True)
class MultiConfig:
    """Scale of the multiple-symmetry experiment: `MULTI_MODEL` networks trained with learned priors on
    upright and on rotated digits (the digit task's canvases), one of each per seed of the study."""

    enabled: bool = True
    """Run the experiment (``--set multi.enabled=false`` leaves it out)."""
    alpha: int = 4
    """The base width (``alpha * widths[k]`` channels, a multiple of 4: the folded p4 axis)."""
    train: MarglikSettings = field(default_factory=_multi_training)
    """Training of the weights and the learned prior precisions (``learn_prior`` is always True)."""

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise TypeError(f"multi.enabled must be a bool, got {self.enabled!r}")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, int) or self.alpha < 1:
            raise ValueError(f"multi.alpha must be a positive integer, got {self.alpha!r}")
        if not isinstance(self.train, MarglikSettings):
            raise TypeError(f"multi.train must be a MarglikSettings, got {type(self.train).__name__}")

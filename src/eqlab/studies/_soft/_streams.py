"""The named seed streams of the ``soft`` study: the reported seeds' and the design sweep's, disjoint."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from eqlab.runs import RunFolder

REPORT = ()
"""The prefix of the reported runs' streams: ``("split", i)``, ``("init", task, model, i)``, ..."""
DESIGN = ("design",)
"""The prefix of the design sweep's streams (``design/soft_sweep.py``): ``("design", "split", i)``, ...
Every name of a reported stream differs from every design stream's in its first entry, so the design
seeds share no seed with the reported ones (up to the 32-bit collisions of `eqlab.runs._seeding`)."""


@dataclass(frozen=True)
class Streams:
    """A run's seed streams under one prefix (`REPORT` for the study, `DESIGN` for the design sweep)."""

    run: RunFolder
    prefix: tuple[str, ...] = REPORT

    def seed_for(self, *names: str | int) -> int:
        """The seed of the stream ``prefix + names``."""
        return self.run.seed_for(*self.prefix, *names)

    def generator(self, *names: str | int) -> torch.Generator:
        """A CPU torch generator of the stream ``prefix + names``."""
        return self.run.generator(*self.prefix, *names)

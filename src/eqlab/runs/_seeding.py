"""Seeds for work units: each unit derives its own from the run's seed and its indices, so a resumed
run recomputes exactly the units it had not saved."""

from __future__ import annotations

import numpy as np

from eqlab._arguments import integer

__all__ = ["unit_seed"]


def unit_seed(base: int, *parts: int) -> int:
    """A 32-bit seed from ``(base, *parts)`` by `numpy.random.SeedSequence`."""
    base = integer(base, "base", minimum=0)
    entropy = [integer(p, f"parts[{i}]", minimum=0) for i, p in enumerate(parts)]
    return int(np.random.SeedSequence([base, *entropy]).generate_state(1)[0])

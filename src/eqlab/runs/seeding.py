"""Seeds for work units: each unit derives its own from the run's seed and its indices, so a resumed
run recomputes exactly the units it had not saved."""

from __future__ import annotations

import numpy as np

__all__ = ["unit_seed"]


def unit_seed(base: int, *parts: int) -> int:
    """A 32-bit seed from ``(base, *parts)`` by `numpy.random.SeedSequence`."""
    return int(np.random.SeedSequence([base, *parts]).generate_state(1)[0])

"""The one train/test split of the studies: a random permutation cut at ``1 - test_fraction``."""

from __future__ import annotations

import torch

from eqlab._arguments import describe, integer, real

__all__ = ["split_indices"]


def split_indices(
    n: int, test_fraction: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(train, test)`` index tensors: a random permutation of ``range(n)`` drawn from ``generator``,
    the first ``round(n * (1 - test_fraction))`` for training. Both parts are non-empty.

    >>> train, test = split_indices(10, 0.3, torch.Generator().manual_seed(0))
    >>> len(train), len(test), sorted(torch.cat([train, test]).tolist()) == list(range(10))
    (7, 3, True)
    """
    n = integer(n, "n", minimum=2)
    test_fraction = real(test_fraction, "test_fraction", minimum=0.0, maximum=1.0)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {describe(generator)}")
    cut = round(n * (1 - test_fraction))
    if not 0 < cut < n:
        raise ValueError(
            f"test_fraction must leave both parts non-empty: {test_fraction} of {n} examples gives {n - cut} "
            "test examples"
        )
    order = torch.randperm(n, generator=generator)
    return order[:cut], order[cut:]

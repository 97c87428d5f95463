"""Generated set data: a permutation-invariant regression task.

Each example is a set of ``n`` scalars drawn i.i.d. from N(mu, sigma^2), with mu ~ U(-1, 1) and
log sigma ~ U(log 0.3, log 3) per set; the target is log sigma. Any function of the set's order is
noise, so the task is exactly S_n-invariant, and it is defined for any set size.
"""

from __future__ import annotations

import math

import torch

from eqlab._arguments import generator as check_generator
from eqlab._arguments import integer

__all__ = ["gaussian_scale_sets"]


def gaussian_scale_sets(
    num_sets: int, set_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A permutation-invariant regression task: estimate log sigma from a set of samples of N(mu, sigma^2).

    Parameters
    ----------
    num_sets
        The number of sets (examples).
    set_size
        The number of scalars per set (at least 2).
    generator
        Draws mu ~ U(-1, 1) and log sigma ~ U(log 0.3, log 3) per set, then the samples.

    Returns
    -------
    sets, targets
        ``(num_sets, set_size)`` float32 samples and ``(num_sets, 1)`` float32 targets log sigma.

    Examples
    --------
    >>> import torch
    >>> x, y = gaussian_scale_sets(4, 10, torch.Generator().manual_seed(0))
    >>> tuple(x.shape), tuple(y.shape)
    ((4, 10), (4, 1))
    """
    num_sets = integer(num_sets, "num_sets", minimum=1)
    set_size = integer(set_size, "set_size", minimum=2)
    check_generator(generator, "generator")
    mu = torch.rand(num_sets, 1, generator=generator) * 2 - 1
    log_sigma = math.log(0.3) + torch.rand(num_sets, 1, generator=generator) * math.log(10.0)
    x = mu + torch.randn(num_sets, set_size, generator=generator) * log_sigma.exp()
    return x, log_sigma

"""`one_thread`: torch and numpy's BLAS on one CPU thread while the study runs or times its steps."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Torch and the BLAS behind numpy on one CPU thread inside, as before outside: these networks are so
    small (batches of 100 points, 32 features) and the SVDs of `RepLinear`'s bases so modest that a second
    thread gains nothing, and where the cores are shared, a thread waiting for a busy core slowed every
    step, and the bases, eight times over and more."""
    from threadpoolctl import threadpool_limits  # a dependency of eqlab (pyproject.toml)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(threads)

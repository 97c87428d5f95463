"""Seed streams named by what they seed: ``seed_for(run_seed, "data", "split", seed_index)``.

A stream's seed is a function of the run's seed and its names only, so a resumed run recomputes exactly
the units it had not saved, and adding a stream changes no other. Two streams with different names get
independent 32-bit seeds (torch's generators take 64 bits, numpy's more, but a 32-bit seed is what
every library accepts): among n streams of one run, two share a seed with probability about n^2 / 2^33,
below 1e-4 for a thousand streams. Names are strings or non-negative integers (a seed index, a size).

>>> seed_for(0, "init", 2) == seed_for(0, "init", 2) != seed_for(0, "data", 2)
True
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from eqlab._arguments import describe, integer

__all__ = ["numpy_rng", "seed_for", "torch_generator"]


def _name_words(name: str | int, index: int) -> list[int]:
    if isinstance(name, str):
        digest = hashlib.sha256(b"s:" + name.encode("utf-8")).digest()
        return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]
    if isinstance(name, bool) or not hasattr(name, "__index__"):
        raise TypeError(f"names[{index}] must be a string or a non-negative integer, got {describe(name)}")
    value = integer(name, f"names[{index}]", minimum=0)
    digest = hashlib.sha256(b"i:" + str(value).encode()).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def seed_for(run_seed: int, *names: str | int) -> int:
    """A 32-bit seed for the stream ``names`` of a run seeded ``run_seed`` (`numpy.random.SeedSequence`
    over the run seed and a hash of each name)."""
    run_seed = integer(run_seed, "run_seed", minimum=0)
    if not names:
        raise ValueError("names must name the stream (at least one string or integer), got none")
    words = [w for i, name in enumerate(names) for w in _name_words(name, i)]
    return int(np.random.SeedSequence([run_seed, *words]).generate_state(1)[0])


def torch_generator(run_seed: int, *names: str | int) -> torch.Generator:
    """A CPU `torch.Generator` seeded by `seed_for`."""
    return torch.Generator().manual_seed(seed_for(run_seed, *names))


def numpy_rng(run_seed: int, *names: str | int) -> np.random.Generator:
    """A numpy `Generator` seeded by `seed_for`."""
    return np.random.default_rng(seed_for(run_seed, *names))

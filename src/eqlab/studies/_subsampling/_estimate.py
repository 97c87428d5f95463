"""The training time of a ``subsampling`` config on a device, from steps timed on random batches."""

from __future__ import annotations

import math
from functools import partial

import torch
from torch import nn

from eqlab.runs._cost import CostEstimate, seconds_per_step
from eqlab.studies._subsampling._config import Regime, SubsamplingConfig
from eqlab.studies._subsampling._models import build_cnn, sizes


def _random_batch(batch: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Random images ``(batch, 1, size, size)`` in [0, 1) and labels ``(batch,)``, the shape of a
    training batch."""
    return torch.rand(batch, 1, size, size), torch.randint(0, 10, (batch,))


def estimate(config: SubsamplingConfig, device: str) -> CostEstimate:
    """The training time of ``config`` on MNIST: a step of the network at each of the two sizes timed on a
    random batch, times the steps of every (size, regime, seed) job (the evaluation is not counted)."""
    exact, approx = sizes(config)
    batch = config.train.batch_size
    per_step = sum(
        seconds_per_step(
            build_cnn(config.group, config.widths),
            partial(_random_batch, batch, size),
            nn.functional.cross_entropy,
            device,
            steps=2,
        )
        for size in (exact, approx)
    )
    steps_per_job = config.train.epochs * math.ceil(config.mnist_train / batch)
    jobs_per_size = len(Regime) * config.seeds
    return CostEstimate(
        seconds=per_step * steps_per_job * jobs_per_size,
        steps=2 * steps_per_job * jobs_per_size,
        seconds_per_step=per_step / 2,
        timed_steps=2,
        device=device,
        what=f"the {config.group} CNN with widths {list(config.widths)} on a batch of {batch} images at "
        f"{exact} and at {approx} px ({config.mnist_train:,} MNIST training images per job)",
    )

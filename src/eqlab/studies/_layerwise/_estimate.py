"""The training time of a ``layerwise`` config on a device, from steps of its network timed on a random
batch."""

from __future__ import annotations

import math

import torch
from torch import nn

from eqlab.data._digits import digits
from eqlab.runs._cost import CostEstimate, seconds_per_step
from eqlab.studies._layerwise._config import DataSource, LayerwiseConfig
from eqlab.studies._layerwise._models import build_vgg

CIFAR_TRAIN_SIZE = 50_000
"""CIFAR-10's training images (the paper preset's estimate counts steps over them)."""


def estimate(config: LayerwiseConfig, device: str) -> CostEstimate:
    """The training time of ``config`` on ``device``: two steps of its network timed on a random batch of
    its shape (CIFAR-10's for ``data="cifar10"``), times the steps of its ``2 * seeds`` training jobs.
    The analyses (alignment, barriers, merges) are not included."""
    cifar = DataSource.parse(config.data, "data") is DataSource.CIFAR10
    widths, pools = (
        (config.cifar_widths, config.cifar_pool_after) if cifar else (config.widths, config.pool_after)
    )
    shape = (3, 32, 32) if cifar else (1, config.size, config.size)
    examples = CIFAR_TRAIN_SIZE if cifar else round(len(digits(8)[1]) * (1 - config.test_fraction))
    batch = config.train.batch_size
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(batch, *shape, generator=gen), torch.randint(0, 10, (batch,), generator=gen)
    with torch.random.fork_rng(devices=[]):  # the model's initialisation leaves the global generator alone
        torch.manual_seed(0)
        model = build_vgg(widths, pools, in_channels=shape[0])
    per_step = seconds_per_step(model, lambda: (x, y), nn.functional.cross_entropy, device, steps=2)
    steps = 2 * config.seeds * config.train.epochs * math.ceil(examples / batch)
    return CostEstimate(
        seconds=per_step * steps,
        steps=steps,
        seconds_per_step=per_step,
        timed_steps=2,
        device=device,
        what=f"the {'CIFAR-10' if cifar else 'digit'} network (widths {list(widths)}) on a batch of "
        f"{batch} x {shape}; the CPU analyses after training are not included",
    )

"""`estimate`: the training time of a config's networks on a device, from a few timed steps."""

from __future__ import annotations

import math

import torch
from torch import nn

from eqlab._arguments import choice
from eqlab.runs._cost import CostEstimate, seconds_per_step
from eqlab.studies._activations._config import ActivationsConfig, Network
from eqlab.studies._activations._networks import build_network, vector_field
from eqlab.studies._activations._threads import one_thread


def estimate(config: ActivationsConfig, device: str) -> CostEstimate:
    """The training time of ``config`` on ``device``: a few steps of each trained network, timed on a batch
    of the config's size and multiplied by its epochs, batches and seeds (the table and the layers' bases
    are not counted)."""
    if not isinstance(config, ActivationsConfig):
        raise TypeError(f"config must be an ActivationsConfig, got {type(config).__name__}")
    device = choice(device, "device", ("cpu", "cuda"))
    batch = min(config.train.batch_size, config.train_points)
    generator = torch.Generator().manual_seed(0)  # random timing batches: their values do not matter

    def make_batch() -> tuple[torch.Tensor, torch.Tensor]:
        x = 1.5 * torch.randn(batch, 2, generator=generator)
        return x, vector_field(x)

    trained = [n for n in Network if n is not Network.TRIVIAL]
    with one_thread():  # as `run` trains
        times = [
            seconds_per_step(build_network(n, config, 0), make_batch, nn.functional.mse_loss, device)
            for n in trained
        ]
    per_network = (
        config.train.epochs * math.ceil(config.train_points / config.train.batch_size) * config.seeds
    )
    steps = per_network * len(trained)
    return CostEstimate(
        seconds=sum(times) * per_network,
        steps=steps,
        seconds_per_step=sum(times) / len(times),
        timed_steps=3,
        device=device,
        what=f"the {len(trained)} trained networks (mean of their medians) on batches of {batch} points",
    )

"""Run by the DDP test under torchrun: train a small model, and a batch-norm one, with eqlab.train; each rank
saves what it ended with."""

from __future__ import annotations

import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.nn import GroupBatchNorm2d
from eqlab.train import TrainSettings, train
from eqlab.train._distributed import init_from_env


def build() -> tuple[torch.nn.Module, TensorDataset]:
    """The same model and data in every process (seeded)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)).double()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(64, 6, generator=gen, dtype=torch.float64)
    y = torch.randn(64, 2, generator=gen, dtype=torch.float64)
    return model, TensorDataset(x, y)


def build_batchnorm() -> tuple[torch.nn.Module, TensorDataset]:
    """A CNN with a BatchNorm2d and a GroupBatchNorm2d (a BatchNorm3d) on a group axis of one element."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 3),
        nn.BatchNorm2d(3),
        nn.Tanh(),
        nn.Unflatten(1, (3, 1)),
        GroupBatchNorm2d(3, momentum=0.3),
        nn.Flatten(),
        nn.Linear(3 * 4 * 4, 2),
    ).double()
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(32, 1, 6, 6, generator=gen, dtype=torch.float64)
    return model, TensorDataset(x, torch.randn(32, 2, generator=gen, dtype=torch.float64))


SETTINGS = TrainSettings(epochs=3, batch_size=16, lr=0.05, optimizer="sgd", schedule="cosine")
BATCHNORM_SETTINGS = TrainSettings(epochs=2, batch_size=16, lr=0.05, optimizer="sgd", schedule="constant")


def main(out: str) -> None:
    """Train under whatever process group torchrun set up; every rank saves its results to ``out.<rank>``."""
    rank = init_from_env("cpu")
    model, data = build()
    train(model, data, SETTINGS, loss_fn=torch.nn.functional.mse_loss, seed=7)
    bn_model, bn_data = build_batchnorm()
    history = train(bn_model, bn_data, BATCHNORM_SETTINGS, loss_fn=torch.nn.functional.mse_loss, seed=5)
    torch.save(
        {
            "plain": model.state_dict(),
            "batchnorm": bn_model.state_dict(),
            "history": history,
            "classes": [type(m).__name__ for m in bn_model.modules()],
        },
        f"{out}.{rank}",
    )
    if dist.is_initialized():
        dist.barrier()  # both ranks done before teardown: a rank leaving early once aborted the other in gloo
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])

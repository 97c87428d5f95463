"""Run by the DDP test under torchrun: train a small model with eqlab.train and save rank 0's weights."""

from __future__ import annotations

import sys

import torch
import torch.distributed as dist
from torch.utils.data import TensorDataset

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


SETTINGS = TrainSettings(epochs=3, batch_size=16, lr=0.05, optimizer="sgd", schedule="cosine")


def main(out: str) -> None:
    """Train under whatever process group torchrun set up; rank 0 saves the weights."""
    rank = init_from_env("cpu")
    model, data = build()
    train(model, data, SETTINGS, loss_fn=torch.nn.functional.mse_loss, seed=7)
    if rank == 0:
        torch.save(model.state_dict(), out)
    if dist.is_initialized():
        dist.barrier()  # both ranks done before teardown: a rank leaving early once aborted the other in gloo
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])

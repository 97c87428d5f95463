"""Run by tests/bayes/test_marglik_ddp.py under torchrun: train_marglik on two CPU processes; each rank saves
what it ended with."""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.bayes import MarglikSettings, train_marglik
from eqlab.runs._folder import RunFolder
from eqlab.train._distributed import init_from_env


def build(batchnorm: bool = False) -> tuple[nn.Module, TensorDataset]:
    """A float64 classifier whose first layer has 80 inputs and 32 examples (at least twice as many
    inputs as rows), so its input factor takes the Gram-matrix path; with ``batchnorm`` an affine-free
    BatchNorm1d after it."""
    torch.manual_seed(0)
    norm: list[nn.Module] = [nn.BatchNorm1d(8, affine=False)] if batchnorm else []
    model = nn.Sequential(nn.Linear(80, 8), *norm, nn.Tanh(), nn.Linear(8, 3)).double()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(32, 80, generator=gen, dtype=torch.float64)
    return model, TensorDataset(x, torch.randint(0, 3, (32,), generator=gen))


SETTINGS = MarglikSettings(
    epochs=3, batch_size=8, lr=1e-2, burn_in=0, frequency=1, hyper_steps=4, hyper_lr=0.2, marglik_batch_size=5
)
MC = MarglikSettings(epochs=2, batch_size=8, burn_in=0, frequency=1, hyper_steps=2, ggn="mc")


def main(out: str) -> None:
    """The exact-GGN run (in a run folder), a Monte Carlo one and a batch-norm one; ``out.<rank>``."""
    rank = init_from_env("cpu")
    model, data = build()
    exact = train_marglik(model, data, SETTINGS, seed=4, run=RunFolder(Path(out).parent / "run", rank=rank))
    mc_model, mc_data = build()
    mc = train_marglik(mc_model, mc_data, MC, seed=4)
    bn_model, bn_data = build(batchnorm=True)
    bn = train_marglik(bn_model, bn_data, MC, seed=4)
    torch.save(
        {
            "model": model.state_dict(),
            "history": exact,
            "mc": mc,
            "batchnorm": bn,
            "classes": [type(m).__name__ for m in bn_model.modules()],
        },
        f"{out}.{rank}",
    )
    if dist.is_initialized():
        dist.barrier()  # both ranks done before teardown: a rank leaving early once aborted the other in gloo
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])

"""The training loop under torchrun with two CPU processes (gloo): it equals one process with the same
global batch, and a batch-norm model trains with per-rank batch statistics and keeps its classes."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DistributedSampler, TensorDataset

from tests.torchrun import ROOT, torchrun
from tests.train import ddp_worker

WORLD = 2


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """What each rank of one ``torchrun --nproc_per_node=2`` run of the worker saved."""
    out = tmp_path_factory.mktemp("ddp") / "result"
    torchrun(str(ROOT / "tests" / "train" / "ddp_worker.py"), str(out), nproc=WORLD)
    return [torch.load(f"{out}.{rank}", weights_only=False) for rank in range(WORLD)]


def test_two_process_ddp_matches_single_process(ranks: list[dict[str, Any]]) -> None:
    model, data = ddp_worker.build()
    history = ddp_worker.train(model, data, ddp_worker.SETTINGS, loss_fn=torch.nn.functional.mse_loss, seed=7)
    assert len(history["train_loss"]) == 3
    for name, value in model.state_dict().items():
        torch.testing.assert_close(ranks[0]["plain"][name], value, rtol=1e-10, atol=1e-12)
    untrained, _ = ddp_worker.build()
    assert not torch.allclose(untrained.state_dict()["0.weight"], model.state_dict()["0.weight"])


def _per_rank_statistics(model: nn.Module, data: TensorDataset, seed: int) -> list[float]:
    """What rank 0 of two ends with, in one process: each global batch's two local halves (as the
    DistributedSampler deals them) are normalised separately, their gradients averaged; both halves start
    from rank 0's buffers (DDP broadcasts them) and rank 0's update is the one kept. Returns the losses."""
    settings = ddp_worker.BATCHNORM_SETTINGS
    local = settings.batch_size // WORLD
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum)
    x, y = data.tensors
    model.train()
    losses = []
    for epoch in range(settings.epochs):
        orders = []
        for rank in range(WORLD):
            sampler = DistributedSampler(data, num_replicas=WORLD, rank=rank, shuffle=True, seed=seed)
            sampler.set_epoch(epoch)
            orders.append(list(sampler))
        total = 0.0
        for step in range(math.ceil(len(orders[0]) / local)):
            optimizer.zero_grad()
            start = [b.clone() for b in model.buffers()]
            for rank in reversed(range(WORLD)):  # rank 0 last: its running statistics are kept
                with torch.no_grad():
                    for buffer, value in zip(model.buffers(), start, strict=True):
                        buffer.copy_(value)
                index = orders[rank][step * local : (step + 1) * local]
                loss = F.mse_loss(model(x[index]), y[index])
                (loss / WORLD).backward()
                total += float(loss.detach()) * len(index)
            optimizer.step()
        losses.append(total / len(data))
    return losses


def test_a_batchnorm_model_trains_with_per_rank_statistics_and_keeps_its_classes(
    ranks: list[dict[str, Any]],
) -> None:
    expected = [
        "Sequential",
        "Conv2d",
        "BatchNorm2d",
        "Tanh",
        "Unflatten",
        "GroupBatchNorm2d",
        "Flatten",
        "Linear",
    ]
    for result in ranks:
        assert result["classes"] == expected
        assert result["history"]["batchnorm"] == "per-rank statistics"
    model, data = ddp_worker.build_batchnorm()
    untrained = {k: v.clone() for k, v in model.state_dict().items()}
    losses = _per_rank_statistics(model, data, seed=5)
    for name, value in model.state_dict().items():  # rank 0's weights and running statistics
        torch.testing.assert_close(ranks[0]["batchnorm"][name], value, rtol=1e-10, atol=1e-12, msg=name)
    torch.testing.assert_close(ranks[0]["history"]["train_loss"], losses, rtol=1e-10, atol=0.0)
    assert not torch.allclose(untrained["6.weight"], model.state_dict()["6.weight"])
    for (
        name,
        _,
    ) in model.named_parameters():  # DDP keeps the weights equal; the running statistics are per rank
        assert torch.equal(ranks[1]["batchnorm"][name], ranks[0]["batchnorm"][name]), name
    assert not torch.allclose(
        ranks[1]["batchnorm"]["1.running_mean"], ranks[0]["batchnorm"]["1.running_mean"]
    )

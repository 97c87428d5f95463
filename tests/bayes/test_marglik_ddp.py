"""`train_marglik` under torchrun with two CPU processes (gloo) equals one process with the same global
batch, precisions included, and every rank learns the same precisions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.bayes import marglik_worker
from tests.torchrun import ROOT, torchrun

WORLD = 2
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], Path]:
    """What each rank of one ``torchrun --nproc_per_node=2`` run of the worker saved, and its folder."""
    folder = tmp_path_factory.mktemp("marglik-ddp")
    torchrun(str(ROOT / "tests" / "bayes" / "marglik_worker.py"), str(folder / "result"), nproc=WORLD)
    return [torch.load(folder / f"result.{rank}", weights_only=False) for rank in range(WORLD)], folder


def test_two_processes_learn_the_weights_and_precisions_of_one(
    ranks: tuple[list[dict[str, Any]], Path],
) -> None:
    results, _ = ranks
    model, data = marglik_worker.build()
    expected = marglik_worker.train_marglik(model, data, marglik_worker.SETTINGS, seed=4)
    history = results[0]["history"]
    assert history["groups"] == expected["groups"]
    assert [e for e, _ in history["marglik"]] == [e for e, _ in expected["marglik"]] == [1, 2, 3]
    torch.testing.assert_close(history["prior_precision"], expected["prior_precision"], rtol=1e-10, atol=0.0)
    torch.testing.assert_close(
        [v for _, v in history["marglik"]], [v for _, v in expected["marglik"]], rtol=1e-10, atol=0.0
    )
    torch.testing.assert_close(history["train_loss"], expected["train_loss"], rtol=1e-10, atol=0.0)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(results[0]["model"][name], value, rtol=1e-10, atol=1e-12, msg=name)
    assert all(abs(p - 1.0) > 1e-3 for p in expected["prior_precision"])  # the precisions did move


def test_every_rank_learns_the_same_precisions_and_weights(ranks: tuple[list[dict[str, Any]], Path]) -> None:
    results, _ = ranks
    for key in ("history", "mc", "batchnorm"):
        assert results[1][key]["prior_precision"] == results[0][key]["prior_precision"], key
        assert results[1][key]["marglik"] == results[0][key]["marglik"], key
    for name, value in results[0]["model"].items():
        assert torch.equal(results[1]["model"][name], value), name


def test_a_batchnorm_model_keeps_its_classes_under_ddp(ranks: tuple[list[dict[str, Any]], Path]) -> None:
    results, _ = ranks
    for result in results:
        assert result["classes"] == ["Sequential", "Linear", "BatchNorm1d", "Tanh", "Linear"]
        assert len(result["batchnorm"]["train_loss"]) == marglik_worker.MC.epochs


def test_only_rank_0_writes_the_metrics_and_the_checkpoint(ranks: tuple[list[dict[str, Any]], Path]) -> None:
    results, folder = ranks
    lines = [json.loads(line) for line in (folder / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in lines] == [1, 2, 3]
    assert [m["train_loss"] for m in lines] == results[0]["history"]["train_loss"]
    saved = torch.load(folder / "run" / "checkpoints" / "marglik.pt", weights_only=False)
    assert (
        saved["epoch"] == 3 and saved["log_delta"].exp().tolist() == results[0]["history"]["prior_precision"]
    )

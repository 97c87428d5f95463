"""`train_marglik` as `train` runs: metrics and checkpoints in a run folder, an exact resume, the data order a
function of (seed, epoch), the model's device; and `KronLaplace.fit(distributed=True)` alone is `fit`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.bayes import KronLaplace, MarglikSettings, train_marglik
from eqlab.runs._checkpoint import INTERRUPT_ENV
from eqlab.runs._folder import RunFolder

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SETTINGS = MarglikSettings(
    epochs=4,
    batch_size=8,
    lr=1e-2,
    burn_in=1,
    frequency=2,
    hyper_steps=3,
    hyper_lr=0.1,
    marglik_batch_size=10,
)


def _model(seed: int = 0) -> nn.Module:
    """A tiny float64 classifier with dropout, so training draws from torch's global generator."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Dropout(0.2), nn.Linear(6, 3)).double()


def _data(n: int = 24) -> TensorDataset:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(n, 4, generator=gen, dtype=torch.float64)
    return TensorDataset(x, torch.randint(0, 3, (n,), generator=gen))


def _weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _metrics(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture
def interrupt_after(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Make the N-th checkpoint written from now on raise KeyboardInterrupt, as a Ctrl-C would."""
    from eqlab.runs import _checkpoint

    def arm(n: int) -> None:
        monkeypatch.setattr(_checkpoint, "_written", 0)
        monkeypatch.setenv(INTERRUPT_ENV, str(n))

    return arm


def test_the_history_keeps_its_keys_and_the_same_seed_repeats_it_bit_for_bit() -> None:
    a = _model()  # seeds torch's generator, which the dropout draws from next
    first = train_marglik(a, _data(), SETTINGS, seed=3)
    b = _model()
    second = train_marglik(b, _data(), SETTINGS, seed=3)
    assert set(first) == {"groups", "prior_precision", "train_loss", "marglik"}
    assert first == second and [e for e, _ in first["marglik"]] == [3]
    for name, value in _weights(a).items():
        assert torch.equal(value, _weights(b)[name]), name


def test_the_seed_sets_the_data_order() -> None:
    settings = MarglikSettings(epochs=1, batch_size=8, learn_prior=False, track_marglik=False)
    torch.manual_seed(0)
    model = nn.Linear(4, 3).double()  # no dropout: only the data order can differ
    start = _weights(model)
    runs = []
    for seed in (3, 3, 4):
        model.load_state_dict(start)
        train_marglik(model, _data(), settings, seed=seed)
        runs.append(_weights(model)["weight"])
    assert torch.equal(runs[0], runs[1]) and not torch.equal(runs[0], runs[2])


@pytest.mark.parametrize("stop", [1, 2])
def test_a_resumed_run_ends_with_the_weights_precisions_and_history_of_an_uninterrupted_one(
    tmp_path: Path, interrupt_after: Callable[[int], None], monkeypatch: pytest.MonkeyPatch, stop: int
) -> None:
    settings = MarglikSettings(
        epochs=4, batch_size=8, lr=1e-2, burn_in=0, frequency=1, hyper_steps=3, marglik_batch_size=10
    )
    whole = _model()
    expected = train_marglik(whole, _data(), settings, seed=5, run=RunFolder(tmp_path / "whole"))
    folder = RunFolder(tmp_path / "resumed")
    interrupt_after(stop)
    with pytest.raises(KeyboardInterrupt):
        train_marglik(_model(), _data(), settings, seed=5, run=folder)
    assert torch.load(folder.checkpoint_path("marglik"), weights_only=False)["epoch"] == stop
    monkeypatch.delenv(INTERRUPT_ENV)
    resumed = _model()
    torch.manual_seed(123)  # the resumed run's dropout draws from the RNG state of its checkpoint
    history = train_marglik(resumed, _data(), settings, seed=5, run=folder)
    assert history == expected
    for name, value in _weights(whole).items():
        assert torch.equal(value, _weights(resumed)[name]), name
    assert [m["epoch"] for m in _metrics(folder.path)] == [1, 2, 3, 4]
    assert _metrics(folder.path) == _metrics(tmp_path / "whole")


def test_a_finished_unit_is_restored_without_training_again(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    expected = train_marglik(_model(), _data(), SETTINGS, run=folder)
    again = _model(seed=9)
    assert train_marglik(again, _data(), SETTINGS, run=folder) == expected
    assert len(_metrics(tmp_path)) == SETTINGS.epochs
    saved = torch.load(folder.checkpoint_path("marglik"), weights_only=False)["model"]
    for name, value in _weights(again).items():
        assert torch.equal(value, saved[name]), name


def test_each_epoch_logs_the_loss_the_precisions_and_the_evidence_when_computed(tmp_path: Path) -> None:
    history = train_marglik(_model(), _data(), SETTINGS, run=RunFolder(tmp_path), unit="soft-a")
    lines = _metrics(tmp_path)
    assert [m["epoch"] for m in lines] == [1, 2, 3, 4] and {m["unit"] for m in lines} == {"soft-a"}
    assert [m["train_loss"] for m in lines] == history["train_loss"]
    assert [[m["epoch"], m["log_marglik"]] for m in lines if "log_marglik" in m] == history["marglik"]
    last = lines[-1]
    precisions = torch.tensor(history["prior_precision"], dtype=torch.float64)
    assert last["prior_precision_min"] == float(precisions.min())
    assert last["prior_precision_max"] == float(precisions.max())
    assert last["prior_precision_mean"] == float(precisions.mean())
    assert [m["prior_precision_mean"] for m in lines[:2]] == [1.0, 1.0]  # before the first step, at 3
    assert lines[2]["prior_precision_mean"] != 1.0


def test_a_checkpoint_holds_the_training_state_the_settings_and_the_config(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    model = _model()
    history = train_marglik(model, _data(), SETTINGS, run=folder, config={"study": "soft"})
    state = torch.load(folder.checkpoint_path("marglik"), weights_only=False)
    assert {"model", "optimizer", "hyper_optimizer", "log_delta", "history", "epoch", "settings"} <= set(
        state
    )
    assert state["epoch"] == 4 and state["config"] == {"study": "soft"} and state["unit"] == "marglik"
    assert state["settings"]["ggn"] == "exact" and type(state["settings"]["ggn"]) is str
    assert state["log_delta"].exp().tolist() == history["prior_precision"]
    assert state["history"]["marglik"] == history["marglik"]
    assert "rng" in state


@pytest.mark.parametrize(("every", "epochs"), [(1, [1, 2, 3, 4]), (3, [3, 4]), (5, [4])])
def test_checkpoint_every_spaces_the_checkpoints_in_epochs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, every: int, epochs: list[int]
) -> None:
    from eqlab.bayes import _marglik

    written: list[int] = []
    original = _marglik.save_checkpoint

    def spy(path: Path, state: dict[str, Any]) -> None:
        written.append(state["epoch"])
        original(path, state)

    monkeypatch.setattr(_marglik, "save_checkpoint", spy)
    train_marglik(_model(), _data(), SETTINGS, run=RunFolder(tmp_path), checkpoint_every=every)
    assert written == epochs


def test_without_a_run_folder_or_on_another_rank_nothing_is_written(tmp_path: Path) -> None:
    other = RunFolder(tmp_path / "rank1", rank=1)
    expected = train_marglik(_model(), _data(), SETTINGS)
    assert train_marglik(_model(), _data(), SETTINGS, run=other) == expected
    assert not (tmp_path / "rank1").exists()


def test_fit_with_distributed_alone_is_fit() -> None:
    model = _model().eval()
    x, y = _data().tensors
    loader = [(x[:10], y[:10]), (x[10:], y[10:])]
    alone, flagged = KronLaplace(model, "classification"), KronLaplace(model, "classification")
    alone.fit(loader)
    flagged.fit(loader, distributed=True)
    delta = torch.tensor([0.5, 1.0, 2.0, 3.0], dtype=torch.float64)
    assert float(alone.log_marginal_likelihood(delta)) == float(flagged.log_marginal_likelihood(delta))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_on_cuda_trains_as_on_the_cpu(tmp_path: Path) -> None:
    def plain() -> nn.Module:  # no dropout: its draws differ by device
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()

    cpu, cuda = plain(), plain().cuda()
    settings = MarglikSettings(epochs=3, batch_size=8, burn_in=0, frequency=1, hyper_steps=3, ggn="mc")
    expected = train_marglik(cpu, _data(), settings, seed=2)
    history = train_marglik(cuda, _data(), settings, seed=2, run=RunFolder(tmp_path))
    torch.testing.assert_close(history["prior_precision"], expected["prior_precision"], rtol=1e-8, atol=0)
    for name, value in _weights(cpu).items():
        torch.testing.assert_close(_weights(cuda)[name].cpu(), value, rtol=1e-8, atol=1e-10)
    assert all(p.is_cuda for p in cuda.parameters())

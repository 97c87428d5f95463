"""The shared training loop, `eqlab.train._loop.train`: it learns, it is deterministic, it resumes
exactly, its optimiser and schedule options do what they say, augmentation touches the training batches
only, and it records the documented history."""

from __future__ import annotations

import copy
import json
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from eqlab.runs._checkpoint import INTERRUPT_ENV
from eqlab.runs._folder import RunFolder
from eqlab.train._loop import TrainSettings, train

# ------------------------------------------------------------------ toy problems


def _regression(n: int = 12, features: int = 3, seed: int = 0) -> TensorDataset:
    """``y = x w + 0.5`` for a fixed ``w``, in float64: a problem a linear model can learn exactly."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=gen, dtype=torch.float64)
    w = torch.randn(features, 1, generator=gen, dtype=torch.float64)
    return TensorDataset(x, x @ w + 0.5)


def _linear(seed: int = 1) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(3, 1).double()


def _net(seed: int = 1) -> nn.Module:
    """A small net with dropout, so that training draws from torch's global generator."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.2), nn.Tanh(), nn.Linear(8, 1)).double()


def _noise(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random augmentation drawn from the loop's generator."""
    return x + 0.1 * torch.randn(x.shape, generator=generator, dtype=x.dtype)


def _weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def _gradient(model: nn.Module, data: TensorDataset) -> dict[str, torch.Tensor]:
    """The full-batch gradient of the MSE at the model's current weights (on a copy)."""
    twin = copy.deepcopy(model)
    x, y = data.tensors
    F.mse_loss(twin(x), y).backward()
    return {k: p.grad.detach().clone() for k, p in twin.named_parameters() if p.grad is not None}


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


# ------------------------------------------------------------------ learning and determinism


def test_the_loss_decreases_on_a_learnable_problem() -> None:
    data = _regression(n=64)
    history = train(
        _linear(),
        data,
        TrainSettings(epochs=30, batch_size=16, lr=0.05, schedule="constant"),
        loss_fn=F.mse_loss,
        seed=0,
    )
    losses = history["train_loss"]
    assert losses[-1] < 0.01 * losses[0]


def test_the_same_seed_gives_bit_identical_weights_and_history() -> None:
    settings = TrainSettings(epochs=3, batch_size=4, lr=0.05, optimizer="sgd")
    runs = []
    for _ in range(2):  # seeded before building, as train asks; dropout and augmentation draw at random
        model = _net()
        history = train(model, _regression(), settings, loss_fn=F.mse_loss, seed=3, augment=_noise)
        runs.append((history, _weights(model)))
    assert runs[0][0] == runs[1][0]
    _assert_same_weights(runs[0][1], runs[1][1])


def test_the_seed_sets_the_data_order() -> None:
    settings = TrainSettings(epochs=2, batch_size=4, lr=0.05, optimizer="sgd")
    first, second = _linear(), _linear()
    train(first, _regression(), settings, loss_fn=F.mse_loss, seed=3)
    train(second, _regression(), settings, loss_fn=F.mse_loss, seed=4)
    assert not torch.equal(first.weight, second.weight)


def test_a_plain_dataset_trains_exactly_as_the_tensor_dataset_of_the_same_examples() -> None:
    class Plain(Dataset[tuple[torch.Tensor, torch.Tensor]]):
        def __init__(self, data: TensorDataset) -> None:
            self.data = data

        def __len__(self) -> int:
            return len(self.data)

        def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
            return self.data[i]

    settings = TrainSettings(epochs=2, batch_size=5, lr=0.05, optimizer="sgd")
    fast, slow = _linear(), _linear()
    history_fast = train(fast, _regression(), settings, loss_fn=F.mse_loss, seed=2)
    history_slow = train(slow, Plain(_regression()), settings, loss_fn=F.mse_loss, seed=2)
    assert history_fast == history_slow
    _assert_same_weights(_weights(fast), _weights(slow))


# ------------------------------------------------------------------ checkpoints and resume


RESUMABLE = TrainSettings(epochs=4, batch_size=4, lr=0.05, optimizer="sgd", momentum=0.9, schedule="cosine")


def _train_resumable(model: nn.Module, folder: Path) -> dict[str, Any]:
    return train(
        model,
        _regression(),
        RESUMABLE,
        loss_fn=F.mse_loss,
        seed=5,
        run=RunFolder(folder),
        augment=_noise,
    )


def test_a_resumed_run_ends_with_the_weights_and_history_of_an_uninterrupted_one(
    tmp_path: Path, interrupt_after: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _net()
    expected = _train_resumable(whole, tmp_path / "whole")

    interrupt_after(2)
    with pytest.raises(KeyboardInterrupt):
        _train_resumable(_net(), tmp_path / "broken")
    monkeypatch.delenv(INTERRUPT_ENV)
    resumed = _net(seed=99)  # other initial weights: the checkpoint must restore them
    history = _train_resumable(resumed, tmp_path / "broken")

    assert history == expected
    _assert_same_weights(_weights(resumed), _weights(whole))


def test_an_interrupted_run_leaves_the_checkpoint_of_the_last_finished_epoch(
    tmp_path: Path, interrupt_after: Callable[[int], None]
) -> None:
    interrupt_after(2)
    with pytest.raises(KeyboardInterrupt):
        _train_resumable(_net(), tmp_path)
    saved = torch.load(tmp_path / "checkpoints" / "train.pt", weights_only=False)
    assert saved["epoch"] == 2 and len(saved["history"]) == 2


def test_checkpoint_every_spaces_the_checkpoints_in_epochs(
    tmp_path: Path, interrupt_after: Callable[[int], None]
) -> None:
    interrupt_after(1)
    settings = TrainSettings(epochs=5, batch_size=4, checkpoint_every=2)
    with pytest.raises(KeyboardInterrupt):
        train(_linear(), _regression(), settings, loss_fn=F.mse_loss, seed=0, run=RunFolder(tmp_path))
    assert torch.load(tmp_path / "checkpoints" / "train.pt", weights_only=False)["epoch"] == 2


def test_the_last_epoch_is_checkpointed_even_off_the_checkpoint_spacing(tmp_path: Path) -> None:
    settings = TrainSettings(epochs=3, batch_size=4, checkpoint_every=2)
    train(_linear(), _regression(), settings, loss_fn=F.mse_loss, seed=0, run=RunFolder(tmp_path))
    assert torch.load(tmp_path / "checkpoints" / "train.pt", weights_only=False)["epoch"] == 3


def test_a_checkpoint_holds_the_training_state_the_config_and_the_extra_entries(tmp_path: Path) -> None:
    settings = TrainSettings(epochs=1, batch_size=4)
    train(
        _linear(),
        _regression(),
        settings,
        loss_fn=F.mse_loss,
        seed=0,
        run=RunFolder(tmp_path),
        unit="probe",
        config={"width": 3},
        checkpoint_extra={"builder": "tests.battery.models:cnn"},
    )
    saved = torch.load(tmp_path / "checkpoints" / "probe.pt", weights_only=False)
    for key in ("model", "optimizer", "scheduler", "generator", "history", "rng"):
        assert key in saved, key
    assert saved["settings"]["batch_size"] == 4 and saved["unit"] == "probe"
    assert saved["config"] == {"width": 3} and saved["builder"] == "tests.battery.models:cnn"


def test_a_finished_unit_is_restored_without_training_again(tmp_path: Path) -> None:
    settings = TrainSettings(epochs=2, batch_size=4, lr=0.05)
    trained = _linear()
    history = train(trained, _regression(), settings, loss_fn=F.mse_loss, seed=0, run=RunFolder(tmp_path))
    lines = len(_metrics(tmp_path))
    again = _linear(seed=42)
    assert (
        train(again, _regression(), settings, loss_fn=F.mse_loss, seed=0, run=RunFolder(tmp_path)) == history
    )
    _assert_same_weights(_weights(again), _weights(trained))
    assert len(_metrics(tmp_path)) == lines


def test_without_a_run_folder_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    train(_linear(), _regression(), TrainSettings(epochs=1, batch_size=4), loss_fn=F.mse_loss, seed=0)
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------ optimisers


def _one_step(settings: TrainSettings) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], nn.Module]:
    """Initial weights, their full-batch gradient, and the model after one full-batch step."""
    data, model = _regression(), _linear()
    before, gradient = _weights(model), _gradient(model, data)
    train(model, data, settings, loss_fn=F.mse_loss, seed=0)
    return before, gradient, model


def test_sgd_steps_against_the_gradient_times_the_learning_rate() -> None:
    settings = TrainSettings(
        epochs=1, batch_size=12, lr=0.1, optimizer="sgd", momentum=0.0, schedule="constant"
    )
    before, gradient, model = _one_step(settings)
    for name, p in model.named_parameters():
        torch.testing.assert_close(p.detach(), before[name] - 0.1 * gradient[name], rtol=1e-12, atol=1e-14)


def test_sgd_weight_decay_adds_the_decay_times_the_weights_to_the_gradient() -> None:
    settings = TrainSettings(
        epochs=1, batch_size=12, lr=0.1, optimizer="sgd", momentum=0.0, weight_decay=0.5, schedule="constant"
    )
    before, gradient, model = _one_step(settings)
    for name, p in model.named_parameters():
        expected = before[name] - 0.1 * (gradient[name] + 0.5 * before[name])
        torch.testing.assert_close(p.detach(), expected, rtol=1e-12, atol=1e-14)


def test_sgd_momentum_adds_the_previous_step_times_the_momentum() -> None:
    data = _regression()
    settings = TrainSettings(
        epochs=2, batch_size=12, lr=0.1, optimizer="sgd", momentum=0.5, schedule="constant"
    )
    model = _linear()
    w0, g0 = _weights(model), _gradient(model, data)
    reference = _linear()
    with torch.no_grad():
        for name, p in reference.named_parameters():
            p.copy_(w0[name] - 0.1 * g0[name])
    g1 = _gradient(reference, data)
    train(model, data, settings, loss_fn=F.mse_loss, seed=0)
    for name, p in model.named_parameters():
        expected = w0[name] - 0.1 * g0[name] - 0.1 * (0.5 * g0[name] + g1[name])
        torch.testing.assert_close(p.detach(), expected, rtol=1e-12, atol=1e-14)


def test_adams_first_step_moves_every_weight_by_the_learning_rate_against_its_gradient() -> None:
    settings = TrainSettings(epochs=1, batch_size=12, lr=0.01, optimizer="adam", schedule="constant")
    before, gradient, model = _one_step(settings)
    for name, p in model.named_parameters():
        g = gradient[name]
        torch.testing.assert_close(
            p.detach(), before[name] - 0.01 * g / (g.abs() + 1e-8), rtol=1e-12, atol=1e-14
        )


def test_adams_weight_decay_adds_the_decay_times_the_weights_to_the_gradient() -> None:
    settings = TrainSettings(epochs=1, batch_size=12, lr=0.01, weight_decay=2.0, schedule="constant")
    before, gradient, model = _one_step(settings)
    for name, p in model.named_parameters():
        g = gradient[name] + 2.0 * before[name]
        torch.testing.assert_close(
            p.detach(), before[name] - 0.01 * g / (g.abs() + 1e-8), rtol=1e-12, atol=1e-14
        )


# ------------------------------------------------------------------ schedules


def _logged_learning_rates(folder: Path, schedule: str) -> list[float]:
    settings = TrainSettings(epochs=4, batch_size=6, lr=0.2, optimizer="sgd", schedule=schedule)
    train(_linear(), _regression(), settings, loss_fn=F.mse_loss, seed=0, run=RunFolder(folder))
    return [line["lr"] for line in _metrics(folder)]


def test_the_cosine_schedule_anneals_per_step_to_zero_at_the_end(tmp_path: Path) -> None:
    lrs = _logged_learning_rates(tmp_path, "cosine")  # 2 steps per epoch, 8 in all
    expected = [0.2 * (1 + math.cos(math.pi * 2 * e / 8)) / 2 for e in (1, 2, 3, 4)]
    assert lrs == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert lrs[-1] <= 1e-15


def test_the_constant_schedule_keeps_the_learning_rate(tmp_path: Path) -> None:
    assert _logged_learning_rates(tmp_path, "constant") == [0.2] * 4


# ------------------------------------------------------------------ augmentation


class _Recorder(nn.Module):
    """A linear model that records the inputs it is called with."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = _linear()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return self.linear(x)


def test_the_model_trains_on_the_augmented_batches() -> None:
    data, model = _regression(), _Recorder()
    train(
        model,
        data,
        TrainSettings(epochs=1, batch_size=4),
        loss_fn=F.mse_loss,
        seed=0,
        augment=lambda x, g: 2 * x,
    )
    seen = torch.cat(model.seen)
    assert len(model.seen) == 3
    assert sorted(map(tuple, (seen / 2).tolist())) == sorted(map(tuple, data.tensors[0].tolist()))


def test_augmentation_leaves_the_targets_alone() -> None:
    data, targets = _regression(), []

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        targets.append(y.clone())
        return F.mse_loss(out, y)

    train(
        _linear(),
        data,
        TrainSettings(epochs=1, batch_size=4),
        loss_fn=loss_fn,
        seed=0,
        augment=lambda x, g: -x,
    )
    assert sorted(torch.cat(targets).flatten().tolist()) == sorted(data.tensors[1].flatten().tolist())


def test_augmenting_a_batch_in_place_leaves_the_data_set_unchanged() -> None:
    data = _regression()
    inputs = data.tensors[0].clone()
    train(
        _linear(),
        data,
        TrainSettings(epochs=2, batch_size=4),
        loss_fn=F.mse_loss,
        seed=0,
        augment=lambda x, g: x.mul_(0),
    )
    assert torch.equal(data.tensors[0], inputs)


def test_augment_draws_from_a_generator_seeded_by_the_seed() -> None:
    seeds = []

    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        seeds.append(generator.initial_seed())
        return x

    train(
        _linear(),
        _regression(),
        TrainSettings(epochs=1, batch_size=6),
        loss_fn=F.mse_loss,
        seed=11,
        augment=augment,
    )
    assert seeds == [11, 11]


# ------------------------------------------------------------------ history and metrics


def test_the_history_holds_the_mean_loss_of_each_epoch_the_epoch_count_and_the_batchnorm_mode() -> None:
    history = train(
        _linear(), _regression(), TrainSettings(epochs=3, batch_size=4), loss_fn=F.mse_loss, seed=0
    )
    assert set(history) == {"train_loss", "epochs", "batchnorm"}
    assert history["epochs"] == 3 and len(history["train_loss"]) == 3
    assert history["batchnorm"] == "no batch norm" and type(history["batchnorm"]) is str


def test_a_batchnorm_model_in_one_process_trains_as_it_is() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1)).double()
    bn = model[1]
    history = train(model, _regression(), TrainSettings(epochs=2, batch_size=4), loss_fn=F.mse_loss, seed=0)
    assert history["batchnorm"] == "single process"
    assert model[1] is bn and type(bn) is nn.BatchNorm1d and int(bn.num_batches_tracked) == 6


def test_the_epoch_loss_is_the_mean_over_examples_not_over_batches() -> None:
    batches: list[tuple[float, int]] = []

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = F.mse_loss(out, y)
        batches.append((float(loss.detach()), len(y)))
        return loss

    settings = TrainSettings(epochs=1, batch_size=5)  # 12 examples: batches of 5, 5 and 2
    (loss,) = train(_linear(), _regression(), settings, loss_fn=loss_fn, seed=0)["train_loss"]
    assert [n for _, n in batches] == [5, 5, 2]
    assert loss == pytest.approx(sum(v * n for v, n in batches) / 12, rel=1e-14)
    assert loss != pytest.approx(sum(v for v, _ in batches) / 3, rel=1e-6)


def test_each_epoch_logs_its_unit_epoch_loss_and_learning_rate(tmp_path: Path) -> None:
    settings = TrainSettings(epochs=3, batch_size=4)
    history = train(
        _linear(), _regression(), settings, loss_fn=F.mse_loss, seed=0, run=RunFolder(tmp_path), unit="u"
    )
    lines = _metrics(tmp_path)
    assert [set(line) for line in lines] == [{"unit", "epoch", "train_loss", "lr"}] * 3
    assert [line["epoch"] for line in lines] == [1, 2, 3] and {line["unit"] for line in lines} == {"u"}
    assert [line["train_loss"] for line in lines] == history["train_loss"]


def test_a_non_finite_loss_is_logged_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="eqlab.train._loop"):
        train(
            _linear(),
            _regression(),
            TrainSettings(epochs=1, batch_size=4),
            loss_fn=lambda out, y: (out - y).mean() * math.inf,
            seed=0,
        )
    assert "non-finite" in caplog.text


# ------------------------------------------------------------------ bad settings


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("epochs", 0, ValueError),
        ("epochs", 2.5, TypeError),
        ("batch_size", 0, ValueError),
        ("lr", 0.0, ValueError),
        ("lr", math.nan, ValueError),
        ("optimizer", "adamw", ValueError),
        ("momentum", 1.5, ValueError),
        ("weight_decay", -1e-4, ValueError),
        ("schedule", "linear", ValueError),
        ("checkpoint_every", 0, ValueError),
    ],
)
def test_a_bad_setting_is_refused_by_name(field: str, value: object, error: type[Exception]) -> None:
    settings: dict[str, Any] = {"epochs": 1, "batch_size": 4, field: value}
    with pytest.raises(error, match=field):
        TrainSettings(**settings)


@pytest.mark.parametrize(
    ("argument", "value", "error", "message"),
    [
        ("settings", {"epochs": 1, "batch_size": 4}, TypeError, "settings must be a TrainSettings"),
        ("seed", -1, ValueError, "seed"),
        ("unit", "a/b", ValueError, "unit must be a plain name"),
        ("checkpoint_extra", {"epoch": 0}, ValueError, "checkpoint_extra must not replace"),
        ("augment", lambda x, g: x[:1], ValueError, "augment must return a tensor of the batch's 4 examples"),
        ("loss_fn", lambda out, y: (out - y) ** 2, ValueError, "loss_fn must return a scalar tensor"),
        ("model", nn.ReLU(), ValueError, "model must have parameters"),
    ],
)
def test_a_bad_argument_is_refused_by_name(
    argument: str, value: object, error: type[Exception], message: str
) -> None:
    arguments: dict[str, Any] = {
        "model": _linear(),
        "data": _regression(),
        "settings": TrainSettings(epochs=1, batch_size=4),
        "loss_fn": F.mse_loss,
        "seed": 0,
        argument: value,
    }
    with pytest.raises(error, match=message):
        train(**arguments)


def test_a_model_that_cannot_take_the_data_is_named_with_the_batch() -> None:
    with pytest.raises(ValueError, match="data: the model cannot take a batch of inputs"):
        train(
            nn.Linear(5, 1).double(),
            _regression(),
            TrainSettings(epochs=1, batch_size=4),
            loss_fn=F.mse_loss,
            seed=0,
        )

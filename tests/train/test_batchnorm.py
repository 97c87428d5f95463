"""Batch norm under torchrun (`eqlab.train._batchnorm`): the SyncBatchNorm view shares the model's state and
hands it back into the model's own modules and classes; the mode follows the device and backend; `train`
in the synchronised mode trains exactly as without it and leaves the caller's module tree as it was."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.nn import GroupBatchNorm2d
from eqlab.runs._folder import RunFolder
from eqlab.train import _batchnorm, _loop
from eqlab.train._batchnorm import (
    BatchNormMode,
    batchnorm_mode,
    check_per_rank,
    revert_sync_batchnorm,
    sync_batchnorm,
    training_view,
)
from eqlab.train._distributed import batchnorm_statistics
from eqlab.train._loop import TrainSettings, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _cnn(seed: int = 0) -> nn.Sequential:
    """Conv, BatchNorm2d, and a GroupBatchNorm2d (a BatchNorm3d) on a group axis of one element."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3),
        nn.BatchNorm2d(3),
        nn.Tanh(),
        nn.Unflatten(1, (3, 1)),
        nn.Sequential(GroupBatchNorm2d(3, momentum=0.3)),
        nn.Flatten(),
        nn.Linear(3 * 4 * 4, 2),
    ).double()


def _images(n: int = 16, seed: int = 1) -> TensorDataset:
    gen = torch.Generator().manual_seed(seed)
    return TensorDataset(
        torch.randn(n, 1, 6, 6, generator=gen, dtype=torch.float64),
        torch.randn(n, 2, generator=gen, dtype=torch.float64),
    )


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _assert_equal_states(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def _classes(model: nn.Module) -> list[tuple[str, type]]:
    return [(name, type(m)) for name, m in model.named_modules()]


def _sgd_steps(model: nn.Module, data: TensorDataset, steps: int = 2) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    x, y = data.tensors
    for _ in range(steps):
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()


# ------------------------------------------------------------------ the view and its reversal


def test_the_view_has_sync_batchnorm_where_the_model_has_batch_norm_and_the_model_is_unchanged() -> None:
    model = _cnn()
    classes, children = _classes(model), [id(m) for m in model.modules()]
    view = sync_batchnorm(model)
    assert type(view[1]) is nn.SyncBatchNorm and type(view[4][0]) is nn.SyncBatchNorm
    assert _classes(model) == classes and [id(m) for m in model.modules()] == children
    assert view is not model and view[0] is model[0] and view[6] is model[6]  # no batch norm below: shared
    assert view[1].weight is model[1].weight and view[4][0].running_var is model[4][0].running_var


def test_revert_of_the_view_is_the_model_with_its_classes_and_state() -> None:
    model = _cnn()
    before = _state(model)
    back = revert_sync_batchnorm(sync_batchnorm(model))
    assert back is model and _classes(back) == _classes(_cnn())
    _assert_equal_states(_state(back), before)


def test_training_the_view_trains_the_model_as_training_it_directly() -> None:
    data = _images()
    direct, model = _cnn(), _cnn()
    _sgd_steps(direct, data)
    view = sync_batchnorm(model)
    _sgd_steps(view, data)  # one process: SyncBatchNorm normalises as BatchNorm does
    back = revert_sync_batchnorm(view)
    assert back is model and type(model[4][0]) is GroupBatchNorm2d
    _assert_equal_states(_state(model), _state(direct))
    assert int(model[1].num_batches_tracked) == 2


def test_state_the_view_holds_in_tensors_of_its_own_is_copied_back() -> None:
    model = _cnn()
    view = sync_batchnorm(model)
    view[1].running_mean = torch.full((3,), 2.5, dtype=torch.float64)
    view[1].weight = nn.Parameter(torch.full((3,), -1.0, dtype=torch.float64))
    view[1].eps, view[1].momentum = 1e-3, None
    view.eval()
    revert_sync_batchnorm(view)
    assert torch.equal(model[1].running_mean, torch.full((3,), 2.5, dtype=torch.float64))
    assert torch.equal(model[1].weight, torch.full((3,), -1.0, dtype=torch.float64))
    assert (model[1].eps, model[1].momentum) == (1e-3, None)
    assert not model.training and not model[1].training and not model[4].training


def test_a_view_whose_state_no_longer_fits_the_model_is_refused_by_name() -> None:
    model = _cnn()
    view = sync_batchnorm(model)
    view[1].running_mean = torch.zeros(5, dtype=torch.float64)
    with pytest.raises(ValueError, match="view: the SyncBatchNorm's running_mean"):
        revert_sync_batchnorm(view)


@pytest.mark.parametrize(
    "bn",
    [
        nn.BatchNorm1d(4, affine=False),
        nn.BatchNorm1d(4, track_running_stats=False),
        nn.BatchNorm1d(4, bias=False),
        nn.BatchNorm1d(4, momentum=None),
    ],
    ids=["no affine", "no running stats", "no bias", "cumulative average"],
)
def test_every_kind_of_batch_norm_makes_the_round_trip(bn: nn.BatchNorm1d) -> None:
    model = nn.Sequential(nn.Linear(3, 4), bn).double()
    data = TensorDataset(torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 4, dtype=torch.float64))
    direct = copy.deepcopy(model)
    view = sync_batchnorm(model)
    assert [n for n, _ in view[1].named_parameters()] == [n for n, _ in bn.named_parameters()]
    assert [n for n, _ in view[1].named_buffers()] == [n for n, _ in bn.named_buffers()]
    _sgd_steps(view, data)
    _sgd_steps(direct, data)
    assert revert_sync_batchnorm(view) is model and model[1] is bn and type(bn) is nn.BatchNorm1d
    _assert_equal_states(_state(model), _state(direct))


def test_a_batch_norm_at_the_root_comes_back_as_itself() -> None:
    bn = GroupBatchNorm2d(2)
    view = sync_batchnorm(bn)
    assert type(view) is nn.SyncBatchNorm
    view(torch.randn(4, 2, 3, 2, 2))
    assert revert_sync_batchnorm(view) is bn and int(bn.num_batches_tracked) == 1


def test_a_batch_norm_used_twice_is_one_sync_batch_norm() -> None:
    bn = nn.BatchNorm1d(3)
    model = nn.Sequential(bn, nn.Sequential(nn.Tanh(), bn))
    view = sync_batchnorm(model)
    assert view[0] is view[1][1] and type(view[0]) is nn.SyncBatchNorm


def test_a_model_without_batch_norm_is_its_own_view() -> None:
    model = nn.Sequential(nn.Linear(2, 2))
    assert sync_batchnorm(model) is model and revert_sync_batchnorm(model) is model


def test_the_training_view_copies_the_state_back_when_training_fails() -> None:
    model = _cnn()
    with pytest.raises(KeyboardInterrupt), training_view(model, BatchNormMode.SYNCHRONISED) as view:
        assert type(view[1]) is nn.SyncBatchNorm
        view[1].running_mean = torch.full((3,), 7.0, dtype=torch.float64)
        raise KeyboardInterrupt
    assert type(model[1]) is nn.BatchNorm2d and float(model[1].running_mean[0]) == 7.0
    for mode in (BatchNormMode.SINGLE, BatchNormMode.PER_RANK, BatchNormMode.NONE):
        with training_view(model, mode) as same:
            assert same is model


# ------------------------------------------------------------------ the mode


def _fake_group(monkeypatch: pytest.MonkeyPatch, world: int, backend: str) -> None:
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_world_size", lambda group=None: world)
    monkeypatch.setattr(dist, "get_backend", lambda group=None: backend)


def test_the_mode_without_a_process_group() -> None:
    assert batchnorm_mode(nn.Linear(2, 2)) is BatchNormMode.NONE
    assert batchnorm_mode(_cnn()) is BatchNormMode.SINGLE
    assert batchnorm_mode(GroupBatchNorm2d(2)) is BatchNormMode.SINGLE


@pytest.mark.parametrize(
    ("world", "backend", "device", "mode"),
    [
        (1, "nccl", "cuda", BatchNormMode.SINGLE),
        (2, "gloo", "cpu", BatchNormMode.PER_RANK),
        (2, "gloo", "cuda", BatchNormMode.PER_RANK),
        (2, "nccl", "cuda", BatchNormMode.SYNCHRONISED),
    ],
)
def test_the_mode_under_a_process_group_follows_world_backend_and_device(
    monkeypatch: pytest.MonkeyPatch, world: int, backend: str, device: str, mode: BatchNormMode
) -> None:
    _fake_group(monkeypatch, world, backend)
    monkeypatch.setattr(_batchnorm, "_device", lambda model: torch.device(device))
    assert batchnorm_mode(_cnn()) is mode
    assert batchnorm_mode(nn.Linear(2, 2)) is BatchNormMode.NONE


def test_sync_batch_norm_of_the_callers_own_is_refused_where_it_cannot_run() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.SyncBatchNorm(2))
    with pytest.raises(ValueError, match="model must hold plain batch norm .* got the SyncBatchNorm '1'"):
        check_per_rank(model, BatchNormMode.PER_RANK)
    check_per_rank(model, BatchNormMode.SYNCHRONISED)


# ------------------------------------------------------------------ train in the synchronised mode


def test_train_in_the_synchronised_mode_trains_and_saves_as_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One process with the mode forced: the view's SyncBatchNorm runs as BatchNorm on CPU, so the weights,
    running statistics and checkpoint must equal a plain run's, and the model keep its classes."""
    settings = TrainSettings(epochs=2, batch_size=8, lr=0.05, optimizer="sgd")
    plain = _cnn()
    plain_history = train(
        plain, _images(), settings, loss_fn=F.mse_loss, seed=3, run=RunFolder(tmp_path / "a")
    )
    monkeypatch.setattr(_loop, "batchnorm_mode", lambda model: BatchNormMode.SYNCHRONISED)
    model = _cnn()
    modules = list(model.modules())
    seen: list[type] = []
    original = _loop.save_checkpoint

    def spy(path: Path, state: dict[str, object]) -> None:
        seen.extend(type(m) for m in model.modules())
        original(path, state)

    monkeypatch.setattr(_loop, "save_checkpoint", spy)
    history = train(model, _images(), settings, loss_fn=F.mse_loss, seed=3, run=RunFolder(tmp_path / "b"))
    assert history["batchnorm"] == "synchronised" and history["train_loss"] == plain_history["train_loss"]
    assert list(model.modules()) == modules and _classes(model) == _classes(_cnn())
    assert nn.SyncBatchNorm not in seen and len(seen) == 2 * len(modules)
    _assert_equal_states(_state(model), _state(plain))
    saved = torch.load(tmp_path / "b" / "checkpoints" / "train.pt", weights_only=False)["model"]
    _assert_equal_states(saved, _state(plain))


def test_the_run_level_record_names_the_mode_a_batchnorm_model_gets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert batchnorm_statistics("cpu") == batchnorm_statistics("cuda") == "single process"
    monkeypatch.setenv("WORLD_SIZE", "2")  # under torchrun, before the process group is up
    assert batchnorm_statistics("cpu") == "per-rank statistics"
    if not torch.cuda.is_available():  # init_from_env would choose gloo
        assert batchnorm_statistics("cuda") == "per-rank statistics"
    _fake_group(monkeypatch, 2, "nccl")
    assert (
        batchnorm_statistics("cuda") == "synchronised"
        and batchnorm_statistics("cpu") == "per-rank statistics"
    )
    monkeypatch.setattr(_batchnorm, "_device", lambda model: torch.device("cuda"))
    assert batchnorm_statistics("cuda") == batchnorm_mode(_cnn()).value

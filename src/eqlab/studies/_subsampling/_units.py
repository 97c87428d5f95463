"""The ``subsampling`` study's unit of work: one network trained at one size in one regime with one seed,
then measured (accuracy upright, unseen, per digit, against the angle and on digits rotated like the
rotated regime's training digits; the float64 equivariance error by depth)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.data._transforms import rotate_batch
from eqlab.exactness import check
from eqlab.runs import RunFolder
from eqlab.runs._config import config_to_dict
from eqlab.studies._subsampling._config import QUARTERS, Regime, SubsamplingConfig
from eqlab.studies._subsampling._data import digits_of_seed, resized
from eqlab.studies._subsampling._models import build_cnn
from eqlab.studies._subsampling._results import SubsamplingUnit
from eqlab.train import train


def _predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Predicted classes of ``x`` (on the model's device), in chunks; ``(N,)`` on the CPU.

    In float32 throughout: on CUDA with TF32 convolutions off, so that rounding stays at float32's level
    (the periodicity demonstration counts on it)."""
    cuda = x.device.type == "cuda"
    chunk = 1024 if cuda else 32  # small chunks stay in the CPU's caches
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = tf32 and not cuda
    try:
        with torch.no_grad():
            return torch.cat([model(part).argmax(1).cpu() for part in x.split(chunk)])
    finally:
        torch.backends.cudnn.allow_tf32 = tf32


def _accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    return float((predicted == labels).double().mean())


def _rotated(x: torch.Tensor, degrees: float) -> torch.Tensor:
    return rotate_batch(x, torch.full((len(x),), float(degrees), device=x.device))


def train_unit(
    config: SubsamplingConfig, run: RunFolder, size: int, regime: Regime, seed_index: int
) -> SubsamplingUnit:
    """Train the network of ``size``, ``regime`` and ``seed_index`` on run.device and measure it."""
    data = digits_of_seed(config, run, seed_index)
    x_train, x_test = resized(data.x_train, size), resized(data.x_test, size)
    torch.manual_seed(run.seed_for("init", seed_index))  # the same initial weights at both sizes
    model = build_cnn(config.group, config.widths).to(run.device)

    def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        angles = config.rotated_mean + config.rotated_sd * torch.randn(x.shape[0], generator=generator)
        return rotate_batch(x, angles.to(x.device))

    unit = f"{regime}-n{size}-s{seed_index}"
    history = train(
        model,
        TensorDataset(x_train, data.y_train),
        config.train,
        loss_fn=nn.functional.cross_entropy,
        seed=run.seed_for("batch order and rotations", regime, seed_index),  # shared by both sizes
        run=run,
        unit=unit,
        augment=augment if regime is Regime.ROTATED else None,
        config=config_to_dict(config),
        checkpoint_extra={
            "builder": "eqlab.studies._subsampling:build_cnn",
            "builder_kwargs": {"group": config.group, "widths": list(config.widths)},
        },
    )
    model.eval()
    x_test, y_test = x_test.to(run.device), data.y_test
    angles = tuple(range(0, 360, config.angle_step))
    predicted = {a: _predict(model, _rotated(x_test, a)) for a in sorted({*angles, 0, *QUARTERS})}
    unseen_pred, unseen_y = torch.cat([predicted[a] for a in QUARTERS]), y_test.repeat(len(QUARTERS))
    per_class = tuple(
        _accuracy(unseen_pred[unseen_y == c], unseen_y[unseen_y == c])
        if bool((unseen_y == c).any())
        else math.nan
        for c in range(10)
    )
    shifted = config.rotated_mean + config.rotated_sd * torch.randn(
        len(x_test), generator=run.generator("test rotations", seed_index)
    )
    like_training = _predict(model, rotate_batch(x_test, shifted.to(run.device)))
    # the float64 analysis copies the model to the CPU
    exactness = check(model.cpu(), size, seed=run.seed_for("check inputs", size, seed_index))
    return SubsamplingUnit(
        size=size,
        regime=regime,
        seed_index=seed_index,
        final_train_loss=history["train_loss"][-1],
        seen=_accuracy(predicted[0], y_test),
        unseen=_accuracy(unseen_pred, unseen_y),
        rotated_like_training=_accuracy(like_training, y_test),
        angles=angles,
        accuracy_by_angle=tuple(_accuracy(predicted[a], y_test) for a in angles),
        unseen_per_class=per_class,
        exact=exactness.exact,
        depth_names=tuple(name for name, _ in exactness.depth_errors),
        depth_errors=tuple(error for _, error in exactness.depth_errors),
    )

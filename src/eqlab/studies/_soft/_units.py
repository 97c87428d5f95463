"""One unit of the ``soft`` study: a network trained on one task with one seed and one kind of priors, and
its measurements (accuracy, shift error, evidence, how much each block uses each path)."""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.bayes import train_marglik
from eqlab.nn._soft import SoftBlock, soft_backbone
from eqlab.runs import RunFolder
from eqlab.runs._config import config_to_dict
from eqlab.studies._soft._config import SoftConfig, task_shape
from eqlab.studies._soft._data import SoftData
from eqlab.studies._soft._results import BlockMeasure, Evidence, SoftUnit
from eqlab.testing import equivariance_error


def build_model(config: SoftConfig, task: str, model_name: str) -> nn.Sequential:
    """The network of ``model_name`` for ``task`` at the config's size, initialised from torch's global
    generator."""
    return soft_backbone(
        model_name,
        alpha=config.alpha,
        size=config.size,
        in_channels=task_shape(task)[0],
        num_classes=task_shape(task)[1],
        widths=config.widths,
        strides=config.strides,
    )


def _blocks(model: nn.Sequential) -> list[tuple[str, SoftBlock]]:
    return [(name, m) for name, m in model.named_children() if isinstance(m, SoftBlock)]


def _path_shares(model: nn.Sequential, x: torch.Tensor) -> dict[str, float]:
    """Per two-path block: |conv path output| / (|conv| + |dense|), averaged over the inputs."""
    shares = {}
    h = x
    with torch.no_grad():
        for name, layer in model.named_children():
            if isinstance(layer, SoftBlock) and layer.conv is not None and layer.dense is not None:
                conv = layer.conv(h).flatten(1).norm(dim=1)
                dense = layer.dense(h).flatten(1).norm(dim=1)
                shares[name] = float((conv / (conv + dense).clamp_min(1e-12)).mean())
            if not isinstance(layer, SoftBlock):
                break
            h = layer(h)
    return shares


def _block_measures(
    model: nn.Sequential, groups: Sequence[str], precisions: Sequence[float], shares: dict[str, float]
) -> tuple[BlockMeasure, ...]:
    by_name = dict(zip(groups, precisions, strict=True))
    params = dict(model.named_parameters())
    out = []
    for name, _ in _blocks(model):
        found: dict[str, tuple[float, float] | None] = {}
        for path in ("conv", "dense"):
            keys = [k for k in by_name if k.startswith(f"{name}.{path}.") and k.endswith("weight")]
            found[path] = (
                (
                    float(np.exp(np.mean([math.log(by_name[k]) for k in keys]))),
                    math.sqrt(sum(float(params[k].detach().double().pow(2).sum()) for k in keys)),
                )
                if keys
                else None
            )
        conv, dense = found["conv"], found["dense"]
        out.append(
            BlockMeasure(
                block=name,
                conv_precision=conv[0] if conv else None,
                dense_precision=dense[0] if dense else None,
                conv_norm=conv[1] if conv else None,
                dense_norm=dense[1] if dense else None,
                conv_share=shares.get(name),
            )
        )
    return tuple(out)


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: str) -> float:
    correct = 0
    with torch.no_grad():
        for start in range(0, len(y), 1000):
            logits = model(x[start : start + 1000].to(device))
            correct += int((logits.argmax(1) == y[start : start + 1000].to(device)).sum())
    return correct / len(y)


def _shift_error(model: nn.Module, x: torch.Tensor) -> float:
    """The float64 relative change of the logits under circular shifts by half the canvas."""
    half = x.shape[-1] // 2
    shifts = [
        functools.partial(torch.roll, shifts=s, dims=(-2, -1)) for s in ((half, 0), (0, half), (half, half))
    ]
    return equivariance_error(model, x, shifts, [_identity] * len(shifts))


def _identity(t: torch.Tensor) -> torch.Tensor:
    return t


def unit_name(task: str, model_name: str, priors: str, seed_index: int) -> str:
    """The name of a unit (its result file and its checkpoint)."""
    return f"{task}-{model_name.replace('+', '_')}-{priors}-s{seed_index}"


def train_unit(
    config: SoftConfig,
    run: RunFolder,
    data: SoftData,
    task: str,
    model_name: str,
    priors: str,
    seed_index: int,
) -> SoftUnit:
    """Train ``model_name`` on seed ``seed_index``'s images of ``task`` with fixed (``priors="map"``) or
    learned (``"marglik"``) prior precisions, and measure it."""
    images = data.get(task, seed_index)
    with torch.random.fork_rng(devices=[]):  # MAP and learned priors start from the same weights
        torch.manual_seed(data.streams.seed_for("init", task, model_name, seed_index))
        model = build_model(config, task, model_name)
    model = model.to(run.device)  # train_marglik moves each batch to the model's device
    history = train_marglik(
        model,
        TensorDataset(images.x_train, images.y_train),
        dataclasses.replace(config.train, learn_prior=priors == "marglik"),
        seed=data.streams.seed_for(
            "batches", task, model_name, seed_index
        ),  # the same batches for both priors
        run=run,
        unit=unit_name(task, model_name, priors, seed_index),
        config=config_to_dict(config),
        checkpoint_every=max(1, config.train.epochs // 5),  # a dense network's checkpoint is megabytes
    )
    model.eval()
    shares = _path_shares(model, images.x_test[:256].to(run.device))
    cpu_model = copy.deepcopy(model).cpu()  # the float64 shift measurement runs on the CPU
    return SoftUnit(
        task=task,
        model=model_name,
        priors=priors,
        seed_index=seed_index,
        source=images.source,
        train_size=len(images.y_train),
        test_size=len(images.y_test),
        parameters=sum(p.numel() for p in model.parameters()),
        test_accuracy=_accuracy(model, images.x_test, images.y_test, run.device),
        shift_error=_shift_error(cpu_model, images.x_test[:64]),
        train_loss=tuple(float(v) for v in history["train_loss"]),
        evidence=tuple(Evidence(int(e), float(v)) for e, v in history["marglik"]),
        groups=tuple(history["groups"]),
        prior_precision=tuple(float(v) for v in history["prior_precision"]),
        blocks=_block_measures(cpu_model, history["groups"], history["prior_precision"], shares),
    )

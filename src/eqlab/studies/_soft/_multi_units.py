"""One unit of the ``soft`` study's second experiment (Section 6.3): a `MULTI_MODEL` network trained with
learned prior precisions on upright or rotated digits, and how much each block uses each path."""

from __future__ import annotations

import dataclasses
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
from eqlab.studies._soft._config import SoftConfig
from eqlab.studies._soft._data import SoftData
from eqlab.studies._soft._multi_config import MULTI_MODEL, PATHS
from eqlab.studies._soft._results import Evidence, MultiUnit, PathMeasure


def build_multi_model(config: SoftConfig) -> nn.Sequential:
    """The `MULTI_MODEL` network for the digit task at the config's size and ``multi.alpha``, initialised
    from torch's global generator."""
    return soft_backbone(
        MULTI_MODEL,
        alpha=config.multi.alpha,
        size=config.size,
        in_channels=1,
        num_classes=10,
        widths=config.widths,
        strides=config.strides,
    )


def _shares(model: nn.Sequential, x: torch.Tensor) -> dict[str, tuple[float, float, float]]:
    """Per block: each path's ``|path(h)| / sum over paths |path(h)|``, averaged over the inputs."""
    out = {}
    h = x
    with torch.no_grad():
        for name, layer in model.named_children():
            if not isinstance(layer, SoftBlock):
                break
            norms = torch.stack([getattr(layer, p)(h).flatten(1).norm(dim=1) for p in PATHS])  # (3, B)
            share = (norms / norms.sum(0).clamp_min(1e-12)).mean(1)
            out[name] = (float(share[0]), float(share[1]), float(share[2]))
            h = layer(h)
    return out


def _measures(
    model: nn.Sequential, groups: Sequence[str], precisions: Sequence[float], x: torch.Tensor
) -> tuple[PathMeasure, ...]:
    by_name = dict(zip(groups, precisions, strict=True))
    shares = _shares(model, x)
    out = []
    for name, share in shares.items():
        geo = []
        for path in PATHS:
            keys = [k for k in by_name if k.startswith(f"{name}.{path}.") and k.endswith("weight")]
            geo.append(float(np.exp(np.mean([math.log(by_name[k]) for k in keys]))))
        out.append(
            PathMeasure(
                block=name,
                group_precision=geo[0],
                conv_precision=geo[1],
                dense_precision=geo[2],
                group_share=share[0],
                conv_share=share[1],
                dense_share=share[2],
            )
        )
    return tuple(out)


def multi_unit_name(condition: str, seed_index: int) -> str:
    """The name of a Section 6.3 unit (its result file and its checkpoint)."""
    return f"multi-{condition}-s{seed_index}"


def train_multi_unit(
    config: SoftConfig, run: RunFolder, data: SoftData, condition: str, seed_index: int
) -> MultiUnit:
    """Train the `MULTI_MODEL` network with learned priors on seed ``seed_index``'s digit-task canvases,
    upright or with every digit turned (``condition``), and measure it."""
    images = data.get("digit", seed_index, rotated=condition == "rotated")
    with torch.random.fork_rng(devices=[]):  # upright and rotated start from the same weights
        torch.manual_seed(data.streams.seed_for("init", "multi", seed_index))
        model = build_multi_model(config)
    model = model.to(run.device)
    history = train_marglik(
        model,
        TensorDataset(images.x_train, images.y_train),
        dataclasses.replace(config.multi.train, learn_prior=True),
        seed=data.streams.seed_for("batches", "multi", seed_index),
        run=run,
        unit=multi_unit_name(condition, seed_index),
        config=config_to_dict(config),
        checkpoint_every=max(1, config.multi.train.epochs // 5),
    )
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(images.y_test), 1000):
            logits = model(images.x_test[start : start + 1000].to(run.device))
            correct += int((logits.argmax(1) == images.y_test[start : start + 1000].to(run.device)).sum())
    return MultiUnit(
        condition=condition,
        seed_index=seed_index,
        train_size=len(images.y_train),
        test_size=len(images.y_test),
        parameters=sum(p.numel() for p in model.parameters()),
        test_accuracy=correct / len(images.y_test),
        train_loss=tuple(float(v) for v in history["train_loss"]),
        evidence=tuple(Evidence(int(e), float(v)) for e, v in history["marglik"]),
        blocks=_measures(
            model, history["groups"], history["prior_precision"], images.x_test[:256].to(run.device)
        ),
    )

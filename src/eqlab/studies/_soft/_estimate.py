"""The training time of a ``soft`` config on a device, from steps timed on random batches."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from eqlab.bayes import MarglikSettings
from eqlab.runs._cost import CostEstimate, seconds_per_step
from eqlab.studies._soft._config import JOBS, MODELS, SoftConfig, check_config, task_shape
from eqlab.studies._soft._multi_config import CONDITIONS, MULTI_MODEL
from eqlab.studies._soft._multi_units import build_multi_model
from eqlab.studies._soft._units import build_model


def _random_batch(batch: int, channels: int, size: int, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, channels, size, size, generator=gen)
    return x, torch.randint(0, classes, (batch,), generator=gen)


def _step_seconds(model: nn.Module, batch: int, channels: int, size: int, classes: int, device: str) -> float:
    """One training step of ``model`` on a random batch of ``batch`` images, timed on ``device``.

    On a GPU the step is timed at that batch. On a CPU it is timed at two smaller batches (a sixteenth
    and a quarter of it, at least 1 and 2) and extrapolated along the line through them (a step's time
    is a part per parameter, the update, plus a part per example), since one step of the paper's dense
    networks at their batch takes seconds there.
    """
    if device == "cuda" or batch < 4:
        x, y = _random_batch(batch, channels, size, classes)
        return seconds_per_step(model, functools.partial(_pair, x, y), F.cross_entropy, device, steps=1)
    small, large = max(1, batch // 16), max(2, batch // 4)
    times = []
    for b in (small, large):
        x, y = _random_batch(b, channels, size, classes)
        times.append(
            seconds_per_step(model, functools.partial(_pair, x, y), F.cross_entropy, device, steps=1)
        )
    slope = max(0.0, (times[1] - times[0]) / (large - small))
    return times[1] + slope * (batch - large)


def _pair(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x, y


def _fits(settings: MarglikSettings) -> int:
    """How many times one run fits the Kronecker factors."""
    return sum(
        1
        for epoch in range(1, settings.epochs + 1)
        if epoch > settings.burn_in and (epoch - settings.burn_in) % settings.frequency == 0
    )


def estimate(config: SoftConfig, device: str) -> CostEstimate:
    """The training time of ``config`` on ``device``: a step of each model at the config's size timed on
    random images (`_step_seconds`), times the optimiser steps and the factor-fitting passes of every
    run, the Section 6.3 runs included."""
    s = check_config(config).train
    per_step: dict[tuple[int, int, str], float] = {}  # by (channels, classes, model)
    for task in config.tasks:
        channels, classes = task_shape(task)
        for name in MODELS:
            if (channels, classes, name) not in per_step:
                with torch.random.fork_rng(devices=[]):
                    model = build_model(config, task, name)
                per_step[channels, classes, name] = _step_seconds(
                    model, s.batch_size, channels, config.size, classes, device
                )
                del model
    steps = s.epochs * math.ceil(config.train_size / s.batch_size)
    # a fit is one pass over the training set; the exact GGN takes one backward pass per class
    passes = math.ceil(config.train_size / s.marglik_batch_size) * _fits(s)
    total, all_steps = 0.0, 0
    for task in config.tasks:
        channels, classes = task_shape(task)
        backward = classes - 1 if str(s.ggn) == "exact" else 1  # exact: C - 1 (`eqlab.bayes`)
        for name, priors in JOBS:
            fitting = priors == "marglik" or s.track_marglik
            job = (steps + (passes * backward if fitting else 0)) * config.seeds
            total += job * per_step[channels, classes, name]
            all_steps += job
    multi = ""
    if config.multi.enabled:  # Section 6.3: learned priors on upright and rotated digits, 10 classes
        m = config.multi.train
        with torch.random.fork_rng(devices=[]):
            model = build_multi_model(config)
        seconds = _step_seconds(model, m.batch_size, 1, config.size, 10, device)
        fits = (
            math.ceil(config.train_size / m.marglik_batch_size)
            * _fits(m)
            * (9 if str(m.ggn) == "exact" else 1)
        )
        job = (m.epochs * math.ceil(config.train_size / m.batch_size) + fits) * config.seeds * len(CONDITIONS)
        total += job * seconds
        all_steps += job
        multi = f" and the {MULTI_MODEL} model (alpha = {config.multi.alpha}) at its batch of {m.batch_size}"
    how = "at that batch" if device == "cuda" else "extrapolated from two smaller batches"
    return CostEstimate(
        seconds=total,
        steps=all_steps,
        seconds_per_step=total / max(all_steps, 1),
        timed_steps=1,
        device=device,
        what=f"each of the {len(MODELS)} models (alpha = {config.alpha}, {len(config.widths)} blocks) on "
        f"random batches of {s.batch_size} images of {config.size} x {config.size}{multi}, {how}; a fit of "
        "the factors counted as one step per batch and backward pass (the exact GGN takes C - 1 backward "
        "passes for C classes), its eigendecompositions not timed",
    )

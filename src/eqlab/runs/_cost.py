"""Cost estimates of a scale the run does not run: time a few training steps, extrapolate.

A study's ``estimate(config, device)`` builds its models at that config's size, times
`seconds_per_step` on a batch of the config's shape, and multiplies by the number of steps the
config's training jobs take. Nothing is typed in: the estimate is a measurement of this machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from eqlab._arguments import choice, describe, function, integer, real, string
from eqlab._arguments import module as check_module
from eqlab.runs._folder import DEVICES

__all__ = ["CostEstimate", "seconds_per_step"]


@dataclass(frozen=True)
class CostEstimate:
    """The extrapolated training time of a config on a device."""

    seconds: float
    """The estimate: ``seconds_per_step * steps`` summed over the training jobs."""
    steps: int
    """Optimiser steps the config's training jobs take in all."""
    seconds_per_step: float
    """The measured time of one step (forward, backward, update), the median of the timed steps."""
    timed_steps: int
    """How many steps were timed (after one warm-up step)."""
    device: str
    """Where the steps were timed: ``"cpu"`` or ``"cuda"``."""
    what: str
    """What was timed, in words (model, batch shape)."""

    def __post_init__(self) -> None:
        for name in ("seconds", "seconds_per_step"):
            real(getattr(self, name), name, minimum=0.0)
        integer(self.steps, "steps", minimum=0)
        integer(self.timed_steps, "timed_steps", minimum=1)
        choice(self.device, "device", DEVICES)
        string(self.what, "what")

    def in_words(self) -> str:
        """``"about 3.2 h on cpu (1.2 s per step timed on 4 steps of ..., 9,600 steps)"``."""
        from eqlab.runs._report import format_duration

        return (
            f"about {format_duration(self.seconds)} on {self.device} ({self.seconds_per_step:.3g} s per "
            f"step, the median of {self.timed_steps} timed steps of {self.what}; {self.steps:,} steps in all)"
        )


def seconds_per_step(
    model: nn.Module,
    make_batch: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    device: str = "cpu",
    steps: int = 3,
) -> float:
    """The median time of ``steps`` SGD steps of ``model`` on batches from ``make_batch()`` on
    ``device``, after one untimed warm-up step.

    Parameters
    ----------
    model
        The module to train; it must have at least one parameter that requires a gradient.
    make_batch
        Called once per step; returns a pair ``(inputs, targets)`` of tensors.
    loss_fn
        ``loss_fn(model(inputs), targets)``: a scalar (0-dimensional) tensor.
    device
        ``"cpu"`` or ``"cuda"``.
    steps
        How many steps to time (at least 1).

    Returns
    -------
    float
        The median seconds of one step (forward, backward, update).

    Raises
    ------
    TypeError
        If ``model`` is not a module, ``make_batch`` does not return a pair of tensors, or ``loss_fn``
        does not return a tensor.
    ValueError
        If ``model`` has no parameters, or ``loss_fn`` returns a tensor with more than one entry or one
        that does not depend on the parameters.
    """
    check_module(model, "model")
    function(make_batch, "make_batch")
    function(loss_fn, "loss_fn")
    device = choice(device, "device", DEVICES)
    steps = integer(steps, "steps", minimum=1)
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(
            f"model must have parameters to train (requires_grad), got a {type(model).__name__} with none"
        )
    model = model.to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    times = []
    for step in range(steps + 1):
        x, y = _batch(make_batch())
        x, y = x.to(device), y.to(device)
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        _loss(loss_fn(model(x), y)).backward()
        optimizer.step()
        if device == "cuda":
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - started)
    times.sort()
    return times[len(times) // 2]


def _batch(batch: object) -> tuple[torch.Tensor, torch.Tensor]:
    """What ``make_batch()`` returned, checked: a pair of tensors."""
    if (
        not isinstance(batch, (tuple, list))
        or len(batch) != 2
        or not all(isinstance(t, torch.Tensor) for t in batch)
    ):
        raise TypeError(f"make_batch must return a pair (inputs, targets) of tensors, got {describe(batch)}")
    return batch[0], batch[1]


def _loss(loss: object) -> torch.Tensor:
    """What ``loss_fn`` returned, checked: a scalar tensor."""
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"loss_fn must return a scalar tensor, got {describe(loss)}")
    if loss.numel() != 1:
        raise ValueError(f"loss_fn must return a scalar tensor, got {describe(loss)}")
    if not loss.requires_grad:
        raise ValueError(
            "loss_fn must return a loss that depends on the model's parameters (requires_grad), "
            f"got {describe(loss)} that does not"
        )
    return loss

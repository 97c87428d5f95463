"""A hypothesis-generated family of conv, pool, stride, pad, slice, interpolate and transposed-conv stacks,
written with modules and with functions: the grid's prediction, made before any measurement, agrees
with the measured end-to-end error, and a broken stack's report names a node that breaks it.

The grid's rules are local, so a composite whose asymmetries cancel (a transposed convolution's inserted
zeros dropped by the next stride, a pad cropped again) measures exact where the grid says no; the
report then says that the two disagree, and the verdict stays "not exact". A grid "exact" is never
contradicted."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from hypothesis import event, given, settings
from hypothesis import strategies as st
from torch import nn

from eqlab.exactness import ExactnessReport, check

Step = Callable[[torch.Tensor], torch.Tensor]


class Stack(nn.Module):
    """A plain CNN whose spatial steps are functions drawn by hypothesis; convolutions are parameters."""

    def __init__(self, steps: list[tuple[str, dict[str, object]]], channels: int = 2) -> None:
        super().__init__()
        self.steps = steps
        self.weights = nn.ParameterList()
        self.modules_ = nn.ModuleList()
        for kind, spec in steps:
            if kind == "conv_module":
                self.modules_.append(nn.Conv2d(channels, channels, **spec))  # type: ignore[arg-type]
            elif kind == "convT_module":
                self.modules_.append(nn.ConvTranspose2d(channels, channels, **spec))  # type: ignore[arg-type]
            elif kind == "conv_function":
                k = int(spec["kernel_size"])  # type: ignore[call-overload]
                self.weights.append(nn.Parameter(torch.randn(channels, channels, k, k)))
        self.first = nn.Conv2d(1, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first(x)
        modules, weights = iter(self.modules_), iter(self.weights)
        for kind, spec in self.steps:
            if kind in ("conv_module", "convT_module"):
                x = next(modules)(x)
            elif kind == "conv_function":
                x = F.conv2d(x, next(weights), stride=spec["stride"], padding=spec["padding"])
            elif kind == "max_pool":
                x = F.max_pool2d(x, spec["kernel"], spec["stride"], spec["padding"], ceil_mode=spec["ceil"])
            elif kind == "avg_pool":
                x = F.avg_pool2d(x, spec["kernel"], spec["stride"], spec["padding"])
            elif kind == "pad":
                x = F.pad(x, spec["pad"])  # type: ignore[arg-type]
            elif kind == "slice":
                x = x[..., spec["start"] :: spec["step"], spec["start"] :: spec["step"]]  # type: ignore[misc]
            elif kind == "interpolate":
                x = F.interpolate(x, scale_factor=spec["scale"], mode=spec["mode"])  # type: ignore[arg-type]
            x = torch.tanh(x)
        return x


@st.composite
def stacks(draw: st.DrawFn) -> tuple[list[tuple[str, dict[str, object]]], int]:
    steps: list[tuple[str, dict[str, object]]] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(
            st.sampled_from(
                [
                    "conv_module",
                    "conv_function",
                    "convT_module",
                    "max_pool",
                    "avg_pool",
                    "pad",
                    "slice",
                    "interpolate",
                ]
            )
        )
        k, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        p = draw(st.integers(0, k // 2))
        if kind == "conv_module":
            spec: dict[str, object] = {"kernel_size": k, "stride": s, "padding": p}
        elif kind == "conv_function":
            spec = {"kernel_size": k, "stride": s, "padding": p}
        elif kind == "convT_module":
            s = draw(st.integers(1, 2))
            spec = {
                "kernel_size": k,
                "stride": s,
                "padding": min(p, k - 1),
                "output_padding": draw(st.integers(0, s - 1)),
            }
        elif kind in ("max_pool", "avg_pool"):
            spec = {
                "kernel": k,
                "stride": s,
                "padding": p,
                "ceil": draw(st.booleans()) and kind == "max_pool",
            }
        elif kind == "pad":
            spec = {"pad": tuple(draw(st.integers(0, 1)) for _ in range(4))}
        elif kind == "slice":
            spec = {"start": draw(st.integers(0, 1)), "step": draw(st.integers(1, 3))}
        else:
            spec = {
                "scale": draw(st.sampled_from([2, 3, 1.5, 0.5])),
                "mode": draw(st.sampled_from(["nearest", "bilinear"])),
            }
        steps.append((kind, spec))
    return steps, draw(st.integers(9, 21))


def _checked(drawn: tuple[list[tuple[str, dict[str, object]]], int], group: str) -> ExactnessReport | None:
    """The check of one drawn stack at its size, or None when the stack does not run there."""
    steps, size = drawn
    model = Stack(steps)
    try:
        with torch.no_grad():
            model(torch.zeros(1, 1, size, size))
    except RuntimeError:
        return None
    return check(model, size, group=group)


@settings(max_examples=40)
@given(stacks(), st.sampled_from(["p4", "p4m", "hflip", "rot180"]))
def test_the_grid_prediction_agrees_with_the_measurement(
    drawn: tuple[list[tuple[str, dict[str, object]]], int], group: str
) -> None:
    report = _checked(drawn, group)
    if report is None:
        event("the stack does not run")
        return  # the stack shrinks the input below a kernel: not a network
    event(f"grid exact: {report.grid_exact}, verdict: {report.verdict}")
    assert report.grid_exact is not None, report.table()  # every op of the family has a rule
    assert report.end_to_end_error is not None
    if report.grid_exact:
        assert report.verdict == "exact" and report.end_to_end_error < 1e-12, report.table()
        return
    assert report.verdict == "not exact", report.table()
    assert report.end_to_end_error > 1e-12 or "disagree" in report.reason, report.table()
    broken = [layer for layer in report.spatial_layers if not layer.exact]
    assert broken and broken[0].name in report.reason
    for layer in broken:  # each node the grid blames measures broken on its own
        assert layer.error is not None and (layer.error > 1e-9 or not math.isfinite(layer.error)), layer


def _count(examples: int) -> None:
    """Print how often the grid and the measurement agree over ``examples`` random stacks and groups:
    ``python -m tests.exactness.test_family 1500``."""
    import collections
    import sys
    import warnings

    from hypothesis import HealthCheck

    warnings.simplefilter("ignore")
    counts: collections.Counter[str] = collections.Counter()

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(stacks(), st.sampled_from(["p4", "p4m", "rot180", "hflip", "vflip"]))
    def run(drawn: tuple[list[tuple[str, dict[str, object]]], int], group: str) -> None:
        report = _checked(drawn, group)
        if report is None:
            counts["the stack does not run"] += 1
            return
        measured = "exact" if report.end_to_end_error <= 1e-12 else "not exact"
        counts[f"grid {'exact' if report.grid_exact else 'not exact'}, measured {measured}"] += 1
        if report.grid_exact and measured == "not exact":  # the direction that must never happen
            sys.stdout.write(f"{group} {drawn}\n{report.table()}\n")

    run()
    for key, value in sorted(counts.items()):
        sys.stdout.write(f"{value:6d}  {key}\n")


if __name__ == "__main__":
    import sys

    _count(int(sys.argv[1]) if len(sys.argv) > 1 else 500)

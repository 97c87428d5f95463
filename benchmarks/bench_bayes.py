"""Benchmark for eqlab.bayes, run by hand: `python benchmarks/bench_bayes.py` (figures in BENCHMARKS.md).

1. Speed: a ~56k-parameter CNN on 1,000 digits (16 x 16): one MAP epoch (batch 64), eqlab's KronLaplace
   fit with the exact and the Monte Carlo GGN, laplace-torch's KronLaplace with its AsdlGGN backend on
   the same model and data when it imports (`make laplace-extra`), and one hyper-step. The exact fit and
   laplace-torch's run as ``--pairs`` pairs side by side, the order alternating; the ratio reported is
   the median of the per-pair ratios. ``--profile`` adds each fit's CPU time per function (cProfile
   with the process clock; one fit after a warm-up, 4 fits averaged).
2. Gaps: the KFAC evidence of tiny G-CNNs against the one from the dense GGN (block-diagonal over
   parameter tensors, as KronLaplace's groups), in float64: where KFAC-expand is exact (one output
   channel, Gaussian likelihood) and elsewhere (classification, several channels, Monte Carlo).

Prints the markdown tables that BENCHMARKS.md holds.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import platform
import pstats
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, jacrev
from torch.utils.data import DataLoader, TensorDataset

from eqlab.bayes import KronLaplace
from eqlab.data._digits import digits
from eqlab.nn import GroupBatchNorm2d, GroupConv2d, LiftingConv2d, soft_backbone


def cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10),
    )  # fmt: skip


CLOCK: Callable[[], float] = time.perf_counter
"""Wall time; ``--cpu-time`` makes it the process's CPU time (steadier on a shared machine, with one
thread; with more, threads waiting for work may count)."""


def best(fn: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = CLOCK()
        fn()
        times.append(CLOCK() - start)
    return min(times)


def timed(fn: Callable[..., object], *args: object) -> float:
    start = CLOCK()
    fn(*args)
    return CLOCK() - start


def _laplace_torch(model: nn.Module) -> object | None:
    try:
        from laplace import KronLaplace as TheirKron  # type: ignore[import-not-found]
        from laplace.curvature import AsdlGGN  # type: ignore[import-not-found]
    except Exception as exc:
        print(f"laplace-torch not available ({type(exc).__name__}: {exc}); `make laplace-extra` installs it")
        return None
    return TheirKron(model, "classification", backend=AsdlGGN)


def _profile(fit: Callable[[], object], rows: int = 8) -> list[tuple[str, float]]:
    """CPU seconds per fit of the functions with the most own time (4 fits after a warm-up)."""
    fit()
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(4):
        fit()
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values()) / 4
    top = sorted(stats.items(), key=lambda kv: -kv[1][2])[:rows]
    out = [(f"{k[2]} ({k[0].rsplit('/', 1)[-1]}:{k[1]})" if k[0] != "~" else k[2], v[2] / 4) for k, v in top]
    return [*out, ("total", total)]


def speed(pairs: int, profile: bool) -> None:
    torch.manual_seed(0)
    images, labels = digits(16, mode="resize")
    data = TensorDataset(images[:1000], labels[:1000])
    model = cnn()
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def epoch() -> None:
        for x, y in DataLoader(data, batch_size=64, shuffle=True):
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()

    t_epoch = best(epoch)
    loader = DataLoader(data, batch_size=250)
    exact = KronLaplace(model, "classification")
    mc = KronLaplace(model, "classification", ggn="mc")
    t_mc = best(lambda: mc.fit(loader))
    theirs = _laplace_torch(model)
    exact.fit(loader)  # warm-up
    ours_times, their_times, ratios = [], [], []
    if theirs is not None:
        theirs.fit(loader)  # type: ignore[attr-defined]
        for k in range(pairs):
            first, second = (exact, theirs) if k % 2 == 0 else (theirs, exact)
            a = timed(first.fit, loader)  # type: ignore[attr-defined]
            b = timed(second.fit, loader)  # type: ignore[attr-defined]
            ours, their = (a, b) if first is exact else (b, a)
            ours_times.append(ours)
            their_times.append(their)
            ratios.append(ours / their)
    else:
        ours_times = [timed(exact.fit, loader) for _ in range(pairs)]
    t_exact = statistics.median(ours_times)
    log_delta = torch.zeros(len(exact.parameter_groups), dtype=torch.float64, requires_grad=True)

    def hyper_step() -> None:
        for _ in range(100):
            log_delta.grad = None
            (-exact.log_marginal_likelihood(log_delta.exp())).backward()

    t_hyper = best(hyper_step) / 100
    print()
    print("| | time | in MAP epochs (batch 64, Adam) | target |")
    print("| --- | --- | --- | --- |")
    print(f"| one MAP epoch | {t_epoch:.3f} s | 1 | |")
    if theirs is not None:
        ratio = statistics.median(ratios)
        verdict = "met" if ratio <= 0.5 else "**not met**"
        print(
            f"| eqlab `KronLaplace.fit`, exact GGN (median of {pairs} paired runs) | {t_exact:.3f} s | "
            f"{t_exact / t_epoch:.1f} | at most half of laplace-torch: {verdict} ({ratio:.2f}x) |"
        )
    else:
        print(
            f"| eqlab `KronLaplace.fit`, exact GGN (median of {pairs}) | {t_exact:.3f} s | "
            f"{t_exact / t_epoch:.1f} | |"
        )
    print(
        f"| eqlab `KronLaplace.fit`, Monte Carlo GGN (one label per point, best of 3) | {t_mc:.3f} s | "
        f"{t_mc / t_epoch:.1f} | faster than exact: {'met' if t_mc < t_exact else '**not met**'} |"
    )
    if theirs is not None:
        t_theirs = statistics.median(their_times)
        print(
            f"| laplace-torch `KronLaplace(backend=AsdlGGN).fit` (median of the same {pairs} pairs) | "
            f"{t_theirs:.3f} s | {t_theirs / t_epoch:.1f} | |"
        )
    met = "met" if t_hyper < 5e-3 else "**not met**"
    print(
        f"| one hyper-step (evidence and its gradient in {len(exact.parameter_groups)} log precisions) | "
        f"{t_hyper * 1e3:.2f} ms | | < 5 ms: {met} |"
    )
    if ratios:
        print()
        print("paired ratios (eqlab exact / laplace-torch): " + ", ".join(f"{r:.2f}" for r in ratios))
    print()
    for delta in (0.1, 1.0, 10.0):
        e, m = float(exact.log_marginal_likelihood(delta)), float(mc.log_marginal_likelihood(delta))
        print(
            f"log evidence at prior precision {delta:g}: exact {e:.2f}, Monte Carlo {m:.2f} "
            f"(relative deviation {abs(m - e) / abs(e):.2%})"
        )
    if profile:
        fits: list[tuple[str, Callable[[], object]]] = [("eqlab exact", lambda: exact.fit(loader))]
        if theirs is not None:
            fits.append(("laplace-torch", lambda: theirs.fit(loader)))  # type: ignore[attr-defined]
        for name, fit in fits:
            print()
            print(f"CPU time per fit, {name} (cProfile, process clock, own time per function):")
            print()
            print("| function | CPU s per fit |")
            print("| --- | --- |")
            for label, seconds in _profile(fit):
                print(f"| `{label}` | {seconds:.3f} |")


# --- gaps to the dense evidence ------------------------------------------------------------------------


def _dense_lml(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, likelihood: str, delta: float, sigma: float = 1.0
) -> float:
    """The Laplace evidence with the dense GGN, block-diagonal over the parameter tensors (eval mode)."""
    model.eval()
    params = {k: v.detach() for k, v in model.named_parameters()}
    blocks = {k: torch.zeros(v.numel(), v.numel(), dtype=torch.float64) for k, v in params.items()}
    for xn in x:

        def f(p: dict[str, torch.Tensor], xn: torch.Tensor = xn) -> torch.Tensor:
            return functional_call(model, p, (xn[None],))[0]

        jac, out = jacrev(f)(params), f(params)
        if likelihood == "classification":
            p = out.softmax(0)
            hess = torch.diag(p) - torch.outer(p, p)
        else:
            hess = torch.eye(out.numel(), dtype=torch.float64) / sigma**2
        for k in params:
            j = jac[k].reshape(out.numel(), -1)
            blocks[k] += j.T @ hess @ j
    with torch.no_grad():
        out = model(x)
    if likelihood == "classification":
        total = -float(F.cross_entropy(out, y, reduction="sum"))
    else:
        total = -float(((out - y) ** 2).sum()) / (2 * sigma**2) - out.numel() / 2 * math.log(
            2 * math.pi * sigma**2
        )
    for name, p in params.items():
        block = blocks[name] + delta * torch.eye(p.numel(), dtype=torch.float64)
        total += -0.5 * delta * float(p.pow(2).sum()) + 0.5 * p.numel() * math.log(delta)
        total -= 0.5 * float(torch.logdet(block))
    return total


class _GCNN(nn.Module):
    """Lifting -> tanh -> group conv -> GroupBatchNorm2d (running statistics) -> tanh -> pool -> Linear."""

    def __init__(self, channels: int, outputs: int) -> None:
        super().__init__()
        self.lift = LiftingConv2d(1, channels, 3, padding=1)
        self.gconv = GroupConv2d(channels, channels, 3, padding=1)
        self.norm = GroupBatchNorm2d(channels)
        self.head = nn.Linear(channels * 4, outputs)
        with torch.no_grad():
            assert self.norm.running_mean is not None and self.norm.running_var is not None
            self.norm.running_mean.uniform_(-0.5, 0.5)
            self.norm.running_var.uniform_(0.5, 1.5)
            self.norm.weight.uniform_(0.5, 1.5)
            self.norm.bias.uniform_(-0.5, 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.norm(self.gconv(torch.tanh(self.lift(x)))))
        return self.head(h.mean(dim=(3, 4)).flatten(1))


class _OneChannel(nn.Module):
    """One GroupConv2d with one output channel; the outputs are its (orientation, position) values."""

    def __init__(self) -> None:
        super().__init__()
        self.gconv = GroupConv2d(2, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gconv(x).flatten(1)


def gaps() -> None:
    gen = torch.Generator().manual_seed(0)
    rows = []
    delta = 1.0

    dense_cache: dict[tuple[int, str], tuple[torch.Tensor, float]] = {}

    def case(
        name: str, model: nn.Module, x: torch.Tensor, likelihood: str, ggn: str, samples: int = 1
    ) -> None:
        """One row; the targets and the dense evidence are shared by the rows of one model and likelihood."""
        model = model.double()
        sigma = None if likelihood == "classification" else 0.8
        key = (id(model), likelihood)
        if key not in dense_cache:
            with torch.no_grad():
                out = model.eval()(x)
            if likelihood == "classification":
                y = torch.randint(0, out.shape[1], (len(x),), generator=gen)
            else:
                y = out + torch.randn(out.shape, generator=gen, dtype=torch.float64)
            dense_cache[key] = (y, _dense_lml(model, x, y, likelihood, delta, sigma or 1.0))
        y, dense = dense_cache[key]
        la = KronLaplace(model, likelihood, ggn=ggn, mc_samples=samples, seed=1)
        la.fit([(x, y)])
        kfac = float(la.log_marginal_likelihood(delta, sigma))
        rows.append((name, likelihood, ggn if ggn == "exact" else f"mc ({samples})", kfac, dense))

    torch.manual_seed(0)
    one = _OneChannel()
    x_group = torch.randn(8, 2, 4, 5, 5, generator=gen, dtype=torch.float64)
    case("GroupConv2d, 1 output channel (KFAC-expand exact)", one, x_group, "regression", "exact")
    images = torch.randn(8, 1, 6, 6, generator=gen, dtype=torch.float64)
    for channels in (1, 3):
        torch.manual_seed(channels)
        net = _GCNN(channels, 3)
        label = f"G-CNN with GroupBatchNorm2d, {channels} channel{'s' if channels > 1 else ''}"
        case(label, net, images, "regression", "exact")
        case(label, net, images, "classification", "exact")
        case(label, net, images, "classification", "mc", 1)
        case(label, net, images, "classification", "mc", 16)
    torch.manual_seed(5)
    soft = soft_backbone("p4+conv+ffc", alpha=4, size=4, widths=(1,), strides=(2,), num_classes=3)
    case("soft_backbone('p4+conv+ffc'), one block", soft, images[:, :, :4, :4], "classification", "exact")
    print()
    print(f"Log evidence at prior precision {delta:g} (every group), 8 data points, float64:")
    print()
    print("| model | likelihood | GGN | KFAC | dense | KFAC - dense | relative |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, likelihood, ggn, kfac, dense in rows:
        print(
            f"| {name} | {likelihood} | {ggn} | {kfac:.4f} | {dense:.4f} | {kfac - dense:+.2e} | "
            f"{abs(kfac - dense) / abs(dense):.2e} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=7, help="paired runs of the two exact fits (>= 5)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--profile", action="store_true", help="CPU time per function of each fit")
    parser.add_argument("--skip-speed", action="store_true", help="only the gaps to the dense evidence")
    parser.add_argument("--cpu-time", action="store_true", help="time by the process's CPU time, not wall")
    args = parser.parse_args()
    global CLOCK
    if args.cpu_time:
        CLOCK = time.process_time
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    clock = "process CPU time" if args.cpu_time else "wall time"
    threads = torch.get_num_threads()
    print(f"# machine: {platform.machine()}, torch {torch.__version__}, {threads} threads, {clock}")
    if not args.skip_speed:
        speed(max(args.pairs, 5), args.profile)
    gaps()


if __name__ == "__main__":
    main()

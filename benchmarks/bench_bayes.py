"""Benchmark for eqlab.bayes, run by hand: `python benchmarks/bench_bayes.py` (figures in BENCHMARKS.md).

A ~55k-parameter CNN on 1,000 digits (16 x 16): the time of one MAP epoch (batch 64), eqlab's KronLaplace
fit with the exact and the Monte Carlo GGN, laplace-torch's KronLaplace with its AsdlGGN backend on the
same model and data when it imports (`make laplace-extra`), and one hyper-step (evidence and gradient
in the log prior precisions). Best of 3 for each.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from eqlab.bayes import KronLaplace
from eqlab.data._digits import digits


def cnn() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10),
    )  # fmt: skip


def best(fn: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print(f"# machine: {platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads")
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
    print(f"MAP epoch: {t_epoch:.3f} s")
    loader = DataLoader(data, batch_size=250)
    exact = KronLaplace(model, "classification")
    t_exact = best(lambda: exact.fit(loader))
    mc = KronLaplace(model, "classification", ggn="mc")
    t_mc = best(lambda: mc.fit(loader))
    print(f"eqlab KFAC fit, exact GGN: {t_exact:.3f} s ({t_exact / t_epoch:.1f} MAP epochs)")
    print(f"eqlab KFAC fit, Monte Carlo GGN: {t_mc:.3f} s ({t_mc / t_epoch:.1f} MAP epochs)")
    for delta in (0.1, 1.0, 10.0):
        e, m = float(exact.log_marginal_likelihood(delta)), float(mc.log_marginal_likelihood(delta))
        print(
            f"log evidence at prior precision {delta:g}: exact {e:.2f}, Monte Carlo {m:.2f} "
            f"(relative deviation {abs(m - e) / abs(e):.2%})"
        )
    log_delta = torch.zeros(len(exact.parameter_groups), dtype=torch.float64, requires_grad=True)

    def hyper_step() -> None:
        for _ in range(100):
            log_delta.grad = None
            (-exact.log_marginal_likelihood(log_delta.exp())).backward()

    print(f"hyper-step (value and gradient): {best(hyper_step) / 100 * 1e3:.2f} ms")
    try:
        from laplace import KronLaplace as TheirKron  # type: ignore[import-not-found]
        from laplace.curvature import AsdlGGN  # type: ignore[import-not-found]
    except Exception as exc:
        print(f"laplace-torch not available ({type(exc).__name__}: {exc})")
        return
    theirs = TheirKron(model, "classification", backend=AsdlGGN)
    t_theirs = best(lambda: theirs.fit(loader))
    print(
        f"laplace-torch KronLaplace (AsdlGGN) fit: {t_theirs:.3f} s ({t_theirs / t_epoch:.1f} MAP epochs); "
        f"eqlab exact / laplace-torch = {t_exact / t_theirs:.2f}"
    )


if __name__ == "__main__":
    main()

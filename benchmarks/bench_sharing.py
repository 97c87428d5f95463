"""Benchmarks for eqlab.sharing: run by hand, `python benchmarks/bench_sharing.py`; figures in BENCHMARKS.md.

1. Building the dense pattern for C_n acting regularly on inputs and outputs (n^2 pairs).
2. Forward + backward of EquivariantLinear against torch.nn.Linear on the same flattened features, as
   paired ratios in one process (``python benchmarks/bench_sharing.py linear``; ``--quick`` for the
   N = M = 1024 rows only). Prints the markdown table of BENCHMARKS.md with machine, threads and date;
   set the threads with ``--threads`` or ``OMP_NUM_THREADS`` and say which.
3. The orbit construction against the SVD nullspace of the equivariance constraint (emlp's approach).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from eqlab.groups import cyclic, dihedral, regular, symmetric
from eqlab.nn import EquivariantLinear
from eqlab.sharing._pattern import dense_pattern


def best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    """Best wall time of ``repeats`` calls, in seconds (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def svd_nullspace_basis(in_gens: np.ndarray, out_gens: np.ndarray) -> np.ndarray:
    """emlp-style: the nullspace of the stacked constraint (Q kron P - I) vec(W) = 0, by a dense SVD."""
    n_in, m_out = in_gens.shape[1], out_gens.shape[1]
    eye = np.eye(m_out * n_in)
    blocks = []
    for p, q in zip(in_gens, out_gens, strict=True):
        p_mat, q_mat = np.eye(n_in)[:, np.argsort(p)], np.eye(m_out)[:, np.argsort(q)]
        blocks.append(np.kron(q_mat, p_mat) - eye)
    _, singular, vt = np.linalg.svd(np.concatenate(blocks))
    return vt[singular.size - int((singular < 1e-9).sum()) :]


def bench_pattern() -> None:
    print("## Dense pattern for C_n acting regularly (n^2 pairs)")
    for n in (1000, 2000, 4000):
        gens = cyclic(n).generators[0]
        seconds = best_of(lambda gens=gens: dense_pattern(gens, gens), repeats=3)
        print(f"n = {n:5d} ({n * n / 1e6:5.1f} M pairs): {seconds:6.2f} s")


@dataclass
class Case:
    """One or more rows of the EquivariantLinear table: layers on the same features, timed in the same
    rounds as one nn.Linear on the flattened features."""

    features: tuple[int, int]  # (inputs, outputs) of the nn.Linear, channels folded in
    input_shape: tuple[int, ...]  # one example, without the batch axis
    rows: list[tuple[str, torch.nn.Module]]  # (name, layer)


class GatherAutograd(torch.nn.Module):
    """The previous default path (before issue 16): one 1-D gather of the dense weight from the free
    weights, `F.linear`, and autograd's own backward of the gather (a scatter-add of the 1M entries)."""

    def __init__(self, layer: EquivariantLinear) -> None:
        super().__init__()
        self.layer = layer
        index = torch.as_tensor(layer.pattern.weight_colours.reshape(-1)).to(torch.int32)
        self.register_buffer("index", index)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layer = self.layer
        weight = layer.free_weight.view(-1).index_select(0, self.index)
        return F.linear(x, weight.view(layer.out_features, layer.in_features), layer.bias)


def relabelled_cyclic(n: int) -> np.ndarray:
    """C_n acting regularly with its points relabelled by a fixed random permutation: the same orbit
    counts, but each orbit's entries are scattered over the matrix instead of lying on a wrapped diagonal
    (the gather and its scatter-add then read memory at random)."""
    sigma = np.random.default_rng(0).permutation(n)
    generator = np.empty(n, dtype=np.int64)
    generator[sigma] = sigma[(np.arange(n) + 1) % n]
    return generator[None, :]


def cases(quick: bool) -> list[Case]:
    c1024 = cyclic(1024).action()
    headline = EquivariantLinear(c1024, c1024)
    found = [
        Case(
            (1024, 1024),
            (1024,),
            [
                ("C_1024 regular, N = M = 1024", headline),
                (
                    "same layer, previous default path (autograd's backward of the gather)",
                    GatherAutograd(headline),
                ),
            ],
        )
    ]
    if quick:
        return found
    relabelled = relabelled_cyclic(1024)
    trivial = np.empty((0, 1024), dtype=np.int64)
    s1024 = symmetric(1024).action()
    c128 = cyclic(128).action()
    channels_1 = EquivariantLinear(c1024, c1024, in_channels=1, out_channels=1)
    found += [
        Case(
            (1024, 1024),
            (1024, 1),
            [("C_1024 regular, channels 1: (N, 1) -> (M, 1)", channels_1)],
        ),
        Case(
            (1024, 1024),
            (1024,),
            [
                ("C_1024 regular, points relabelled at random", EquivariantLinear(relabelled, relabelled)),
                ("trivial group, N = M = 1024 (one orbit per entry)", EquivariantLinear(trivial, trivial)),
                ("S_1024 on points, N = M = 1024 (2 orbits)", EquivariantLinear(s1024, s1024)),
            ],
        ),
        Case(
            (1024, 1024),
            (128, 8),
            [("C_128 regular, channels 8", EquivariantLinear(c128, c128, in_channels=8, out_channels=8))],
        ),
        Case(
            (8192, 8192),
            (128, 64),
            [("C_128 regular, channels 64", EquivariantLinear(c128, c128, in_channels=64, out_channels=64))],
        ),
    ]
    return found


def paired_times(case: Case, batch: int, rounds: int, repeats: int, input_grad: bool) -> np.ndarray:
    """``(rounds, 1 + layers)`` step times in seconds, nn.Linear first: each round times ``repeats``
    steps of each module (their median), the order rotating from round to round; all in this process."""
    linear = torch.nn.Linear(*case.features)
    x = torch.randn(batch, *case.input_shape, requires_grad=input_grad)
    x_flat = x.detach().reshape(batch, -1).requires_grad_(input_grad)
    with torch.no_grad():
        cotangent = torch.randn(case.rows[0][1](x).shape)
    contenders = [(linear, x_flat, cotangent.reshape(batch, -1))]
    contenders += [(layer, x, cotangent) for _, layer in case.rows]

    def step(module: torch.nn.Module, inputs: torch.Tensor, grad: torch.Tensor) -> None:
        module.zero_grad(set_to_none=True)
        inputs.grad = None
        module(inputs).backward(grad)

    for contender in contenders:  # warm-up
        for _ in range(2):
            step(*contender)
    times = np.zeros((rounds, len(contenders)))
    for r in range(rounds):
        for k in range(len(contenders)):
            which = (r + k) % len(contenders)
            samples = []
            for _ in range(repeats):
                start = time.perf_counter()
                step(*contenders[which])
                samples.append(time.perf_counter() - start)
            times[r, which] = np.median(samples)
    return times


def bench_forward_backward(quick: bool, rounds: int, input_grad: bool) -> None:
    batch = 256
    to = "input and weights" if input_grad else "weights only"
    print(
        f"\n## Forward + backward: EquivariantLinear against nn.Linear (batch {batch}, float32, "
        f"backward to {to} with a fixed random cotangent; {rounds} paired rounds)\n"
    )
    print("| layer | free weights | nn.Linear | EquivariantLinear | ratio (median) | per round |")
    print("| --- | --- | --- | --- | --- | --- |")
    for case in cases(quick):
        big = case.features[0] * case.features[1] > 2**24
        times = paired_times(case, batch, rounds, repeats=2 if big else 10, input_grad=input_grad)
        for k, (name, layer) in enumerate(case.rows, start=1):
            ratios = times[:, k] / times[:, 0]
            tied = layer.layer if isinstance(layer, GatherAutograd) else layer
            print(
                f"| {name} | {tied.free_weight.numel():,} | {np.median(times[:, 0]) * 1e3:.2f} ms | "
                f"{np.median(times[:, k]) * 1e3:.2f} ms | {np.median(ratios):.3f} | "
                f"{ratios.min():.2f} to {ratios.max():.2f} |",
                flush=True,
            )


def bench_against_svd() -> None:
    print("\n## Orbit construction vs SVD nullspace (regular action of D_m, dense design)")
    for m in (4, 8, 12, 16):
        reg = regular(dihedral(m))
        gens = reg.generators[0]
        t_orbit = best_of(lambda gens=gens: dense_pattern(gens, gens), repeats=5)
        t_svd = best_of(lambda gens=gens: svd_nullspace_basis(gens, gens), repeats=1)
        dim = svd_nullspace_basis(gens, gens).shape[0]
        colours = dense_pattern(gens, gens).num_weight_colours
        size = gens.shape[1]
        print(
            f"|G| = {size:3d} ({size * size:6d} weights): orbits {t_orbit * 1e3:8.2f} ms, "
            f"SVD {t_svd * 1e3:10.1f} ms, speed-up {t_svd / t_orbit:8.0f}x, dims {colours} = {dim}"
        )


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo where there is one, else what `platform` says."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "section", nargs="?", choices=["all", "pattern", "linear", "svd"], default="all", help="what to run"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own)")
    parser.add_argument("--rounds", type=int, default=7, help="paired rounds per EquivariantLinear row")
    parser.add_argument("--quick", action="store_true", help="only the N = M = 1024 rows")
    parser.add_argument(
        "--weights-only", action="store_true", help="backward to the weights only (inputs need no gradient)"
    )
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    omp = os.environ.get("OMP_NUM_THREADS", "unset")
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, "
        f"{torch.get_num_threads()} torch threads (OMP_NUM_THREADS={omp}), "
        f"torch {torch.__version__}, numpy {np.__version__}, python {platform.python_version()}; "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"
    )
    if args.section in ("all", "pattern"):
        bench_pattern()
    if args.section in ("all", "linear"):
        bench_forward_backward(args.quick, args.rounds, not args.weights_only)
    if args.section in ("all", "svd"):
        bench_against_svd()


if __name__ == "__main__":
    main()

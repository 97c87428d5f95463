"""Benchmarks for eqlab.sharing: run by hand, `python benchmarks/bench_sharing.py`; figures in BENCHMARKS.md.

1. Building the dense pattern for C_n acting regularly on inputs and outputs (n^2 pairs).
2. Forward + backward of EquivariantLinear against torch.nn.Linear of the same shape, as a ratio.
3. The orbit construction against the SVD nullspace of the equivariance constraint (emlp's approach).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import numpy as np
import torch

from eqlab.groups import cyclic, dihedral, regular
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


def bench_forward_backward() -> None:
    print("\n## Forward + backward, N = M = 1024, batch 256, float32")
    n, batch = 1024, 256
    group = cyclic(n)
    layer = EquivariantLinear(group.action(), group.action())
    linear = torch.nn.Linear(n, n)
    x = torch.randn(batch, n)

    def step(module: torch.nn.Module) -> Callable[[], None]:
        def run() -> None:
            module.zero_grad(set_to_none=True)
            module(x).sum().backward()

        return run

    ratios = []
    for _ in range(5):  # interleave to share machine noise
        t_linear = best_of(step(linear), repeats=10)
        t_layer = best_of(step(layer), repeats=10)
        ratios.append(t_layer / t_linear)
    print(f"nn.Linear: {t_linear * 1e3:.2f} ms  EquivariantLinear: {t_layer * 1e3:.2f} ms")
    print(
        f"ratio EquivariantLinear / nn.Linear: median {np.median(ratios):.2f} (runs: "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + ")"
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


if __name__ == "__main__":
    torch.set_num_threads(2)
    print(
        f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, numpy {np.__version__}"
    )
    bench_pattern()
    bench_forward_backward()
    bench_against_svd()

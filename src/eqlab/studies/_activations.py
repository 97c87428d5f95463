"""Study ``activations``: the characterization theorem, decided and measured (Pacini et al. 2024).

Two parts.

1. **The table.** For representations of every class of Theorem 1 (permutation, signed permutation,
   positive monomial with dense and with discrete scales, signed 2-monomial, unit-row-sum, general)
   and the standard activations plus two made for the theorem (a log-periodic odd function that is
   2-multiplicative but not semilinear, and the affine ``x + 1``), the theorem's verdict
   (`eqlab.activations._check`) beside the float64 error measured on fresh random and adversarial
   inputs, per seed (the random representations are redrawn per seed too). Beside each
   representation: the fix the theory allows (a positive rescaling or a permutation basis), if any.
2. **Rotations (Corollary 3).** Networks of `RepLinear` layers with ReLU, from the plane to the plane
   with C_n acting by rotations, trained on an equivariant vector field. Hidden features that rotate
   (copies of the 2-d rotation) break equivariance; trivial hidden features, the only ones a
   pointwise activation allows for the whole rotation group SO(2), make the network constant (the
   input's rotation has no invariant linear functional); the regular representation of C_n, a
   permutation representation, is exactly C_n-equivariant and fits, but only for the n rotations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.activations import check, permutation_basis, rescale_to_permutation
from eqlab.activations._check import worst_case
from eqlab.activations._functions import TABLE
from eqlab.activations._named import named_representation
from eqlab.groups import Representation, permutation_matrix
from eqlab.groups._representation import rotation_matrix
from eqlab.nn import RepLinear
from eqlab.runs import Figure, Report, RunFolder, Study, Table, judge
from eqlab.runs._config import config_to_dict
from eqlab.runs._seeding import unit_seed
from eqlab.studies._plotting import save_figure
from eqlab.train import TrainSettings, train

__all__ = ["NETWORKS", "REPRESENTATIONS", "STUDY", "ActivationsConfig", "build_network", "report", "run"]

NETWORKS = ("rotation", "trivial", "regular", "mlp")
NETWORK_LABELS = {
    "rotation": "rotation features + ReLU",
    "trivial": "trivial features + ReLU",
    "regular": "regular features + ReLU",
    "mlp": "plain MLP (ReLU)",
}


def log_periodic(x: torch.Tensor) -> torch.Tensor:
    """``x (1 + 0.3 sin(2 pi log2 |x|))``: odd and 2-multiplicative, not semilinear (Lemma 8's kind)."""
    safe = torch.where(x == 0, torch.ones_like(x), x.abs())
    return torch.where(x == 0, torch.zeros_like(x), x * (1 + 0.3 * torch.sin(2 * math.pi * torch.log2(safe))))


def shifted(x: torch.Tensor) -> torch.Tensor:
    """``x + 1``: affine, with f(0) != 0."""
    return x + 1


ACTIVATIONS: dict[str, Any] = {**{name: name for name in TABLE}, "log-periodic": log_periodic, "x+1": shifted}


def _prime_scales(rng: np.random.Generator, size: int) -> np.ndarray:
    """Positive scales that are powers of distinct primes: their ratios are small rationals whose prime
    exponents have rank at least 2, so the scales provably generate a dense group (see
    `eqlab.activations._classes`), where random floats could not be told dense or discrete."""
    primes = np.array([2.0, 3.0, 5.0, 7.0, 11.0])[rng.permutation(5)[:size]]
    return primes ** rng.integers(1, 3, size=size)


def _rescaled_s4(rng: np.random.Generator) -> np.ndarray:
    d = _prime_scales(rng, 4)
    perms = np.asarray(named_representation("S4:perm").generators)
    return d[None, :, None] * perms / d[None, None, :]


def _two_monomial(rng: np.random.Generator) -> np.ndarray:
    shift = permutation_matrix([1, 2, 3, 0]).numpy()
    return (shift @ np.diag([2.0, 0.5, 4.0, 0.25]))[None]  # scales multiply to 1 around the cycle


def _signed_two_monomial(rng: np.random.Generator) -> np.ndarray:
    return np.array([[[0.0, -2.0], [0.5, 0.0]]])  # squares to -I: order 4


def _rescaled_signed_s3(rng: np.random.Generator) -> np.ndarray:
    """Signed permutations of 3 points rescaled by a random positive diagonal: two independent scale
    ratios, so the absolute entries generate a dense group (two points would give one ratio, discrete)."""
    mats = np.stack(
        [
            permutation_matrix([1, 0, 2]).numpy() @ np.diag([-1.0, 1.0, 1.0]),
            permutation_matrix([1, 2, 0]).numpy(),
        ]
    )
    d = _prime_scales(rng, 3)
    return d[None, :, None] * mats / d[None, None, :]


def _unit_row_sum(rng: np.random.Generator) -> np.ndarray:
    z = rng.standard_normal(3)
    z -= z.mean()  # A 1 = 1 when z is orthogonal to the ones vector, so A P A^-1 keeps unit row sums
    a = np.eye(3) + np.outer(rng.standard_normal(3), z) * 0.5
    perms = np.asarray(named_representation("S3:perm").generators)
    return a @ perms @ np.linalg.inv(a)


def _disguised_regular(rng: np.random.Generator) -> np.ndarray:
    a = rng.standard_normal((4, 4)) + 2 * np.eye(4)
    return a @ np.asarray(named_representation("C4:regular").generators) @ np.linalg.inv(a)


def _named(name: str) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: np.array(named_representation(name).generators)


REPRESENTATIONS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "C4 regular": _named("C4:regular"),
    "S4 on 4 points": _named("S4:perm"),
    "D4 on the plane": _named("D4:rot2d"),
    "C4 on the plane": _named("C4:rot2d"),
    "S4 rescaled (D P D^-1)": _rescaled_s4,
    "C4 2-monomial": _two_monomial,
    "signed 2-monomial": _signed_two_monomial,
    "signed S3, rescaled": _rescaled_signed_s3,
    "S3 unit-row-sum (A P A^-1)": _unit_row_sum,
    "C4 regular, random basis": _disguised_regular,
    "S3 standard": _named("S3:standard"),
    "C8 on the plane": _named("C8:rot2d"),
    "SO2, 37 degrees": _named("SO2:rot2d@37deg"),
}


@dataclass(frozen=True)
class ActivationsConfig:
    """Scale of the ``activations`` study (defaults take under a minute on 2 cores)."""

    seeds: int = 5
    rotation_order: int = 8
    hidden_copies: int = 4
    train_points: int = 2000
    test_points: int = 1000
    epochs: int = 60
    batch_size: int = 100
    lr: float = 3e-3


def _fix(mats: np.ndarray, case: str) -> str:
    """The change of basis the theory allows, in words."""
    if case in ("permutation",):
        return "none needed"
    if "monomial" in case or case == "signed permutation":
        try:
            rescaled = rescale_to_permutation(mats)
        except ValueError as exc:
            return f"none: {exc}"
        if case == "signed permutation":
            return "none for non-odd activations (already a signed permutation)"
        return f"positive rescaling to a {rescaled.case} group"
    found = permutation_basis(mats)
    if found.found:
        return f"change of basis to permutations of {'+'.join(str(size) for _, size in found.cosets)} points"
    return f"none (fails: {found.test})"


def _table_unit(seed: int) -> dict[str, Any]:
    """Every (representation, activation) cell: verdict, measured error, counterexample."""
    rng = np.random.default_rng(seed)
    reps, cells = [], []
    for rep_name, build in REPRESENTATIONS.items():
        mats = build(rng)
        first = None
        for act_name, activation in ACTIVATIONS.items():
            verdict = check(mats, activation)
            worst = worst_case(mats, activation, seed=seed)
            first = first or verdict
            cells.append(
                {
                    "representation": rep_name,
                    "activation": act_name,
                    "equivariant": verdict.equivariant,
                    "inconclusive": verdict.inconclusive,
                    "error": worst.error,
                    "matrix": worst.matrix,
                    "x": list(worst.x),
                    "reason": verdict.reason,
                }
            )
        assert first is not None
        reps.append(
            {
                "representation": rep_name,
                "case": first.case,
                "b": first.b,
                "admissible": first.admissible,
                "dim": int(mats.shape[-1]),
                "fix": _fix(mats, first.case),
            }
        )
    return {"seed": seed, "representations": reps, "cells": cells}


def _representations(config: ActivationsConfig) -> dict[str, Representation]:
    rot = Representation.rotation(config.rotation_order)
    regular = named_representation(f"C{config.rotation_order}:regular")
    dim = config.hidden_copies * config.rotation_order
    return {
        "input": rot,
        "rotation": Representation.direct_sum(*[rot] * (dim // 2), name=f"{dim // 2} x rotation"),
        "trivial": Representation.trivial(dim),
        "regular": Representation.direct_sum(*[regular] * config.hidden_copies, name="regular"),
    }


def build_network(name: str, config: ActivationsConfig) -> nn.Module:
    """One of `NETWORKS`: plane -> hidden -> hidden -> plane, ReLU after each hidden layer."""
    reps = _representations(config)
    if name == "mlp":
        width = config.hidden_copies * config.rotation_order
        return nn.Sequential(
            nn.Linear(2, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2)
        )
    if name not in reps or name == "input":
        raise ValueError(f"network must be one of {NETWORKS}, got {name!r}")
    rot, hidden = reps["input"], reps[name]
    return nn.Sequential(
        RepLinear(rot, hidden), nn.ReLU(), RepLinear(hidden, hidden), nn.ReLU(), RepLinear(hidden, rot)
    )


def vector_field(x: torch.Tensor) -> torch.Tensor:
    """An equivariant target ``(m, 2) -> (m, 2)``: ``sin(2r) x + 0.5 cos(r) J x`` with ``r = |x|``."""
    r = x.norm(dim=1, keepdim=True)
    jx = torch.stack([-x[:, 1], x[:, 0]], dim=1)
    return torch.sin(2 * r) * x + 0.5 * torch.cos(r) * jx


def _rotations(degrees: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(rotation_matrix(degrees))


def _equivariance_error(model: nn.Module, x: torch.Tensor, mats: torch.Tensor) -> float:
    """Largest relative error ``|f(x M^T) - f(x) M^T| / |f(x) M^T|`` over the matrices (float64)."""
    worst = 0.0
    with torch.no_grad():
        fx = model(x)
        for m in mats:
            expected = fx @ m.T
            gap = float((model(x @ m.T) - expected).norm())
            norm = float(expected.norm())
            worst = max(worst, gap / norm if norm > 0 else gap)
    return worst


def _weight_count(layer: nn.Module) -> int:
    """Free weights of a first layer (no bias): RepLinear's basis size or a Linear's matrix size."""
    if isinstance(layer, RepLinear):
        return layer.num_weights
    if isinstance(layer, nn.Linear):
        return layer.weight.numel()
    raise TypeError(f"unexpected first layer {type(layer).__name__}")


def _network_unit(config: ActivationsConfig, run: RunFolder, name: str, seed_index: int) -> dict[str, Any]:
    gen = torch.Generator().manual_seed(unit_seed(run.seed, 1, seed_index))
    x_train = 1.5 * torch.randn(config.train_points, 2, generator=gen)
    x_test = 1.5 * torch.randn(config.test_points, 2, generator=gen)
    y_train, y_test = vector_field(x_train), vector_field(x_test)
    torch.manual_seed(unit_seed(run.seed, 2, NETWORKS.index(name), seed_index))
    model = build_network(name, config)
    train(
        model,
        TensorDataset(x_train, y_train),
        TrainSettings(
            config.epochs, config.batch_size, config.lr, checkpoint_every=max(1, config.epochs // 3)
        ),
        loss_fn=nn.functional.mse_loss,
        seed=unit_seed(run.seed, 3, seed_index),
        run=run,
        unit=f"{name}-s{seed_index}",
        config=config_to_dict(config),
    )
    model = model.cpu().double().eval()
    x64 = x_test.double()[:256]
    group = torch.as_tensor(Representation.rotation(config.rotation_order).elements())
    angles = np.random.default_rng(unit_seed(run.seed, 4, seed_index)).uniform(0, 360, size=16)
    with torch.no_grad():
        out = model(x64)
        mse = float(((model(x_test.double()) - y_test.double()) ** 2).mean())
    first = next(iter(model.children()))
    return {
        "network": name,
        "seed_index": seed_index,
        "test_mse": mse,
        "target_power": float((y_test.double() ** 2).mean()),
        "cn_error": _equivariance_error(model, x64, group),
        "so2_error": _equivariance_error(model, x64, _rotations(angles)),
        "output_spread": float((out - out[:1]).abs().max()),
        "first_layer_weights": _weight_count(first),
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def run(config: ActivationsConfig, run_dir: RunFolder) -> dict[str, Any]:
    """The table once per seed, then every network per seed; one work unit each (resumable)."""
    tables, networks = [], []
    for seed_index in range(config.seeds):
        unit = f"table-s{seed_index}"
        result = run_dir.unit_result(unit)
        if result is None:
            result = _table_unit(unit_seed(run_dir.seed, 0, seed_index))
            run_dir.save_unit(unit, result)
        tables.append(result)
        for name in NETWORKS:
            unit = f"{name}-s{seed_index}"
            result = run_dir.unit_result(unit)
            if result is None:
                result = _network_unit(config, run_dir, name, seed_index)
                run_dir.save_unit(unit, result)
            networks.append(result)
    return {"tables": tables, "networks": networks}


def _log10(value: float, floor: float) -> float:
    return math.log10(max(value, floor))


def _heatmap(tables: list[dict[str, Any]], path: Path) -> None:
    reps, acts = list(REPRESENTATIONS), list(ACTIVATIONS)
    worst = np.zeros((len(reps), len(acts)))
    verdict = np.full((len(reps), len(acts)), "", dtype=object)
    for table in tables:
        for cell in table["cells"]:
            i, j = reps.index(cell["representation"]), acts.index(cell["activation"])
            worst[i, j] = max(worst[i, j], cell["error"])
            verdict[i, j] = _mark(cell["equivariant"])
    logs = np.log10(np.clip(worst, 1e-17, None))
    fig, ax = plt.subplots(figsize=(10.5, 5.6), dpi=110)
    image = ax.imshow(logs, cmap="RdYlGn_r", vmin=-17, vmax=1, aspect="auto")
    for i in range(len(reps)):
        for j in range(len(acts)):
            ax.text(j, i, verdict[i, j], ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(acts)), acts, rotation=45, ha="right")
    ax.set_yticks(range(len(reps)), reps)
    fig.colorbar(image, ax=ax, label="log10 worst measured error (float64, floored at 1e-17)")
    ax.set_title("Theorem 1's verdict (text) against the measured error (colour), worst over seeds")
    save_figure(fig, path)


def _mark(equivariant: bool | None) -> str:
    """A cell's verdict in one word: yes, no, or ? when undecided."""
    return {True: "yes", False: "no", None: "?"}[equivariant]


def _cell_text(cells: list[dict[str, Any]]) -> str:
    worst = max(c["error"] for c in cells)
    mark = _mark(cells[0]["equivariant"])
    return f"{mark} {worst:.0e}" if worst > 0 else f"{mark} 0"


def report(config: ActivationsConfig, results: dict[str, Any], plots: Path) -> Report:
    """Verdicts, tables and plots from saved results."""
    tables, nets = results["tables"], results["networks"]
    verdicts = [
        judge(
            "where Theorem 1 says equivariant, the measured float64 error is below 1e-12 (log10 of the worst "
            "such cell, floored at 1e-17, < -12)",
            [_log10(max(c["error"] for c in t["cells"] if c["equivariant"] is True), 1e-17) for t in tables],
            threshold=-12,
            direction="less",
        ),
        judge(
            "where Theorem 1 says not equivariant, the measured error is above 1e-6 (log10 of the smallest "
            "such cell > -6)",
            [
                _log10(min(c["error"] for c in t["cells"] if c["equivariant"] is False), 1e-300)
                for t in tables
            ],
            threshold=-6,
        ),
    ]

    def values(name: str, key: str) -> list[float]:
        return [u[key] for u in nets if u["network"] == name]

    n = config.rotation_order
    verdicts += [
        judge(
            f"ReLU on rotating hidden features (copies of the C{n} rotation) breaks C{n}-equivariance "
            "(log10 relative error > -6)",
            [_log10(v, 1e-17) for v in values("rotation", "cn_error")],
            threshold=-6,
        ),
        judge(
            f"ReLU on the regular representation of C{n} (a permutation representation) keeps the network "
            f"exactly C{n}-equivariant (log10 relative error, floored at 1e-17, < -12)",
            [_log10(v, 1e-17) for v in values("regular", "cn_error")],
            threshold=-12,
            direction="less",
        ),
        judge(
            "with trivial hidden features, the only kind pointwise activations allow for SO(2), the network "
            "is constant (log10 of its largest output change, floored at 1e-30, < -12)",
            [_log10(v, 1e-30) for v in values("trivial", "output_spread")],
            threshold=-12,
            direction="less",
        ),
        judge(
            "the regular-feature network fits the equivariant target better than the trivial one "
            "(log MSE ratio trivial/regular > 0)",
            [
                math.log(t / r)
                for t, r in zip(values("trivial", "test_mse"), values("regular", "test_mse"), strict=True)
            ],
        ),
    ]

    reps_first = tables[0]["representations"]
    class_table = Table(
        "Representations: Theorem 1 class, what it admits, and the fix the theory allows (first seed)",
        ["representation", "dim", "class", "b", "admits", "fix"],
        [
            [r["representation"], r["dim"], r["case"], r["b"] or "", r["admissible"], r["fix"]]
            for r in reps_first
        ],
    )
    acts = list(ACTIVATIONS)
    grid_rows = []
    for rep in REPRESENTATIONS:
        row: list[Any] = [rep]
        for act in acts:
            cells = [
                c for t in tables for c in t["cells"] if c["representation"] == rep and c["activation"] == act
            ]
            row.append(_cell_text(cells))
        grid_rows.append(row)
    grid = Table(
        "Verdict (yes, no, or ? when undecided) and worst measured relative error over seeds, "
        "per representation and activation",
        ["representation", *acts],
        grid_rows,
    )
    disagreements = [
        [t["seed"], c["representation"], c["activation"], c["equivariant"], c["error"]]
        for t in tables
        for c in t["cells"]
        if (c["equivariant"] is True and c["error"] >= 1e-12)
        or (c["equivariant"] is False and c["error"] <= 1e-6)
        or c["equivariant"] is None
    ]
    counter_rows = [
        [
            c["representation"],
            c["activation"],
            c["error"],
            c["matrix"],
            "(" + ", ".join(f"{v + 0.0:.3g}" for v in c["x"][:4]) + (", ...)" if len(c["x"]) > 4 else ")"),
        ]
        for c in tables[0]["cells"]
        if c["equivariant"] is False
    ]
    counter_table = Table(
        "Counterexamples (first seed): where f(M x) and M f(x) differ most, for every failing cell",
        ["representation", "activation", "relative error", "matrix (generator index)", "input x"],
        counter_rows,
    )
    net_rows = []
    for name in NETWORKS:
        net_rows.append(
            [
                NETWORK_LABELS[name],
                values(name, "parameters")[0],
                values(name, "first_layer_weights")[0],
                float(np.mean(values(name, "test_mse"))),
                float(np.mean(values(name, "target_power"))),
                float(np.max(values(name, "cn_error"))),
                float(np.max(values(name, "so2_error"))),
                float(np.max(values(name, "output_spread"))),
            ]
        )
    net_table = Table(
        f"Networks on the plane with C{n} rotations (mean test MSE over seeds; worst errors over seeds)",
        [
            "network",
            "parameters",
            "first-layer weights",
            "test MSE",
            "target mean square",
            f"C{n} error",
            "SO(2) error",
            "output spread",
        ],
        net_rows,
    )

    _heatmap(tables, plots / "verdict_vs_error.png")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    labels = [NETWORK_LABELS[name] for name in NETWORKS]
    for ax, key, title in (
        (axes[0], "cn_error", f"the {n} rotations of C{n}"),
        (axes[1], "so2_error", "16 random angles (SO(2))"),
    ):
        for k, name in enumerate(NETWORKS):
            vals = [max(v, 1e-17) for v in values(name, key)]
            ax.scatter([k] * len(vals), vals, color=f"C{k}")
        ax.set_yscale("log")
        ax.set_xticks(range(len(NETWORKS)), labels, rotation=20, ha="right")
        ax.axhline(1e-12, color="grey", linestyle=":")
        ax.set_title(title)
        ax.set_ylabel("relative equivariance error (float64, floor 1e-17)")
        ax.grid(True, axis="y", alpha=0.3)
    save_figure(fig, plots / "network_errors.png")
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for k, name in enumerate(NETWORKS):
        vals = values(name, "test_mse")
        ax.scatter([k] * len(vals), vals, color=f"C{k}")
    ax.axhline(
        float(np.mean(values("trivial", "target_power"))), color="grey", linestyle=":", label="predict 0"
    )
    ax.set_xticks(range(len(NETWORKS)), labels, rotation=20, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("test MSE")
    ax.legend()
    ax.set_title("Fitting an equivariant vector field on the plane")
    save_figure(fig, plots / "network_mse.png")

    notes = [
        f"{config.seeds} seeds. The random representations (rescaled S4, unit-row-sum S3, C4 regular in a "
        "random basis) and the random inputs are redrawn per seed; so is the theorem's verdict.",
        "Cells where verdict and measurement disagree: "
        + (
            "none."
            if not disagreements
            else "; ".join(
                f"seed {d[0]}: {d[1]} / {d[2]} (verdict {d[3]}, error {d[4]:.1e})" for d in disagreements
            )
        ),
        "The measured error is max |f(M x) - M f(x)| / |M f(x)| over the generators and 64 Gaussian inputs, "
        "signed basis vectors scaled by 1e-3, 1 and 1e3, and two constant vectors.",
        "'log-periodic' is x (1 + 0.3 sin(2 pi log2|x|)), odd and 2-multiplicative but not semilinear: it is "
        "admissible exactly for the (signed) 2-monomial groups and the (signed) permutations, as the theorem "
        "says; it is probed numerically, not looked up.",
        f"The networks map the plane to the plane through two hidden layers of {config.hidden_copies * n} "
        f"features; C{n} acts on input and output by rotations. With trivial hidden features the first layer "
        "has no weights at all (the rotation has no invariant linear functional) and the output layer has no "
        "bias (the rotation fixes no vector): the network is the zero map, the extreme of Corollary 3's "
        "'only invariant'.",
        f"Fit at this scale: mean test MSE {np.mean(values('regular', 'test_mse')):.3g} for the regular "
        f"network ({values('regular', 'parameters')[0]} parameters) against "
        f"{np.mean(values('mlp', 'test_mse')):.3g} for the unconstrained MLP "
        f"({values('mlp', 'parameters')[0]} parameters, not equivariant) and "
        f"{np.mean(values('rotation', 'test_mse')):.3g} for rotating features; no claim is made about these.",
        f"The regular representation of C{n} is a permutation representation, so ReLU commutes with it "
        "(Theorem 1); it is exact for the n rotations only, not for SO(2), where no finite permutation "
        "representation exists (see the SO(2) column).",
    ]
    return Report(
        study="activations",
        title="Which pointwise activations keep a network equivariant",
        paper="Pacini, Dong, Lepri & Santin, A Characterization Theorem for Equivariant Networks with "
        "Point-wise Activations (ICLR 2024)",
        claim=(
            "A pointwise activation commutes with a representation exactly when the pair falls in one of the "
            "classes of Theorem 1 (any continuous function with permutations, odd functions with signed "
            "permutations, semilinear or b-multiplicative functions with positive monomials, affine "
            "functions with unit-row-sum matrices, linear otherwise); in consequence, rotation-equivariant "
            "networks with pointwise activations on finite-dimensional representations can only be "
            "invariant (Corollary 3), "
            "while regular representations of finite rotation groups, being permutations, work."
        ),
        measured=(
            f"The theorem's verdict and the measured float64 error for {len(REPRESENTATIONS)} "
            "representations x "
            f"{len(ACTIVATIONS)} activations, per seed; and four networks on the plane with C{n} rotations, "
            "trained on an equivariant vector field: their C_n and SO(2) equivariance errors and test MSE."
        ),
        verdicts=verdicts,
        tables=[grid, class_table, net_table, counter_table],
        figures=[
            Figure(
                "verdict_vs_error.png",
                "Each cell: the theorem's verdict (yes/no) over the worst measured error (green: rounding "
                "level, red: order one). Every 'yes' should be green and every 'no' red.",
            ),
            Figure(
                "network_errors.png",
                f"Equivariance errors of the four networks, one dot per seed: C{n} rotations (left) and "
                "random "
                "rotation angles (right). The dotted line is 1e-12.",
            ),
            Figure(
                "network_mse.png",
                "Test MSE per network, one dot per seed; the dotted line is the error of predicting 0, which "
                "is what the trivial-feature network does.",
            ),
        ],
        notes=notes,
    )


STUDY = Study(
    name="activations",
    summary="Pointwise activations (Pacini et al. 2024): theorem vs measurement, and rotation networks",
    config=ActivationsConfig,
    run=run,
    report=report,
    budget_minutes=1.0,
    quick={"seeds": 2, "train_points": 200, "test_points": 100, "epochs": 2, "hidden_copies": 1},
)

"""Design sweep of the ``layerwise`` study's training length and learning rate, on DESIGN seeds.

Run ``.venv/bin/python design/layerwise_sweep.py`` from the repository root; it writes
``design/layerwise_sweep.md`` next to this file (about 2-3 minutes on one core).

The study trains with SGD (momentum 0.9, weight decay 5e-4, batch 64, cosine schedule), as the papers behind
the conjecture (Entezari et al. 2022, Bökman & Kahl 2023) train. This sweep fixes the learning rate and the
number of epochs before any reported network is trained, by a rule stated here and in the table's file,
that looks at the training loss and test accuracy only (never at a barrier or an alignment):

    RULE: the fewest epochs in EPOCHS at which every design network of some learning rate, in both regimes
    (with and without flip augmentation), ends with a last-epoch mean training loss below TARGET_LOSS; among
    the learning rates that reach it at that count, the one with the highest mean design test accuracy.
    If no cell reaches it, the cell whose largest last-epoch loss is smallest.

The design seeds are the named streams ``("design init", k)``, ``("design split", k)`` and
``("design batch order", k)`` of run seed 0; the study's reported networks use ``("init", seed)``,
``("split", pair)`` and ``("batch order", seed)``, so the two sets of networks share no seed stream.
Each design seed draws its own train/test split of the digits, as each reported pair of seeds does.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from eqlab.data._digits import digits
from eqlab.data._splits import split_indices
from eqlab.runs._seeding import seed_for
from eqlab.studies._layerwise._config import LayerwiseConfig, Regime
from eqlab.studies._layerwise._data import PairData
from eqlab.studies._layerwise._units import train_network
from eqlab.train import TrainSettings

RUN_SEED = 0
"""The run seed of the design streams (the study's default run seed)."""
DESIGN_SEEDS = 2
"""Design seeds ``k = 0, 1``, each its own split, initial weights and batch order."""
LEARNING_RATES = (0.02, 0.05, 0.1)
EPOCHS = (4, 8, 12)
"""12 epochs is the most the study's 5-minute budget allows for 10 networks per regime."""
TARGET_LOSS = 0.05
"""The last-epoch mean training loss every design network must end below."""
MOMENTUM, WEIGHT_DECAY, BATCH = 0.9, 5e-4, 64
OUT = Path(__file__).resolve().parent / "layerwise_sweep.md"


def design_data(config: LayerwiseConfig, k: int) -> PairData:
    """Design seed ``k``'s split of the digits at the study's default size."""
    images, labels = digits(config.size, mode="resize")
    generator = torch.Generator().manual_seed(seed_for(RUN_SEED, "design split", k))
    train_idx, test_idx = split_indices(len(labels), config.test_fraction, generator)
    return PairData(images[train_idx], labels[train_idx], images[test_idx], labels[test_idx])


def accuracy(model: torch.nn.Module, data: PairData) -> float:
    with torch.no_grad():
        return float((model(data.x_test).argmax(1) == data.y_test).double().mean())


def sweep() -> list[dict[str, float]]:
    """One row per (learning rate, epochs, regime, design seed)."""
    config = LayerwiseConfig()
    rows = []
    for k in range(DESIGN_SEEDS):
        data = design_data(config, k)
        for lr in LEARNING_RATES:
            for epochs in EPOCHS:
                settings = TrainSettings(
                    epochs=epochs,
                    batch_size=BATCH,
                    lr=lr,
                    optimizer="sgd",
                    momentum=MOMENTUM,
                    weight_decay=WEIGHT_DECAY,
                )
                for regime in Regime:
                    model, loss = train_network(
                        settings,
                        config.widths,
                        config.pool_after,
                        data,
                        regime,
                        init_seed=seed_for(RUN_SEED, "design init", k),
                        order_seed=seed_for(RUN_SEED, "design batch order", k),
                    )
                    rows.append(
                        {"lr": lr, "epochs": epochs, "regime": str(regime), "seed": k, "loss": loss}
                        | {"accuracy": accuracy(model, data)}
                    )
                    print(rows[-1], file=sys.stderr, flush=True)
    return rows


def choose(rows: list[dict[str, float]]) -> tuple[float, int]:
    """The (learning rate, epochs) the RULE picks."""
    cells = {(r["lr"], r["epochs"]) for r in rows}

    def of(cell: tuple[float, int], key: str) -> list[float]:
        return [r[key] for r in rows if (r["lr"], r["epochs"]) == cell]

    reached = [c for c in cells if max(of(c, "loss")) < TARGET_LOSS]
    if not reached:
        return min(cells, key=lambda c: max(of(c, "loss")))
    fewest = min(c[1] for c in reached)
    return max((c for c in reached if c[1] == fewest), key=lambda c: float(np.mean(of(c, "accuracy"))))


def table(rows: list[dict[str, float]], seconds: float) -> str:
    lr, epochs = choose(rows)
    lines = [
        "# layerwise: design sweep of the training length (design seeds only)",
        "",
        "Written by `design/layerwise_sweep.py` (its docstring has the details). SGD with momentum "
        f"{MOMENTUM}, weight decay {WEIGHT_DECAY:g}, batch {BATCH}, cosine schedule, on the study's default "
        f"network (widths {list(LayerwiseConfig().widths)}) and digits, {DESIGN_SEEDS} design seeds "
        "(streams `design init`, `design split`, `design batch order`, disjoint from the reported seeds), "
        "both regimes.",
        "",
        f"**Rule, fixed before the sweep ran:** the fewest epochs in {list(EPOCHS)} at which every design "
        f"network of some learning rate in {list(LEARNING_RATES)}, in both regimes, ends with a last-epoch "
        f"mean training loss below {TARGET_LOSS}; among the learning rates reaching it at that count, the "
        "highest mean design test accuracy. The rule reads no barrier and no alignment.",
        "",
        f"**Chosen: lr = {lr:g}, {epochs} epochs.**",
        "",
        "| lr | epochs | largest last-epoch loss | mean last-epoch loss (flip / plain) | "
        "mean test acc. (flip / plain) | reaches the target |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for cell_lr in LEARNING_RATES:
        for cell_epochs in EPOCHS:
            cell = [r for r in rows if (r["lr"], r["epochs"]) == (cell_lr, cell_epochs)]

            def mean(key: str, regime: str, cell: list[dict[str, float]] = cell) -> float:
                return float(np.mean([r[key] for r in cell if r["regime"] == regime]))

            worst = max(r["loss"] for r in cell)
            lines.append(
                f"| {cell_lr:g} | {cell_epochs} | {worst:.4f} | {mean('loss', 'flip'):.4f} / "
                f"{mean('loss', 'plain'):.4f} | {mean('accuracy', 'flip'):.3f} / "
                f"{mean('accuracy', 'plain'):.3f} | {'yes' if worst < TARGET_LOSS else 'no'} |"
            )
    lines += ["", f"The sweep took {seconds:.0f} s ({torch.get_num_threads()} torch thread(s)).", ""]
    return "\n".join(lines)


def main() -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    rows = sweep()
    OUT.write_text(table(rows, time.perf_counter() - start))
    print(OUT.read_text())


if __name__ == "__main__":
    main()

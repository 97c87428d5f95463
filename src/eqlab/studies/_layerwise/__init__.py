"""Study ``layerwise``: how trained ReLU CNNs encode a horizontal-flip symmetry (Bökman & Kahl 2023).

VGG-style CNNs with batch norm are trained on digits (or on CIFAR-10 with the VGG-11 widths, from
``--data-dir``), with and without horizontal-flip augmentation, from the same initial weights per seed,
by SGD with momentum and weight decay (the conjecture after Entezari et al. is about SGD solutions); the
default learning rate and epochs were fixed in advance on design seeds by a training-loss rule
(`TRAINING_RULE`, ``design/layerwise_sweep.py``). For every network ``W``:

- `self_align` with its flipped self ``T(W)`` (activation matching on training inputs): per-layer
  weight and activation errors, fixed channels and swapped pairs; the same for the seed's untrained
  network ``W0`` (the baseline: did training make the layers more layerwise equivariant?), and each
  layer's relative weight change ``|W - W0| / |W0|``;
- the interpolation barrier (test loss and accuracy, batch norm reset at every point) between ``W``
  and the aligned ``pi(T(W))``, beside the barrier between the two independently trained networks of a
  pair of seeds (after alignment, and without);
- the group average ``(W + pi T(W)) / 2`` with involutions ``pi``: exactly flip-invariant by
  construction; its test accuracy against the original's.

A network at chance level (`chance_bound`) is left out of the findings. Averages over layers leave out the
classifier, whose weights the flip does not change (`hidden_mean`).

And a small network that is exactly invariant but not layerwise equivariant: hidden units
``relu(+-a.x)`` and ``relu(+-b.x)`` summed with signs give ``(a + b).x``, invariant when ``a + b`` is
mirror-symmetric although no permutation maps the flipped filters onto the original ones.

**Data and seeds.** Seeds ``2k`` and ``2k + 1`` form pair ``k``; the default 10 seeds give five disjoint
pairs. On the digits each pair draws its own train/test split (the stream ``("split", k)``), which both of
its networks and both regimes use: the barrier between the two networks of a pair is measured on one test
set, and the flip/plain comparison of a seed starts from the same initial weights (``("init", seed)``) and
batch order (``("batch order", seed)``) on the same data. CIFAR-10 keeps its own train/test split for every
network. Training runs on ``run.device``; the alignment, barriers and group averages run on the CPU.

**Paper preset** (``--set scale=paper``, for a GPU, with ``--data-dir`` holding CIFAR-10): VGG-11 on
CIFAR-10 as in the paper, interpolation at alpha = 0, 0.1, ..., 1 (the reference notes' grid) and 5,000
matching images (as many as the authors' merging notebook matches on). The reference notes did not
find the paper's training recipe, so its 100 epochs of SGD (lr 0.05, momentum 0.9, weight decay 5e-4,
batch 128, cosine) are a stated choice, not the paper's numbers, and not chosen by the design sweep (which
ran on the digits); 10 seeds give 5 pairs.
"""

from __future__ import annotations

import functools

from eqlab.runs import RunFolder, Study
from eqlab.studies._layerwise._claims import verdicts
from eqlab.studies._layerwise._config import (
    DESIGNED,
    PAPER,
    QUICK,
    TRAINING_RULE,
    VGG11,
    DataSource,
    LayerwiseConfig,
    Regime,
)
from eqlab.studies._layerwise._data import CLASSES, read_source
from eqlab.studies._layerwise._estimate import estimate
from eqlab.studies._layerwise._models import build_vgg, invariant_not_layerwise
from eqlab.studies._layerwise._report import report
from eqlab.studies._layerwise._results import (
    FirstLayer,
    InitialResult,
    LayerwiseResults,
    NetworkResult,
    PairResult,
    ToyResult,
    chance_bound,
    hidden_mean,
)
from eqlab.studies._layerwise._units import pair_units, toy_unit

__all__ = [
    "DESIGNED",
    "STUDY",
    "TRAINING_RULE",
    "VGG11",
    "DataSource",
    "FirstLayer",
    "InitialResult",
    "LayerwiseConfig",
    "LayerwiseResults",
    "NetworkResult",
    "PairResult",
    "Regime",
    "ToyResult",
    "build_vgg",
    "chance_bound",
    "estimate",
    "hidden_mean",
    "invariant_not_layerwise",
    "read_source",
    "report",
    "run",
    "verdicts",
]


def run(config: LayerwiseConfig, run_dir: RunFolder) -> LayerwiseResults:
    """Train both regimes of every seed, pair by pair, and analyse each network, each pair of seeds and
    the toy network; every analysis is a resumable unit."""
    source = read_source(config, run_dir)
    networks: list[NetworkResult] = []
    initial: list[InitialResult] = []
    pairs: list[PairResult] = []
    for pair in range((config.seeds + 1) // 2):
        pair_networks, pair_initial, pair_pairs = pair_units(config, run_dir, source, pair)
        networks += pair_networks
        initial += pair_initial
        pairs += pair_pairs
    toys = [
        run_dir.unit(f"toy-{k}", functools.partial(toy_unit, run_dir, k), ToyResult)
        for k in range(config.toys)
    ]
    return LayerwiseResults(
        dataset=source.name,
        widths=source.widths,
        pool_after=source.pool_after,
        split_per_pair=source.test is None,
        test_size=source.test_size(config),
        classes=CLASSES,
        networks=tuple(networks),
        initial=tuple(initial),
        pairs=tuple(pairs),
        toys=tuple(toys),
    )


STUDY = Study(
    name="layerwise",
    summary="Layerwise equivariance (Bökman & Kahl 2023): flip self-alignment, barriers, exact merges",
    config=LayerwiseConfig,
    results=LayerwiseResults,
    run=run,
    report=report,
    budget_minutes=5.0,
    quick=QUICK,
    paper=PAPER,
    estimate=estimate,
)

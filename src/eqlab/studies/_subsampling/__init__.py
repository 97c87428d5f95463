"""Study ``subsampling``: exact against approximate equivariance by one pixel of input size.

Edixhoven, Lengyel & van Gemert, "Using and Abusing Equivariance" (ICCV-W 2023). The same p4 (or p4m)
CNN with three stride-2 3x3 convolutions (padding 1) is trained on digits resized to an input size that
`eqlab.exactness.exact_sizes` certifies exact (n = 1 mod 8, 33 by default) and to one pixel less, where
every strided grid misses its mirror image by one pixel. The digits (``data``) are MNIST's when ``--data-dir``
holds its IDX files (the paper's rotated-MNIST setting: train upright, test rotated), else scikit-learn's
bundled 8 x 8 digits; ``data="mnist"`` (the ``paper`` preset) stops without MNIST's files. Measured, per seed:

- the float64 equivariance error of every layer by depth (trained networks, `eqlab.exactness.check`);
- accuracy on upright test digits (seen), on digits rotated by 90/180/270 degrees (unseen), per class,
  and against the rotation angle from 0 to 360 degrees;
- the paper's second claim: trained on digits rotated by about 45 degrees (angles ~ N(45, sd)), does
  the approximately equivariant network match or beat the exact one on data rotated the same way?

Each seed draws its own split (or MNIST subsets), its own test rotations and its own training rotations;
the exact and approximate networks of one seed are paired: the same images (resized to either size), the
same initial weights, the same batch order and the same rotation angles.

The ``paper`` preset follows the rotated-MNIST experiment of the paper's code (all of MNIST, 50 epochs of
Adam at lr 0.01 with batch 256, 4 seeds, training rotations ~N(45, 20) degrees, accuracy every 10
degrees, 10 channels per orientation) with this study's network and sizes (33 and 32 px; the paper's
rotated-MNIST network has seven layers and one pooling, where this one has four convolutions).
"""

from __future__ import annotations

from functools import partial

from eqlab.runs import RunFolder, Study
from eqlab.studies._subsampling._claims import verdicts
from eqlab.studies._subsampling._config import PAPER, QUICK, DataSource, Regime, SubsamplingConfig
from eqlab.studies._subsampling._data import data_source, digits_of_seed
from eqlab.studies._subsampling._estimate import estimate
from eqlab.studies._subsampling._models import build_cnn, sizes
from eqlab.studies._subsampling._report import report
from eqlab.studies._subsampling._results import SubsamplingResults, SubsamplingUnit
from eqlab.studies._subsampling._units import train_unit

__all__ = [
    "STUDY",
    "DataSource",
    "Regime",
    "SubsamplingConfig",
    "SubsamplingResults",
    "SubsamplingUnit",
    "build_cnn",
    "data_source",
    "digits_of_seed",
    "estimate",
    "report",
    "run",
    "sizes",
    "verdicts",
]


def run(config: SubsamplingConfig, run_dir: RunFolder) -> SubsamplingResults:
    """Train at the exact and the one-pixel-smaller size, upright and rotated, for every seed."""
    source = data_source(config, run_dir)  # before any unit: data="mnist" without its files stops here
    exact, approx = sizes(config)
    units = tuple(
        run_dir.unit(
            f"{regime}-n{size}-s{seed_index}",
            partial(train_unit, config, run_dir, size, regime, seed_index),
            SubsamplingUnit,
        )
        for seed_index in range(config.seeds)
        for regime in Regime
        for size in (exact, approx)
    )
    first = digits_of_seed(config, run_dir, 0)  # every seed draws as many
    train_examples, test_examples = len(first.y_train), len(first.y_test)
    return SubsamplingResults(exact, approx, source, train_examples, test_examples, units)


STUDY = Study(
    name="subsampling",
    summary="Subsampling (Edixhoven et al. 2023): exact vs approximate equivariance by one pixel",
    config=SubsamplingConfig,
    results=SubsamplingResults,
    run=run,
    report=report,
    budget_minutes=3.5,
    quick=QUICK,
    paper=PAPER,
    estimate=estimate,
)

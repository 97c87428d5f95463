"""The ``subsampling`` study's notes: the data and how seeds draw it, the pairing of the networks, the
network and its training, and how many trained networks the exactness analyser certified."""

from __future__ import annotations

from eqlab.studies._subsampling._config import DataSource, SubsamplingConfig
from eqlab.studies._subsampling._results import SubsamplingResults


def _data_note(config: SubsamplingConfig, results: SubsamplingResults) -> str:
    scale = (
        f"{results.train_examples} training and {results.test_examples} test images per seed, resized "
        f"bilinearly to {results.exact_size} and {results.approximate_size} px"
    )
    if results.data is DataSource.MNIST:
        return (
            f"Data: MNIST from the IDX files in --data-dir (the paper's rotated-MNIST setting), {scale}; "
            "each seed draws its own training and test images from MNIST's two files."
        )
    return (
        f"Data: scikit-learn's bundled 8 x 8 digits, {scale}; each seed draws its own split. No MNIST IDX "
        "files were found in --data-dir (or none was given); with a folder holding MNIST's four IDX files, "
        "the study trains on MNIST, the paper's rotated-MNIST setting."
    )


def notes(config: SubsamplingConfig, results: SubsamplingResults) -> list[str]:
    """The report's notes, built from the config and the results."""
    exact, approx = results.exact_size, results.approximate_size
    certified = {size: sum(u.exact for u in results.units if u.size == size) for size in (exact, approx)}
    count = len(results.units) // 2
    train = config.train
    return [
        _data_note(config, results),
        f"{config.seeds} seeds. The exact and approximate networks of one seed and regime are paired: the "
        "same images (resized to either size), the same initial weights, the same batch order and the same "
        "training rotations; each seed draws its own test rotations, shared by the pair.",
        f"A {config.group} CNN with widths {list(config.widths)}: a lifting 3x3 convolution, then three "
        f"stride-2 3x3 group convolutions with padding 1; {train.epochs} epochs of {train.optimizer} "
        f"(batch {train.batch_size}, lr {train.lr:g}, {train.schedule} schedule).",
        f"The exactness analyser certified {certified[exact]} of {count} trained networks at {exact} px "
        f"exact, and {certified[approx]} of {count} at {approx} px. Errors are measured in float64 on the "
        "trained networks (eval mode); rotations by multiples of 90 degrees are exact (rot90), others "
        "bilinear; accuracies are computed in float32.",
    ]

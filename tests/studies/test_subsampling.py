"""The subsampling study: sizes chosen by the analyser; every claim decided from synthetic results in each
direction, the report's outcome sentences following them; a quick run, resume, checkpoints the exactness
command can read; MNIST from generated IDX files; the cost estimate."""

from __future__ import annotations

import dataclasses
import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from eqlab import _runner as runner
from eqlab._cli import app
from eqlab.data._files import DataFilesNotFound
from eqlab.exactness import check
from eqlab.runs import Kind, RunFolder, Status
from eqlab.runs._config import replace_path
from eqlab.studies._subsampling import (
    STUDY,
    DataSource,
    Regime,
    SubsamplingConfig,
    build_cnn,
    data_source,
    digits_of_seed,
    report,
    run,
    sizes,
    verdicts,
)
from eqlab.studies._subsampling import _estimate as estimate_module
from tests.studies.subsampling_results import (
    CONFIG,
    CONTRADICTED,
    INCONCLUSIVE,
    SUPPORTED,
    Claims,
    synthetic_results,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

KINDS = [Kind.DEMONSTRATION, Kind.DEMONSTRATION, Kind.FINDING, Kind.DEMONSTRATION, Kind.FINDING]


def test_sizes_are_certified_exact_and_one_pixel_smaller_broken() -> None:
    exact, approx = sizes(SubsamplingConfig())
    assert (exact, approx) == (33, 32)
    model = build_cnn("p4", (8, 12, 16, 24))
    assert check(model, exact, confirm=False).exact and not check(model, approx, confirm=False).exact
    assert sizes(SubsamplingConfig(target_size=30)) == (33, 32)  # the nearest exact size is 25 or 33


FIELDS = [field.name for field in dataclasses.fields(Claims)]
"""The quantity behind each claim, in the claims' order."""
OUTCOMES = {Status.SUPPORTED: SUPPORTED, Status.CONTRADICTED: CONTRADICTED, Status.INCONCLUSIVE: INCONCLUSIVE}


@pytest.mark.parametrize("status", list(OUTCOMES))
@pytest.mark.parametrize("moved", FIELDS)
def test_each_claim_follows_its_own_values(moved: str, status: Status) -> None:
    # only the quantity of one claim moves; the others keep values that support them
    claims = dataclasses.replace(SUPPORTED, **{moved: getattr(OUTCOMES[status], moved)})
    decided = verdicts(CONFIG, synthetic_results(claims))
    assert [v.status for v in decided] == [status if f == moved else Status.SUPPORTED for f in FIELDS]
    assert [v.kind for v in decided] == KINDS
    assert "confirming the size analyser's prediction" in decided[1].claim


def test_a_zero_period_gap_on_every_seed_is_decided_by_its_stated_reason() -> None:
    periodic = verdicts(CONFIG, synthetic_results(SUPPORTED))[3]
    assert periodic.values == (0.0, 0.0, 0.0)
    assert periodic.status is Status.SUPPORTED and periodic.exact and "cannot vary" in periodic.detail
    zero = dataclasses.replace(SUPPORTED, exact_error=(0.0, 0.0, 0.0))  # exact to the last bit: floored
    assert verdicts(CONFIG, synthetic_results(zero))[0].status is Status.SUPPORTED


def test_a_sweep_without_angles_90_degrees_apart_leaves_periodicity_not_measurable() -> None:
    results = synthetic_results(SUPPORTED)
    odd = dataclasses.replace(
        results,
        units=tuple(
            dataclasses.replace(u, angles=(0, 70, 140), accuracy_by_angle=(0.9, 0.5, 0.6))
            for u in results.units
        ),
    )
    assert verdicts(CONFIG, odd)[3].status is Status.NOT_MEASURABLE


def _sentences(claims: Claims, plots: Path) -> dict[str, str]:
    made = report(CONFIG, synthetic_results(claims), plots)
    out = {f.filename: f.caption for f in made.figures}
    out["per digit"] = made.tables[1].title
    out["notes"] = " ".join(made.notes)
    return out


def test_the_reports_outcome_sentences_follow_the_results(tmp_path: Path) -> None:
    good = _sentences(SUPPORTED, tmp_path)
    bad = _sentences(CONTRADICTED, tmp_path)
    assert "33 px 3.0e-16, 32 px 3.0e-01" in good["depth_errors.png"]
    assert "first exceeds 1e-6 (worst seed) after layer 1" in good["depth_errors.png"]
    assert "33 px 3.0e-03, 32 px 3.0e-16" in bad["depth_errors.png"]
    assert "stays below 1e-6 at every depth" in bad["depth_errors.png"]
    assert "exact 0 test images, approximate 7 test images" in good["accuracy_vs_angle_upright.png"]
    assert "exact 50 test images" in bad["accuracy_vs_angle_upright.png"]
    assert "exact 0.950 / 0.750, approximate 0.950 / 0.500" in good["accuracy_vs_angle_upright.png"]
    assert "exact 0.950 / 0.250" in bad["accuracy_vs_angle_upright.png"]
    assert "exact 0.800, approximate 0.815" in good["accuracy_vs_angle_rotated.png"]
    assert "exact 0.800, approximate 0.550" in bad["accuracy_vs_angle_rotated.png"]
    assert "digit 6 (+0.550)" in good["per digit"] and "digit 0 (-0.250)" in bad["per digit"]
    assert "scikit-learn's bundled 8 x 8 digits" in good["notes"]
    assert "certified 6 of 6 trained networks at 33 px exact, and 0 of 6 at 32 px" in good["notes"]
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "accuracy_vs_angle_rotated.png",
        "accuracy_vs_angle_upright.png",
        "depth_errors.png",
    ]


def test_quick_run_resumes_to_the_same_results_and_leaves_checkpoints_the_exactness_command_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (whole,) = runner.run_studies(["subsampling"], quick=True, out=tmp_path / "whole")
    assert whole.status == "ok", whole.error
    results = json.loads((whole.folder / "results.json").read_text())
    assert results["data"] == "digits"
    assert {(u["size"], u["regime"]) for u in results["units"]} == {
        (size, str(regime)) for size in (33, 32) for regime in Regime
    }
    for unit in results["units"]:
        assert unit["exact"] == (unit["size"] == 33)
        assert unit["depth_errors"][-1] < 1e-12 if unit["size"] == 33 else unit["depth_errors"][-1] > 1e-6

    monkeypatch.setenv("EQLAB_INTERRUPT_AFTER_CHECKPOINTS", "1")
    with pytest.raises(KeyboardInterrupt):
        runner.run_studies(["subsampling"], quick=True, out=tmp_path / "cut")
    monkeypatch.delenv("EQLAB_INTERRUPT_AFTER_CHECKPOINTS")
    (folder,) = (tmp_path / "cut").glob("*-subsampling")
    assert not (folder / "results.json").exists()
    resumed = runner.resume(folder)
    assert resumed.status == "ok", resumed.error
    assert json.loads((folder / "results.json").read_text()) == results

    cli = CliRunner()
    checkpoint = whole.folder / "checkpoints" / "upright-n32-s0.pt"
    exactness = ["exactness", str(checkpoint), "--allow-pickle", "--size"]  # a checkpoint holds RNG states
    broken = cli.invoke(app, [*exactness, "32", "--no-confirm"])
    assert broken.exit_code == 1 and "nearest exact sizes: 25 below, 33 above" in broken.stdout
    assert cli.invoke(app, [*exactness, "33"]).exit_code == 0


def _write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX file of unsigned bytes: magic 0x0000 0x08 ndim, big-endian sizes, then the bytes."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _write_mnist(folder: Path, train: int, test: int, *, skip: str | None = None) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", train), ("t10k", test)):
        files = {
            f"{prefix}-images-idx3-ubyte": rng.integers(0, 256, (count, 28, 28)),
            f"{prefix}-labels-idx1-ubyte": rng.integers(0, 10, (count,)),
        }
        for name, array in files.items():
            if name != skip:
                _write_idx(folder / name, array)


TINY = dataclasses.replace(
    CONFIG,
    seeds=1,
    widths=(2, 2, 2, 2),
    train=dataclasses.replace(CONFIG.train, epochs=1, batch_size=16),
    angle_step=90,
    mnist_train=24,
    mnist_test=12,
)


def test_mnist_from_idx_files_in_the_data_dir(tmp_path: Path) -> None:
    _write_mnist(tmp_path / "mnist", train=40, test=20)
    results = run(TINY, RunFolder(tmp_path / "run", data_dir=str(tmp_path / "mnist")))
    assert results.data is DataSource.MNIST
    assert (results.train_examples, results.test_examples) == (24, 12)
    assert {(u.size, u.regime) for u in results.units} == {(s, r) for s in (33, 32) for r in Regime}
    for unit in results.units:
        assert unit.angles == (0, 90, 180, 270)
        assert all(math.isclose(a * 12, round(a * 12)) for a in unit.accuracy_by_angle)  # 12 test images
    made = report(TINY, results, tmp_path / "run" / "plots")
    assert any("MNIST from the IDX files in --data-dir" in note for note in made.notes)


def test_a_data_dir_without_mnist_falls_back_to_the_digits_and_half_of_mnist_is_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "data_batch_1").write_bytes(b"not mnist")
    for data_dir in (None, str(tmp_path / "other"), str(tmp_path / "missing")):
        folder = RunFolder(tmp_path / "run", data_dir=data_dir)
        assert data_source(TINY, folder) is DataSource.DIGITS
        seed = digits_of_seed(TINY, folder, 0)
        assert (len(seed.y_train), len(seed.y_test), seed.x_train.shape[-1]) == (1258, 539, 8)

    _write_mnist(tmp_path / "half", train=40, test=20, skip="t10k-labels-idx1-ubyte")
    with pytest.raises(DataFilesNotFound, match="t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte"):
        run(TINY, RunFolder(tmp_path / "run2", data_dir=str(tmp_path / "half")))
    _write_mnist(tmp_path / "small", train=10, test=20)
    with pytest.raises(ValueError, match="mnist_train must be at most the 10 images of the file, got 24"):
        run(TINY, RunFolder(tmp_path / "run3", data_dir=str(tmp_path / "small")))


def test_data_mnist_refuses_to_run_without_its_files_and_the_paper_preset_asks_for_it(tmp_path: Path) -> None:
    assert STUDY.default_config(scale="paper").data == "mnist"
    assert STUDY.default_config().data == "auto"
    with pytest.raises(ValueError, match="data must be one of"):
        SubsamplingConfig(data="cifar10")
    mnist = dataclasses.replace(TINY, data="mnist")
    (tmp_path / "other").mkdir()
    for data_dir, where in ((None, "no --data-dir was given"), (str(tmp_path / "other"), "holds none")):
        with pytest.raises(ValueError, match=f"train-images-idx3-ubyte.*t10k-labels-idx1-ubyte.*{where}"):
            run(mnist, RunFolder(tmp_path / "run", data_dir=data_dir))
        assert not (tmp_path / "run" / "units").exists() or not any((tmp_path / "run" / "units").iterdir())
    _write_mnist(tmp_path / "mnist", train=40, test=20)
    with_mnist = RunFolder(tmp_path / "run2", data_dir=str(tmp_path / "mnist"))
    assert data_source(mnist, with_mnist) is DataSource.MNIST
    digits_only = dataclasses.replace(TINY, data="digits")
    assert data_source(digits_only, with_mnist) is DataSource.DIGITS  # MNIST there, digits asked for
    assert digits_of_seed(digits_only, with_mnist, 0).x_train.shape[-1] == 8


def test_each_seed_draws_its_own_data_and_rotations(tmp_path: Path) -> None:
    _write_mnist(tmp_path / "mnist", train=40, test=20)
    for data_dir in (None, str(tmp_path / "mnist")):
        folder = RunFolder(tmp_path / "run", data_dir=data_dir)
        first, again, second = (digits_of_seed(TINY, folder, s) for s in (0, 0, 1))
        assert torch.equal(first.x_train, again.x_train) and torch.equal(first.x_test, again.x_test)
        assert not torch.equal(first.x_train, second.x_train) and not torch.equal(first.x_test, second.x_test)


def test_the_paper_preset_and_the_cost_estimate() -> None:
    paper = STUDY.default_config(scale="paper")
    assert (paper.mnist_train, paper.mnist_test, paper.train.epochs, paper.train.batch_size) == (
        60000,
        10000,
        50,
        256,
    )
    config = replace_path(replace_path(TINY, "train.epochs", 3), "mnist_train", 40)
    cost = STUDY.estimate(config, "cpu")  # type: ignore[misc]
    jobs = 2 * len(Regime) * config.seeds
    assert cost.seconds > 0 and cost.steps == jobs * 3 * math.ceil(40 / 16)
    assert cost.seconds_per_step > 0


def test_the_estimate_times_both_sizes_and_doubles_with_the_epochs(monkeypatch: pytest.MonkeyPatch) -> None:
    shapes = []

    def fixed(model: object, make_batch: Any, loss_fn: object, device: str, steps: int = 3) -> float:
        shapes.append(tuple(make_batch()[0].shape))
        return 0.01

    monkeypatch.setattr(estimate_module, "seconds_per_step", fixed)
    config = replace_path(replace_path(TINY, "train.epochs", 3), "mnist_train", 40)
    once = STUDY.estimate(config, "cpu")  # type: ignore[misc]
    twice = STUDY.estimate(replace_path(config, "train.epochs", 6), "cpu")  # type: ignore[misc]
    assert shapes[:2] == [(16, 1, 33, 33), (16, 1, 32, 32)]  # a training batch at either size
    jobs = 2 * len(Regime) * config.seeds
    assert once.steps == jobs * 3 * 3 and twice.steps == 2 * once.steps  # 3 batches of 16 in 40 images
    assert math.isclose(once.seconds, 0.01 * once.steps) and math.isclose(twice.seconds, 2 * once.seconds)

"""The ``soft`` study (van der Ouderaa et al. 2023): its verdicts and report sentences follow synthetic
results, the quick run pairs and resumes, ``--data-dir`` reads MNIST and CIFAR-10, the paper preset has an
estimate."""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from eqlab._runner import resolve_configs, resume, run_studies
from eqlab.runs import Kind, RunFolder, Status
from eqlab.runs._checkpoint import INTERRUPT_ENV
from eqlab.runs._config import ConfigError
from eqlab.runs._report import to_markdown
from eqlab.runs._results import from_json
from eqlab.studies._soft import (
    STUDY,
    TWO_PATH,
    SoftConfig,
    SoftData,
    SoftResults,
    check_config,
    estimate,
    report,
    run,
    verdicts,
)
from eqlab.studies._soft._tables import tables
from tests.studies.soft_results import KNOBS, OUTCOMES, synthetic
from tests.torchrun import torchrun

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# --- verdicts and the report from synthetic results ----------------------------------------------------


def _claim_starts() -> list[tuple[str, Kind]]:
    """The start of each claim's text of the default config, in order, and its kind."""
    out = [
        ("premise, digit task", Kind.FINDING),
        ("premise, quadrant task", Kind.FINDING),
        ("CONV gives the same logits", Kind.DEMONSTRATION),
    ]
    for model in ("fc+conv", "ffc+conv"):
        out.append((f"{model}, digit task (translation symmetry holds), as the paper reads it", Kind.FINDING))
        out += [(f"{model}, digit task, block {k}, by use", Kind.FINDING) for k in range(5)]
        out += [(f"{model}, as the paper reads it", Kind.FINDING), (f"{model}, by use", Kind.FINDING)]
    for task in ("digit", "quadrant"):
        out += [
            (f"{task} task: {m} with learned priors matches", Kind.FINDING) for m in ("fc+conv", "ffc+conv")
        ]
        for model in ("fc+conv", "ffc+conv"):
            out += [
                (f"{task} task: {model} is more accurate with learned", Kind.FINDING),
                (f"{task} task: {model} has a higher log marginal likelihood", Kind.FINDING),
            ]
    out += [(f"6.3 premise, {c} digits", Kind.FINDING) for c in ("upright", "rotated")]
    out += [(f"6.3, rotated digits, block {k}, by use", Kind.FINDING) for k in range(5)]
    out += [
        ("6.3, by use: the p4 path's lead", Kind.FINDING),
        ("6.3, rotated digits, as the paper reads it", Kind.FINDING),
        ("6.3, as the paper reads it", Kind.FINDING),
    ]
    return out


CLAIMS = _claim_starts()


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_every_claim_reaches_each_outcome(outcome: str) -> None:
    found = verdicts(SoftConfig(), synthetic(outcome))
    assert len(found) == len(CLAIMS)
    for verdict, (start, kind) in zip(found, CLAIMS, strict=True):
        assert verdict.claim.startswith(start), verdict.claim
        assert verdict.kind is kind, verdict.claim
        assert verdict.status is Status(outcome), (verdict.claim, verdict.values, verdict.detail)


@pytest.mark.parametrize("status", [Status.CONTRADICTED, Status.INCONCLUSIVE])
@pytest.mark.parametrize("knob", KNOBS)
def test_each_claim_follows_its_own_values(knob: str, status: Status) -> None:
    # only the quantity of one claim moves; the others keep values that support them
    found = verdicts(SoftConfig(), synthetic("supported", moved={knob: status.value}))
    assert [v.status for v in found] == [status if k == knob else Status.SUPPORTED for k in KNOBS], [
        v.claim for v in found
    ]
    for verdict, (start, kind) in zip(found, CLAIMS, strict=True):
        assert verdict.claim.startswith(start) and verdict.kind is kind, verdict.claim


def test_a_nan_in_any_run_makes_the_shift_demonstration_not_measurable() -> None:
    # Python's max drops a NaN unless it comes first: put it in the LAST CONV run of seed 1 (quadrant task,
    # learned priors), after finite errors, and in the table's group that is not the first either
    results = synthetic("supported")
    conv = [i for i, u in enumerate(results.units) if u.model == "conv" and u.seed_index == 1]
    assert len(conv) > 1
    last = conv[-1]
    units = list(results.units)
    units[last] = dataclasses.replace(units[last], shift_error=math.nan)
    broken = dataclasses.replace(results, units=tuple(units))
    first = verdicts(SoftConfig(), broken)[2]
    assert first.claim.startswith("CONV gives the same logits")
    assert first.status is Status.NOT_MEASURABLE, (first.values, first.detail)
    assert math.isnan(first.values[1]) and not math.isnan(first.values[0])
    table = tables(SoftConfig(), broken.units)[0]
    shift = table.headers.index("shift error")
    task, priors = units[last].task, units[last].priors
    row = next(r for r in table.rows if r[0] == task and r[1] == "conv" and r[2] == priors)
    assert math.isnan(row[shift])


def test_cifar10_adds_its_claims() -> None:
    config = SoftConfig(tasks=("digit", "quadrant", "cifar10"))
    found = verdicts(config, synthetic("supported", config=config))
    claims = [v.claim for v in found if "cifar10" in v.claim]
    # the premise; per two-path model the precision reading and 5 blocks' shares; 2 baselines, and per
    # two-path model learned against fixed priors in accuracy and in evidence
    assert len(claims) == 1 + 2 * (1 + 5) + 2 + 2 * 2, claims
    assert all(v.status is Status.SUPPORTED for v in found)


def test_report_sentences_follow_the_results(tmp_path: Path) -> None:
    config = SoftConfig()
    texts, notes = {}, {}
    cases = {
        "supported": synthetic("supported"),
        "contradicted": synthetic("contradicted"),
        "premise fails": synthetic("supported", moved={"premise digit": "contradicted"}),
        "block 2 unused": synthetic("supported", moved={"share fc+conv 2": "contradicted"}),
    }
    for case, results in cases.items():
        plots = tmp_path / case.replace(" ", "_")
        plots.mkdir()
        made = report(config, results, plots)
        assert sorted(p.name for p in plots.iterdir()) == [
            "accuracy.png",
            "equivariance.png",
            "marglik.png",
            "symmetries.png",
        ]
        assert made.key == "equivariance.png"
        texts[case] = to_markdown(made)
        notes[case] = " ".join(made.notes)
        assert "CONV 4,850, FC 863,370, FC+CONV 868,000, FFC+CONV 20,000" in notes[case]  # from the results
        assert "1,000 training and 797 test images from bundled digits" in made.measured
    supported, contradicted = texts["supported"], texts["contradicted"]
    assert "| **supported** |" in supported and "| **contradicted** |" not in supported
    assert "| **contradicted** |" in contradicted and "| **supported** |" not in contradicted
    # the premise sentence follows the premise verdicts
    assert "The premise of the paper's toy problem holds on this run" in notes["supported"]
    assert "not tests of the paper's mechanism" not in notes["supported"]
    failed = notes["premise fails"]
    assert "is not supported on this run (digit task (translation symmetry holds): contradicted" in failed
    assert "the claims below are not tests of the paper's mechanism" in failed
    assert "not tests of the paper's mechanism" in notes["contradicted"]
    assert (
        "digit task, fixed priors: CONV (4,850 parameters) reached a mean test accuracy of 0.815" in supported
    )
    assert "of 0.690" in contradicted  # CONV 0.8 - 0.11 on average when the premise is contradicted
    # where the two readings of a block disagree is built from the results
    assert "digit fc+conv block 2 (precisions favour conv, use favours dense)" in notes["block 2 unused"]
    assert "digit fc+conv block 2" not in notes["supported"]
    # Section 6.3: which path leads each block, from the results
    assert (
        "rotated digits (mean test accuracy 0.775 over 3 seed(s)): the path with the largest mean share "
        "per block is 0: p4, 1: p4" in notes["supported"]
    )
    # Section 6.3's premise sentence follows its verdicts
    assert "Section 6.3's premise holds on this run" in notes["supported"]
    assert "Section 6.3's premise is not supported" not in notes["supported"]
    assert (
        "Section 6.3's premise is not supported on this run (upright digits: contradicted (mean test "
        "accuracy 0.225" in notes["contradicted"]
    )
    assert "per block is 0: conv, 1: conv" in notes["contradicted"]


# --- config, seeds, estimate ---------------------------------------------------------------------------


def test_config_checks_and_presets() -> None:
    with pytest.raises(ValueError, match="tasks must be one of"):
        SoftConfig(tasks=("digits",))
    with pytest.raises(ValueError, match="tasks must name each task once"):
        SoftConfig(tasks=("digit", "digit"))
    with pytest.raises(ValueError, match="widths and strides must have one entry per block"):
        check_config(SoftConfig(widths=(1, 2)))
    with pytest.raises(ValueError, match="size must be even"):
        check_config(SoftConfig(size=17, strides=(1, 1, 1, 1, 1)))
    paper = check_config(STUDY.default_config(scale="paper"))
    assert (paper.size, paper.alpha, len(paper.widths), paper.train_size) == (32, 10, 8, 50000)
    assert (paper.train.epochs, paper.train.batch_size, paper.train.ggn) == (999, 128, "exact")
    configs = resolve_configs([STUDY], {"train.epochs": "7", "soft.train.lr": "0.01"}, quick=False)
    assert (configs["soft"].train.epochs, configs["soft"].train.lr) == (7, 0.01)
    with pytest.raises(ConfigError, match="tasks"):
        resolve_configs([STUDY], {"tasks": "digit,spiral"}, quick=False)


def test_each_seed_draws_its_own_images_and_tasks_share_canvases(tmp_path: Path) -> None:
    data = SoftData(SoftConfig(), RunFolder(tmp_path))
    digit0 = data.get("digit", 0)
    x_digit, y_digit = digit0.x_train, digit0.y_train
    quadrant0 = data.get("quadrant", 0)
    assert torch.equal(quadrant0.x_train, x_digit) and torch.equal(quadrant0.y_train % 10, y_digit)
    assert not torch.equal(quadrant0.y_train, y_digit)
    seed1 = data.get("digit", 1)
    assert not torch.equal(seed1.x_train, x_digit)
    assert x_digit.shape == (1000, 1, 16, 16) and digit0.x_test.shape == (797, 1, 16, 16)


def test_rotated_digits_turn_each_digit_and_keep_the_split_and_placements(tmp_path: Path) -> None:
    data = SoftData(SoftConfig(), RunFolder(tmp_path))
    upright = data.get("digit", 0)
    rotated = data.get("digit", 0, rotated=True)
    assert torch.equal(rotated.y_train, upright.y_train) and torch.equal(rotated.y_test, upright.y_test)
    # each canvas holds the same digit in the same quadrant, turned by a multiple of 90 degrees about
    # its own centre: the 8 x 8 patch of the canvas is a rot90 of the upright one
    turns = []
    for a, b in zip(upright.x_train[:200], rotated.x_train[:200], strict=True):
        (row, col) = [int(i) // 8 * 8 for i in torch.nonzero(a[0]).float().mean(0)]
        patch_a, patch_b = a[0, row : row + 8, col : col + 8], b[0, row : row + 8, col : col + 8]
        assert torch.equal(a.sum(), b.sum()) or torch.allclose(a.sum(), b.sum())
        found = [k for k in range(4) if torch.equal(torch.rot90(patch_a, k), patch_b)]
        assert found, "a turned digit is a quarter turn of the upright one in the same quadrant"
        turns.append(found[0])
    assert set(turns) == {0, 1, 2, 3}  # drawn per image
    assert not torch.equal(data.get("digit", 1, rotated=True).x_train[:50], rotated.x_train[:50])


def test_estimate_counts_every_step() -> None:
    small = {"alpha": "1", "train_size": "100", "seeds": "2", "train.epochs": "10", "multi.enabled": "false"}
    cost = estimate(STUDY.configure(small), "cpu")
    # 10 epochs of 2 batches of 64; burn-in 5, every 5 epochs: one fit, one batch (256 > 100), MC GGN
    per_run = 10 * 2 + 1
    assert cost.steps == per_run * 2 * 2 * 6  # seeds x tasks x the 6 jobs (MAP tracks the evidence)
    assert cost.seconds > 0 and cost.seconds_per_step > 0 and cost.device == "cpu"
    # the exact GGN: C - 1 backward passes (9 on the digit task, 39 on the quadrant task) per fit batch
    exact = estimate(STUDY.configure({**small, "train.ggn": "exact"}), "cpu")
    assert exact.steps == ((20 + 9) + (20 + 39)) * 2 * 6
    # Section 6.3 adds seeds x 2 conditions runs of its own length (multi.alpha 4: the p4 axis needs 4)
    multi = {**small, "multi.enabled": "true", "multi.train.epochs": "10"}
    with_multi = estimate(STUDY.configure(multi), "cpu")
    assert with_multi.steps == cost.steps + per_run * 2 * 2
    assert with_multi.seconds > cost.seconds
    longer = estimate(STUDY.configure({**multi, "multi.train.epochs": "20"}), "cpu")
    assert longer.steps == cost.steps + (20 * 2 + 3) * 2 * 2  # fits at epochs 10, 15 and 20


# --- runs: quick, resume, --data-dir -------------------------------------------------------------------


def test_quick_run_pairs_fixed_and_learned_priors(tmp_path: Path) -> None:
    (outcome,) = run_studies(["soft"], quick=True, out=tmp_path)
    assert outcome.status == "ok", outcome.error
    results = from_json(SoftResults, json.loads((outcome.folder / "results.json").read_text()))
    assert len(results.units) == 2 * 2 * 6 and len(results.multi) == 2 * 2
    by_key = {(u.task, u.model, u.priors, u.seed_index): u for u in results.units}
    for (task, model, priors, seed), unit in by_key.items():
        if priors == "map" and model in TWO_PATH:  # same data, weights and batches until the first evidence
            assert unit.train_loss[0] == by_key[task, model, "marglik", seed].train_loss[0]
            assert set(unit.prior_precision) == {1.0}
        assert unit.train_loss[0] != by_key[task, model, priors, 1 - seed].train_loss[0]
        if model == "conv":
            assert unit.shift_error < 1e-12
    assert sorted(p.name for p in (outcome.folder / "plots").glob("*.png")) == [
        "accuracy.png",
        "equivariance.png",
        "marglik.png",
        "symmetries.png",
    ]
    multi = {(u.condition, u.seed_index): u for u in results.multi}
    for (condition, seed), unit in multi.items():
        assert len(unit.blocks) == 5 and 0 <= unit.test_accuracy <= 1
        for block in unit.blocks:
            assert abs(block.group_share + block.conv_share + block.dense_share - 1) < 1e-6
        assert unit.train_loss != multi["rotated" if condition == "upright" else "upright", seed].train_loss
    lines = (outcome.folder / "metrics.jsonl").read_text().splitlines()
    assert any(json.loads(line).get("unit") == "digit-fc_conv-marglik-s1" for line in lines)


def test_resume_ends_with_the_same_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    overrides = {"seeds": "1", "tasks": "digit", "train.epochs": "3"}
    (whole,) = run_studies(["soft"], quick=True, overrides=overrides, out=tmp_path / "whole")
    assert whole.status == "ok", whole.error
    monkeypatch.setenv(INTERRUPT_ENV, "1")
    with pytest.raises(KeyboardInterrupt):
        run_studies(["soft"], quick=True, overrides=overrides, out=tmp_path / "cut")
    monkeypatch.delenv(INTERRUPT_ENV)
    (folder,) = (tmp_path / "cut").glob("*-soft")
    assert not (folder / "results.json").exists() and list((folder / "checkpoints").iterdir())
    resumed = resume(folder)
    assert resumed.status == "ok", resumed.error
    assert (folder / "results.json").read_text() == (whole.folder / "results.json").read_text()


def test_quick_run_under_torchrun_with_two_processes(tmp_path: Path) -> None:
    torchrun(
        "-m",
        "eqlab",
        "run",
        "soft",
        "--quick",
        "--set",
        "seeds=1",
        "--set",
        "tasks=digit",
        "--out",
        str(tmp_path),
    )
    (folder,) = tmp_path.glob("*-soft")
    assert json.loads((folder / "env.json").read_text())["world_size"] == 2
    results = from_json(SoftResults, json.loads((folder / "results.json").read_text()))
    assert len(results.units) == 6 and all(0 <= u.test_accuracy <= 1 for u in results.units)
    assert len(results.multi) == 2 and all(0 <= u.test_accuracy <= 1 for u in results.multi)
    assert "It ran in 2 processes under torchrun" in (folder / "report.md").read_text()


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">4B", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.astype(np.uint8).tobytes())


def _mnist_files(folder: Path, train: int, test: int) -> None:
    rng = np.random.default_rng(0)
    for prefix, n in (("train", train), ("t10k", test)):
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        images[:, 4:24, 4:24] = rng.integers(0, 256, (n, 20, 20))
        _write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        _write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))


def _cifar_files(folder: Path, per_batch: int) -> None:
    rng = np.random.default_rng(1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, 10, per_batch).tolist(),
        }
        (folder / name).write_bytes(pickle.dumps(batch))


def test_data_dir_reads_mnist_and_cifar10(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    config = STUDY.configure(
        {"tasks": "digit,quadrant,cifar10", "seeds": "1", "train_size": "40", "train.epochs": "1"}, quick=True
    )
    folder = RunFolder(tmp_path / "run", data_dir=str(data_dir))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte and train-labels-idx1-ubyte"):
        run(config, folder)
    _mnist_files(data_dir, train=60, test=24)
    with pytest.raises(ValueError, match="data_batch_1, data_batch_2.*missing"):
        run(config, folder)
    _cifar_files(data_dir, per_batch=10)
    results = run(config, folder)
    sources = {(u.task, u.source, u.train_size, u.test_size) for u in results.units}
    assert sources == {
        ("digit", "MNIST", 40, 24),
        ("quadrant", "MNIST", 40, 24),
        ("cifar10", "CIFAR-10", 40, 10),
    }
    for unit in results.units:
        if unit.model == "conv":  # a move between quadrants, or half the CIFAR-10 image round the torus
            assert unit.shift_error < 1e-12


def test_cifar10_without_a_data_dir_says_what_it_needs(tmp_path: Path) -> None:
    config = STUDY.configure({"tasks": "cifar10", "seeds": "1"}, quick=True)
    with pytest.raises(ValueError, match="'cifar10' reads CIFAR-10 from --data-dir"):
        run(config, RunFolder(tmp_path))

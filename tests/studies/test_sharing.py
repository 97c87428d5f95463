"""The parameter-sharing study: every claim decided from synthetic results in each direction, the report's
outcome sentences following them, a quick run, resume, and the cost estimate."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from eqlab import _runner as runner
from eqlab.runs import Kind, Status
from eqlab.studies import _sharing as sharing_module
from eqlab.studies._sharing import (
    MODELS,
    STUDY,
    LargerSet,
    SharingConfig,
    SharingResults,
    SharingUnit,
    optimiser_steps,
    report,
    train_settings,
    verdicts,
)
from eqlab.train import TrainSettings

CONFIG = SharingConfig(
    train_sizes=(32, 128),
    larger_set_sizes=(20,),
    seeds=3,
    train=TrainSettings(epochs=15, batch_size=32, lr=3e-3),
)
SEEDS = 3


CLAIMS = ("invariance", "mlp/sharing at 32", "mlp/sharing at 128", "baseline/generic at 20")
"""The study's claims in order: the demonstration, one MSE comparison per training size, one larger-set
claim per larger size; each reads its own per-seed quantity."""
KINDS = [Kind.DEMONSTRATION, Kind.FINDING, Kind.FINDING, Kind.FINDING]


def _results(values: dict[str, list[float]]) -> SharingResults:
    """Synthetic results from per-seed quantities: the sharing network's invariance error, the ratio of
    the MLP's test MSE to the sharing network's at each training size, and of the constant predictor's
    MSE to the size-generic model's on sets of 20."""
    units = []
    for seed in range(SEEDS):
        for size in CONFIG.train_sizes:
            for model in MODELS:
                mse = 0.1 * (values[f"mlp/sharing at {size}"][seed] if model == "mlp" else 1.0)
                larger = tuple(
                    LargerSet(n, 0.2, 0.2 * values[f"baseline/generic at {n}"][seed])
                    for n in CONFIG.larger_set_sizes
                )
                units.append(
                    SharingUnit(
                        model=model,
                        train_size=size,
                        seed_index=seed,
                        params=100,
                        final_train_loss=0.05,
                        test_mse=mse,
                        baseline_mse=0.5,
                        invariance_error=values["invariance"][seed] if model != "mlp" else 0.3,
                        larger_sets=larger if model == "size-generic" else (),
                    )
                )
    return SharingResults(tuple(units))


RATIOS = {
    Status.SUPPORTED: [2.0, 2.5, 3.0],
    Status.CONTRADICTED: [0.5, 0.4, 0.45],
    Status.INCONCLUSIVE: [2.0, 0.5, 1.1],
}
VALUES = {
    "invariance": {
        Status.SUPPORTED: [1e-16, 3e-16, 2e-16],
        Status.CONTRADICTED: [1e-3, 2e-3, 3e-3],
        Status.INCONCLUSIVE: [1e-16, 1e-3, 1e-20],
    },
    **{claim: RATIOS for claim in CLAIMS[1:]},
}
GOOD = {claim: VALUES[claim][Status.SUPPORTED] for claim in CLAIMS}
BAD = {claim: VALUES[claim][Status.CONTRADICTED] for claim in CLAIMS}


@pytest.mark.parametrize("status", [Status.SUPPORTED, Status.CONTRADICTED, Status.INCONCLUSIVE])
@pytest.mark.parametrize("claim", CLAIMS)
def test_each_claim_follows_its_own_values(claim: str, status: Status) -> None:
    # only ``claim`` moves; every other claim keeps values that support it
    decided = verdicts(CONFIG, _results({**GOOD, claim: VALUES[claim][status]}))
    expected = [status if c == claim else Status.SUPPORTED for c in CLAIMS]
    assert [v.status for v in decided] == expected, [v.claim for v in decided]
    assert [v.kind for v in decided] == KINDS
    assert "32 training sets" in decided[1].claim and "128 training sets" in decided[2].claim
    assert "on sets of 20" in decided[3].claim


@pytest.mark.parametrize("claim", ["mlp/sharing at 128", "baseline/generic at 20"])
def test_a_zero_mse_makes_its_claim_not_measurable(claim: str) -> None:
    # a zero MSE (the MLP's, or the constant predictor's) has no log ratio: NaN, not a crash, and only
    # that claim is not measurable
    values = {**GOOD, claim: [2.0, 0.0, 3.0]}
    decided = verdicts(CONFIG, _results(values))
    expected = [Status.NOT_MEASURABLE if c == claim else Status.SUPPORTED for c in CLAIMS]
    assert [v.status for v in decided] == expected


def test_a_missing_larger_set_makes_its_claim_not_measurable() -> None:
    results = _results(GOOD)
    dropped = tuple(dataclasses.replace(u, larger_sets=()) if u.seed_index == 1 else u for u in results.units)
    decided = verdicts(CONFIG, SharingResults(dropped))
    assert [v.status for v in decided][-1] is Status.NOT_MEASURABLE


def test_an_exactly_zero_error_on_every_seed_is_decided_by_its_stated_reason() -> None:
    exact = verdicts(CONFIG, _results({**GOOD, "invariance": [0.0, 0.0, 0.0]}))[0]
    assert exact.status is Status.SUPPORTED and exact.exact and "cannot vary" in exact.detail


def test_the_reports_outcome_sentences_follow_the_results(tmp_path: Path) -> None:
    good = report(CONFIG, _results(GOOD), tmp_path)
    bad = report(CONFIG, _results(BAD), tmp_path)
    good_caption, bad_caption = (
        next(f.caption for f in r.figures if f.filename == "invariance_error.png") for r in (good, bad)
    )
    assert "sharing 3.0e-16" in good_caption and "sharing 3.0e-03" in bad_caption
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "invariance_error.png",
        "larger_sets.png",
        "test_mse.png",
    ]


def test_quick_run_resumes_to_the_same_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (whole,) = runner.run_studies(["sharing"], quick=True, out=tmp_path / "whole")
    assert whole.status == "ok", whole.error
    monkeypatch.setenv("EQLAB_INTERRUPT_AFTER_CHECKPOINTS", "3")
    with pytest.raises(KeyboardInterrupt):
        runner.run_studies(["sharing"], quick=True, out=tmp_path / "cut")
    monkeypatch.delenv("EQLAB_INTERRUPT_AFTER_CHECKPOINTS")
    (folder,) = (tmp_path / "cut").glob("*-sharing")
    assert not (folder / "results.json").exists()
    resumed = runner.resume(folder)
    assert resumed.status == "ok", resumed.error
    assert json.loads((folder / "results.json").read_text()) == json.loads(
        (whole.folder / "results.json").read_text()
    )


def test_each_seed_draws_its_own_sets_and_the_models_of_a_seed_share_them(tmp_path: Path) -> None:
    (outcome,) = runner.run_studies(["sharing"], quick=True, out=tmp_path)
    units = json.loads((outcome.folder / "results.json").read_text())["units"]
    baselines = {(u["seed_index"], u["train_size"], u["model"]): u["baseline_mse"] for u in units}
    size = CONFIG.train_sizes[0]
    assert (
        baselines[(0, size, "mlp")] == baselines[(0, size, "sharing")] == baselines[(0, size, "size-generic")]
    )
    assert baselines[(0, size, "mlp")] != baselines[(1, size, "mlp")]


def test_train_epochs_count_at_the_largest_size_and_every_size_takes_as_many_steps(tmp_path: Path) -> None:
    config = dataclasses.replace(
        SharingConfig(train_sizes=(32, 100, 2048)),
        train=TrainSettings(epochs=19, batch_size=32, lr=3e-3, checkpoint_every=5),
    )
    largest, middle, small = (train_settings(config, size) for size in (2048, 100, 32))
    assert (largest.epochs, largest.checkpoint_every) == (19, 5)  # 64 batches an epoch: 1216 steps
    assert (small.epochs, small.checkpoint_every, small.batch_size) == (1216, 320, 32)  # 1 batch an epoch
    assert (middle.epochs, middle.checkpoint_every) == (304, 80)  # 4 batches (32, 32, 32, 4)
    assert [optimiser_steps(config, n) for n in (32, 100, 2048)] == [1216, 1216, 1216]
    doubled = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=38))
    assert [optimiser_steps(doubled, n) for n in (32, 100, 2048)] == [2432, 2432, 2432]
    notes = report(CONFIG, _results(GOOD), tmp_path).notes
    assert "epochs at 128 sets, 60 steps at 32, 60 steps at 128" in " ".join(notes)  # CONFIG: 15 epochs


def test_the_cost_estimate_counts_every_models_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    config = dataclasses.replace(
        STUDY.default_config(quick=True), train=TrainSettings(epochs=2, batch_size=32, lr=3e-3)
    )
    cost = STUDY.estimate(config, "cpu")  # type: ignore[misc]
    assert cost.seconds > 0 and cost.seconds_per_step > 0
    # sizes (32, 128), 2 seeds, 3 models: 2 epochs of 4 batches at 128, 8 epochs of 1 batch at 32
    assert cost.steps == (8 + 8) * 2 * 3
    # with the step time fixed, the estimate is that time times the steps; twice the epochs, twice the time
    timed = []
    monkeypatch.setattr(sharing_module, "seconds_per_step", lambda *args, **kwargs: timed.append(1) or 0.01)
    twice = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=4))
    once, double = (STUDY.estimate(c, "cpu") for c in (config, twice))  # type: ignore[misc]
    assert len(timed) == 2 * len(MODELS)
    assert double.steps == 2 * once.steps == 2 * cost.steps
    assert math.isclose(once.seconds, 0.01 * 3 * 16 * 2) and math.isclose(double.seconds, 2 * once.seconds)

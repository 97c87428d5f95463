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
from eqlab.studies._sharing import (
    MODELS,
    STUDY,
    LargerSet,
    SharingConfig,
    SharingResults,
    SharingUnit,
    report,
    verdicts,
)

CONFIG = SharingConfig(train_sizes=(32, 128), larger_set_sizes=(20,), seeds=3)
SEEDS = 3


def _results(
    *, invariance: list[float], mlp_over_sharing: list[float], baseline_over_generic: list[float]
) -> SharingResults:
    """Synthetic results: per seed, the sharing network's invariance error, the ratio of the MLP's test MSE
    to the sharing network's (at every size), and of the constant predictor's to the size-generic model's
    on larger sets."""
    units = []
    for seed in range(SEEDS):
        for size in CONFIG.train_sizes:
            for model in MODELS:
                mse = 0.1 * (mlp_over_sharing[seed] if model == "mlp" else 1.0)
                larger = tuple(
                    LargerSet(n, 0.2, 0.2 * baseline_over_generic[seed]) for n in CONFIG.larger_set_sizes
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
                        invariance_error=invariance[seed] if model != "mlp" else 0.3,
                        larger_sets=larger if model == "size-generic" else (),
                    )
                )
    return SharingResults(tuple(units))


GOOD = {
    "invariance": [1e-16, 3e-16, 2e-16],
    "mlp_over_sharing": [2.0, 2.5, 3.0],
    "baseline_over_generic": [4, 5, 6],
}
BAD = {
    "invariance": [1e-3, 2e-3, 3e-3],
    "mlp_over_sharing": [0.5, 0.4, 0.45],
    "baseline_over_generic": [0.5, 0.4, 0.3],
}
MIXED = {
    "invariance": [1e-16, 1e-3, 1e-20],
    "mlp_over_sharing": [2.0, 0.5, 1.1],
    "baseline_over_generic": [2.0, 0.5, 1.1],
}


@pytest.mark.parametrize(
    ("values", "status"),
    [(GOOD, Status.SUPPORTED), (BAD, Status.CONTRADICTED), (MIXED, Status.INCONCLUSIVE)],
)
def test_every_claim_follows_its_values(values: dict[str, list[float]], status: Status) -> None:
    decided = verdicts(CONFIG, _results(**values))
    assert len(decided) == 1 + len(CONFIG.train_sizes) + len(CONFIG.larger_set_sizes)
    assert [v.status for v in decided] == [status] * len(decided)
    assert [v.kind for v in decided] == [Kind.DEMONSTRATION] + [Kind.FINDING] * (len(decided) - 1)


def test_an_exactly_zero_error_on_every_seed_is_decided_by_its_stated_reason() -> None:
    exact = verdicts(CONFIG, _results(**{**GOOD, "invariance": [0.0, 0.0, 0.0]}))[0]
    assert exact.status is Status.SUPPORTED and exact.exact and "cannot vary" in exact.detail


def test_the_reports_outcome_sentences_follow_the_results(tmp_path: Path) -> None:
    good = report(CONFIG, _results(**GOOD), tmp_path)
    bad = report(CONFIG, _results(**BAD), tmp_path)
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


def test_the_cost_estimate_times_steps_and_extrapolates() -> None:
    config = dataclasses.replace(STUDY.default_config(quick=True), steps=10)
    cost = STUDY.estimate(config, "cpu")  # type: ignore[misc]
    assert cost.seconds > 0 and cost.steps == 10 * len(config.train_sizes) * config.seeds * len(MODELS)
    assert math.isclose(cost.seconds, cost.seconds_per_step * cost.steps, rel_tol=1e-9)

"""The layerwise study: every claim decided from synthetic results in each direction, the report's outcome
sentences following them, the invariant-but-not-layerwise-equivariant network, a quick run with resume and
under torchrun, CIFAR-10 from --data-dir, and the cost estimate."""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from eqlab import _runner as runner
from eqlab.data._files import CIFAR_TEST, CIFAR_TRAIN
from eqlab.layerwise import self_align, transform_network
from eqlab.runs import Kind, RunFolder, Status
from eqlab.runs._config import replace_path
from eqlab.runs._results import from_json
from eqlab.studies._layerwise import (
    DESIGNED,
    STUDY,
    VGG11,
    LayerwiseConfig,
    LayerwiseResults,
    Regime,
    build_vgg,
    chance_bound,
    hidden_mean,
    invariant_not_layerwise,
    read_source,
    report,
    run,
    verdicts,
)
from eqlab.studies._layerwise import _estimate as estimate_module
from eqlab.studies._layerwise._units import initial_network, initial_unit, train_network
from eqlab.testing import equivariance_error
from eqlab.train import TrainSettings
from tests.studies.layerwise_results import BAD, CONFIG, FIRST_ERROR, GOOD, MIXED, results
from tests.torchrun import torchrun

pytestmark = pytest.mark.usefixtures("one_torch_thread")

KINDS = [Kind.FINDING] * 5 + [Kind.DEMONSTRATION] * 3


@pytest.mark.parametrize(
    ("values", "status"),
    [(GOOD, Status.SUPPORTED), (BAD, Status.CONTRADICTED), (MIXED, Status.INCONCLUSIVE)],
)
def test_every_claim_follows_its_values(values: dict[str, list[float]], status: Status) -> None:
    decided = verdicts(CONFIG, results(values))
    assert [v.status for v in decided] == [status] * len(KINDS)
    assert [v.kind for v in decided] == KINDS
    assert [len(v.values) for v in decided] == [3, 3, 6, 6, 6, 12, 3, 3]


CLAIM_KEYS = [
    "gap flip",
    "gap plain",
    "augmentation",
    "training",
    "merge",
    "invariance",
    "toy_invariance",
    "toy_weight_error",
]
"""The quantity behind each claim, in the claims' order."""
OUTCOMES = {Status.SUPPORTED: GOOD, Status.CONTRADICTED: BAD, Status.INCONCLUSIVE: MIXED}


@pytest.mark.parametrize("status", list(OUTCOMES))
@pytest.mark.parametrize("moved", CLAIM_KEYS)
def test_each_claim_follows_its_own_values(moved: str, status: Status) -> None:
    # only the quantity of one claim moves; the others keep values that support them
    source = moved.split()[0]
    decided = verdicts(CONFIG, results({**GOOD, moved: OUTCOMES[status][source]}))
    assert [v.status for v in decided] == [status if k == moved else Status.SUPPORTED for k in CLAIM_KEYS]
    assert decided[0].claim.startswith("trained with flip") and decided[1].claim.startswith("trained without")


def test_an_exactly_zero_error_on_every_seed_is_decided_by_its_stated_reason() -> None:
    zeros = {**GOOD, "invariance": [0.0] * 6, "toy_invariance": [0.0] * 3}
    merged, toy = verdicts(CONFIG, results(zeros))[5:7]
    for verdict in (merged, toy):
        assert verdict.status is Status.SUPPORTED and verdict.exact and "cannot vary" in verdict.detail


UNDECIDED = " networks: the interval contains 0: this run cannot tell the two ends apart."


def test_the_reports_outcome_sentences_follow_the_results(tmp_path: Path) -> None:
    good = report(CONFIG, results(GOOD), tmp_path)
    bad = report(CONFIG, results(BAD), tmp_path)
    mixed = report(CONFIG, results(MIXED), tmp_path)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "barriers.png",
        "first_layer_filters.png",
        "layer_errors.png",
    ]
    assert good.key == "barriers.png"
    for regime in Regime:  # the note on the flipped self states what was measured, in each regime
        start = f"Trained {'with' if regime is Regime.FLIP else 'without'} flip augmentation, the flipped"
        (good_note,) = (n for n in good.notes if n.startswith(start))
        (bad_note,) = (n for n in bad.notes if n.startswith(start))
        assert "-0.3, 95%" in good_note and "+0.3, 95%" in good_note  # accuracy, then end losses
        assert "the ends differ (higher" in good_note
        assert bad_note.endswith(UNDECIDED)
        assert "differ (" not in bad_note
    mixed_note = next(n for n in mixed.notes if n.startswith("Trained with flip"))
    assert mixed_note.endswith(UNDECIDED)
    assert not any("worse classifier" in v.claim for v in good.verdicts)  # no outcome in a claim's text
    lower = report(CONFIG, results({**GOOD, "flipped": [-f for f in GOOD["flipped"]]}), tmp_path)
    assert "the ends differ (lower at pi T(W))" in next(n for n in lower.notes if n.startswith("Trained w"))
    caption = next(f.caption for f in good.figures if f.filename == "first_layer_filters.png")
    assert f"weight error after the unconstrained self-alignment is {FIRST_ERROR:.3g}" in caption
    assert "2 fixed channels and 1 swapped pairs" in caption
    assert "Each pair of seeds (0, 1), (2, 3)" in good.notes[0]
    assert "activation error is below the mean weight error in 6 of the 6 (training, layer) rows" in " ".join(
        good.notes
    )
    swapped = results(GOOD)
    swapped = dataclasses.replace(
        swapped,
        networks=tuple(
            dataclasses.replace(n, activation_errors=tuple(2 * e for e in n.weight_errors))
            for n in swapped.networks
        ),
    )
    worse = " ".join(report(CONFIG, swapped, tmp_path).notes)
    assert "activation error is below the mean weight error in 0 of the 6 (training, layer) rows" in worse
    assert "more forgiving" not in worse
    cifar = dataclasses.replace(results(GOOD), dataset="CIFAR-10", split_per_pair=False)
    assert "CIFAR-10's own train/test split" in report(CONFIG, cifar, tmp_path).notes[0]


def test_an_invariant_network_that_is_not_layerwise_equivariant() -> None:
    for seed in range(3):
        model = invariant_not_layerwise(seed=seed)
        x = torch.randn(64, 1, 8, 8, dtype=torch.float64)
        assert equivariance_error(model, x, lambda t: t.flip(-1), lambda t: t) < 1e-13
        result = self_align(model, "hflip", "weights")
        assert result.alignment.errors["0"] > 0.1


def test_vgg_flips_exactly_at_the_study_size() -> None:
    model = build_vgg((4, 8, 8), (0, 1)).double().eval()
    x = torch.randn(2, 1, 16, 16, dtype=torch.float64)
    flipped = transform_network(model, "hflip", input_size=16)
    torch.testing.assert_close(flipped(x), model(x.flip(-1)), rtol=1e-12, atol=1e-12)


def test_bad_architectures_are_refused_naming_the_argument() -> None:
    with pytest.raises(ValueError, match=r"pool_after must name layers 0\.\.1"):
        build_vgg((4, 8), (2,))
    with pytest.raises(ValueError, match="widths must hold"):
        build_vgg((), ())
    with pytest.raises(ValueError, match="data must be one of"):
        LayerwiseConfig(data="mnist")
    with pytest.raises(ValueError, match="method must be one of"):
        LayerwiseConfig(method="gradients")


def test_each_pair_of_seeds_draws_its_own_split(tmp_path: Path) -> None:
    config, folder = LayerwiseConfig(), RunFolder(tmp_path)
    source = read_source(config, folder)
    first, again, second = (source.pair_data(config, folder, pair) for pair in (0, 0, 1))
    assert torch.equal(first.x_test, again.x_test) and torch.equal(first.y_train, again.y_train)
    assert not torch.equal(first.x_test, second.x_test)
    assert len(first.y_train) + len(first.y_test) == 1797


def test_quick_run_resumes_to_the_same_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (whole,) = runner.run_studies(["layerwise"], quick=True, out=tmp_path / "whole")
    assert whole.status == "ok", whole.error
    saved = json.loads((whole.folder / "results.json").read_text())
    assert [(n["regime"], n["seed"], n["pair"]) for n in saved["networks"]] == [
        ("flip", 0, 0),
        ("flip", 1, 0),
        ("plain", 0, 0),
        ("plain", 1, 0),
    ]
    assert len(saved["pairs"]) == 2 and len(saved["toys"]) == 3
    assert [(n["seed"], len(n["weight_errors"])) for n in saved["initial"]] == [(0, 3), (1, 3)]
    assert all(n["merged_invariance"] < 1e-12 for n in saved["networks"])
    assert all(len(n["weight_changes"]) == 3 and min(n["weight_changes"]) > 0 for n in saved["networks"])
    monkeypatch.setenv("EQLAB_INTERRUPT_AFTER_CHECKPOINTS", "1")  # after the first network's first epoch
    with pytest.raises(KeyboardInterrupt):
        runner.run_studies(["layerwise"], quick=True, out=tmp_path / "cut")
    monkeypatch.delenv("EQLAB_INTERRUPT_AFTER_CHECKPOINTS")
    (folder,) = (tmp_path / "cut").glob("*-layerwise")
    assert not (folder / "results.json").exists()
    resumed = runner.resume(folder)
    assert resumed.status == "ok", resumed.error
    assert json.loads((folder / "results.json").read_text()) == saved


def _cifar_batches(folder: Path, per_batch: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in (*CIFAR_TRAIN, *CIFAR_TEST):
        batch = {
            b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
            b"labels": [int(k % 10) for k in range(per_batch)],
        }
        with (folder / name).open("wb") as handle:
            pickle.dump(batch, handle)


def test_cifar10_from_the_data_dir_trains_its_own_widths(tmp_path: Path) -> None:
    _cifar_batches(tmp_path / "data" / "cifar-10-batches-py", per_batch=20)
    config = LayerwiseConfig(
        cifar_widths=(4, 8),
        cifar_pool_after=(0, 1),
        seeds=2,
        train=TrainSettings(epochs=1, batch_size=50, lr=3e-3),
        alphas=2,
        statistics_samples=16,
        toys=1,
    )
    out = run(config, RunFolder(tmp_path / "run", data_dir=str(tmp_path / "data")))
    assert (out.dataset, out.widths, out.pool_after, out.split_per_pair) == (
        "CIFAR-10",
        (4, 8),
        (0, 1),
        False,
    )
    assert {n.first_layer.shape for n in out.networks} == {(4, 3, 3, 3)} and len(out.pairs) == 2
    assert LayerwiseConfig().cifar_widths == VGG11[0]
    (tmp_path / "data" / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        run(config, RunFolder(tmp_path / "run2", data_dir=str(tmp_path / "data")))
    with pytest.raises(ValueError, match="needs --data-dir"):
        read_source(dataclasses.replace(config, data="cifar10"), RunFolder(tmp_path / "run3"))


def test_the_cost_estimate_times_steps_and_extrapolates() -> None:
    config = dataclasses.replace(
        LayerwiseConfig(data="cifar10", cifar_widths=(4, 8), cifar_pool_after=(0,), seeds=2),
        train=dataclasses.replace(LayerwiseConfig().train, epochs=3, batch_size=500),
    )
    cost = STUDY.estimate(config, "cpu")  # type: ignore[misc]
    assert cost.seconds > 0 and cost.steps == 2 * 2 * 3 * 100  # two regimes of two seeds, 100 batches
    assert cost.seconds_per_step > 0


def test_the_estimate_times_a_batch_of_the_data_and_doubles_with_the_epochs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shapes = []

    def fixed(model: object, make_batch: Any, loss_fn: object, device: str, steps: int = 3) -> float:
        shapes.append(tuple(make_batch()[0].shape))
        return 0.01

    monkeypatch.setattr(estimate_module, "seconds_per_step", fixed)
    config = dataclasses.replace(
        LayerwiseConfig(data="cifar10", cifar_widths=(4, 8), cifar_pool_after=(0,), seeds=2),
        train=dataclasses.replace(LayerwiseConfig().train, epochs=3, batch_size=500),
    )
    state = torch.random.get_rng_state()
    once = STUDY.estimate(config, "cpu")  # type: ignore[misc]
    assert torch.equal(torch.random.get_rng_state(), state)  # the global generator is left alone
    twice = STUDY.estimate(replace_path(config, "train.epochs", 6), "cpu")  # type: ignore[misc]
    digit = STUDY.estimate(dataclasses.replace(config, data="digits", size=12), "cpu")  # type: ignore[misc]
    assert shapes == [(500, 3, 32, 32), (500, 3, 32, 32), (500, 1, 12, 12)]
    assert twice.steps == 2 * once.steps and math.isclose(twice.seconds, 2 * once.seconds)
    assert math.isclose(once.seconds, 0.01 * once.steps)
    assert digit.steps == 2 * 2 * 3 * math.ceil(round(1797 * (1 - config.test_fraction)) / 500)
    paper = STUDY.default_config(scale="paper")
    assert (paper.data, paper.cifar_widths, paper.alphas) == ("cifar10", VGG11[0], 11)


def test_quick_run_under_torchrun_with_two_processes(tmp_path: Path) -> None:
    torchrun("-m", "eqlab", "run", "layerwise", "--quick", "--out", str(tmp_path))
    (folder,) = tmp_path.glob("*-layerwise")
    env_json = json.loads((folder / "env.json").read_text())
    assert env_json["world_size"] == 2 and env_json["batchnorm"] == "per-rank statistics"
    text = (folder / "report.md").read_text()
    assert "### Findings" in text and "### Demonstrations" in text
    assert "It ran in 2 processes under torchrun" in text
    # the same units and claims as a single-process quick run, and the same untrained constructions
    (single,) = runner.run_studies(["layerwise"], quick=True, out=tmp_path / "single")
    assert single.status == "ok", single.error
    names = [sorted(p.name for p in (f / "units").glob("*.json")) for f in (folder, single.folder)]
    assert names[0] == names[1] and len(names[0]) > 0
    config = STUDY.default_config(quick=True)
    read = [
        from_json(LayerwiseResults, json.loads((f / "results.json").read_text()))
        for f in (folder, single.folder)
    ]
    decided = [verdicts(config, r) for r in read]
    assert [(v.claim, v.kind, len(v.values)) for v in decided[0]] == [
        (v.claim, v.kind, len(v.values)) for v in decided[1]
    ]
    assert read[0].toys == read[1].toys  # built, not trained: identical under torchrun
    assert [(n.regime, n.seed) for n in read[0].networks] == [(n.regime, n.seed) for n in read[1].networks]


def test_a_layerwise_equivariant_construction_contradicts_its_claim_instead_of_crashing() -> None:
    # an error of exactly 0 (log10 undefined) is floored: the construction would then be layerwise
    # equivariant, which contradicts the claim
    decided = verdicts(CONFIG, results({**GOOD, "toy_weight_error": [0.0, 0.0, 1e-16]}))
    toy = next(v for v in decided if "need not be layerwise equivariant" in v.claim)
    assert toy.status is Status.CONTRADICTED and toy.values == (-17.0, -17.0, -16.0)


def _with_accuracy(
    values: dict[str, list[float]], accuracies: dict[tuple[Regime, int], float]
) -> LayerwiseResults:
    base = results(values)
    return dataclasses.replace(
        base,
        networks=tuple(
            dataclasses.replace(n, test_accuracy=accuracies.get((n.regime, n.seed), n.test_accuracy))
            for n in base.networks
        ),
    )


def test_networks_at_chance_level_are_left_out_of_the_findings(tmp_path: Path) -> None:
    # the bound is 0.1 + 3 sqrt(0.09 / 539) = 0.1388 on the synthetic test set
    assert math.isclose(chance_bound(results(GOOD)), 0.1 + 3 * math.sqrt(0.09 / 539))
    at_chance = _with_accuracy(GOOD, {(Regime.FLIP, 2): 0.138, (Regime.PLAIN, 5): 0.1})
    decided = verdicts(CONFIG, at_chance)
    # flip seed 2 leaves out flip pair 1, its flip/plain comparison, its training and merge values; plain
    # seed 5 leaves out plain pair 2 and its comparison; the demonstrations keep every network
    assert [len(v.values) for v in decided] == [2, 2, 4, 5, 5, 12, 3, 3]
    assert [v.status for v in decided[:2]] == [Status.NOT_MEASURABLE] * 2  # too few pairs left
    above = _with_accuracy(GOOD, {(Regime.FLIP, 2): 0.14})
    assert [len(v.values) for v in verdicts(CONFIG, above)] == [3, 3, 6, 6, 6, 12, 3, 3]
    note = next(n for n in report(CONFIG, at_chance, tmp_path).notes if n.startswith("A network at chance"))
    assert "2 of 12 networks were at that level (flip seed 2 (0.138), plain seed 5 (0.100))" in note
    assert "at most 0.139" in note
    none = next(n for n in report(CONFIG, above, tmp_path).notes if n.startswith("A network at chance"))
    assert none.endswith("no network of this run was at that level.")


def test_the_classifier_is_left_out_of_the_layer_averages() -> None:
    # the classifier's error favours the flip networks strongly, the convolutions' errors are MIXED:
    # the augmentation claim stays inconclusive
    mixed = results({**GOOD, "augmentation": MIXED["augmentation"]})
    skewed = dataclasses.replace(
        mixed,
        networks=tuple(
            dataclasses.replace(
                n, weight_errors=(*n.weight_errors[:-1], 0.0 if n.regime is Regime.FLIP else 1.2)
            )
            for n in mixed.networks
        ),
    )
    for case in (mixed, skewed):
        assert verdicts(CONFIG, case)[2].status is Status.INCONCLUSIVE
    assert hidden_mean((0.5, 0.7, 0.0)) == pytest.approx(0.6)
    note = next(n for n in report(CONFIG, skewed, Path("/tmp")).notes if n.startswith("Every average"))
    assert "exactly 0 in 6 of 6 flip, 0 of 6 plain networks" in note


def test_the_finding_note_states_the_claim_and_the_initialisation_baseline(tmp_path: Path) -> None:
    good = next(n for n in report(CONFIG, results(GOOD), tmp_path).notes if n.startswith("The paper's"))
    bad = next(n for n in report(CONFIG, results(BAD), tmp_path).notes if n.startswith("The paper's"))
    assert "over 3 pairs (supported)" in good and "(the claim that training lowers it: supported;" in good
    assert "over 3 pairs (contradicted)" in bad and "(the claim that training lowers it: contradicted;" in bad
    # flip networks: convolutions 0.5 and 0.8 (mean 0.65), untrained 0.65 + the training gap (mean 0.3467)
    assert "6 flip-trained networks above chance level is 0.997 at initialisation and 0.65 after" in good
    assert "lies above 0 in 2, below 0 in 0 of the 2 convolutions" in good
    assert "lies above 0 in 0, below 0 in 2 of the 2 convolutions" in bad
    table = next(t for t in report(CONFIG, results(GOOD), tmp_path).tables if "initialisation" in t.title)
    assert table.headers[2:5] == ["weight change", "weight error at init.", "weight error trained"]
    assert table.rows[2][1] == "9 (classifier)"


def test_the_training_note_compares_the_run_with_the_design_rule(tmp_path: Path) -> None:
    assert CONFIG.train == DESIGNED and DESIGNED.optimizer == "sgd" and DESIGNED.weight_decay > 0
    note = next(n for n in report(CONFIG, results(GOOD), tmp_path).notes if n.startswith("Training ("))
    assert "is the design rule's choice" in note and "is 0.1 to 0.1: 0 of 12 below the rule's target" in note
    base = results(GOOD)
    lower = dataclasses.replace(
        base,
        networks=tuple(
            dataclasses.replace(n, final_train_loss=0.01 if n.regime is Regime.PLAIN else 0.1)
            for n in base.networks
        ),
    )
    note = next(n for n in report(CONFIG, lower, tmp_path).notes if n.startswith("Training ("))
    assert "is 0.01 to 0.1: 6 of 12 below the rule's target 0.05" in note
    other = replace_path(CONFIG, "train.epochs", 3)
    note = next(n for n in report(other, results(GOOD), tmp_path).notes if n.startswith("Training ("))
    assert "3 epochs) is not the design rule's choice (lr 0.1, 8 epochs, SGD)" in note
    assert "the rule:" in report(CONFIG, results(GOOD), tmp_path).measured


def test_the_untrained_baseline_is_the_network_training_starts_from(tmp_path: Path) -> None:
    config = LayerwiseConfig(widths=(4, 8), pool_after=(0,), statistics_samples=32)
    folder = RunFolder(tmp_path)
    source = read_source(config, folder)
    data = source.pair_data(config, folder, 0)
    still = TrainSettings(epochs=1, batch_size=256, lr=1e-30, optimizer="sgd", momentum=0.0)
    seed = folder.seed_for("init", 0)
    trained, _ = train_network(
        still, source.widths, source.pool_after, data, Regime.FLIP, init_seed=seed, order_seed=1
    )
    start = initial_network(source, data, seed)
    for a, b in zip(trained.parameters(), start.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-20)
    baseline = initial_unit(config, folder, source, data, 0)
    again = self_align(start, "hflip", "activations", data=data.x_train[:32]).alignment
    assert baseline.weight_errors == tuple(again.errors.values()) and baseline.seed == 0

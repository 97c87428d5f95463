"""The activations study: its claims follow their values, its report's outcome sentences follow the results,
every cell of its table agrees with its measurement, and a quick run works and resumes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from eqlab import _runner as runner
from eqlab.runs import Kind, RunFolder, Status, Verdict
from eqlab.runs._cost import CostEstimate
from eqlab.runs._report import to_markdown
from eqlab.studies._activations import (
    STUDY,
    ActivationsConfig,
    Network,
    build_network,
    estimate,
    network_notes,
    network_verdicts,
    one_thread,
    points,
    report,
    table_unit,
    table_verdicts,
)
from eqlab.train import TrainSettings
from tests.studies.activations_results import (
    CLAIMS,
    CONFIG,
    DEMONSTRATIONS,
    SCENARIOS,
    results,
    values_for,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _verdicts(values: Mapping[str, Sequence[float]]) -> list[Verdict]:
    made = results(values)
    return table_verdicts(made.tables) + network_verdicts(CONFIG, made)


def _claim(verdicts: list[Verdict], name: str) -> Verdict:
    (verdict,) = [v for v in verdicts if CLAIMS[name] in v.claim]
    return verdict


@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("status", [Status.SUPPORTED, Status.CONTRADICTED, Status.INCONCLUSIVE])
def test_every_claim_follows_its_values(name: str, status: Status) -> None:
    values = values_for(Status.SUPPORTED) | {name: SCENARIOS[name][status]}
    verdicts = _verdicts(values)
    assert len(verdicts) == len(CLAIMS)
    verdict = _claim(verdicts, name)
    assert verdict.status is status, verdict
    assert verdict.kind is (Kind.DEMONSTRATION if name in DEMONSTRATIONS else Kind.FINDING)
    others = [v for v in verdicts if v is not verdict]
    assert all(v.status is Status.SUPPORTED for v in others), [v.claim for v in others if not v.decided]


def test_zero_spread_is_decided_only_where_a_reason_is_stated() -> None:
    same = {"true_error": (7.4e-14,) * 3, "regular_cn": (0.0,) * 3, "trivial_spread": (0.0,) * 3}
    verdicts = _verdicts(values_for(Status.SUPPORTED) | same)
    for name in same:
        verdict = _claim(verdicts, name)
        assert verdict.status is Status.SUPPORTED and verdict.exact, verdict
    unexplained = {"false_error": (0.5,) * 3, "rotation_cn": (0.5,) * 3}
    verdicts = _verdicts(values_for(Status.SUPPORTED) | unexplained)
    for name in unexplained:
        assert _claim(verdicts, name).status is Status.NOT_MEASURABLE


def test_exactness_is_stated_only_where_the_results_show_why() -> None:
    same = values_for(Status.SUPPORTED) | {"true_error": (7.4e-14,) * 3, "trivial_spread": (0.0,) * 3}
    made = results(same)
    # the worst equivariant cell on a representation that each seed redraws: no deterministic repeat
    moved = []
    for table in made.tables:
        cells = tuple(
            replace(c, error=1e-13) if c.representation == "S4 rescaled (D P D^-1)" and c.theorem else c
            for c in table.cells
        )
        moved.append(replace(table, cells=cells))
    assert table_verdicts(tuple(moved))[0].status is Status.NOT_MEASURABLE
    # a trivial-feature network whose output layer had weights: its zero spread is no construction
    weighted = tuple(
        replace(u, last_layer_weights=4) if u.network is Network.TRIVIAL and u.seed_index == 1 else u
        for u in made.networks
    )
    verdicts = network_verdicts(CONFIG, replace(made, networks=weighted))
    assert _claim(verdicts, "trivial_spread").status is Status.NOT_MEASURABLE


def test_networks_that_end_constant_are_left_out_of_the_claims_that_they_break_symmetry() -> None:
    made = results(values_for(Status.SUPPORTED))
    dead = tuple(
        replace(u, output_spread=0.0, cn_error=0.0, so2_error=0.0)
        if u.network in (Network.ROTATION, Network.REGULAR) and u.seed_index == 0
        else u
        for u in made.networks
    )
    verdicts = network_verdicts(CONFIG, replace(made, networks=dead))
    for name in ("rotation_cn", "regular_so2"):
        verdict = _claim(verdicts, name)
        assert len(verdict.values) == 2 and "2 of 3 seeds not constant" in verdict.claim
        assert verdict.status is Status.NOT_MEASURABLE  # two values are too few
    notes = network_notes(CONFIG, replace(made, networks=dead))
    assert (
        "rotation features + ReLU 1 of 3, regular features + ReLU 1 of 3, plain MLP (ReLU) 0 of 3" in notes[0]
    )


def test_the_reports_outcome_sentences_follow_the_results(tmp_path: Path) -> None:
    pages = {}
    for status in (Status.SUPPORTED, Status.CONTRADICTED, Status.INCONCLUSIVE):
        plots = tmp_path / str(status)
        plots.mkdir()
        made = report(CONFIG, results(values_for(status)), plots)
        assert [v.status for v in made.verdicts] == [status] * len(CLAIMS)
        assert sorted(p.name for p in plots.glob("*.png")) == [
            "network_errors.png",
            "network_mse.png",
            "verdict_vs_error.png",
        ]
        pages[status] = made
    good, bad = pages[Status.SUPPORTED], pages[Status.CONTRADICTED]
    assert "none of" in good.notes[1] and "seed 0" not in good.notes[1]
    assert (
        "none of" not in bad.notes[1]
        and "seed 0: C4 regular / relu (theorem yes, check yes, error 3.0e-01)" in bad.notes[1]
    )
    assert "part ways: 0 here" in good.figures[0].caption
    assert "part ways: 0 here" not in bad.figures[0].caption
    # the rotation network's C_n error, the regular network's SO(2) error, the trivial network's fit
    for a, b in zip(good.figures[1:], bad.figures[1:], strict=True):
        assert a.caption != b.caption
    assert "ratio is 1 on average" in good.figures[2].caption and "at most 0.0e+00" in good.figures[2].caption
    construction = [n for n in good.notes if "trivial-feature network's first layer" in n]
    assert "output layer 0 weights and 0 bias" in construction[0]
    assert construction[0].endswith(
        "with none, it is the zero map whatever its weights, the extreme of Corollary 3's 'only invariant'; "
        "it is built and measured but not trained."
    )
    # an output layer with free entries: the note no longer says it is the zero map
    supported = results(values_for(Status.SUPPORTED))
    weighted = replace(
        supported,
        networks=tuple(
            replace(u, last_layer_weights=4, trained=True) if u.network is Network.TRIVIAL else u
            for u in supported.networks
        ),
    )
    (note,) = (n for n in network_notes(CONFIG, weighted) if "trivial-feature network's first layer" in n)
    assert "zero map whatever" not in note
    assert note.endswith(
        "with 4 free output entries it is not forced to be the zero map; it is trained like the others."
    )
    fits = {
        status: [n for n in page.notes if n.startswith("Fit at this scale")] for status, page in pages.items()
    }
    assert len({fit[0] for fit in fits.values()}) == 3
    text = to_markdown(good)
    assert "{" not in text and "Largest C8 error" in text  # no placeholder left unformatted
    assert "Findings: claims this run tests" in text and "Demonstrations: true by construction" in text


def test_every_verdict_of_the_theorem_agrees_with_its_measured_error() -> None:
    table = table_unit(0, np.random.default_rng(5), 5)
    for cell in table.cells:
        assert cell.theorem is not None, cell
        assert cell.check is cell.theorem, cell
        if cell.theorem:
            assert cell.error < 1e-12, cell
        else:
            assert cell.error > 1e-6, cell
    cases = {r.representation: r.case for r in table.representations}
    assert len(set(cases.values())) == 8  # every class of Theorem 1 and Theorem 9 appears
    assert all(r.fix for r in table.representations)  # the first seed finds its fixes


def test_each_seed_draws_its_own_points_and_its_networks_share_them(tmp_path: Path) -> None:
    run = RunFolder(tmp_path)
    first, again, second = (points(CONFIG, run, seed) for seed in (0, 0, 1))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], second[0]) and not torch.equal(first[1], second[1])


def test_trivial_hidden_features_make_the_zero_map_and_networks_are_fresh_copies() -> None:
    config = ActivationsConfig(hidden_copies=1)
    model = build_network("trivial", config, 0).double()
    x = torch.randn(16, 2, dtype=torch.float64)
    assert torch.equal(model(x), torch.zeros_like(x))
    one, two = build_network(Network.REGULAR, config, 1), build_network(Network.REGULAR, config, 2)
    assert not torch.equal(one[0].weight_coefficients, two[0].weight_coefficients)
    again = build_network(Network.REGULAR, config, 1)
    assert torch.equal(one[0].weight_coefficients, again[0].weight_coefficients)
    with torch.no_grad():
        one[0].weight_coefficients.zero_()
    assert not torch.equal(
        build_network(Network.REGULAR, config, 1)[0].weight_coefficients, one[0].weight_coefficients
    )
    with pytest.raises(ValueError, match="network must be one of"):
        build_network("dense", config, 0)


def test_quick_run_resumes_to_the_same_results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (whole,) = runner.run_studies(["activations"], quick=True, out=tmp_path / "whole")
    assert whole.status == "ok", whole.error
    saved = json.loads((whole.folder / "results.json").read_text())
    assert len(saved["tables"]) == 2 and len(saved["networks"]) == 8
    assert all(u["cn_error"] < 1e-12 for u in saved["networks"] if u["network"] == "regular")
    assert [u["trained"] for u in saved["networks"][:4]] == [True, False, True, True]
    monkeypatch.setenv("EQLAB_INTERRUPT_AFTER_CHECKPOINTS", "1")  # after the rotation network's first epoch
    with pytest.raises(KeyboardInterrupt):
        runner.run_studies(["activations"], quick=True, out=tmp_path / "cut")
    monkeypatch.delenv("EQLAB_INTERRUPT_AFTER_CHECKPOINTS")
    (folder,) = (tmp_path / "cut").glob("*-activations")
    assert not (folder / "results.json").exists()
    resumed = runner.resume(folder)
    assert resumed.status == "ok", resumed.error
    assert json.loads((folder / "results.json").read_text()) == saved


def test_the_cost_estimate_times_steps_and_extrapolates() -> None:
    config = ActivationsConfig(
        seeds=2, rotation_order=4, hidden_copies=1, train_points=300, train=TrainSettings(3, 100)
    )
    cost = estimate(config, "cpu")
    assert isinstance(cost, CostEstimate) and cost.seconds > 0
    assert cost.steps == 3 * 3 * 2 * 3  # epochs x batches x seeds x trained networks
    paper = STUDY.default_config(scale="paper")
    assert paper.seeds > CONFIG.seeds and paper.rotation_order > ActivationsConfig().rotation_order


def test_the_study_runs_on_one_thread_and_gives_the_threads_back() -> None:
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with one_thread():
            assert torch.get_num_threads() == 1
            assert all(pool["num_threads"] == 1 for pool in threadpool_info())
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_a_zero_test_mse_or_target_power_makes_the_fit_claim_not_measurable() -> None:
    made = results(values_for(Status.SUPPORTED))
    for field in ("test_mse", "target_power"):
        edged = tuple(
            replace(u, **{field: 0.0}) if u.network is Network.REGULAR and u.seed_index == 1 else u
            for u in made.networks
        )
        decided = network_verdicts(CONFIG, replace(made, networks=edged))
        assert _claim(decided, "regular_mse").status is Status.NOT_MEASURABLE
        assert all(v.status is Status.SUPPORTED for v in decided if v is not _claim(decided, "regular_mse"))

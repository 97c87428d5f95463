"""``eqlab run`` as a library, `eqlab._runner`, on tiny fake studies registered in the registry the runner
reads: the run folder it writes, a failing study among others, resume, report rebuilds and the index."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eqlab import _runner as runner
from eqlab._cli import app
from eqlab.runs._config import ConfigError
from eqlab.runs._cost import CostEstimate
from eqlab.runs._folder import RunFolder
from eqlab.runs._report import Report
from eqlab.runs._study import Study
from eqlab.runs._verdict import judge


@dataclass(frozen=True)
class Train:
    epochs: int = 2
    lr: float = 0.1


@dataclass(frozen=True)
class CountConfig:
    units: int = 4
    factor: float = 1.0
    train: Train = field(default_factory=Train)


@dataclass(frozen=True)
class OtherConfig:
    factor: float = 1.0
    seeds: int = 2
    train: Train = field(default_factory=Train)


@dataclass(frozen=True)
class Values:
    values: tuple[float, ...]


@dataclass(frozen=True)
class Unit:
    value: float


class Ledger:
    """What the fake studies did: the units computed and the reports built, in order."""

    def __init__(self) -> None:
        self.computed: list[str] = []
        self.reports: list[str] = []
        self.stop_after = 0
        """Raise KeyboardInterrupt after this many new units (0: never), as a Ctrl-C would."""


def _count_study(name: str, ledger: Ledger) -> Study:
    """A study of ``units`` work units, unit ``i`` worth ``scale * (1 + i / 10)``, resumable by unit."""

    def run(config: CountConfig, folder: RunFolder) -> Values:
        new = 0

        def compute(i: int) -> Unit:
            nonlocal new
            ledger.computed.append(f"{name}/unit{i}")
            new += 1
            if new == ledger.stop_after:
                folder.save_unit(f"unit{i}", Unit(config.factor * (1 + i / 10) + folder.seed))
                raise KeyboardInterrupt(f"stopped after unit{i}")
            return Unit(config.factor * (1 + i / 10) + folder.seed)

        units = [folder.unit(f"unit{i}", lambda i=i: compute(i), Unit) for i in range(config.units)]
        return Values(tuple(u.value for u in units))

    def report(config: CountConfig, results: Values, plots: Path) -> Report:
        ledger.reports.append(name)
        return Report(
            name,
            f"The {name} study",
            "A paper",
            "every value is positive",
            f"{len(results.values)} values",
            verdicts=[judge("values are positive", results.values)],
        )

    return Study(
        name,
        f"{name}: counts units",
        CountConfig,
        Values,
        run,
        report,
        0.01,
        quick={"units": 2},
        paper={"units": 6, "train.epochs": 9},
        estimate=lambda config, device: CostEstimate(
            config.units * 3600.0, config.units * 100, 36.0, 2, device, f"{config.units} units"
        ),
    )


def _other_study(ledger: Ledger) -> Study:
    """A study with two values per run: too few for the verdict rule to decide."""

    def run(config: OtherConfig, folder: RunFolder) -> Values:
        ledger.computed.append("other")
        return Values((config.factor,) * config.seeds)

    def report(config: OtherConfig, results: Values, plots: Path) -> Report:
        ledger.reports.append("other")
        return Report("other", "The other study", "", "", "", verdicts=[judge("positive", results.values)])

    return Study("other", "other: too few seeds", OtherConfig, Values, run, report, 0.01)


def _broken_study(ledger: Ledger) -> Study:
    def run(config: OtherConfig, folder: RunFolder) -> Values:
        ledger.computed.append("broken")
        raise RuntimeError("the broken study broke")

    def report(config: OtherConfig, results: Values, plots: Path) -> Report:
        raise AssertionError("a failed study has no report")

    return Study("broken", "broken: always raises", OtherConfig, Values, run, report, 0.01)


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """Register the fake studies (and only them) in the runner's registry."""
    book = Ledger()
    studies = [
        _count_study("count", book),
        _broken_study(book),
        _other_study(book),
        _count_study("twin", book),
    ]
    monkeypatch.setattr(runner, "STUDIES", {s.name: s for s in studies})
    return book


def _folder(out: Path, study: str) -> Path:
    (folder,) = [p for p in out.iterdir() if p.name.endswith(f"-{study}")]
    return folder


def _index(out: Path) -> str:
    (page,) = out.glob("*/index.html")
    return page.read_text()


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


# ------------------------------------------------------------------ the run folder


def test_a_run_writes_the_resolved_config_and_the_run_settings(ledger: Ledger, tmp_path: Path) -> None:
    runner.run_studies(["count"], overrides={"factor": "2.5"}, seed=3, out=tmp_path)
    saved = _json(_folder(tmp_path, "count") / "config.json")
    assert saved["study"] == "count"
    assert saved["config"] == {"units": 4, "factor": 2.5, "train": {"epochs": 2, "lr": 0.1}}
    assert saved["run"] == {
        "seed": 3,
        "device": "cpu",
        "quick": False,
        "scale": "default",
        "changed": ["factor"],
        "data_dir": None,
    }


def test_a_run_writes_its_environment(ledger: Ledger, tmp_path: Path) -> None:
    runner.run_studies(["count"], seed=3, out=tmp_path)
    env = _json(_folder(tmp_path, "count") / "env.json")
    assert env["seed"] == 3 and env["device"] == "cpu"
    assert {"eqlab", "python", "torch", "numpy", "git_commit"} <= set(env)
    assert env["world_size"] == 1 and env["batchnorm"] == "single process"


def test_a_run_writes_the_studys_results_and_its_timings_apart(ledger: Ledger, tmp_path: Path) -> None:
    runner.run_studies(["count"], out=tmp_path)
    folder = _folder(tmp_path, "count")
    assert _json(folder / "results.json") == {"values": [1.0, 1.1, 1.2, 1.3]}
    assert _json(folder / "timings.json")["run_seconds"] >= 0


def test_a_run_writes_the_report_with_its_verdicts(ledger: Ledger, tmp_path: Path) -> None:
    (outcome,) = runner.run_studies(["count"], out=tmp_path)
    folder = _folder(tmp_path, "count")
    assert outcome.status == "ok" and outcome.folder == folder and outcome.error is None
    assert [(v.claim, v.status) for v in outcome.verdicts] == [("values are positive", "supported")]
    assert (
        "This run judges 1 finding(s) (1 supported) and 0 demonstration(s) (none)"
        in (folder / "report.md").read_text()
    )
    assert "values are positive" in (folder / "report.md").read_text()
    assert "values are positive" in (folder / "report.html").read_text()


def test_a_default_run_estimates_the_paper_preset_and_says_so(ledger: Ledger, tmp_path: Path) -> None:
    runner.run_studies(["count", "other"], out=tmp_path)
    timings = _json(_folder(tmp_path, "count") / "timings.json")
    assert timings["paper_estimate"]["what"] == "6 units" and timings["estimate_seconds"] >= 0
    report = (_folder(tmp_path, "count") / "report.md").read_text()
    assert "The paper preset (--set scale=paper) would take about 6 h on cpu" in report
    assert "paper_estimate" not in _json(_folder(tmp_path, "other") / "timings.json")  # no estimate given
    runner.run_studies(["count"], quick=True, out=tmp_path / "quick")
    assert "paper_estimate" not in _json(_folder(tmp_path / "quick", "count") / "timings.json")


def test_quick_runs_the_studys_smoke_scale(ledger: Ledger, tmp_path: Path) -> None:
    runner.run_studies(["count"], quick=True, out=tmp_path)
    folder = _folder(tmp_path, "count")
    assert _json(folder / "results.json") == {"values": [1.0, 1.1]}
    assert _json(folder / "config.json")["run"]["quick"] is True


def test_every_study_runs_in_registry_order_when_none_is_named(ledger: Ledger, tmp_path: Path) -> None:
    outcomes = runner.run_studies([], out=tmp_path)
    assert [o.study for o in outcomes] == ["count", "broken", "other", "twin"]


# ------------------------------------------------------------------ failures


def test_a_study_that_raises_is_reported_as_failed_and_the_others_still_run(
    ledger: Ledger, tmp_path: Path
) -> None:
    outcomes = runner.run_studies(["broken", "count"], out=tmp_path)
    assert [(o.study, o.status) for o in outcomes] == [("broken", "failed"), ("count", "ok")]
    assert outcomes[0].error == "RuntimeError: the broken study broke" and outcomes[0].verdicts == []
    assert not (_folder(tmp_path, "broken") / "results.json").exists()
    assert (_folder(tmp_path, "count") / "report.md").exists()


def test_an_interruption_is_not_a_failure_but_stops_the_run(ledger: Ledger, tmp_path: Path) -> None:
    ledger.stop_after = 1
    with pytest.raises(KeyboardInterrupt):
        runner.run_studies(["count", "twin"], out=tmp_path)
    assert ledger.computed == ["count/unit0"]


def test_the_command_exits_0_when_every_study_completed(ledger: Ledger, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "count", "other", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_the_command_exits_1_when_a_study_did_not_complete(ledger: Ledger, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "count", "broken", "--out", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "failed" in result.output  # the summary table's status column
    assert (_folder(tmp_path, "count") / "results.json").exists()


# ------------------------------------------------------------------ resume


def _interrupted(ledger: Ledger, out: Path, **overrides: str) -> Path:
    """The folder of a run of ``count`` stopped after two of its four units."""
    ledger.stop_after = 2
    with pytest.raises(KeyboardInterrupt):
        runner.run_studies(["count"], overrides=overrides, seed=1, out=out)
    ledger.stop_after = 0
    return _folder(out, "count")


def test_an_interrupted_run_keeps_its_finished_units_and_has_no_results(
    ledger: Ledger, tmp_path: Path
) -> None:
    folder = _interrupted(ledger, tmp_path)
    assert sorted(p.name for p in (folder / "units").iterdir()) == ["unit0.json", "unit1.json"]
    assert not (folder / "results.json").exists()


def test_resume_skips_the_finished_units_and_computes_the_rest(ledger: Ledger, tmp_path: Path) -> None:
    folder = _interrupted(ledger, tmp_path)
    ledger.computed.clear()
    outcome = runner.resume(folder)
    assert outcome.status == "ok"
    assert ledger.computed == ["count/unit2", "count/unit3"]


def test_a_resumed_run_ends_with_the_results_of_an_uninterrupted_one(ledger: Ledger, tmp_path: Path) -> None:
    runner.run_studies(["count"], overrides={"factor": "3"}, seed=1, out=tmp_path / "whole")
    folder = _interrupted(ledger, tmp_path / "broken", factor="3")
    runner.resume(folder)
    assert _json(folder / "results.json") == _json(_folder(tmp_path / "whole", "count") / "results.json")
    whole = (_folder(tmp_path / "whole", "count") / "report.md").read_text()
    ran = (folder / "report.md").read_text()
    assert ran.split("## This run")[0] == whole.split("## This run")[0]  # all but the run's own time


def test_two_runs_started_in_the_same_second_never_share_a_folder(ledger: Ledger, tmp_path: Path) -> None:
    """The second run must not read the first one's units (a different seed and config)."""
    (first,) = runner.run_studies(["count"], out=tmp_path)
    (second,) = runner.run_studies(["count"], overrides={"factor": "10"}, seed=5, out=tmp_path)
    assert first.folder != second.folder
    assert _json(second.folder / "results.json") == {"values": [15.0, 16.0, 17.0, 18.0]}
    assert len(list(tmp_path.glob("*/index.html"))) == 2


def test_resume_keeps_every_card_of_the_index_and_counts_every_pass(ledger: Ledger, tmp_path: Path) -> None:
    ledger.stop_after = 6  # count's four units finish; twin stops at its sixth of eight
    with pytest.raises(KeyboardInterrupt):
        runner.run_studies(["count", "twin"], overrides={"twin.units": "8"}, out=tmp_path)
    ledger.stop_after = 0
    folder = _folder(tmp_path, "twin")
    interrupted = _json(folder / "timings.json")
    assert interrupted["interrupted"] and interrupted["passes"] == 1
    runner.resume(folder)
    timings = _json(folder / "timings.json")
    assert timings["passes"] == 2 and timings["run_seconds"] >= interrupted["run_seconds"]
    parser = _Page()
    parser.feed(_index(tmp_path))
    assert parser.cards == 2
    assert "over 2 passes (it was interrupted and resumed)" in (folder / "report.md").read_text()


def test_resume_records_the_resumption_in_the_metrics(ledger: Ledger, tmp_path: Path) -> None:
    folder = _interrupted(ledger, tmp_path)
    runner.resume(folder)
    lines = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert {"event": "resumed"} in lines


def test_resume_refuses_a_folder_that_is_not_a_run(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="it has no config.json"):
        runner.resume(tmp_path)


# ------------------------------------------------------------------ report rebuilds


def test_rebuild_report_rewrites_the_report_from_the_saved_results_without_rerunning(
    ledger: Ledger, tmp_path: Path
) -> None:
    runner.run_studies(["count"], out=tmp_path)
    folder = _folder(tmp_path, "count")
    before = (folder / "report.md").read_text()
    (folder / "report.md").unlink()
    (folder / "report.html").unlink()
    ledger.computed.clear()
    ledger.reports.clear()
    verdicts = runner.rebuild_report(folder)
    assert ledger.computed == [] and ledger.reports == ["count"]
    assert (folder / "report.md").read_text() == before and (folder / "report.html").exists()
    assert [v.status for v in verdicts] == ["supported"]


def test_rebuild_report_reads_the_results_file(ledger: Ledger, tmp_path: Path) -> None:
    runner.run_studies(["count"], out=tmp_path)
    folder = _folder(tmp_path, "count")
    (folder / "results.json").write_text(json.dumps({"values": [-1.0, -1.1, -1.2]}))
    (verdict,) = runner.rebuild_report(folder)
    assert verdict.status == "contradicted" and verdict.values == (-1.0, -1.1, -1.2)
    assert "3 values" in (folder / "report.md").read_text()


def test_rebuild_report_writes_the_config_into_the_report(ledger: Ledger, tmp_path: Path) -> None:
    runner.run_studies(["count"], overrides={"factor": "2.5"}, out=tmp_path)
    report = (_folder(tmp_path, "count") / "report.md").read_text()
    assert "factor = 2.5" in report and "at the default scale with factor changed" in report


def test_a_report_says_why_its_verdicts_are_undecided(ledger: Ledger, tmp_path: Path) -> None:
    runner.run_studies(["other"], out=tmp_path)
    report = (_folder(tmp_path, "other") / "report.md").read_text()
    assert (
        "1 verdict(s) could not be decided (1 with too few values); the rule needs at least 3 finite values "
        "that vary. To decide them: raise the seeds (--set seeds=N)." in report
    )
    runner.run_studies(["other"], quick=True, out=tmp_path / "quick")
    quick = (_folder(tmp_path / "quick", "other") / "report.md").read_text()
    assert "To decide them: run at the default scale (without --quick)." in quick


def test_rebuild_report_refuses_results_that_do_not_fit_the_studys_type(
    ledger: Ledger, tmp_path: Path
) -> None:
    runner.run_studies(["count"], out=tmp_path)
    folder = _folder(tmp_path, "count")
    (folder / "results.json").write_text(json.dumps({"values": ["one"]}))
    with pytest.raises(ConfigError, match=r"results.json.values\[0\] must be a number"):
        runner.rebuild_report(folder)


def test_rebuild_report_refuses_an_unfinished_run(ledger: Ledger, tmp_path: Path) -> None:
    folder = _interrupted(ledger, tmp_path)
    with pytest.raises(ConfigError, match="has no results.json: the run did not finish"):
        runner.rebuild_report(folder)


# ------------------------------------------------------------------ the index page


def test_the_index_links_every_studys_report(ledger: Ledger, tmp_path: Path) -> None:
    runner.run_studies(["count", "other", "twin"], out=tmp_path)
    index = _index(tmp_path)
    for study in ("count", "other", "twin"):
        assert f"../{_folder(tmp_path, study).name}/report.html" in index
        assert runner.STUDIES[study].summary in index


def test_the_index_shows_a_failed_study_with_its_error(ledger: Ledger, tmp_path: Path) -> None:
    runner.run_studies(["broken", "count"], out=tmp_path)
    index = _index(tmp_path)
    assert "failed: RuntimeError: the broken study broke" in index
    assert "1 study did not finish: broken" in index
    assert f"../{_folder(tmp_path, 'broken').name}/report.html" not in index  # it has no report to link
    assert f"../{_folder(tmp_path, 'count').name}/report.html" in index


def test_the_index_counts_each_studys_verdicts_by_outcome(ledger: Ledger, tmp_path: Path) -> None:
    runner.run_studies(["count", "other"], out=tmp_path)
    index = _index(tmp_path)
    assert "1 supported</span>" in index and "1 not measurable</span>" in index
    assert "findings: 1 supported, 1 not measurable." in index


class _Page(HTMLParser):
    """Collects the tags of a page and checks that every opened tag of a card is closed."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.cards = 0
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("meta", "br", "img"):
            self.open.append(tag)
        if tag == "div" and ("class", "card") in attrs:
            self.cards += 1
        self.links += [v for k, v in attrs if k in ("href", "src") and v]

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, (self.open, tag)
        self.open.pop()


def test_the_index_parses_with_one_card_per_study_and_links_that_exist(
    ledger: Ledger, tmp_path: Path
) -> None:
    runner.run_studies(["count", "other", "twin"], out=tmp_path)
    (page,) = tmp_path.glob("*/index.html")
    parser = _Page()
    parser.feed(page.read_text())
    assert parser.open == [] and parser.cards == 3
    assert parser.links and all((page.parent / link).exists() for link in parser.links)
    assert " s on cpu (budget 0.01 min on 2 CPU cores)" in page.read_text()


# ------------------------------------------------------------------ selecting and configuring


def test_an_unknown_study_is_refused_with_the_available_ones(ledger: Ledger) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown study \['nonesuch'\]; available: count, broken, other, twin"
    ):
        runner.select_studies(["nonesuch"])


def test_a_study_named_twice_is_refused(ledger: Ledger) -> None:
    with pytest.raises(ConfigError, match="more than once"):
        runner.select_studies(["count", "count"])


def test_a_plain_override_applies_to_every_selected_study_with_that_key(ledger: Ledger) -> None:
    studies = runner.select_studies(["count", "other"])
    configs = runner.resolve_configs(studies, {"factor": "4", "train.epochs": "5"}, quick=False)
    assert configs["count"].factor == configs["other"].factor == 4.0
    assert configs["count"].train.epochs == configs["other"].train.epochs == 5


def test_the_more_specific_key_wins(ledger: Ledger) -> None:
    studies = runner.select_studies(["count", "other"])
    overrides = {"count.train.epochs": "7", "train.epochs": "5"}
    configs = runner.resolve_configs(studies, overrides, quick=False)
    assert (configs["count"].train.epochs, configs["other"].train.epochs) == (7, 5)


def test_scale_paper_applies_the_paper_preset_then_the_other_keys(ledger: Ledger, tmp_path: Path) -> None:
    studies = runner.select_studies(["count", "other"])
    configs = runner.resolve_configs(studies, {"scale": "paper", "count.units": "3"}, quick=False)
    assert (configs["count"].units, configs["count"].train.epochs) == (3, 9)
    assert configs["other"] == OtherConfig()  # no paper preset: its defaults
    with pytest.raises(ConfigError, match="scale must be one of default, paper, got 'huge'"):
        runner.resolve_configs(studies, {"scale": "huge"}, quick=False)
    with pytest.raises(ConfigError, match="exclude each other"):
        runner.resolve_configs(studies, {"scale": "paper"}, quick=True)
    runner.run_studies(["count"], overrides={"scale": "paper"}, out=tmp_path)
    assert _json(_folder(tmp_path, "count") / "config.json")["run"]["scale"] == "paper"


def test_a_study_override_applies_to_that_study_only(ledger: Ledger) -> None:
    studies = runner.select_studies(["count", "twin"])
    configs = runner.resolve_configs(studies, {"twin.units": "7"}, quick=False)
    assert (configs["count"].units, configs["twin"].units) == (4, 7)


def test_an_unknown_override_is_refused_with_the_valid_keys(ledger: Ledger, tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"unknown config key 'epochs'; valid keys: count: factor, scale, train.epochs, train.lr, units",
    ):
        runner.run_studies(["count"], overrides={"epochs": "3"}, out=tmp_path)
    assert not any(tmp_path.iterdir())


def test_a_data_dir_that_does_not_exist_is_refused_before_anything_runs(
    ledger: Ledger, tmp_path: Path
) -> None:
    with pytest.raises(
        ConfigError, match="data_dir must be a folder holding the data sets, got a folder that"
    ):
        runner.run_studies(["count"], data_dir=str(tmp_path / "typo"), out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_out_path_under_a_file_is_a_usage_error(ledger: Ledger, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="cannot hold run folders"):
        runner.run_studies(["count"], out=tmp_path / "file" / "runs")


def test_an_out_path_that_is_a_file_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    file = tmp_path / "taken"
    file.write_text("")
    with pytest.raises(ConfigError, match="out must be a folder"):
        runner.run_studies(["count"], out=file)

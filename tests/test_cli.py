"""The eqlab command: list, run --quick, --set checks, resume after an interruption, report rebuild."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from eqlab import __version__
from eqlab._cli import app
from eqlab.runs import _checkpoint as checkpoint
from eqlab.runs._checkpoint import INTERRUPT_ENV

runner = CliRunner()

RUN_FILES = ["config.json", "env.json", "metrics.jsonl", "results.json", "report.md", "report.html"]


def _only_run(out: Path) -> Path:
    (folder,) = [p for p in out.iterdir() if p.name.endswith("-sharing")]
    return folder


def test_version_and_help() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "run" in result.stdout and "report" in result.stdout


def test_list_shows_each_study_on_one_line() -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("sharing")


def test_quick_run_writes_every_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "sharing", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = _only_run(tmp_path)
    for name in RUN_FILES:
        assert (folder / name).stat().st_size > 0, name
    assert sorted(p.name for p in (folder / "plots").glob("*.png")) == [
        "invariance_error.png",
        "larger_sets.png",
        "test_mse.png",
    ]
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3
    checkpoints = list((folder / "checkpoints").glob("*.pt"))
    assert len(checkpoints) == 2 * 2 * 3  # seeds x sizes x models: the trained models stay
    saved = torch.load(checkpoints[0], weights_only=False)
    assert saved["config"]["seeds"] == 2 and "model" in saved
    config = json.loads((folder / "config.json").read_text())
    assert config["study"] == "sharing" and config["run"]["quick"] is True
    env = json.loads((folder / "env.json").read_text())
    assert {"torch", "git_commit", "device", "seed"} <= set(env)
    metrics = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert metrics and {"unit", "epoch", "train_loss"} <= set(metrics[0])
    stamp = folder.name.removesuffix("-sharing")
    index = (tmp_path / stamp / "index.html").read_text()
    assert f"../{folder.name}/report.html" in index
    # a rebuilt report says the same
    before = (folder / "report.md").read_text()
    rebuilt = runner.invoke(app, ["report", str(folder)])
    assert rebuilt.exit_code == 0 and (folder / "report.md").read_text() == before


def test_unknown_set_key_exits_2_and_lists_valid_keys(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "sharing", "--quick", "--set", "epochz=3", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "epochz" in result.output and "train_sizes" in result.output and "seeds" in result.output
    assert not any(tmp_path.iterdir())


def test_badly_typed_set_value_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "sharing", "--set", "seeds=three", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "seeds expects int" in result.output


def test_unknown_study_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "nonesuch", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "available: sharing" in result.output


@pytest.mark.parametrize("interrupt_after", [1, 4])
def test_interrupted_run_resumes_to_identical_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupt_after: int
) -> None:
    args = ["run", "sharing", "--quick", "--seed", "3"]
    whole = runner.invoke(app, [*args, "--out", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output

    monkeypatch.setattr(checkpoint, "_written", 0)
    monkeypatch.setenv(INTERRUPT_ENV, str(interrupt_after))
    broken = runner.invoke(app, [*args, "--out", str(tmp_path / "broken")])
    assert broken.exit_code != 0
    folder = _only_run(tmp_path / "broken")
    assert not (folder / "results.json").exists()
    assert list((folder / "checkpoints").glob("*.pt"))

    monkeypatch.delenv(INTERRUPT_ENV)
    resumed = runner.invoke(app, ["run", "--resume", str(folder)])
    assert resumed.exit_code == 0, resumed.output
    expected = json.loads((_only_run(tmp_path / "whole") / "results.json").read_text())
    assert json.loads((folder / "results.json").read_text()) == expected


def test_quick_reports_say_why_verdicts_are_undecided(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "sharing", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0
    report = (_only_run(tmp_path) / "report.md").read_text()
    assert "could not be decided (3 with too few values); the rule needs at least 3 finite values" in report
    assert "To decide them: run at the default scale (without --quick)." in report

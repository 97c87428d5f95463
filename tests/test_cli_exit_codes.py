"""The command line's exit codes: 0 yes, 1 no, 2 bad usage, 3 an internal error in one line (--debug for
the traceback); MODEL imports from the current directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import eqlab.exactness
from eqlab._cli import app

runner = CliRunner()
MODEL = "tests.battery.models:cnn"


def test_yes_no_and_bad_usage() -> None:
    assert runner.invoke(app, ["exactness", MODEL, "--size", "33"]).exit_code == 0
    assert runner.invoke(app, ["exactness", MODEL, "--size", "32"]).exit_code == 1
    assert runner.invoke(app, ["exactness", MODEL, "--size", "0"]).exit_code == 2
    assert runner.invoke(app, ["check-activation", "C4:rot2d", "tanh"]).exit_code == 0
    assert runner.invoke(app, ["check-activation", "C4:rot2d", "relu"]).exit_code == 1
    assert runner.invoke(app, ["check-activation", "C4:rot2d", "swish"]).exit_code == 2


def test_an_internal_error_is_one_line_and_exit_code_3(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in eqlab")

    monkeypatch.setattr(eqlab.exactness, "check", broken)
    result = runner.invoke(app, ["exactness", MODEL, "--size", "9"])
    assert result.exit_code == 3
    assert (
        "internal error: RuntimeError: a bug in eqlab" in result.output and "Traceback" not in result.output
    )
    assert "--debug" in result.output
    debug = runner.invoke(app, ["--debug", "exactness", MODEL, "--size", "9"])
    assert debug.exit_code == 3 and "Traceback" in debug.output


def test_a_model_module_in_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mymodels_for_cli.py").write_text(
        "from torch import nn\n\n\ndef cnn():\n"
        "    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2))\n"
        "    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2))\n"
    )
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["exactness", "mymodels_for_cli:cnn", "--size", "32"]).exit_code == 0
    garbage = tmp_path / "garbage.pt"
    garbage.write_text("not a checkpoint")
    result = runner.invoke(app, ["exactness", str(garbage), "--size", "32"])
    assert result.exit_code == 2 and "MODEL" in result.output

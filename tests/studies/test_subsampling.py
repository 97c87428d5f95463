"""The subsampling study: sizes chosen by the analyser, a quick run end to end, checkpoints the
exactness command can read."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from eqlab._cli import app
from eqlab.exactness import check
from eqlab.studies._subsampling import SubsamplingConfig, _sizes, build_cnn


def test_sizes_are_certified_exact_and_one_pixel_smaller_broken() -> None:
    exact, approx = _sizes(SubsamplingConfig())
    assert (exact, approx) == (33, 32)
    model = build_cnn("p4", (8, 12, 16, 24))
    assert check(model, exact, confirm=False).exact and not check(model, approx, confirm=False).exact
    assert _sizes(SubsamplingConfig(target_size=30)) == (33, 32)  # the nearest exact size is 25 or 33


def test_quick_run_and_checkpoint_for_the_exactness_command(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["run", "subsampling", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in tmp_path.iterdir() if p.name.endswith("-subsampling")]
    results = json.loads((folder / "results.json").read_text())
    units = results["units"]
    assert {(u["size"], u["regime"]) for u in units} == {
        (33, "upright"),
        (32, "upright"),
        (33, "rotated"),
        (32, "rotated"),
    }
    for unit in units:
        assert unit["exact"] == (unit["size"] == 33)
        final = unit["depth_errors"][-1]
        assert final < 1e-12 if unit["size"] == 33 else final > 1e-6
    assert sorted(p.name for p in (folder / "plots").glob("*.png")) == [
        "accuracy_vs_angle_rotated.png",
        "accuracy_vs_angle_upright.png",
        "depth_errors.png",
    ]
    checkpoint = folder / "checkpoints" / "upright-n32-s0.pt"
    exactness = ["exactness", str(checkpoint), "--allow-pickle", "--size"]  # a checkpoint holds RNG states
    broken = runner.invoke(app, [*exactness, "32", "--no-confirm"])
    assert broken.exit_code == 1 and "nearest exact sizes: 25 below, 33 above" in broken.stdout
    assert runner.invoke(app, [*exactness, "33"]).exit_code == 0

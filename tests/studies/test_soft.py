"""The soft-equivariance study (van der Ouderaa et al. 2023) runs at the smoke scale from the command
line and writes its units and plots."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from eqlab._cli import app


def test_quick_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "soft", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in tmp_path.iterdir() if p.name.endswith("-soft")]
    units = json.loads((folder / "results.json").read_text())["units"]
    assert len(units) == 2 * 2 * 4 * 2
    assert sorted(p.name for p in (folder / "plots").glob("*.png")) == [
        "accuracy.png",
        "conv_share.png",
        "marglik.png",
    ]

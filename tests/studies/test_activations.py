"""The activations study: every cell of its table agrees with its measurement, and a quick run works."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from typer.testing import CliRunner

from eqlab._cli import app
from eqlab.studies._activations import ActivationsConfig, _table_unit, build_network


def test_every_verdict_agrees_with_its_measured_error() -> None:
    table = _table_unit(seed=5)
    for cell in table["cells"]:
        if cell["equivariant"]:
            assert cell["error"] < 1e-12, cell
        else:
            assert cell["error"] > 1e-6, cell
        assert not cell["inconclusive"], cell
    cases = {r["representation"]: r["case"] for r in table["representations"]}
    assert len(set(cases.values())) == 8  # every class of Theorem 1 and Theorem 9 appears


def test_trivial_hidden_features_make_the_zero_map() -> None:
    model = build_network("trivial", ActivationsConfig(hidden_copies=1)).double()
    x = torch.randn(16, 2, dtype=torch.float64)
    assert torch.equal(model(x), torch.zeros_like(x))


def test_quick_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "activations", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in tmp_path.iterdir() if p.name.endswith("-activations")]
    results = json.loads((folder / "results.json").read_text())
    assert len(results["tables"]) == 2 and len(results["networks"]) == 8
    regular = [u for u in results["networks"] if u["network"] == "regular"]
    assert all(u["cn_error"] < 1e-12 for u in regular)
    assert sorted(p.name for p in (folder / "plots").glob("*.png")) == [
        "network_errors.png",
        "network_mse.png",
        "verdict_vs_error.png",
    ]

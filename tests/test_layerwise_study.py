"""The layerwise study: the invariant-but-not-layerwise-equivariant network, and a quick run."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from typer.testing import CliRunner

from eqlab.cli import app
from eqlab.layerwise import self_align, transform_network
from eqlab.studies.layerwise import build_vgg, invariant_not_layerwise


def test_an_invariant_network_that_is_not_layerwise_equivariant() -> None:
    for seed in range(3):
        model = invariant_not_layerwise(seed=seed)
        x = torch.randn(64, 1, 8, 8, dtype=torch.float64)
        with torch.no_grad():
            assert float((model(x.flip(-1)) - model(x)).norm() / model(x).norm()) < 1e-13
        result = self_align(model, "hflip", "weights")
        assert result.alignment.errors["0"] > 0.1


def test_vgg_flips_exactly_at_the_study_size() -> None:
    model = build_vgg((4, 8, 8), (0, 1)).double().eval()
    x = torch.randn(2, 1, 16, 16, dtype=torch.float64)
    flipped = transform_network(model, "hflip", input_size=16)
    torch.testing.assert_close(flipped(x), model(x.flip(-1)), rtol=1e-12, atol=1e-12)


def test_quick_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", "layerwise", "--quick", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in tmp_path.iterdir() if p.name.endswith("-layerwise")]
    results = json.loads((folder / "results.json").read_text())
    assert len(results["networks"]) == 4 and len(results["pairs"]) == 2 and len(results["toys"]) == 3
    assert all(n["merged_invariance"] < 1e-12 for n in results["networks"])
    assert sorted(p.name for p in (folder / "plots").glob("*.png")) == [
        "barriers.png",
        "first_layer_filters.png",
        "layer_errors.png",
    ]

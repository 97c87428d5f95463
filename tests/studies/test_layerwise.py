"""The layerwise study: the invariant-but-not-layerwise-equivariant network, and a quick run."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from typer.testing import CliRunner

from eqlab._cli import app
from eqlab.layerwise import self_align, transform_network
from eqlab.studies._layerwise import build_vgg, invariant_not_layerwise
from eqlab.testing import equivariance_error


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


def test_cifar10_is_used_with_vgg11_widths_when_the_data_dir_holds_it(tmp_path: Path) -> None:
    import pickle

    import numpy as np
    import pytest

    from eqlab.data._files import CIFAR_TEST, CIFAR_TRAIN
    from eqlab.runs import RunFolder
    from eqlab.studies._layerwise import VGG11, LayerwiseConfig, _data

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in (*CIFAR_TRAIN, *CIFAR_TEST):
        with (folder / name).open("wb") as handle:
            pickle.dump(
                {b"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), b"labels": [0, 1, 2, 3]}, handle
            )
    run = RunFolder(tmp_path / "run", data_dir=str(tmp_path))
    x_train, _, x_test, _, name, widths, pools = _data(LayerwiseConfig(), run)
    assert name == "CIFAR-10" and (widths, pools) == VGG11
    assert x_train.shape == (20, 3, 32, 32) and x_test.shape == (4, 3, 32, 32)
    (folder / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        _data(LayerwiseConfig(), run)
    assert _data(LayerwiseConfig(), RunFolder(tmp_path / "run2", data_dir=str(tmp_path / "empty")))[
        4
    ].startswith("digits")

"""`scan` over models built from eqlab layers, the named representations, and `eqlab check-activation`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from eqlab._cli import app
from eqlab.activations import scan
from eqlab.activations._named import NAMES, load_matrices, named_representation
from eqlab.groups import Representation, symmetric
from eqlab.nn import EquivariantMLP, GroupConv2d, GroupPool, LiftingConv2d, RepLinear, SetLinear

runner = CliRunner()


def test_scan_finds_the_relu_on_a_rotation_and_passes_the_tanh() -> None:
    rot = Representation.rotation(4)
    model = nn.Sequential(RepLinear(rot, rot), nn.ReLU(), RepLinear(rot, rot), nn.Tanh())
    report = scan(model, rot)
    assert [(e.name, e.equivariant) for e in report.entries] == [("1", False), ("3", True)]
    assert not report.ok and len(report.broken) == 1
    assert "not odd" in report.broken[0].reason and report.broken[0].check is not None
    assert report.broken[0].check.max_error > 1e-3
    assert "BREAKS" in report.table()


def test_scan_passes_permutation_layers_and_group_convolutions() -> None:
    s5 = symmetric(5).action()
    assert scan(EquivariantMLP(s5, [8, 8], 1), s5).ok
    assert scan(nn.Sequential(SetLinear(1, 4), nn.GELU(), SetLinear(4, 4), nn.ELU()), s5).ok
    cnn = nn.Sequential(
        LiftingConv2d(1, 4, 3, group="p4m"), nn.SiLU(), GroupConv2d(4, 4, 3, group="p4m"), nn.ReLU()
    )  # both layers p4m: a p4 lifting before a p4m group convolution cannot run
    report = scan(nn.Sequential(cnn, GroupPool(), nn.Sigmoid()), Representation.rotation(4))
    assert report.ok and len(report.entries) == 3
    assert all(e.check is not None and e.check.max_error == 0.0 for e in report.entries)


def test_scan_reports_unknown_layers_and_mismatched_representations() -> None:
    rot, c8 = Representation.rotation(4), Representation.rotation(8)
    report = scan(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), rot)
    assert report.unchecked and "0 (Linear)" in report.unchecked[0].reason and not report.ok
    report = scan(nn.Sequential(RepLinear(c8, c8), nn.Identity()), rot)
    assert report.broken and "differs from the representation of its input" in report.broken[0].reason
    assert scan(nn.Tanh(), rot).ok  # a bare activation is its own leaf


@pytest.mark.parametrize(
    ("name", "dim", "order"),
    [
        ("C4:regular", 4, 4), ("C4:rot2d", 2, 4), ("C6:sign", 1, 2), ("D4:rot2d", 2, 8),
        ("D5:regular", 10, 10), ("D4:sign", 1, 2), ("S3:perm", 3, 6), ("S3:standard", 2, 6),
        ("S4:sign", 1, 2), ("S3:regular", 6, 6), ("SO2:rot2d@90deg", 2, 4),
    ],
)  # fmt: skip
def test_named_representations(name: str, dim: int, order: int) -> None:
    rep = named_representation(name)
    assert rep.dim == dim and len(rep.elements()) == order
    mats = rep.elements()
    gram = np.einsum("gij,gkj->gik", mats, mats)  # every matrix is orthogonal
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(dim), mats.shape), atol=1e-12)


def test_named_representation_errors_list_the_names() -> None:
    for bad in ("X:y", "C4:standard", "C3:sign", "C1:rot2d", "S6:regular"):
        with pytest.raises(ValueError, match=r"must look like|n must|has no|limit"):
            named_representation(bad)
    assert "SO2:rot2d@ANGLEdeg" in NAMES


def test_matrices_load_from_files(tmp_path: Path) -> None:
    mats = np.asarray(named_representation("D4:rot2d").generators)
    np.save(tmp_path / "r.npy", mats)
    torch.save(torch.tensor(mats), tmp_path / "r.pt")
    (tmp_path / "r.json").write_text(json.dumps(mats.tolist()))
    for suffix in ("npy", "pt", "json"):
        loaded, label = load_matrices(str(tmp_path / f"r.{suffix}"))
        np.testing.assert_array_equal(loaded, mats)
        assert label == f"r.{suffix}"
    with pytest.raises(ValueError, match="does not exist"):
        load_matrices(str(tmp_path / "missing.npy"))


def test_cli_check_activation_exit_codes(tmp_path: Path) -> None:
    ok = runner.invoke(app, ["check-activation", "C4:rot2d", "tanh"])
    assert ok.exit_code == 0 and "equivariant" in ok.output and "signed permutation" in ok.output
    broken = runner.invoke(app, ["check-activation", "C8:rot2d", "relu"])
    assert broken.exit_code == 1 and "NOT equivariant" in broken.output
    assert "integer character" in broken.output
    c, s = math.cos(2 * math.pi / 3), math.sin(2 * math.pi / 3)
    path = tmp_path / "c3.json"
    path.write_text(json.dumps([[[c, -s, 0], [s, c, 0], [0, 0, 1]]]))
    fixable = runner.invoke(app, ["check-activation", str(path), "relu"])
    assert fixable.exit_code == 1 and "change of basis found" in fixable.output
    scaled = runner.invoke(app, ["check-activation", "SO2:rot2d@90deg", "relu"])
    assert scaled.exit_code == 1
    for args in (["X:y", "relu"], ["C4:rot2d", "nope"]):
        assert runner.invoke(app, ["check-activation", *args]).exit_code == 2

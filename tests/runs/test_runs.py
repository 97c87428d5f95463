"""The runs layer: verdict rule, config overrides, atomic writes, checkpoints and RNG states."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from eqlab.runs import RunFolder, Status, Verdict, judge
from eqlab.runs._atomic import atomic_write_json
from eqlab.runs._checkpoint import load_checkpoint, save_checkpoint
from eqlab.runs._config import ConfigError, apply_overrides, parse_assignments


def test_verdict_rule_three_outcomes() -> None:
    assert judge("c", [1.0, 1.1, 0.9]).status == "supported"
    assert judge("c", [1.0, -1.1, 0.9]).status == "not supported"
    against = judge("c", [-1.0, -1.1, -0.9])
    assert against.status == "not supported" and "other side" in against.detail
    assert judge("c", [1.0, 1.1]).status == "not measurable at this scale"
    assert judge("c", [1.0, math.nan, 1.0]).status == "not measurable at this scale"
    less = judge("c", [-14.0, -14.2, -13.9], threshold=-12, direction="less")
    assert less.status == "supported" and less.high < -12


def test_the_status_is_a_str_enum_that_survives_json() -> None:
    verdict = judge("c", [1.0, 1.1, 0.9])
    assert verdict.status is Status.SUPPORTED and verdict.status == "supported"
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data["status"] == "supported" and type(verdict.to_dict()["status"]) is str
    assert Verdict.from_dict(data) == verdict and Verdict.from_dict(data).status is Status.SUPPORTED
    assert [str(s) for s in Status] == ["supported", "not supported", "not measurable at this scale"]


def test_verdict_interval_is_the_student_t_interval() -> None:
    v = judge("c", [1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t_{0.975, 2} * sd / sqrt(n)
    assert v.mean == 2.0 and math.isclose(v.high - v.mean, half, rel_tol=1e-9)


@dataclass(frozen=True)
class _Config:
    epochs: int = 2
    lr: float = 0.1
    sizes: tuple[int, ...] = (1, 2)
    flag: bool = False
    name: str = "a"


def test_overrides_are_type_checked() -> None:
    config = apply_overrides(_Config(), parse_assignments(["epochs=5", "lr=1e-3", "sizes=4,8", "flag=true"]))
    assert config == _Config(epochs=5, lr=1e-3, sizes=(4, 8), flag=True)
    with pytest.raises(ConfigError, match="valid keys: epochs, flag, lr, name, sizes"):
        apply_overrides(_Config(), {"epoch": "3"})
    with pytest.raises(ConfigError, match="epochs expects int"):
        apply_overrides(_Config(), {"epochs": "1.5"})
    with pytest.raises(ConfigError, match="key=value"):
        parse_assignments(["epochs"])


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path) -> None:
    atomic_write_json(tmp_path / "a.json", {"x": 1})
    atomic_write_json(tmp_path / "a.json", {"x": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    assert (tmp_path / "a.json").read_text().strip().endswith("}")


def test_checkpoint_restores_every_rng(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    torch.manual_seed(1)
    np.random.seed(1)  # noqa: NPY002
    random.seed(1)
    save_checkpoint(path, {"epoch": 3})
    expected = (torch.rand(3), np.random.rand(3), random.random())  # noqa: NPY002
    torch.manual_seed(99)
    np.random.seed(99)  # noqa: NPY002
    random.seed(99)
    state = load_checkpoint(path)
    assert state is not None and state["epoch"] == 3
    assert torch.equal(torch.rand(3), expected[0])
    assert np.array_equal(np.random.rand(3), expected[1])  # noqa: NPY002
    assert random.random() == expected[2]
    assert load_checkpoint(tmp_path / "missing.pt") is None


def test_run_folder_units_and_rank(tmp_path: Path) -> None:
    run = RunFolder(tmp_path / "r", seed=4)
    assert run.unit_result("u") is None
    run.save_unit("u", {"v": 1})
    assert run.unit_result("u") == {"v": 1}
    quiet = RunFolder(tmp_path / "q", rank=1)
    quiet.log_metrics(a=1)
    quiet.write_json("x.json", {})
    assert not (tmp_path / "q").exists()

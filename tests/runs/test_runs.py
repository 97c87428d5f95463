"""The runs layer: verdict rule, config overrides, atomic writes, checkpoints and RNG states."""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from eqlab.runs import Kind, RunFolder, Status, Verdict, judge
from eqlab.runs._atomic import atomic_write_json
from eqlab.runs._checkpoint import load_checkpoint, save_checkpoint
from eqlab.runs._config import ConfigError, apply_overrides, config_keys, parse_assignments
from eqlab.runs._results import ResultsError, from_json, to_json
from eqlab.runs._seeding import seed_for
from eqlab.runs._verdict import mean_interval
from eqlab.train import TrainSettings


def test_verdict_rule_four_outcomes() -> None:
    assert judge("c", [1.0, 1.1, 0.9]).status is Status.SUPPORTED
    straddles = judge("c", [1.0, -1.1, 0.9])
    assert straddles.status is Status.INCONCLUSIVE and "contains 0" in straddles.detail
    against = judge("c", [-1.0, -1.1, -0.9])
    assert against.status is Status.CONTRADICTED and "other side" in against.detail
    assert judge("c", [1.0, 1.1]).status is Status.NOT_MEASURABLE
    assert judge("c", [1.0, math.nan, 1.0]).status is Status.NOT_MEASURABLE
    less = judge("c", [-14.0, -14.2, -13.9], threshold=-12, direction="less")
    assert less.status is Status.SUPPORTED and less.high < -12
    assert judge("c", [-10.0, -10.2, -9.9], threshold=-12, direction="less").status is Status.CONTRADICTED


def test_a_wide_interval_is_inconclusive_not_a_refutation() -> None:
    """Three values of mean 1 and spread 1: t(2) = 4.30 makes the interval about [-1.5, 3.5]."""
    v = judge("c", [0.0, 1.0, 2.0])
    assert v.status is Status.INCONCLUSIVE and v.low < 0 < v.high


def test_zero_spread_is_not_measurable_without_a_stated_reason() -> None:
    same = judge("c", [1e-9] * 3)
    assert same.status is Status.NOT_MEASURABLE and "do not vary" in same.detail
    one_ulp = judge("c", [1e-9, 1e-9, 1e-9 * (1 + 2**-52)])  # reduction-order noise is no spread either
    assert one_ulp.status is Status.NOT_MEASURABLE
    assert judge("c", [1.0, 1.0, 1.0 + 1e-7]).status is Status.SUPPORTED  # a real, tiny spread decides
    floored = judge("c", [-17.0] * 3, threshold=-12, direction="less", exact="an exact computation, floored")
    assert floored.status is Status.SUPPORTED and "cannot vary: an exact computation" in floored.detail
    wrong_side = judge("c", [-1.0] * 3, threshold=-12, direction="less", exact="floored")
    assert wrong_side.status is Status.CONTRADICTED


def test_a_claim_is_a_finding_unless_declared_a_demonstration() -> None:
    assert judge("c", [1.0, 1.1, 0.9]).kind is Kind.FINDING
    demo = judge("c", [1.0, 1.1, 0.9], kind="demonstration")
    assert (
        demo.kind is Kind.DEMONSTRATION and from_json(Verdict, json.loads(json.dumps(to_json(demo)))) == demo
    )
    with pytest.raises(ValueError, match="kind"):
        judge("c", [1.0], kind="guess")


def test_the_interval_is_the_one_mean_interval() -> None:
    values = [0.3, 0.1, 0.25, 0.4]
    v = judge("c", values)
    assert (v.mean, v.low, v.high) == mean_interval(values)
    mean, low, high = mean_interval([2.0])
    assert mean == 2.0 and math.isnan(low) and math.isnan(high)


def test_the_status_is_a_str_enum_that_survives_json() -> None:
    verdict = judge("c", [1.0, 1.1, 0.9])
    assert verdict.status is Status.SUPPORTED and verdict.status == "supported"
    data = json.loads(json.dumps(to_json(verdict)))
    assert data["status"] == "supported" and type(to_json(verdict)["status"]) is str
    assert from_json(Verdict, data) == verdict and from_json(Verdict, data).status is Status.SUPPORTED
    assert [str(s) for s in Status] == ["supported", "contradicted", "inconclusive", "not measurable"]


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


@dataclass(frozen=True)
class _Layer:
    name: str
    error: float


@dataclass(frozen=True)
class _Unit:
    seed: int
    layers: tuple[_Layer, ...]
    by_size: dict[str, float]
    note: str | None = None


def test_a_unit_is_computed_once_and_read_back_typed(tmp_path: Path) -> None:
    run = RunFolder(tmp_path, seed=2)
    calls = []

    def compute() -> _Unit:
        calls.append(1)
        return _Unit(3, (_Layer("conv.10", 1e-13), _Layer("conv.2", 0.5)), {"33": 0.1})

    first = run.unit("u", compute, _Unit)
    again = RunFolder(tmp_path, seed=2).unit("u", compute, _Unit)
    assert calls == [1] and again == first
    assert [layer.name for layer in again.layers] == ["conv.10", "conv.2"]  # order kept, not sorted
    with pytest.raises(ValueError, match="plain name"):
        run.unit("a/b", compute, _Unit)
    with pytest.raises(TypeError, match="result_type must be a type"):
        run.unit("v", compute, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="compute must return the unit's result, got None"):
        run.unit("w", lambda: None)


def test_a_fresh_unit_and_a_resumed_one_return_the_same_values(tmp_path: Path) -> None:
    """A fresh result goes through the same JSON round trip as a saved one (a tuple stays a tuple, a
    numpy float becomes a float), so a resumed run computes from identical values."""
    fresh = RunFolder(tmp_path, seed=0).unit(
        "u", lambda: _Unit(1, (_Layer("a", np.float64(0.5)),), {}), _Unit
    )
    resumed = RunFolder(tmp_path, seed=0).unit("u", lambda: _Unit(9, (), {}), _Unit)
    assert fresh == resumed and type(fresh.layers[0].error) is float


def test_typed_results_refuse_what_does_not_fit_naming_the_entry() -> None:
    good = to_json(_Unit(1, (_Layer("a", 0.5),), {}))
    assert from_json(_Unit, good) == _Unit(1, (_Layer("a", 0.5),), {})
    bad = {**good, "layers": [{"name": "a", "error": "big"}]}
    with pytest.raises(ResultsError, match=r"results.layers\[0\].error must be a number"):
        from_json(_Unit, bad)
    with pytest.raises(ResultsError, match="lacks the field 'seed'"):
        from_json(_Unit, {"layers": [], "by_size": {}})
    with pytest.raises(ResultsError, match=r"unknown field\(s\) \['extra'\]"):
        from_json(_Unit, {**good, "extra": 1})


def test_seed_streams_are_named_and_independent() -> None:
    assert seed_for(0, "data", 1) == seed_for(0, "data", 1)
    streams = {seed_for(s, name, i) for s in (0, 1) for name in ("data", "init", "order") for i in range(3)}
    assert len(streams) == 18
    assert seed_for(0, "a", 1) != seed_for(0, "a1") and seed_for(0, "1") != seed_for(0, 1)
    with pytest.raises(TypeError, match="names\\[0\\] must be a string or a non-negative integer"):
        seed_for(0, 1.5)  # type: ignore[arg-type]
    run = RunFolder.__new__(RunFolder)
    run.seed = 5
    assert torch.equal(
        run.generator("x").get_state(), torch.Generator().manual_seed(seed_for(5, "x")).get_state()
    )


@dataclass(frozen=True)
class _Nested:
    seeds: int = 3
    train: TrainSettings = field(default_factory=lambda: TrainSettings(epochs=2, batch_size=8))


def test_nested_training_settings_take_dotted_keys() -> None:
    assert "train.epochs" in config_keys(_Nested) and "train" not in config_keys(_Nested)
    config = apply_overrides(_Nested(), {"train.epochs": "7", "train.optimizer": "sgd"})
    assert (config.train.epochs, str(config.train.optimizer)) == (7, "sgd")
    with pytest.raises(ConfigError, match="train.epochs: epochs must be an integer >= 1, got 0"):
        apply_overrides(_Nested(), {"train.epochs": "0"})
    with pytest.raises(ConfigError, match="unknown config key"):
        apply_overrides(_Nested(), {"train.momentm": "0.5"})

"""Bad inputs for `eqlab.runs`: run folders, atomic writes, checkpoints, configs, verdicts and reports."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eqlab import runs
from eqlab.runs import Figure, Report, RunFolder, Study, Table
from eqlab.runs._atomic import atomic_torch_save, atomic_write_bytes, atomic_write_json, atomic_write_text
from eqlab.runs._checkpoint import get_rng_state, load_checkpoint, save_checkpoint, set_rng_state
from eqlab.runs._config import apply_overrides, config_to_dict, parse_assignments
from eqlab.runs._cost import CostEstimate, seconds_per_step
from eqlab.runs._folder import environment
from eqlab.runs._index import IndexCard, write_index
from eqlab.runs._progress import Progress
from eqlab.runs._report import format_duration, format_number, write_report
from eqlab.runs._results import from_json
from eqlab.runs._seeding import seed_for
from eqlab.runs._study import config_from_dict
from eqlab.runs._verdict import mean_interval
from tests.battery.harness import Battery

_ROOT = tempfile.TemporaryDirectory(prefix="eqlab-battery-runs-")


def _folder() -> Path:
    return Path(tempfile.mkdtemp(dir=_ROOT.name))


def _a_file() -> Path:
    path = _folder() / "a-file.txt"
    path.write_text("hello")
    return path


class _Lazy:
    """A bad value made when the case runs (a file or folder that must exist afresh)."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def _lazy(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        args = tuple(a.make() if isinstance(a, _Lazy) else a for a in args)
        return fn(*args, **{k: v.make() if isinstance(v, _Lazy) else v for k, v in kwargs.items()})

    return call


def _in_scratch(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` run with a fresh scratch folder as the working directory (for empty or relative paths)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        with contextlib.chdir(_folder()):
            return fn(*args, **kwargs)

    return call


@dataclass(frozen=True)
class Demo:
    epochs: int = 3
    lr: float = 0.1
    sizes: tuple[int, ...] = (10, 20)
    name: str = "x"
    flag: bool = False


def _run(config: Any, run: RunFolder) -> dict[str, Any]:
    return {"values": [1.0, 2.0, 3.0]}


def _report(config: Any, results: dict[str, Any], plots: Path) -> Report:
    return Report("demo", "Demo", "paper", "claim", "measured")


def _verdict() -> runs.Verdict:
    return runs.judge("gap", [0.3, 0.25, 0.28])


def _report_value() -> Report:
    return Report(
        study="demo",
        title="Demo",
        paper="A paper (2024)",
        claim="A claim",
        measured="What was measured",
        verdicts=[_verdict()],
        tables=[Table("t", ["a", "b"], [[1, 2.5]])],
        figures=[Figure("plot.png", "A plot")],
        notes=["a note"],
        settings={"epochs": 3},
    )


def _checkpoint_file(value: Any) -> Path:
    path = _folder() / "state.pt"
    torch.save(value, path)
    return path


def _bytes_file(payload: bytes) -> Path:
    path = _folder() / "state.pt"
    path.write_bytes(payload)
    return path


def _index_cards() -> list[IndexCard]:
    return [IndexCard("demo", "Demo", _folder(), "ok", verdicts=[_verdict()])]


def _paths() -> list[tuple[str, Any]]:
    """Bad paths to write to."""
    return [
        ("None", None),
        ("int", 5),
        ("empty string", ""),
        ("an existing folder", _Lazy(_folder)),
        ("a list", ["a", "b"]),
    ]


def build() -> Battery:
    b = Battery()

    # ---- atomic writes ---------------------------------------------------------------------------
    target = lambda: _folder() / "out.bin"  # noqa: E731
    b.mutate(
        "eqlab.runs._atomic.atomic_write_bytes",
        _in_scratch(_lazy(atomic_write_bytes)),
        lambda: {"path": target(), "data": b"abc"},
        {
            "path": _paths(),
            "data": [("str", "text"), ("None", None), ("int", 5), ("list of ints", [1, 2])],
        },
    )
    b.mutate(
        "eqlab.runs._atomic.atomic_write_text",
        _in_scratch(_lazy(atomic_write_text)),
        lambda: {"path": target(), "text": "abc"},
        {
            "path": _paths(),
            "text": [("bytes", b"bytes"), ("None", None), ("int", 5), ("list", ["a"])],
        },
    )
    b.mutate(
        "eqlab.runs._atomic.atomic_write_json",
        _in_scratch(_lazy(atomic_write_json)),
        lambda: {"path": target(), "value": {"a": [1, 2.5, None]}},
        {
            "path": _paths(),
            "value": [
                ("an object", object()),
                ("a set inside", {"a": {1, 2}}),
                ("a tensor", torch.zeros(2)),
                ("a tuple key", {("a",): 1}),
                ("a numpy array", np.zeros(2)),
            ],
        },
    )
    b.mutate(
        "eqlab.runs._atomic.atomic_torch_save",
        _in_scratch(_lazy(atomic_torch_save)),
        lambda: {"path": target(), "value": {"a": torch.zeros(2)}},
        {
            "path": _paths(),
            "value": [
                ("a lambda", lambda: 1),
                ("a lock", threading.Lock()),
                ("a generator expression", (i for i in range(3))),
                ("a module", os),
            ],
        },
    )

    # ---- checkpoints -------------------------------------------------------------------------------
    b.mutate(
        "eqlab.runs._checkpoint.save_checkpoint",
        _in_scratch(_lazy(save_checkpoint)),
        lambda: {"path": _folder() / "c.pt", "state": {"epoch": 1}},
        {
            "path": _paths(),
            "state": [
                ("None", None),
                ("string", "x"),
                ("list", [1]),
                ("int", 5),
                ("reserved key rng", {"rng": 1}),
            ],
        },
    )
    b.mutate(
        "eqlab.runs._checkpoint.load_checkpoint",
        _lazy(load_checkpoint),
        lambda: {"path": _good_checkpoint()},
        {
            "path": [
                ("None", None),
                ("int", 5),
                ("a folder", _Lazy(_folder)),
                ("garbage", _Lazy(lambda: _bytes_file(b"not a checkpoint"))),
                ("empty file", _Lazy(lambda: _bytes_file(b""))),
                ("no rng states", _Lazy(lambda: _checkpoint_file({"epoch": 1}))),
                ("a list", _Lazy(lambda: _checkpoint_file([1, 2, 3]))),
                ("a text file", _Lazy(_a_file)),
            ]
        },
    )
    b.mutate(
        "eqlab.runs._checkpoint.set_rng_state",
        set_rng_state,
        lambda: {"state": get_rng_state()},
        {
            "state": [
                ("None", None),
                ("empty dict", {}),
                ("string", "x"),
                ("int", 5),
                ("list", [1, 2]),
                ("no numpy state", _without("numpy")),
                ("torch state of the wrong dtype", _replaced("torch", torch.zeros(3))),
                ("python state garbage", _replaced("python", "garbage")),
                ("numpy state garbage", _replaced("numpy", 5)),
            ]
        },
    )

    # ---- configs --------------------------------------------------------------------------------------
    b.mutate(
        "eqlab.runs._config.parse_assignments",
        parse_assignments,
        {"items": ["a=1", "b=x"]},
        {
            "items": [
                ("a string", "a=1"),
                ("None", None),
                ("int", 5),
                ("no equals sign", ["novalue"]),
                ("empty key", ["=1"]),
                ("an int item", [5]),
                ("a None item", [None]),
                ("bytes item", [b"a=1"]),
            ]
        },
        names={"items": ("items", "--set")},
    )
    b.mutate(
        "eqlab.runs._config.apply_overrides",
        apply_overrides,
        lambda: {"config": Demo(), "overrides": {"epochs": "5", "sizes": "8,16"}},
        {
            "config": [
                ("None", None),
                ("a dict", {"epochs": 3}),
                ("a dataclass type", Demo),
                ("int", 5),
            ],
            "overrides": [
                ("a list", ["epochs=5"]),
                ("a string", "epochs=5"),
                ("None", None),
                ("an int value for a bool", {"flag": 1}),
                ("a None value", {"epochs": None}),
                ("unknown key", {"nokey": "1"}),
                ("not an int", {"epochs": "x"}),
                ("nan for a float", {"lr": "nan"}),
                ("a bad tuple entry", {"sizes": "1,a"}),
                ("an empty tuple", {"sizes": ""}),
                ("a tuple of only commas", {"sizes": ", ,"}),
                ("not a bool", {"flag": "maybe"}),
            ],
        },
        names={"overrides": ("overrides", "epochs", "nokey", "lr", "sizes", "flag")},
    )
    b.mutate(
        "eqlab.runs._config.config_to_dict",
        config_to_dict,
        lambda: {"config": Demo()},
        {
            "config": [
                ("None", None),
                ("a dict", {"a": 1}),
                ("a dataclass type", Demo),
                ("int", 5),
                ("string", "x"),
                ("list", [1]),
                ("an object", object()),
                ("float", 3.5),
            ]
        },
    )
    b.mutate(
        "eqlab.runs._study.config_from_dict",
        config_from_dict,
        lambda: {
            "kind": Demo,
            "values": {"epochs": 3, "lr": 0.5, "sizes": [1, 2], "name": "y", "flag": True},
        },
        {
            "kind": [
                ("None", None),
                ("an instance", Demo()),
                ("dict type", dict),
                ("int", 5),
            ],
            "values": [
                ("None", None),
                ("a list of pairs", [("epochs", 3)]),
                ("unknown key", {"nokey": 1}),
                ("a string for an int", {"epochs": "3"}),
                ("a float for an int", {"epochs": 3.5}),
                ("a bool for an int", {"epochs": True}),
                ("a string for a bool", {"flag": "yes"}),
                ("strings in a tuple of ints", {"sizes": ["a"]}),
                ("a string", "epochs=3"),
            ],
        },
        names={"values": ("values", "nokey", "epochs", "flag", "sizes")},
    )

    # ---- seeds, environment, progress ------------------------------------------------------------------
    b.mutate(
        "eqlab.runs._seeding.seed_for",
        lambda run_seed: seed_for(run_seed, "data"),
        {"run_seed": 0},
        {
            "run_seed": [
                ("negative", -1),
                ("float", 1.5),
                ("string", "0"),
                ("None", None),
                ("bool", True),
            ]
        },
        args=(),
    )
    for label, names in (
        ("negative", ("data", -1)),
        ("float", ("data", 2.5)),
        ("None", (None,)),
        ("bool", (True,)),
        ("bytes", (b"data",)),
        ("none at all", ()),
    ):
        b.add("eqlab.runs._seeding.seed_for", "names", label, lambda n=names: seed_for(0, *n))
    b.mutate(
        "eqlab.runs._folder.environment",
        environment,
        {"seed": 0, "device": "cpu"},
        {
            "seed": [("negative", -1), ("float", 1.5), ("string", "0"), ("None", None), ("bool", True)],
            "device": [("unknown", "gpu"), ("int", 5), ("None", None)],
        },
    )
    b.mutate(
        "eqlab.runs._progress.Progress",
        Progress,
        {"total": 10, "description": "train", "completed": 2},
        {
            "total": [("negative", -1), ("float", 2.5), ("string", "10"), ("None", None), ("bool", True)],
            "description": [("None", None), ("int", 5)],
            "completed": [("negative", -1), ("above total", 11), ("float", 1.5)],
        },
    )

    # ---- run folders and studies -------------------------------------------------------------------------
    b.mutate(
        "eqlab.runs.RunFolder",
        _in_scratch(_lazy(RunFolder)),
        lambda: {"path": _folder() / "run", "seed": 0, "device": "cpu", "data_dir": None, "rank": 0},
        {
            "path": [
                ("None", None),
                ("int", 5),
                ("empty string", ""),
                ("an existing file", _Lazy(_a_file)),
                ("a list", ["runs"]),
            ],
            "seed": [("negative", -1), ("float", 1.5), ("string", "0"), ("bool", True), ("None", None)],
            "device": [("unknown", "gpu"), ("None", None), ("int", 5)],
            "data_dir": [
                ("int", 5),
                ("empty string", ""),
                ("a file", _Lazy(lambda: str(_a_file()))),
                ("list", ["data"]),
            ],
            "rank": [("negative", -1), ("float", 1.5), ("string", "0"), ("bool", True), ("None", None)],
        },
    )
    b.mutate(
        "eqlab.runs.Study",
        Study,
        {
            "name": "demo",
            "summary": "A demo study",
            "config": Demo,
            "results": Demo,
            "run": _run,
            "report": _report,
            "budget_minutes": 1.0,
            "quick": {"epochs": 1},
            "paper": {"epochs": 100},
        },
        {
            "name": [("empty", ""), ("with a space", "my study"), ("int", 5), ("None", None)],
            "summary": [("None", None), ("int", 5)],
            "config": [
                ("an instance", Demo()),
                ("not a dataclass", dict),
                ("None", None),
            ],
            "results": [("an instance", Demo()), ("not a dataclass", dict), ("None", None)],
            "run": [("None", None), ("string", "run")],
            "report": [("None", None), ("int", 5)],
            "budget_minutes": [
                ("negative", -1.0),
                ("zero", 0.0),
                ("nan", float("nan")),
                ("string", "3"),
            ],
            "quick": [
                ("unknown field", {"nokey": 1}),
                ("a string", "epochs=1"),
                ("a list of pairs", [("epochs", 1)]),
            ],
            "paper": [
                ("unknown field", {"nokey": 1}),
                ("a string", "epochs=1"),
                ("a string for an int field", {"epochs": "6"}),
                ("a float for an int field", {"epochs": 6.5}),
                ("a bool for an int field", {"epochs": True}),
                ("an int for a bool field", {"flag": 1}),
                ("strings in a tuple of ints", {"sizes": ("a", "b")}),
                ("out of range", {"epochs": 0}),
            ],
        },
        names={"paper": ("paper",), "quick": ("quick",)},
    )
    b.add(
        "eqlab.runs.Study",
        "quick",
        "a string for an int field",
        lambda: Study("demo", "A demo study", Demo, Demo, _run, _report, 1.0, quick={"epochs": "1"}),
    )
    b.add(
        "eqlab.runs.Study",
        "paper",
        "names the key",
        lambda: Study("demo", "A demo study", Demo, Demo, _run, _report, 1.0, paper={"lr": "0.5"}),
        names=("'lr'",),
    )
    b.add_valid(
        "eqlab.runs.Study",
        lambda: Study("demo", "A demo study", Demo, Demo, _run, _report, 1.0, paper={"lr": 1, "sizes": [4]}),
    )
    b.mutate(
        "eqlab.runs.Study.default_config",
        _demo_study().default_config,
        {"quick": False, "scale": "default"},
        {
            "quick": [("a string", "yes"), ("an int", 1), ("None", None)],
            "scale": [("unknown", "huge"), ("None", None)],
        },
    )

    # ---- verdicts and reports -------------------------------------------------------------------------
    b.mutate(
        "eqlab.runs.judge",
        runs.judge,
        {
            "claim": "gap",
            "values": [0.3, 0.25, 0.28],
            "threshold": 0.0,
            "direction": "greater",
            "min_seeds": 3,
        },
        {
            "claim": [("None", None), ("int", 5), ("empty", "")],
            "values": [
                ("a string", "123"),
                ("None", None),
                ("a string entry", [1.0, "a", 2.0]),
                ("int", 5),
                ("nested lists", [[1.0], [2.0], [3.0]]),
            ],
            "threshold": [("nan", float("nan")), ("string", "0"), ("None", None), ("inf", float("inf"))],
            "direction": [("unknown", "more"), ("None", None)],
            "min_seeds": [
                ("zero", 0),
                ("negative", -1),
                ("one", 1),
                ("float", 2.5),
                ("bool", True),
                ("string", "3"),
            ],
        },
    )
    for label, values in (
        ("a 2-D array", np.ones((3, 1))),
        ("a 2-D tensor", torch.ones(3, 2)),
        ("a 0-D array", np.array(1.0)),
    ):
        b.add("eqlab.runs.judge", "values", label, lambda v=values: runs.judge("gap", v))
    b.add_valid(
        "eqlab.runs.judge", lambda: runs.judge("gap", np.array([0.3, 0.2, 0.4]), min_seeds=np.int64(3))
    )
    b.mutate(
        "eqlab.runs._verdict.mean_interval",
        mean_interval,
        {"values": [1.0, 2.0, 3.0], "confidence": 0.95},
        {
            "values": [("a 2-D array", np.ones((3, 2))), ("a string", "123"), ("None", None)],
            "confidence": [
                ("zero", 0.0),
                ("one", 1.0),
                ("negative", -0.5),
                ("above one", 95.0),
                ("nan", float("nan")),
                ("a string", "0.95"),
                ("bool", True),
            ],
        },
    )
    b.add_valid("eqlab.runs._seeding.seed_for", lambda: seed_for(np.int64(3), "data", np.int32(1)))
    b.add_valid("eqlab.runs._report.format_number", lambda: format_number(np.float32(0.5)))
    b.add_valid("eqlab.runs._report.format_number", lambda: format_number("a label"))

    b.mutate(
        "eqlab.runs._report.format_number",
        format_number,
        {"value": 0.123456},
        {
            "value": [
                ("a list", [1.0, 2.0]),
                ("a dict", {"a": 1}),
                ("a tuple", (1, 2)),
                ("a set", {1}),
                ("bytes", b"1.5"),
                ("a tensor of two entries", torch.zeros(2)),
                ("an array of two entries", np.zeros(2)),
                ("a function", len),
                ("an object", object()),
                ("complex", 1 + 2j),
            ]
        },
    )
    b.mutate(
        "eqlab.runs._report.format_duration",
        format_duration,
        {"seconds": 57.2},
        {
            "seconds": [
                ("a string", "abc"),
                ("None", None),
                ("negative", -5),
                ("nan", float("nan")),
                ("inf", float("inf")),
                ("bool", True),
                ("a list", [1.0]),
                ("an int too large for a float", 10**400),
            ]
        },
    )
    b.add_valid("eqlab.runs._report.format_duration", lambda: format_duration(np.float32(0.0)))
    b.mutate(
        "eqlab.runs._results.from_json",
        lambda value: from_json(float, value, "results.loss"),
        {"value": 0.5},
        {"value": [("an int too large for a float", 10**400), ("a string", "0.5"), ("bool", True)]},
        names={"value": ("results.loss",)},
    )
    b.mutate(
        "eqlab.runs._cost.CostEstimate",
        CostEstimate,
        {"seconds": 6.0, "steps": 3, "seconds_per_step": 2.0, "timed_steps": 3, "device": "cpu", "what": "x"},
        {
            "device": [
                ("unknown", "tpu"),
                ("None", None),
                ("an int", 0),
                ("a torch.device", torch.device("cpu")),
            ]
        },
    )
    b.mutate(
        "eqlab.runs._cost.seconds_per_step",
        seconds_per_step,
        lambda: {
            "model": torch.nn.Linear(2, 1),
            "make_batch": lambda: (torch.zeros(4, 2), torch.zeros(4, 1)),
            "loss_fn": torch.nn.functional.mse_loss,
            "steps": 1,
        },
        {
            "model": [("no parameters", torch.nn.ReLU()), ("frozen", _frozen_linear()), ("None", None)],
            "make_batch": [
                ("returns one tensor", lambda: torch.zeros(4, 2)),
                ("returns a triple", lambda: (torch.zeros(4, 2), torch.zeros(4, 1), torch.zeros(4))),
                ("returns arrays", lambda: (np.zeros((4, 2)), np.zeros((4, 1)))),
                ("returns None", lambda: None),
            ],
            "loss_fn": [
                ("not scalar", lambda out, y: (out - y) ** 2),
                ("a float", lambda out, y: 0.5),
                ("a constant tensor", lambda out, y: torch.tensor(0.5)),
            ],
        },
    )
    b.mutate(
        "eqlab.runs.Figure",
        Figure,
        {"filename": "plot.png", "caption": "What to read from it"},
        {
            "filename": [
                ("None", None),
                ("int", 5),
                ("empty", ""),
                ("outside plots/", "../up.png"),
                ("absolute", "/abs/plot.png"),
            ],
            "caption": [("None", None), ("int", 5), ("empty", ""), ("list", ["a"])],
        },
    )
    b.mutate(
        "eqlab.runs.Table",
        Table,
        {"title": "Results", "headers": ["a", "b"], "rows": [[1, 2.5], ["x", 3]]},
        {
            "title": [("None", None), ("int", 5)],
            "headers": [("a string", "ab"), ("ints", [1, 2]), ("None", None), ("empty", [])],
            "rows": [
                ("a row too short", [[1]]),
                ("a row too long", [[1, 2, 3]]),
                ("a string", "rows"),
                ("rows that are ints", [1, 2]),
                ("None", None),
                ("a list cell", [[[1, 2], 3]]),
            ],
        },
    )
    report_fields = {
        "study": "demo",
        "title": "Demo",
        "paper": "A paper (2024)",
        "claim": "A claim",
        "measured": "What was measured",
    }
    b.mutate(
        "eqlab.runs.Report",
        Report,
        lambda: {
            **report_fields,
            "verdicts": [_verdict()],
            "tables": [Table("t", ["a"], [[1]])],
            "figures": [Figure("p.png", "A plot")],
            "notes": ["a note"],
            "settings": {"epochs": 3},
        },
        {
            "study": [("None", None), ("int", 5), ("empty", "")],
            "title": [("None", None), ("list", ["Demo"])],
            "paper": [("int", 5)],
            "claim": [("None", None)],
            "measured": [("int", 3)],
            "verdicts": [
                ("strings", ["supported"]),
                ("None", None),
                ("a Verdict, not a list", _verdict()),
            ],
            "tables": [("figures", [Figure("p.png", "c")]), ("a string", "t")],
            "figures": [("tables", [Table("t", ["a"], [[1]])]), ("a string", "f")],
            "notes": [("a string", "one note"), ("ints", [1])],
            "settings": [("a list of pairs", [("a", 1)]), ("a string", "x")],
        },
    )

    b.mutate(
        "eqlab.runs._report.write_report",
        _lazy(write_report),
        lambda: {"report": _report_value(), "run_dir": _folder()},
        {
            "report": [
                ("None", None),
                ("a dict", {"title": "x"}),
                ("a string", "report"),
                ("a table", Table("t", ["a"], [[1]])),
            ],
            "run_dir": [("None", None), ("int", 5), ("an existing file", _Lazy(_a_file)), ("a list", ["a"])],
        },
    )
    b.mutate(
        "eqlab.runs._index.write_index",
        _lazy(write_index),
        lambda: {"path": _folder() / "index.html", "cards": _index_cards()},
        {
            "path": [("None", None), ("int", 5), ("an existing folder", _Lazy(_folder))],
            "cards": [
                ("a string", "x"),
                ("None", None),
                ("a dict", [{"study": "demo"}]),
                ("an int entry", [5]),
            ],
        },
    )
    b.mutate(
        "eqlab.runs._index.IndexCard",
        IndexCard,
        lambda: {"study": "demo", "title": "Demo", "folder": _folder(), "status": "ok"},
        {
            "study": [("None", None), ("int", 5), ("empty", "")],
            "folder": [("a string", "runs/x"), ("None", None)],
            "status": [("None", None), ("empty", "")],
            "verdicts": [("strings", ["supported"])],
            "scale": [("unknown", "huge"), ("None", None), ("empty", "")],
            "device": [("unknown", "tpu"), ("None", None)],
            "key_figure": [
                ("outside plots/", "../../etc/passwd"),
                ("absolute", "/abs/plot.png"),
                ("in a folder", "sub/plot.png"),
                ("empty", ""),
                ("int", 5),
            ],
        },
    )
    return b


def _demo_study() -> Study:
    return Study("demo", "A demo study", Demo, Demo, _run, _report, 1.0, paper={"epochs": 100})


def _frozen_linear() -> torch.nn.Module:
    layer = torch.nn.Linear(2, 1)
    layer.requires_grad_(False)
    return layer


def _good_checkpoint() -> Path:
    path = _folder() / "good.pt"
    save_checkpoint(path, {"epoch": 1})
    return path


def _without(key: str) -> dict[str, Any]:
    return {k: v for k, v in get_rng_state().items() if k != key}


def _replaced(key: str, value: Any) -> dict[str, Any]:
    return {**get_rng_state(), key: value}

"""Bad inputs for `eqlab._runner`: selecting studies, resolving configs, running, resuming, reporting.

The valid calls run a tiny study (``battery``) registered for the duration of each call only, so that
no case trains anything real.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import ChainMap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eqlab import _runner as runner
from eqlab.runs import Report, RunFolder, Study, judge
from eqlab.studies import STUDIES
from tests.battery.harness import Battery

_ROOT = tempfile.TemporaryDirectory(prefix="eqlab-battery-runner-")
NAME = "battery"


def _folder() -> Path:
    return Path(tempfile.mkdtemp(dir=_ROOT.name))


@dataclass(frozen=True)
class TinyConfig:
    seeds: int = 3
    factor: float = 1.0
    sizes: tuple[int, ...] = (1, 2)


@dataclass(frozen=True)
class TinyResults:
    values: tuple[float, ...]


def _tiny_run(config: TinyConfig, run: RunFolder) -> TinyResults:
    values = tuple(config.factor * (1 + 0.1 * s) for s in range(config.seeds))
    return run.unit("only", lambda: TinyResults(values), TinyResults)


def _tiny_report(config: TinyConfig, results: TinyResults, plots: Path) -> Report:
    return Report(
        NAME,
        "The battery's tiny study",
        "none",
        "the values are positive",
        "three numbers",
        verdicts=[judge("values are positive", results.values)],
    )


TINY = Study(
    NAME, "a tiny study for the bad-input battery", TinyConfig, TinyResults, _tiny_run, _tiny_report, 0.01
)


@contextlib.contextmanager
def _registered() -> Iterator[None]:
    saved = runner.STUDIES
    runner.STUDIES = ChainMap({NAME: TINY}, STUDIES)  # type: ignore[assignment]
    try:
        yield
    finally:
        runner.STUDIES = saved  # type: ignore[misc]


class _Lazy:
    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def _with_tiny(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` called with the tiny study registered and `_Lazy` arguments made."""

    def call(*args: Any, **kwargs: Any) -> Any:
        with _registered():
            args = tuple(a.make() if isinstance(a, _Lazy) else a for a in args)
            return fn(*args, **{k: v.make() if isinstance(v, _Lazy) else v for k, v in kwargs.items()})

    return call


def _run_folder(finished: bool = True, **change: Any) -> Path:
    """A run folder of the tiny study, as ``run_studies`` leaves it (``results.json`` when finished);
    ``change`` replaces entries of ``config.json`` (``None`` removes one)."""
    folder = _folder() / f"20240101-000000-{NAME}"
    run = RunFolder(folder)
    saved: dict[str, Any] = {
        "study": NAME,
        "config": {"seeds": 3, "factor": 1.0, "sizes": [1, 2]},
        "run": {"seed": 0, "device": "cpu", "quick": True, "data_dir": None},
    }
    saved.update(change)
    run.write_json("config.json", {k: v for k, v in saved.items() if v is not None})
    if finished:
        run.write_json("results.json", {"values": [1.0, 1.1, 1.2]})
    return folder


def _with_file(name: str, text: str, finished: bool = True) -> Path:
    folder = _run_folder(finished)
    (folder / name).write_text(text)
    return folder


def _a_file() -> Path:
    path = _folder() / "a-file.txt"
    path.write_text("hello")
    return path


def _missing() -> Path:
    return Path(tempfile.gettempdir()) / "eqlab-battery-no-such-run"


def _run_dirs() -> list[tuple[str, Any]]:
    """Bad run folders, for `resume` and `rebuild_report`."""
    return [
        ("None", None),
        ("int", 5),
        ("missing folder", _missing()),
        ("empty folder", _Lazy(_folder)),
        ("a file", _Lazy(_a_file)),
        ("garbage config.json", _Lazy(lambda: _with_file("config.json", "{not json"))),
        ("config.json naming an unknown study", _Lazy(lambda: _run_folder(study="nope"))),
        ("config.json without the config", _Lazy(lambda: _run_folder(config=None))),
        ("config.json without run settings", _Lazy(lambda: _run_folder(run=None))),
        (
            "config.json with a string for an int",
            _Lazy(lambda: _run_folder(config={"seeds": "3", "factor": 1.0, "sizes": [1, 2]})),
        ),
        (
            "config.json with an unknown field",
            _Lazy(lambda: _run_folder(config={"seeds": 3, "nokey": 1})),
        ),
        ("config.json holding a list", _Lazy(lambda: _with_file("config.json", "[1, 2]"))),
    ]


def build() -> Battery:
    b = Battery()

    b.mutate(
        "eqlab._runner.select_studies",
        _with_tiny(runner.select_studies),
        {"names": [NAME]},
        {
            "names": [
                ("a string", NAME),
                ("None", None),
                ("int", 5),
                ("unknown", ["nope"]),
                ("an int name", [5]),
                ("a None name", [None]),
                ("twice", [NAME, NAME]),
                ("empty name", [""]),
            ]
        },
        names={"names": ("names", "study")},
    )

    b.mutate(
        "eqlab._runner.resolve_configs",
        _with_tiny(runner.resolve_configs),
        lambda: {"studies": [TINY], "overrides": {"seeds": "4"}, "quick": False},
        {
            "studies": [
                ("names, not studies", [NAME]),
                ("None", None),
                ("a Study, not a list", TINY),
                ("an int entry", [5]),
                ("twice", [TINY, TINY]),
            ],
            "overrides": [
                ("a list", ["seeds=4"]),
                ("a string", "seeds=4"),
                ("unknown key", {"nokey": "1"}),
                ("not an int", {"seeds": "many"}),
                ("an unselected study", {"other.seeds": "3"}),
                ("an unknown key of the study", {f"{NAME}.nokey": "3"}),
                ("a None value", {"seeds": None}),
            ],
            "quick": [("string", "yes"), ("int", 1), ("None", None)],
        },
        names={"overrides": ("overrides", "nokey", "seeds", "other")},
    )

    b.mutate(
        "eqlab._runner.run_studies",
        _with_tiny(runner.run_studies),
        lambda: {
            "names": [NAME],
            "overrides": {"factor": "2"},
            "quick": True,
            "seed": 0,
            "device": "cpu",
            "data_dir": None,
            "out": _folder(),
        },
        {
            "names": [
                ("a string", NAME),
                ("unknown", ["nope"]),
                ("an int name", [5]),
                ("twice", [NAME, NAME]),
            ],
            "overrides": [
                ("a list", ["factor=2"]),
                ("unknown key", {"nokey": "1"}),
                ("a string", "factor=2"),
                ("not a number", {"factor": "x"}),
                ("an unknown scale", {"scale": "huge"}),
            ],
            "quick": [("string", "yes"), ("int", 1)],
            "seed": [("negative", -1), ("float", 1.5), ("string", "0"), ("bool", True)],
            "device": [("unknown", "gpu"), ("None", None), ("int", 5)],
            "data_dir": [
                ("int", 5),
                ("empty string", ""),
                ("a file", _Lazy(lambda: str(_a_file()))),
            ],
            "out": [("None", None), ("int", 5), ("an existing file", _Lazy(_a_file))],
        },
        names={"names": ("names", "study"), "overrides": ("overrides", "nokey", "factor", "scale")},
    )

    b.mutate(
        "eqlab._runner.resume",
        _with_tiny(runner.resume),
        lambda: {"run_dir": _Lazy(lambda: _run_folder(finished=False))},
        {"run_dir": _run_dirs()},
    )

    b.mutate(
        "eqlab._runner.rebuild_report",
        _with_tiny(runner.rebuild_report),
        lambda: {"run_dir": _Lazy(_run_folder)},
        {
            "run_dir": [
                *_run_dirs(),
                ("no results.json", _Lazy(lambda: _run_folder(finished=False))),
                ("garbage results.json", _Lazy(lambda: _with_file("results.json", "{oops"))),
            ]
        },
    )
    return b

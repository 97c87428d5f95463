"""Bad inputs for the ``eqlab`` command: ``list``, ``run``, ``report``, ``exactness``, ``audit`` and
``check-activation``. A clear refusal is exit code 2 with the argument named in the output.

Files the cases need (garbage checkpoints, run folders, matrix files) are written to a fresh temporary
folder inside each case, so a case never depends on another. The valid ``run`` and ``report`` calls run
the ``activations`` study at its smallest scale (a few seconds), once per process.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from eqlab.runs._config import config_to_dict, parse_assignments
from eqlab.studies import STUDIES
from tests.battery.harness import Battery, CliResult, invoke
from tests.battery.models import cnn

_SCRATCH = Path(tempfile.mkdtemp(prefix="eqlab-battery-cli-"))
atexit.register(shutil.rmtree, _SCRATCH, True)

LIGHT = ["seeds=1", "train.epochs=1", "train_points=20", "test_points=10", "hidden_copies=1"]
"""--set overrides that make the activations study take a few seconds."""

MODEL = "tests.battery.models:cnn"


def _folder() -> Path:
    return Path(tempfile.mkdtemp(dir=_SCRATCH))


def _file(name: str, content: bytes | str) -> str:
    path = _folder() / name
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    return str(path)


def _torch_file(name: str, obj: Any) -> str:
    path = _folder() / name
    torch.save(obj, path)
    return str(path)


def _npy_file(array: np.ndarray) -> str:
    path = _folder() / "matrices.npy"
    np.save(path, array)
    return str(path)


def _run_folder(config: Any = None, results: Any = None, *, study: str = "activations") -> str:
    """A run folder with the given ``config.json`` (default: a valid one) and ``results.json``."""
    folder = _folder() / f"20260101-000000-{study}"
    folder.mkdir()
    if config is None:
        light = STUDIES["activations"].configure(parse_assignments(LIGHT), quick=True)
        config = {
            "study": study,
            "config": config_to_dict(light),
            "run": {"seed": 0, "device": "cpu", "quick": True, "scale": "quick", "data_dir": None},
        }
    (folder / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    if results is not None:
        (folder / "results.json").write_text(results if isinstance(results, str) else json.dumps(results))
    return str(folder)


@functools.cache
def _finished_run() -> Path:
    """A finished activations run at the smallest scale, made once per process."""
    out = _folder()
    result = invoke(["run", "activations", "--quick", *_sets(LIGHT), "--out", str(out)])
    if result.exit_code != 0:
        raise RuntimeError(f"the light activations run failed: {result.output[-2000:]}")
    (folder,) = [p for p in out.iterdir() if p.name.endswith("-activations")]
    return folder


def _copy_of_finished_run() -> str:
    target = _folder() / _finished_run().name
    shutil.copytree(_finished_run(), target)
    return str(target)


def _names(argument: str, names: tuple[str, ...]) -> tuple[str, ...]:
    """What the output may call an option: ``--data-dir`` or its parameter's name ``data_dir``, plus
    ``names``."""
    if not argument.startswith("--"):
        return names
    return (argument, argument[2:].replace("-", "_"), *names)


def _sets(items: list[str]) -> list[str]:
    return [part for item in items for part in ("--set", item)]


Lazy = Callable[[], Any]


def _lazy(value: Any) -> Any:
    return value() if callable(value) else value


def _run_argv(
    studies: Any = ("activations",),
    quick: bool = True,
    set_: Any = tuple(LIGHT),
    seed: Any = "0",
    device: Any = "cpu",
    data_dir: Any = None,
    out: Any = None,
    resume: Any = None,
    extra: Any = (),
) -> CliResult:
    argv = ["run", *_lazy(studies)]
    if quick:
        argv.append("--quick")
    argv += _sets(list(_lazy(set_)))
    argv += ["--seed", str(_lazy(seed)), "--device", _lazy(device)]
    if data_dir is not None:
        argv += ["--data-dir", _lazy(data_dir)]
    argv += ["--out", str(_lazy(out) if out is not None else _folder())]
    if resume is not None:
        argv += ["--resume", _lazy(resume)]
    return invoke(argv + list(_lazy(extra)))


def _exactness_argv(model: Any = MODEL, size: Any = "9", group: Any = None, extra: Any = ()) -> CliResult:
    argv = ["exactness", _lazy(model), "--size", str(_lazy(size))]
    if group is not None:
        argv += ["--group", _lazy(group)]
    return invoke(argv + list(_lazy(extra)))


def _audit_argv(model: Any = MODEL, size: Any = "9", symmetry: Any = "rot90", extra: Any = ()) -> CliResult:
    argv = ["audit", _lazy(model), "--size", str(_lazy(size)), "--symmetry", _lazy(symmetry)]
    return invoke(argv + list(_lazy(extra)))


def _builder_checkpoint(builder: str = MODEL, state: Any = None) -> str:
    """An eqlab-style checkpoint: the builder to import and call, and the model's state."""
    return _torch_file(
        "ckpt.pt", {"builder": builder, "model": cnn().state_dict() if state is None else state}
    )


def _check_activation_argv(
    representation: Any = "C4:rot2d", activation: Any = "tanh", extra: Any = ()
) -> CliResult:
    return invoke(["check-activation", _lazy(representation), _lazy(activation), *_lazy(extra)])


def build() -> Battery:
    b = Battery()

    # --- eqlab list -------------------------------------------------------------------------------
    b.add_valid("eqlab list", lambda: invoke(["list"]))
    for label, argv, argument in [
        ("unknown option", ["--quick"], "--quick"),
        ("unknown long option", ["--all"], "--all"),
        ("unknown short option", ["-n", "3"], "-n"),
        ("option of another command", ["--out", "runs"], "--out"),
        ("json flag", ["--json"], "--json"),
        ("a study name", ["sharing"], "sharing"),
        ("two study names", ["sharing", "activations"], "sharing"),
        ("seed option", ["--seed", "0"], "--seed"),
    ]:
        b.add("eqlab list", argument, label, lambda argv=argv: invoke(["list", *argv]))

    # --- eqlab run --------------------------------------------------------------------------------
    b.add_valid("eqlab run", lambda: _run_argv())
    run_cases: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
        ("studies", "unknown study", {"studies": ["nosuch"]}, ("studies", "STUDIES", "study")),
        ("studies", "misspelt study", {"studies": ["activation"]}, ("studies", "STUDIES", "study")),
        ("--seed", "word", {"seed": "abc"}, ()),
        ("--seed", "float", {"seed": "1.5"}, ()),
        ("--seed", "negative", {"seed": "-1"}, ()),
        ("--device", "unknown device", {"device": "tpu"}, ()),
        ("--set", "no equals sign", {"set_": ["seeds"]}, ()),
        ("--set", "empty key", {"set_": ["=3"]}, ()),
        ("--set", "unknown key", {"set_": ["epochz=3"]}, ("epochz",)),
        ("--set", "badly typed value", {"set_": ["seeds=three"]}, ("seeds",)),
        ("--set", "zero seeds", {"set_": [*LIGHT, "seeds=0"]}, ("seeds",)),
        ("--set", "negative epochs", {"set_": [*LIGHT, "train.epochs=-1"]}, ("epochs",)),
        ("--set", "nan learning rate", {"set_": [*LIGHT, "train.lr=nan"]}, ("lr",)),
        ("--set", "a flat key that is nested", {"set_": [*LIGHT, "epochs=3"]}, ("epochs",)),
        ("--set", "unknown nested key", {"set_": [*LIGHT, "train.epochz=3"]}, ("train.epochz",)),
        ("--set", "unknown scale", {"set_": ["scale=huge"]}, ("scale",)),
        ("--set", "paper scale with --quick", {"set_": ["scale=paper"]}, ("scale", "quick")),
        ("--set", "list for an int", {"set_": ["seeds=1,2"]}, ("seeds",)),
        ("--set", "unknown study prefix", {"set_": ["nosuch.seeds=1"]}, ("nosuch",)),
        ("--resume", "missing folder", {"resume": lambda: str(_folder() / "missing")}, ()),
        (
            "--resume",
            "garbage config.json",
            {"studies": [], "set_": [], "resume": lambda: _run_folder("{not json")},
            (),
        ),
        ("--out", "an existing file", {"out": lambda: _file("out.txt", "not a folder")}, ()),
        ("--data-dir", "a file", {"data_dir": lambda: _file("data.txt", "not a folder")}, ()),
        ("--quick", "given a value", {"extra": ["--quick=yes"]}, ()),
    ]
    for argument, label, replace, names in run_cases:
        b.add("eqlab run", argument, label, lambda r=replace: _run_argv(**r), _names(argument, names))

    # --- eqlab report -----------------------------------------------------------------------------
    b.add_valid("eqlab report", lambda: invoke(["report", _copy_of_finished_run()]))
    run_dir = ("RUN_DIR", "run_dir")
    report_cases: list[tuple[str, Callable[[], str]]] = [
        ("missing folder", lambda: str(_folder() / "missing")),
        ("a file", lambda: _file("results.json", "{}")),
        ("empty folder", lambda: str(_folder())),
        ("garbage config.json", lambda: _run_folder("{not json")),
        ("config.json of an unknown study", lambda: _run_folder(None, {}, study="nosuch")),
        ("config.json without its config", lambda: _run_folder({"study": "activations"}, {})),
        (
            "config.json with an unknown config key",
            lambda: _run_folder({"study": "activations", "config": {"epochz": 3}, "run": {}}, {}),
        ),
        ("no results.json", lambda: _run_folder()),
        ("garbage results.json", lambda: _run_folder(None, "{not json")),
        ("empty results.json", lambda: _run_folder(None, {})),
    ]
    for label, make in report_cases:
        b.add("eqlab report", "RUN_DIR", label, lambda make=make: invoke(["report", make()]), run_dir)
    b.add(
        "eqlab report",
        "--quick",
        "unknown option",
        lambda: invoke(["report", _run_folder(), "--quick"]),
        _names("--quick", ()),
    )

    # --- eqlab exactness --------------------------------------------------------------------------
    b.add_valid("eqlab exactness", lambda: _exactness_argv())
    b.add_valid(
        "eqlab exactness",
        lambda: _exactness_argv(model=lambda: _builder_checkpoint(), extra=["--allow-pickle"]),
    )
    model = ("MODEL", "model")
    exactness_cases: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
        ("--size", "word", {"size": "big"}, ()),
        ("--size", "zero", {"size": "0"}, ()),
        ("--size", "negative", {"size": "-5"}, ()),
        ("--size", "float", {"size": "2.5"}, ()),
        ("--group", "unknown group", {"group": "p6"}, ()),
        ("--group", "capitalised group", {"group": "P4"}, ()),
        ("MODEL", "unknown module", {"model": "nosuchmodule:cnn"}, model),
        ("MODEL", "unknown function", {"model": "tests.battery.models:nosuch"}, model),
        ("MODEL", "no colon", {"model": "tests.battery.models"}, model),
        ("MODEL", "missing checkpoint", {"model": lambda: str(_folder() / "missing.pt")}, model),
        (
            "MODEL",
            "garbage checkpoint",
            {"model": lambda: _file("garbage.pt", b"\x00not a checkpoint")},
            model,
        ),
        (
            "MODEL",
            "a .pt holding a tensor",
            {"model": lambda: _torch_file("tensor.pt", torch.zeros(3))},
            model,
        ),
        (
            "MODEL",
            "a checkpoint naming a missing builder",
            {
                "model": lambda: _builder_checkpoint("tests.battery.models:nosuch", {}),
                "extra": ["--allow-pickle"],
            },
            model,
        ),
        (
            "MODEL",
            "a checkpoint with a foreign state",
            {
                "model": lambda: _builder_checkpoint(MODEL, {"weight": torch.zeros(2)}),
                "extra": ["--allow-pickle"],
            },
            model,
        ),
        (
            "--allow-pickle",
            "a checkpoint naming its builder, without --allow-pickle",
            {"model": lambda: _builder_checkpoint()},
            ("MODEL",),
        ),
        ("MODEL", "a builder that returns no module", {"model": "tests.battery.models:not_a_model"}, model),
        ("MODEL", "a model without convolutions", {"model": "tests.battery.models:mlp"}, model),
        ("--confirm", "given a value", {"extra": ["--confirm=yes"]}, ()),
    ]
    for argument, label, replace, names in exactness_cases:
        b.add(
            "eqlab exactness",
            argument,
            label,
            lambda r=replace: _exactness_argv(**r),
            _names(argument, names),
        )

    # --- eqlab audit ------------------------------------------------------------------------------
    b.add_valid("eqlab audit", lambda: _audit_argv())
    b.add_valid(
        "eqlab audit",
        lambda: _audit_argv(model=lambda: _torch_file("net.pt", cnn()), extra=["--allow-pickle"]),
    )
    b.add_valid(
        "eqlab audit", lambda: _audit_argv(model=lambda: _builder_checkpoint(), extra=["--allow-pickle"])
    )
    audit_cases: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
        ("--symmetry", "an angle that is not a grid symmetry", {"symmetry": "rot45"}, ()),
        ("--symmetry", "capitalised", {"symmetry": "ROT90"}, ()),
        ("--symmetry", "empty", {"symmetry": ""}, ()),
        ("--size", "zero", {"size": "0"}, ()),
        ("--size", "negative", {"size": "-3"}, ()),
        ("--size", "float", {"size": "2.5"}, ()),
        ("--size", "word", {"size": "big"}, ()),
        ("--height", "zero", {"extra": ["--height", "0"]}, ()),
        ("--tolerance", "negative", {"extra": ["--tolerance", "-1"]}, ()),
        ("--tolerance", "nan", {"extra": ["--tolerance", "nan"]}, ()),
        ("--tolerance", "word", {"extra": ["--tolerance", "x"]}, ()),
        ("--out-action", "unknown", {"extra": ["--out-action", "sideways"]}, ()),
        ("--out-action", "capitalised", {"extra": ["--out-action", "Image"]}, ()),
        ("MODEL", "unknown module", {"model": "nosuchmodule:cnn"}, model),
        ("MODEL", "unknown function", {"model": "tests.battery.models:nosuch"}, model),
        ("MODEL", "no colon", {"model": "tests.battery.models"}, model),
        ("MODEL", "a builder that returns no module", {"model": "tests.battery.models:not_a_model"}, model),
        ("MODEL", "a model without convolutions", {"model": "tests.battery.models:mlp"}, model),
        ("MODEL", "missing file", {"model": lambda: str(_folder() / "missing.pt")}, model),
        ("MODEL", "garbage file", {"model": lambda: _file("garbage.pt", b"\x00not a checkpoint")}, model),
        (
            "MODEL",
            "garbage file, with --allow-pickle",
            {"model": lambda: _file("garbage.pt", b"\x00not a checkpoint"), "extra": ["--allow-pickle"]},
            model,
        ),
        ("MODEL", "a state dict", {"model": lambda: _torch_file("state.pt", cnn().state_dict())}, model),
        (
            "MODEL",
            "a .pt holding a tensor",
            {"model": lambda: _torch_file("tensor.pt", torch.zeros(3))},
            model,
        ),
        (
            "--allow-pickle",
            "a pickled module, without --allow-pickle",
            {"model": lambda: _torch_file("net.pt", cnn())},
            ("MODEL",),
        ),
        (
            "--allow-pickle",
            "a checkpoint naming its builder, without --allow-pickle",
            {"model": lambda: _builder_checkpoint()},
            ("MODEL",),
        ),
        (
            "MODEL",
            "a checkpoint with a foreign state",
            {
                "model": lambda: _builder_checkpoint(MODEL, {"weight": torch.zeros(2)}),
                "extra": ["--allow-pickle"],
            },
            model,
        ),
        ("--html", "a folder", {"extra": lambda: ["--html", str(_folder())]}, ()),
        ("--json", "given a value", {"extra": ["--json=yes"]}, ()),
    ]
    for argument, label, replace, names in audit_cases:
        b.add("eqlab audit", argument, label, lambda r=replace: _audit_argv(**r), _names(argument, names))

    # --- eqlab check-activation -------------------------------------------------------------------
    b.add_valid("eqlab check-activation", lambda: _check_activation_argv())
    b.add_valid("eqlab check-activation", lambda: _check_activation_argv("C3:regular", "relu"))
    rep = ("REPRESENTATION", "representation")
    act = ("ACTIVATION", "activation")
    check_cases: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
        ("ACTIVATION", "unknown activation", {"activation": "relu6"}, act),
        ("ACTIVATION", "empty activation", {"activation": ""}, act),
        ("REPRESENTATION", "unknown family", {"representation": "X4:regular"}, rep),
        ("REPRESENTATION", "regular representation too large", {"representation": "C2000:regular"}, rep),
        ("REPRESENTATION", "symmetric group too large", {"representation": "S7:regular"}, rep),
        ("REPRESENTATION", "group too small", {"representation": "C1:regular"}, rep),
        ("REPRESENTATION", "kind the family lacks", {"representation": "S3:rot2d"}, rep),
        ("REPRESENTATION", "nan angle", {"representation": "SO2:rot2d@nandeg"}, rep),
        ("REPRESENTATION", "missing file", {"representation": lambda: str(_folder() / "missing.npy")}, rep),
        ("REPRESENTATION", "garbage .npy", {"representation": lambda: _file("m.npy", b"garbage")}, rep),
        ("REPRESENTATION", "garbage .json", {"representation": lambda: _file("m.json", "{not json")}, rep),
        ("REPRESENTATION", "garbage .pt", {"representation": lambda: _file("m.pt", b"\x00garbage")}, rep),
        (
            "REPRESENTATION",
            "non-square matrices in .json",
            {"representation": lambda: _file("m.json", "[[[1, 0, 0], [0, 1, 0]]]")},
            rep,
        ),
        (
            "REPRESENTATION",
            "a .pt holding a dict",
            {"representation": lambda: _torch_file("m.pt", {"matrices": [1.0]})},
            rep,
        ),
        (
            "REPRESENTATION",
            "nan in .npy",
            {"representation": lambda: _npy_file(np.full((1, 2, 2), np.nan))},
            rep,
        ),
        (
            "REPRESENTATION",
            "singular matrix in .npy",
            {"representation": lambda: _npy_file(np.array([[[1.0, 0.0], [0.0, 0.0]]]))},
            rep,
        ),
        ("--fix", "given a value", {"extra": ["--fix=maybe"]}, ()),
    ]
    for argument, label, replace, names in check_cases:
        b.add(
            "eqlab check-activation",
            argument,
            label,
            lambda r=replace: _check_activation_argv(**r),
            _names(argument, names),
        )
    return b

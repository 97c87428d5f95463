"""The run folder: everything one study run leaves behind.

```
runs/<timestamp>-<study>/
  config.json      resolved config, plus the run settings (seed, device, quick, data_dir)
  env.json         versions, git commit, device, seed, machine
  metrics.jsonl    one JSON object per line, streamed during training
  units/*.json     results of finished work units (a resumed run skips them)
  checkpoints/     training checkpoints (embed the config)
  results.json     the study's results (no timings: those go to timings.json)
  plots/*.png, report.md, report.html
```
Only rank 0 of a distributed run writes.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from eqlab._arguments import choice, describe, function, integer, string
from eqlab._arguments import path as check_path
from eqlab.runs._atomic import atomic_write_json
from eqlab.runs._results import from_json, to_json
from eqlab.runs._seeding import numpy_rng, seed_for, torch_generator

__all__ = ["DEVICES", "RunFolder", "environment"]

DEVICES = ("cpu", "cuda")
T = TypeVar("T")


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def environment(seed: int, device: str) -> dict[str, Any]:
    """Versions, git commit, device and seed, for env.json."""
    seed = integer(seed, "seed", minimum=0)
    device = choice(device, "device", DEVICES)
    import numpy
    import scipy

    from eqlab._version import __version__

    return {
        "eqlab": __version__,
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "git_commit": _git_commit(),
        "device": device,
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "seed": seed,
    }


class RunFolder:
    """One study run's folder, with the settings every study needs.

    Parameters
    ----------
    path
        The folder (created if missing).
    seed
        The base seed; work units derive theirs from it.
    device
        ``"cpu"`` or ``"cuda"``.
    data_dir
        Where real data sets are read from, if any.
    rank
        The process rank under torchrun; only rank 0 writes.
    """

    path: Path
    """The run's folder, with its ``units``, ``checkpoints`` and ``plots`` subfolders (made by rank 0)."""
    seed: int
    """The base seed; work units derive theirs from it."""
    device: str
    """``"cpu"`` or ``"cuda"``."""
    data_dir: str | None
    """Where real data sets are read from (``None``: none given)."""
    rank: int
    """The process rank under torchrun; only rank 0 writes."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        seed: int = 0,
        device: str = "cpu",
        data_dir: str | None = None,
        rank: int = 0,
    ) -> None:
        self.path = check_path(path, "path")
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"path must be a folder (it is created if missing), got the file {self.path}")
        self.seed = integer(seed, "seed", minimum=0)
        self.device = choice(device, "device", DEVICES)
        if data_dir is not None:  # a missing folder holds no data: studies fall back to bundled data
            folder = check_path(data_dir, "data_dir")
            if folder.exists() and not folder.is_dir():
                raise ValueError(f"data_dir must be a folder or None, got the file {str(folder)!r}")
            data_dir = str(folder)
        self.data_dir = data_dir
        self.rank = integer(rank, "rank", minimum=0)
        if self.writes:
            for sub in ("units", "checkpoints", "plots"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)

    @property
    def writes(self) -> bool:
        """Whether this process writes (rank 0)."""
        return self.rank == 0

    @property
    def plots(self) -> Path:
        """Folder of the report's PNG plots."""
        return self.path / "plots"

    def checkpoint_path(self, unit: str) -> Path:
        """Where the training checkpoint of work unit ``unit`` lives."""
        return self.path / "checkpoints" / f"{unit}.pt"

    def write_json(self, name: str, value: Any) -> None:
        """Write ``value`` to ``<run>/<name>`` atomically (rank 0 only)."""
        if self.writes:
            atomic_write_json(self.path / name, value)

    def read_json(self, name: str) -> Any:
        """Read ``<run>/<name>``."""
        return json.loads((self.path / name).read_text())

    def log_metrics(self, **fields: Any) -> None:
        """Append one line to metrics.jsonl (rank 0 only), flushed at once."""
        if not self.writes:
            return
        with (self.path / "metrics.jsonl").open("a") as handle:
            handle.write(json.dumps(fields, sort_keys=True) + "\n")
            handle.flush()

    def unit_result(self, unit: str) -> Any | None:
        """The saved result of a finished work unit, or ``None``."""
        path = self.path / "units" / f"{unit}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def save_unit(self, unit: str, result: Any) -> None:
        """Save a finished work unit's result (its final checkpoint stays as the trained model)."""
        if self.writes:
            atomic_write_json(self.path / "units" / f"{unit}.json", to_json(result))

    def unit(self, name: str, compute: Callable[[], T], result_type: type[T] | None = None) -> T:
        """The result of the work unit ``name``: read back when a finished run (or an earlier pass of
        this one) saved it, else ``compute()``, saved, then returned.

        ``result_type`` (a dataclass type, or any type `from_json` reads) types the result: a saved one is
        read back as it, and a fresh one goes through the same JSON round trip, so both paths return the
        same values. Without it the result must be plain JSON values. Every rank computes (training takes
        every rank); only rank 0 saves.
        """
        name = string(name, "name")
        if any(sep in name for sep in ("/", "\\", "\0")) or name in (".", "..") or len(name) > 200:
            raise ValueError(
                "name must be a plain name of at most 200 characters (it names a file in units/), "
                f"got {name!r}"
            )
        function(compute, "compute")
        if result_type is not None and not (isinstance(result_type, type) or typing.get_origin(result_type)):
            raise TypeError(
                f"result_type must be a type (a results dataclass) or None, got {describe(result_type)}"
            )
        saved = self.unit_result(name)
        if saved is None:
            result = compute()
            if result is None:
                raise TypeError(f"compute must return the unit's result, got None for unit {name!r}")
            self.save_unit(name, result)
            saved = to_json(result)
        return from_json(result_type, saved, f"units/{name}.json") if result_type is not None else saved

    def seed_for(self, *names: str | int) -> int:
        """The seed of the stream ``names`` of this run (`eqlab.runs._seeding.seed_for`)."""
        return seed_for(self.seed, *names)

    def generator(self, *names: str | int) -> torch.Generator:
        """A CPU torch generator for the stream ``names`` of this run."""
        return torch_generator(self.seed, *names)

    def rng(self, *names: str | int) -> np.random.Generator:
        """A numpy generator for the stream ``names`` of this run."""
        return numpy_rng(self.seed, *names)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r}, seed={self.seed}, device={self.device!r})"

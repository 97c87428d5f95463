"""Which modules each entry point loads, so a slow import is caught without timing anything.

Each command runs in a fresh interpreter with ``-X importtime`` (``PYTHONPROFILEIMPORTTIME=1`` for the
console script), which writes one stderr line for every module imported for the first time. The
figures behind these rules are in BENCHMARKS.md (`benchmarks/bench_import.py`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sympy", "igraph", "matplotlib", "sklearn", "networkx", "scipy", "rich", "typer", "PIL", "pandas")
"""Dependencies that take 0.05 to 0.5 s each to import: loaded only where used."""

CONSOLE_SCRIPT = Path(sys.executable).parent / "eqlab"


def imported_modules(argv: list[str]) -> tuple[set[str], str]:
    """The modules that running ``argv`` imports, and its stdout; the command must succeed."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, f"{argv} exited with {done.returncode}:\n{done.stderr[-3000:]}"
    modules = {
        line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    }
    assert "eqlab" in modules or argv[-1] == "pass", f"{argv}: no import lines read from stderr"
    return modules, done.stdout


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The names in ``packages`` of which ``modules`` holds the package itself or a submodule."""
    return sorted({p for p in packages for m in modules if m == p or m.startswith(p + ".")})


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_the_probe_sees_a_heavy_import() -> None:
    """The probe itself can fail: the Schreier-Sims order of a group loads sympy, when it is asked for."""
    modules, stdout = imported_modules(python("import eqlab.groups; print(eqlab.groups.dihedral(5).order)"))
    assert stdout.strip() == "10"
    assert loaded(modules, HEAVY) == ["sympy"]


def test_import_eqlab_loads_no_subpackage_and_no_torch() -> None:
    modules, _ = imported_modules(python("import eqlab"))
    assert loaded(modules, ("torch", "numpy", *HEAVY)) == []
    assert sorted(m for m in modules if m.startswith("eqlab.")) == ["eqlab._version"]


@pytest.mark.parametrize("package", ["eqlab.nn", "eqlab.gconv", "eqlab.groups", "eqlab.sharing"])
def test_layers_load_no_heavy_dependency(package: str) -> None:
    """The layers need torch and numpy only; sympy (group orders), scipy (orbits), igraph (pattern
    symmetries) load when those are computed."""
    modules, _ = imported_modules(python(f"import torch; import {package}"))
    assert loaded(modules, HEAVY) == []


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["list", "--help"], ["exactness", "--help"]])
def test_cli_help_loads_neither_torch_nor_the_studies(args: list[str]) -> None:
    """``eqlab --help`` is typer and rich only: no torch, numpy, scientific stack or eqlab subpackage."""
    if not CONSOLE_SCRIPT.exists():
        pytest.skip(f"eqlab is not installed in this environment (no {CONSOLE_SCRIPT})")
    for argv in ([str(CONSOLE_SCRIPT), *args], [sys.executable, "-m", "eqlab", *args]):
        modules, stdout = imported_modules(argv)
        assert "Usage" in stdout or stdout.startswith("eqlab ")
        assert loaded(modules, ("torch", "numpy", *HEAVY)) == loaded(modules, ("rich", "typer"))
        subpackages = {m.split(".")[1] for m in modules if m.startswith("eqlab.") and m.count(".") >= 1}
        assert subpackages <= {"_cli", "_version", "__main__"}, sorted(subpackages)

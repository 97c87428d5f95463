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

LIBRARY = (
    "eqlab.activations",
    "eqlab.bayes",
    "eqlab.data",
    "eqlab.exactness",
    "eqlab.gconv",
    "eqlab.groups",
    "eqlab.layerwise",
    "eqlab.nn",
    "eqlab.runs",
    "eqlab.sharing",
    "eqlab.testing",
    "eqlab.trace",
)
"""The packages a user builds and checks models with."""

CONSOLE_SCRIPT = Path(sys.executable).parent / "eqlab"


class Imports:
    """The modules one command imported, in the order ``-X importtime`` reports them (a module after
    the modules it imported, indented one step deeper than its importer)."""

    def __init__(self, lines: list[str]) -> None:
        fields = [line.rsplit("|", 1)[1] for line in lines if line.startswith("import time:")]
        self.order = [(len(f) - len(f.lstrip(" ")), f.strip()) for f in fields]
        self.modules = {name for _, name in self.order}

    def importer(self, index: int) -> str:
        """The module whose import imported module number ``index`` (the command itself at the top)."""
        depth = self.order[index][0]
        return next((name for d, name in self.order[index + 1 :] if d < depth), "the command")

    def loaded(self, packages: tuple[str, ...]) -> list[str]:
        """The names in ``packages`` of which a module was imported (the package or a submodule), each
        with the module that imported the package: the importer of its least indented module."""
        found = []
        for p in packages:
            hits = [(depth, i) for i, (depth, name) in enumerate(self.order) if name.split(".")[0] == p]
            if hits:
                found.append(f"{p} (by {self.importer(min(hits)[1])})")
        return sorted(found)


def imported_modules(argv: list[str]) -> tuple[Imports, str]:
    """The modules that running ``argv`` imports, and its stdout; the command must succeed."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, f"{argv} exited with {done.returncode}:\n{done.stderr[-3000:]}"
    imports = Imports(done.stderr.splitlines())
    assert "eqlab" in imports.modules, f"{argv}: no import lines read from stderr"
    return imports, done.stdout


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_the_probe_sees_a_heavy_import() -> None:
    """The probe itself can fail: the Schreier-Sims order of a group loads sympy, when it is asked for."""
    imports, stdout = imported_modules(python("import eqlab.groups; print(eqlab.groups.dihedral(5).order)"))
    assert stdout.strip() == "10"
    assert imports.loaded(HEAVY) == ["sympy (by the command)"]


def test_the_probe_names_the_importer() -> None:
    """The studies plot, so one of their modules imports matplotlib, and the probe says which (the registry
    imports a study's module when the study is looked up)."""
    imports, _ = imported_modules(python("from eqlab.studies import STUDIES; STUDIES['sharing']"))
    assert [m for m in imports.loaded(HEAVY) if m.startswith("matplotlib (by eqlab.studies._")], (
        imports.loaded(HEAVY)
    )


def test_import_eqlab_loads_no_subpackage_and_no_torch() -> None:
    imports, _ = imported_modules(python("import eqlab"))
    assert imports.loaded(("torch", "numpy", *HEAVY)) == []
    assert sorted(m for m in imports.modules if m.startswith("eqlab.")) == ["eqlab._version"]


def test_import_eqlab_nn_loads_no_heavy_dependency() -> None:
    """The layers need torch and numpy only; sympy (group orders), scipy (orbits), igraph (pattern
    symmetries) load when those are computed."""
    imports, _ = imported_modules(python("import torch; import eqlab.nn"))
    assert imports.loaded(HEAVY) == []


def test_the_library_packages_load_no_heavy_dependency() -> None:
    """Every package but the studies (which plot) and train (whose progress bar is rich's), imported
    together: the solvers, graphs and statistics load in the functions that use them."""
    imports, _ = imported_modules(python("import torch; " + "; ".join(f"import {p}" for p in LIBRARY)))
    assert imports.loaded(HEAVY) == []


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["list", "--help"], ["exactness", "--help"]])
def test_cli_help_loads_neither_torch_nor_the_studies(args: list[str]) -> None:
    """``eqlab --help`` is typer and rich only: no torch, numpy, scientific stack or eqlab subpackage."""
    if not CONSOLE_SCRIPT.exists():
        pytest.skip(f"eqlab is not installed in this environment (no {CONSOLE_SCRIPT})")
    for argv in ([str(CONSOLE_SCRIPT), *args], [sys.executable, "-m", "eqlab", *args]):
        imports, stdout = imported_modules(argv)
        assert "Usage" in stdout or stdout.startswith("eqlab ")
        assert imports.loaded(("torch", "numpy", *HEAVY)) == imports.loaded(("rich", "typer"))
        parts = {m.split(".")[1] for m in imports.modules if m.startswith("eqlab.")}
        assert parts <= {"_cli", "_version", "__main__"}, sorted(parts)

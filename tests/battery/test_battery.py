"""Every bad input gets a clear error naming its argument; every valid call the cases are built from
succeeds; every public entry point has at least 8 cases."""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil

import pytest

import eqlab
from tests.battery import load
from tests.battery.harness import run_case

BATTERY = load()
MIN_CASES = 8

RECORDS: dict[str, str] = {
    "eqlab.activations.ActivationCheck": "the verdict check returns; users read it and never build one",
    "eqlab.activations.PermutationBasis": "returned by permutation_basis; users read it and never build one",
    "eqlab.activations.Rescaling": "the change of basis rescale_to_permutation returns; never built by hand",
    "eqlab.activations.ScanReport": "returned by scan; users read it and never build one",
    "eqlab.AuditReport": "returned by eqlab.audit; users read it and never build one",
    "eqlab.exactness.ExactnessReport": "returned by exactness.check; users read it and never build one",
    "eqlab.sharing.PatternSymmetry": "returned by symmetry_group; users read it and never build one",
    "eqlab.layerwise.AlignResult": "returned by align; users read it and never build one",
    "eqlab.layerwise.SelfAlignResult": "returned by self_align; users read it and never build one",
    "eqlab.layerwise.BarrierCurve": "returned by interpolation_barrier(s); users read it and never build one",
    "eqlab._runner.StudyOutcome": "returned by run_studies and resume; users read it and never build one",
    "eqlab.runs.Verdict": "produced by judge (and read back by Verdict.from_dict); users never build one",
    "eqlab.nn.is_group_layer": "a predicate: any value is a valid question (False unless a group layer)",
    "eqlab.trace.TraceFailure": "the exception trace_model raises; users catch it, never call it",
    "eqlab.trace.TracedModel": "returned by trace_model; users read it and never build one",
    "eqlab.trace.TracedNode": "one node of a TracedModel, built by trace_model only",
}
"""Public classes that eqlab returns and users do not build, by path, with why they have no cases."""


def test_every_record_names_a_public_entry_point() -> None:
    stale = [path for path in RECORDS if path.rsplit(".", 1)[1] not in _public_names(path.rsplit(".", 1)[0])]
    assert not stale, f"RECORDS names paths that are not public: {stale}"


def _public_names(module: str) -> list[str]:
    return list(getattr(importlib.import_module(module), "__all__", []))


@pytest.mark.parametrize("case", BATTERY.cases, ids=lambda c: c.id)
def test_bad_input_gets_a_clear_error(case) -> None:  # type: ignore[no-untyped-def]
    outcome = run_case(case)
    assert outcome.kind == "clear", outcome.detail


@pytest.mark.parametrize("entry, call", BATTERY.valid, ids=[e for e, _ in BATTERY.valid])
def test_the_valid_call_behind_the_cases_succeeds(entry, call) -> None:  # type: ignore[no-untyped-def]
    result = call()
    exit_code = getattr(result, "exit_code", 0)
    assert exit_code in (0, 1), getattr(result, "output", "")


def public_entry_points() -> list[str]:
    """Every callable in a package's ``__all__`` that takes arguments, by its first public path."""
    found: dict[int, str] = {}
    modules = ["eqlab", *sorted(f"eqlab.{m.name}" for m in pkgutil.iter_modules(eqlab.__path__))]
    for name in modules:
        if name.split(".")[-1].startswith("_"):
            continue
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if not callable(obj) or id(obj) in found or isinstance(obj, enum.EnumMeta):
                continue
            try:
                takes = bool(inspect.signature(obj).parameters)
            except (TypeError, ValueError):
                takes = True
            if takes:
                found[id(obj)] = f"{name}.{attr}"
    return sorted(found.values())


def test_every_public_entry_point_has_enough_cases() -> None:
    counts: dict[str, int] = {}
    for case in BATTERY.cases:
        counts[case.entry] = counts.get(case.entry, 0) + 1
    short = {
        entry: counts.get(entry, 0)
        for entry in public_entry_points()
        if entry not in RECORDS and counts.get(entry, 0) < MIN_CASES
    }
    assert not short, f"entry points with fewer than {MIN_CASES} bad inputs: {short}"


def cli_commands() -> list[str]:
    """Every ``eqlab`` subcommand, as ``"eqlab NAME"``."""
    from eqlab._cli import app

    return sorted(f"eqlab {c.name or c.callback.__name__.replace('_', '-')}" for c in app.registered_commands)


def test_every_cli_command_has_enough_cases() -> None:
    counts: dict[str, int] = {}
    for case in BATTERY.cases:
        counts[case.entry] = counts.get(case.entry, 0) + 1
    short = {c: counts.get(c, 0) for c in cli_commands() if counts.get(c, 0) < MIN_CASES}
    assert not short, f"commands with fewer than {MIN_CASES} bad inputs: {short}"

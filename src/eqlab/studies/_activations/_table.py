"""The table unit: on one seed, every (representation, activation) cell, with Theorem 1's verdict as eqlab
decides it, `check`'s verdict and the measured float64 error, and each representation's class and fix."""

from __future__ import annotations

import numpy as np

from eqlab.activations import check, permutation_basis, rescale_to_permutation
from eqlab.activations._check import _decide, worst_case
from eqlab.activations._classes import classify
from eqlab.activations._functions import as_activation
from eqlab.studies._activations._representations import ACTIVATIONS, REPRESENTATIONS
from eqlab.studies._activations._results import Cell, RepresentationRow, TableSeed


def _fix(mats: np.ndarray, case: str) -> str:
    """The change of basis the theory allows, in words."""
    if case in ("permutation",):
        return "none needed"
    if "monomial" in case or case == "signed permutation":
        try:
            rescaled = rescale_to_permutation(mats)
        except ValueError as exc:
            return f"none: {exc}"
        if case == "signed permutation":
            return "none for non-odd activations (already a signed permutation)"
        return f"positive rescaling to a {rescaled.case} group"
    found = permutation_basis(mats)
    if found.found:
        return f"change of basis to permutations of {'+'.join(str(size) for _, size in found.cosets)} points"
    return f"none (fails: {found.test})"


def table_unit(seed_index: int, rng: np.random.Generator, input_seed: int) -> TableSeed:
    """Every (representation, activation) cell on one seed: the representations' random parts drawn from
    ``rng``, the random inputs of the measurement from ``input_seed``."""
    infos = {name: as_activation(activation) for name, activation in ACTIVATIONS.items()}
    reps, cells = [], []
    for rep_name, build in REPRESENTATIONS.items():
        mats = build(rng)
        cls = classify(mats)
        for act_name, info in infos.items():
            theorem, _ = _decide(cls, info)
            checked = check(mats, ACTIVATIONS[act_name])
            worst = worst_case(mats, info.fn, seed=input_seed)
            cells.append(
                Cell(
                    rep_name,
                    act_name,
                    theorem,
                    checked.equivariant,
                    worst.error,
                    worst.matrix,
                    worst.x,
                    checked.reason,
                )
            )
        fix = _fix(mats, cls.case) if seed_index == 0 else None  # seconds each: only the first is shown
        reps.append(RepresentationRow(rep_name, cls.case, cls.b, cls.admissible, int(mats.shape[-1]), fix))
    return TableSeed(seed_index, tuple(reps), tuple(cells))

"""The ``activations`` study's results: the table's cells and rows per seed, and every network per seed,
as frozen dataclasses (`ActivationsResults` is what ``results.json`` holds)."""

from __future__ import annotations

from dataclasses import dataclass

from eqlab.studies._activations._config import Network


@dataclass(frozen=True)
class Cell:
    """One (representation, activation) pair on one seed."""

    representation: str
    """A key of `REPRESENTATIONS`."""
    activation: str
    """A key of `ACTIVATIONS`."""
    theorem: bool | None
    """Theorem 1's verdict as eqlab decides it from the class and the probed properties (no measurement);
    ``None`` where it cannot decide."""
    check: bool | None
    """`eqlab.activations.check`'s verdict, which also weighs its own measurement."""
    error: float
    """The largest relative error ``|f(M x) - M f(x)| / |M f(x)|`` on this seed's inputs (float64)."""
    matrix: int
    """The generator where the error is largest."""
    x: tuple[float, ...]
    """The input where the error is largest."""
    reason: str
    """`check`'s explanation."""


@dataclass(frozen=True)
class RepresentationRow:
    """A representation's Theorem 1 class on one seed."""

    representation: str
    """A key of `REPRESENTATIONS`."""
    case: str
    """Its class (`eqlab.activations.ActivationCheck.case`)."""
    b: float | None
    """The b of the b-monomial classes."""
    admissible: str
    """The activations the class admits, in words."""
    dim: int
    """The dimension it acts on."""
    fix: str | None
    """The change of basis the theory allows, in words; found on the first seed only (the report shows that
    seed's), ``None`` on the others."""


@dataclass(frozen=True)
class TableSeed:
    """The table on one seed."""

    seed_index: int
    """The seed's index (its representations and inputs come from the streams named by it)."""
    representations: tuple[RepresentationRow, ...]
    """One row per representation, in the order of `REPRESENTATIONS`."""
    cells: tuple[Cell, ...]
    """One cell per (representation, activation), representations outermost."""


@dataclass(frozen=True)
class NetworkSeed:
    """One network on one seed, measured in float64 on CPU."""

    network: Network
    """Which network."""
    seed_index: int
    """The seed's index (its points, initialisation and angles come from the streams named by it)."""
    trained: bool
    """Whether it was trained (the trivial-feature network is not: it is the zero map by construction)."""
    test_mse: float
    """Mean squared error on the seed's test points (float64)."""
    target_power: float
    """The target's mean square on the test points: the test MSE of predicting 0."""
    cn_error: float
    """Largest relative equivariance error over the n rotations of C_n (`eqlab.testing`)."""
    so2_error: float
    """Largest relative equivariance error over `ANGLES` random rotations."""
    output_spread: float
    """``max |f(x) - f(x_0)|`` over the measured test points."""
    first_layer_weights: int
    """Free weights of the first layer (`RepLinear.num_weights`, or a Linear's matrix size)."""
    last_layer_weights: int
    """Free weights of the output layer."""
    last_layer_bias: int
    """Free bias entries of the output layer."""
    parameters: int
    """Trainable parameters in all."""


@dataclass(frozen=True)
class ActivationsResults:
    """Everything the report is built from."""

    tables: tuple[TableSeed, ...]
    """The table, one per seed."""
    networks: tuple[NetworkSeed, ...]
    """Every network on every seed, seeds outermost, networks in the order of `Network`."""

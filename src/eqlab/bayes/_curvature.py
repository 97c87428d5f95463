"""Kronecker factors of the generalised Gauss-Newton (GGN) for Linear, Conv2d, BlockLinear and G-conv
layers, and diagonal blocks for batch norm.

For a layer ``s = W a (+ b)``, the GGN block of ``W`` is ``sum_n J_n^T H_n J_n`` with ``J_n = g ⊗ a``.
Writing the output Hessian ``H_n = L_n L_n^T`` and ``g_{n,c}`` for the back-propagated column ``c`` of
``L_n``, KFAC approximates the sum of ``(a a^T) ⊗ (g g^T)`` by

    A = (1 / R) sum_rows a a^T,        G = sum_rows sum_c g g^T,        GGN_W ≈ A ⊗ G,

where a *row* is one data point for a Linear layer and one (data point, output position) for a
convolution (KFAC-expand, Eschenhagen et al. 2023), and ``R`` is the number of rows: ``A`` is a mean
and ``G`` a sum over the data, so the factors do not depend on the batch size. A bias is its own
block ``G``. This is exact for one data point or identical inputs in networks of Linear layers.
A layer called several times in one forward pass (weight sharing) contributes the rows of every
call, as a convolution does those of every position: KFAC-expand again, exact when each output depends
on one call only (e.g. one Linear map applied to the parts of the input, with a Gaussian likelihood).
A `BlockLinear` (the factored layer's parts) gets one ``A_g ⊗ G_g`` per block: its GGN block is
block-diagonal over the blocks in KFAC, which needs no fork of any curvature library.

The G-convolutions of `eqlab.gconv` (`LiftingConv2d`, `GroupConv2d`) are factored in their free
filters: the filter bank is a fixed gather of them, so each output (channel ``c``, orientation ``g``,
position) is ``W_free[c] . a`` with ``a`` the input patch with its taps permuted for ``g``. A *row* is
then one (data point, output orientation, output position): KFAC-expand over the group and the plane,
exactly as for Conv2d; ``A`` is ``C_in |G_in| k k`` square, ``G`` is ``C_out`` square, and the bias
(one per channel, shared over the orientations) has the block ``G`` (`eqlab.bayes._rows`).
Batch norms (`torch.nn.BatchNorm2d`, `eqlab.gconv.GroupBatchNorm2d`) get the exact diagonal of their
GGN blocks (`eqlab.bayes._diagonal`). The whole curvature pass runs the model in eval mode, so batch
norms normalise by their running statistics.

Output Hessians, per data point with logits or outputs ``f`` (``C`` of them):

- classification (softmax cross-entropy), exact: ``L = U sqrt(Lambda)`` from the eigendecomposition
  of ``H = diag(p) - p p^T`` per data point, without the column of its null vector ``(1, ..., 1)``
  (``C - 1`` backward passes; ``G`` does not depend on which square root); Monte Carlo:
  ``(p - onehot(y~)) / sqrt(S)`` for ``S`` labels sampled from ``p``;
- regression (Gaussian, unit noise; the noise scales ``G`` by ``1 / sigma^2``): ``L = I``, or ``S``
  standard normal vectors over ``sqrt(S)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from eqlab._arguments import describe, integer
from eqlab._arguments import module as check_module
from eqlab.bayes._diagonal import NORMS, DiagonalFactors, check_norm
from eqlab.bayes._options import GGN, Likelihood
from eqlab.bayes._rows import input_rows, orbit_index, output_outer
from eqlab.gconv._conv import GroupConv2d, LiftingConv2d
from eqlab.nn._primitives import BlockLinear

__all__ = [
    "Factors",
    "Layer",
    "LayerFactors",
    "accumulate_factors",
    "gram_pays",
    "layer_parameters",
    "supported_layers",
]


@dataclass
class LayerFactors:
    """Running sums for one layer: ``A_sum`` over ``rows`` input rows, ``G_sum``; the rows kept while
    at most half the input dimension (for the Gram-matrix trick, `gram_pays`)."""

    name: str
    module: Layer
    a_sum: torch.Tensor | None = None
    g_sum: torch.Tensor | None = None
    rows: int = 0
    kept: list[torch.Tensor] | None = field(default_factory=list)
    orbit: torch.Tensor | None = None
    """``(|G|, D)`` for a G-conv (`eqlab.bayes._rows.orbit_index`): the rows given to `add_inputs` are
    patches, and the layer's rows are ``patches[:, orbit[g]]`` for every ``g``."""

    def add_inputs(self, rows: torch.Tensor) -> None:
        """``rows``: ``(R, D)`` input rows, or ``(R, blocks, D)`` for a `BlockLinear`, or ``(R, D)``
        patches expanded by `orbit`."""
        outer, count, dim = _outer(rows), rows.shape[0], rows.shape[-1]
        if self.orbit is not None:  # sum_g (x[orbit[g]])(x[orbit[g]])^T = sum_g M[orbit[g]][:, orbit[g]]
            orbit = self.orbit
            outer = outer[orbit[:, :, None], orbit[:, None, :]].sum(0)
            count *= len(orbit)
            if self.kept is not None and gram_pays(self.rows + count, dim):  # few rows: write them out
                rows = rows[:, orbit].transpose(0, 1).reshape(count, dim)
        self.a_sum = outer if self.a_sum is None else self.a_sum + outer
        self.rows += count
        if rows.dim() == 3 or not gram_pays(self.rows, dim):
            self.kept = None  # grouped factors are small: always the dense eigendecomposition
        if self.kept is not None:
            self.kept.append(rows.double())

    def add_output_grads(self, a: torch.Tensor, g: torch.Tensor) -> None:
        """``g``: one back-propagated column at the layer's output (``a``, its input, is not needed)."""
        outer = output_outer(self.module, g)
        self.g_sum = outer if self.g_sum is None else self.g_sum + outer


Layer = nn.Linear | nn.Conv2d | BlockLinear | LiftingConv2d | GroupConv2d | nn.BatchNorm2d | nn.BatchNorm3d
Factors = LayerFactors | DiagonalFactors


def gram_pays(rows: int, dim: int) -> bool:
    """Whether a factor's eigenvalues come cheaper from the ``rows x rows`` Gram matrix of its rows than
    from the ``dim x dim`` factor: at most half as many rows as dimensions (the Gram matrix costs a
    product of the rows besides its eigendecomposition)."""
    return 2 * rows <= dim


def _outer(rows: torch.Tensor) -> torch.Tensor:
    """``sum_r x_r x_r^T`` in float64: ``(D, D)`` from ``(R, D)``, per group ``(G, D, D)`` from ``(R, G, D)``.

    The product runs in the rows' dtype (a float32 model's factors carry float32 rounding, far below
    the KFAC approximation itself) and is accumulated in float64."""
    outer = rows.T @ rows if rows.dim() == 2 else torch.einsum("rgi,rgj->gij", rows, rows)
    return outer.double()


def _own(module: nn.Module) -> list[nn.Parameter]:
    return [p for p in module.parameters(recurse=False) if p.requires_grad]


def supported_layers(model: nn.Module) -> list[tuple[str, Layer]]:
    """The layers holding the model's trainable parameters: Linear, Conv2d (groups=1), BlockLinear,
    LiftingConv2d, GroupConv2d (Kronecker factors), BatchNorm2d and GroupBatchNorm2d / BatchNorm3d with
    running statistics (diagonal); anything else with trainable parameters is refused by name."""
    check_module(model, "model")
    layers: list[tuple[str, Layer]] = []
    for name, module in model.named_modules():
        if not _own(module):
            continue
        if isinstance(module, (nn.Linear, BlockLinear, LiftingConv2d, GroupConv2d)) or (
            isinstance(module, nn.Conv2d) and module.groups == 1
        ):
            if not module.weight.requires_grad:
                raise ValueError(
                    f"model has a layer KronLaplace cannot factor: {name!r} ({type(module).__name__}) has a "
                    "trainable bias but a frozen weight; freeze both or neither"
                )
            layers.append((name, module))
        elif isinstance(module, NORMS):
            check_norm(name, module)
            layers.append((name, module))
        else:
            raise ValueError(
                f"model has a layer KronLaplace cannot factor: {name!r} is a {type(module).__name__} with "
                "trainable parameters; there are Kronecker factors for Linear, Conv2d (groups=1), "
                "BlockLinear, LiftingConv2d and GroupConv2d layers and diagonal blocks for BatchNorm2d and "
                "GroupBatchNorm2d only (freeze the others with requires_grad_(False))"
            )
    if not layers:
        raise ValueError(f"model has no trainable Linear or Conv2d layer, got a {type(model).__name__}")
    return layers


def layer_parameters(name: str, module: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The parameter groups of one supported layer, ``(full name, parameter)``: its trainable weight
    and bias, in that order."""
    prefix = f"{name}." if name else ""
    out = []
    for attr in ("weight", "bias"):
        param = getattr(module, attr, None)
        if isinstance(param, nn.Parameter) and param.requires_grad:
            out.append((prefix + attr, param))
    return out


def _new_factors(name: str, module: Layer) -> Factors:
    if isinstance(module, NORMS):
        return DiagonalFactors(name, module)
    orbit = orbit_index(module) if isinstance(module, (LiftingConv2d, GroupConv2d)) else None
    return LayerFactors(name, module, orbit=orbit)


def _hessian_factors(
    outputs: torch.Tensor, likelihood: Likelihood, ggn: GGN, samples: int, generator: torch.Generator
) -> list[torch.Tensor]:
    """Vectors ``v`` (each ``(N, C)``) with ``sum_v v v^T = H`` per data point (exact) or in expectation."""
    n, c = outputs.shape
    if likelihood is Likelihood.CLASSIFICATION:
        p = outputs.detach().double().softmax(dim=1)
        if ggn is GGN.EXACT:
            # H = diag(p) - p p^T = U diag(lambda) U^T; H 1 = 0, so its smallest eigenvalue is 0 and
            # the other C - 1 columns of U sqrt(lambda) are a square root: one backward pass fewer
            hessian = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
            values, vectors = torch.linalg.eigh(hessian)  # ascending
            roots = vectors * values.clamp_min(0).sqrt()[:, None, :]
            return [roots[:, :, k] for k in range(min(1, c - 1), c)]
        # drawn by the CPU generator (seeded by the caller), whatever the model's device
        labels = torch.multinomial(p.cpu(), samples, replacement=True, generator=generator).to(p.device)
        return [(p - F.one_hot(labels[:, s], c).double()) / samples**0.5 for s in range(samples)]
    if ggn is GGN.EXACT:
        eye = torch.eye(c, dtype=torch.float64, device=outputs.device)
        return [eye[k].expand(n, c) for k in range(c)]
    return [
        torch.randn(n, c, generator=generator, dtype=torch.float64).to(outputs.device) / samples**0.5
        for _ in range(samples)
    ]


def accumulate_factors(
    model: nn.Module,
    loader: Iterable[Any],
    likelihood: str,
    ggn: str = GGN.EXACT,
    samples: int = 1,
    seed: int = 0,
) -> tuple[list[Factors], float, int, int]:
    """Kronecker factor sums over ``loader``'s ``(x, y)`` batches, at the model's current weights.

    Returns ``(factors, fit, n_data, n_outputs)``: for classification ``fit`` is the summed
    cross-entropy, for regression the residual sum of squares.
    """
    layers = supported_layers(model)
    likelihood = Likelihood.parse(likelihood, "likelihood")
    ggn = GGN.parse(ggn, "ggn")
    samples = integer(samples, "samples", minimum=1)
    seed = integer(seed, "seed", minimum=0)
    if isinstance(loader, (torch.Tensor, str, bytes, Mapping)) or not isinstance(loader, Iterable):
        raise TypeError(
            f"loader must yield (x, y) batches (a DataLoader or a list of pairs), got {describe(loader)}"
        )
    factors = [_new_factors(name, module) for name, module in layers]
    generator = torch.Generator().manual_seed(seed)
    store: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}  # every call of each layer

    def hook(index: int) -> Any:
        def record(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            store.setdefault(index, []).append((inputs[0].detach(), output))

        return record

    handles = [module.register_forward_hook(hook(i)) for i, (_, module) in enumerate(layers)]
    fit, n_data, n_outputs = 0.0, 0, 0
    modes = [(m, m.training) for m in model.modules()]  # restored one by one: a frozen norm stays in eval
    model.eval()
    try:
        for batch in loader:
            store.clear()
            x, y = _batch(batch)
            try:
                outputs = model(x)
            except (RuntimeError, ValueError, TypeError, IndexError) as exc:
                raise ValueError(f"loader: the model cannot take the batch {describe(x)}: {exc}") from exc
            if not isinstance(outputs, torch.Tensor) or outputs.dim() != 2:
                raise ValueError(f"model must output (batch, outputs), got {describe(outputs)}")
            _check_targets(y, outputs, likelihood)
            n_data += outputs.shape[0]
            n_outputs = outputs.shape[1]
            with torch.no_grad():
                if likelihood is Likelihood.CLASSIFICATION:
                    fit += float(F.cross_entropy(outputs.double(), y, reduction="sum"))
                else:
                    fit += float(((outputs.double() - y.double().reshape(outputs.shape)) ** 2).sum())
            skipped = [factors[i].name for i in range(len(factors)) if i not in store]
            if skipped:
                raise ValueError(
                    f"model did not call its trainable layer {skipped[0]!r} in the forward pass; KronLaplace "
                    "needs every trainable layer to take part (freeze it with requires_grad_(False))"
                )
            for i, factor in enumerate(factors):
                if isinstance(factor, DiagonalFactors) and (
                    len(store[i]) > 1 or store[i][0][0].shape[0] != outputs.shape[0]
                ):
                    raise ValueError(
                        f"model calls its batch norm {factor.name!r} more than once per data point (or on a "
                        "batch of another size than its output's); its GGN diagonal sums each data point's "
                        "squared gradient from one call only, so KronLaplace refuses it (freeze it with "
                        "requires_grad_(False))"
                    )
            calls = [(i, a, s) for i in range(len(factors)) for a, s in store[i]]
            for i, a, _ in calls:
                factor = factors[i]
                if isinstance(factor, LayerFactors):
                    factor.add_inputs(input_rows(factor.module, a))
            for v in _hessian_factors(outputs, likelihood, ggn, samples, generator):
                grads = torch.autograd.grad(
                    outputs,
                    [s for _, _, s in calls],
                    grad_outputs=v.to(outputs.dtype),
                    retain_graph=True,
                    allow_unused=True,
                )
                for (i, a, _), g in zip(calls, grads, strict=True):
                    if g is not None:  # None: this call does not reach the outputs
                        factors[i].add_output_grads(a, g)
        store.clear()
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            module.training = mode
    if n_data == 0:
        raise ValueError("loader must yield at least one (x, y) batch of data, got none")
    return factors, fit, n_data, n_outputs


def _batch(batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """One ``(x, y)`` batch of the loader: two tensors with one target per input."""
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        pair = isinstance(batch, (tuple, list))
        what = f"a {type(batch).__name__} of {len(batch)}" if pair else describe(batch)
        raise ValueError(f"loader must yield (x, y) batches, got {what}")
    x, y = batch
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"loader must yield (x, y) pairs of tensors, got {describe(x)} and {describe(y)}")
    if x.dim() == 0 or x.shape[0] == 0:
        raise ValueError(f"loader must yield batches of at least one input, got {describe(x)}")
    if y.dim() == 0 or y.shape[0] != x.shape[0]:
        raise ValueError(f"loader must yield one target per input, got {describe(x)} and {describe(y)}")
    return x, y


def _check_targets(y: torch.Tensor, outputs: torch.Tensor, likelihood: Likelihood) -> None:
    if likelihood is Likelihood.CLASSIFICATION:
        if y.dim() != 1 or y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise TypeError(
                f"loader must yield 1-D integer class labels for classification, got {describe(y)}"
            )
        if int(y.min()) < 0 or int(y.max()) >= outputs.shape[1]:
            raise ValueError(
                f"loader must yield labels in 0..{outputs.shape[1] - 1} (the model's outputs), "
                f"got {int(y.min())}..{int(y.max())}"
            )
        return
    if y.numel() != outputs.numel():
        raise ValueError(
            f"loader must yield regression targets of the outputs' shape {tuple(outputs.shape)}, "
            f"got {describe(y)}"
        )
    if not (
        y.is_floating_point() or y.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)
    ):
        raise TypeError(f"loader must yield real regression targets, got {describe(y)}")
    if y.is_floating_point() and not bool(torch.isfinite(y).all()):
        raise ValueError(f"loader must yield finite regression targets, got {describe(y)} with NaN or Inf")

"""Kronecker factors of the generalised Gauss-Newton (GGN) for Linear, Conv2d and GroupedLinear layers.

For a layer ``s = W a (+ b)``, the GGN block of ``W`` is ``sum_n J_n^T H_n J_n`` with ``J_n = g ⊗ a``.
Writing the output Hessian ``H_n = L_n L_n^T`` and ``g_{n,c}`` for the back-propagated column ``c`` of
``L_n``, KFAC approximates the sum of ``(a a^T) ⊗ (g g^T)`` by

    A = (1 / R) sum_rows a a^T,        G = sum_rows sum_c g g^T,        GGN_W ≈ A ⊗ G,

where a *row* is one data point for a Linear layer and one (data point, output position) for a
convolution (KFAC-expand, Eschenhagen et al. 2023), and ``R`` is the number of rows: ``A`` is a mean
and ``G`` a sum over the data, so the factors do not depend on the batch size. A bias is its own
block ``G``. This is exact for one data point or identical inputs in networks of Linear layers.
A `GroupedLinear` (the factored layer's parts) gets one ``A_g ⊗ G_g`` per group: its GGN block is
block-diagonal over the groups in KFAC, which needs no fork of any curvature library.

Output Hessians, per data point with logits or outputs ``f`` (``C`` of them):

- classification (softmax cross-entropy), exact: ``L = diag(sqrt p) - p sqrt(p)^T`` (``C`` backward
  passes); Monte Carlo: ``(p - onehot(y~)) / sqrt(S)`` for ``S`` labels sampled from ``p``;
- regression (Gaussian, unit noise; the noise scales ``G`` by ``1 / sigma^2``): ``L = I``, or ``S``
  standard normal vectors over ``sqrt(S)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from eqlab.nn.soft import GroupedLinear

__all__ = ["LIKELIHOODS", "Layer", "LayerFactors", "accumulate_factors", "supported_layers"]

LIKELIHOODS = ("classification", "regression")


@dataclass
class LayerFactors:
    """Running sums for one layer: ``A_sum`` over ``rows`` input rows, ``G_sum``; the first rows kept
    while fewer than the input dimension (for the Gram-matrix trick)."""

    name: str
    module: Layer
    a_sum: torch.Tensor | None = None
    g_sum: torch.Tensor | None = None
    rows: int = 0
    kept: list[torch.Tensor] | None = field(default_factory=list)

    def add_inputs(self, rows: torch.Tensor) -> None:
        """``rows``: ``(R, D)`` input rows, or ``(R, groups, D)`` for a `GroupedLinear`."""
        outer = _outer(rows)
        self.a_sum = outer if self.a_sum is None else self.a_sum + outer
        self.rows += rows.shape[0]
        if rows.dim() == 3:
            self.kept = None  # grouped factors are small: always the dense eigendecomposition
        if self.kept is not None:
            self.kept.append(rows.double())
            if self.rows > rows.shape[1]:
                self.kept = None  # more rows than dimensions: the dense factor is the cheaper one

    def add_output_grads(self, rows: torch.Tensor) -> None:
        """``rows``: ``(R, D_out)`` (or ``(R, groups, D_out)``) back-propagated output rows."""
        outer = _outer(rows)
        self.g_sum = outer if self.g_sum is None else self.g_sum + outer


Layer = nn.Linear | nn.Conv2d | GroupedLinear


def _outer(rows: torch.Tensor) -> torch.Tensor:
    """``sum_r x_r x_r^T`` in float64: ``(D, D)`` from ``(R, D)``, per group ``(G, D, D)`` from ``(R, G, D)``.

    The product runs in the rows' dtype (a float32 model's factors carry float32 rounding, far below
    the KFAC approximation itself) and is accumulated in float64."""
    outer = rows.T @ rows if rows.dim() == 2 else torch.einsum("rgi,rgj->gij", rows, rows)
    return outer.double()


def supported_layers(model: nn.Module) -> list[tuple[str, Layer]]:
    """The Linear and Conv2d layers holding the model's trainable parameters; anything else with
    trainable parameters is refused by name."""
    layers: list[tuple[str, Layer]] = []
    for name, module in model.named_modules():
        own = [p for p in module.parameters(recurse=False) if p.requires_grad]
        if not own:
            continue
        if isinstance(module, (nn.Linear, GroupedLinear)) or (
            isinstance(module, nn.Conv2d) and module.groups == 1
        ):
            layers.append((name, module))
        else:
            raise ValueError(
                "KronLaplace has Kronecker factors for Linear, Conv2d (groups=1) and GroupedLinear layers; "
                f"{name!r} is a "
                f"{type(module).__name__} with trainable parameters"
            )
    if not layers:
        raise ValueError("the model has no trainable Linear or Conv2d layer")
    return layers


def _input_rows(module: nn.Module, a: torch.Tensor) -> torch.Tensor:
    """``(R, D)`` rows of a layer's input: data points (Linear) or unfolded patches (Conv2d)."""
    if isinstance(module, nn.Linear):
        return a.reshape(-1, a.shape[-1])
    if isinstance(module, GroupedLinear):
        return a.reshape(-1, module.groups, a.shape[-1])
    assert isinstance(module, nn.Conv2d)
    if module.padding_mode != "zeros":
        a = F.pad(a, module._reversed_padding_repeated_twice, mode=module.padding_mode)
        padding: Any = 0
    else:
        padding = module.padding
    if isinstance(padding, str):
        raise ValueError(f"padding={padding!r} is not supported by the Kronecker factors; give it in pixels")
    patches = F.unfold(a, module.kernel_size, dilation=module.dilation, padding=padding, stride=module.stride)
    return patches.transpose(1, 2).reshape(-1, patches.shape[1])


def _output_rows(module: nn.Module, g: torch.Tensor) -> torch.Tensor:
    if isinstance(module, nn.Linear):
        return g.reshape(-1, g.shape[-1])
    if isinstance(module, GroupedLinear):
        return g.reshape(-1, module.groups, g.shape[-1])
    return g.movedim(1, -1).reshape(-1, g.shape[1])


def _hessian_factors(
    outputs: torch.Tensor, likelihood: str, ggn: str, samples: int, generator: torch.Generator
) -> list[torch.Tensor]:
    """Vectors ``v`` (each ``(N, C)``) with ``sum_v v v^T = H`` per data point (exact) or in expectation."""
    n, c = outputs.shape
    if likelihood == "classification":
        p = outputs.detach().double().softmax(dim=1)
        if ggn == "exact":
            root = p.sqrt()
            return [(root[:, k : k + 1] * (torch.eye(c, dtype=p.dtype)[k] - p)) for k in range(c)]
        labels = torch.multinomial(p, samples, replacement=True, generator=generator)  # (N, S)
        return [(p - F.one_hot(labels[:, s], c).double()) / samples**0.5 for s in range(samples)]
    if ggn == "exact":
        return [torch.eye(c, dtype=torch.float64)[k].expand(n, c) for k in range(c)]
    return [
        torch.randn(n, c, generator=generator, dtype=torch.float64) / samples**0.5 for _ in range(samples)
    ]


def accumulate_factors(
    model: nn.Module,
    loader: Iterable[Any],
    likelihood: str,
    ggn: str = "exact",
    samples: int = 1,
    seed: int = 0,
) -> tuple[list[LayerFactors], float, int, int]:
    """Kronecker factor sums over ``loader``'s ``(x, y)`` batches, at the model's current weights.

    Returns ``(factors, fit, n_data, n_outputs)``: for classification ``fit`` is the summed
    cross-entropy, for regression the residual sum of squares.
    """
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    if ggn not in ("exact", "mc"):
        raise ValueError(f"ggn must be 'exact' or 'mc', got {ggn!r}")
    layers = supported_layers(model)
    factors = [LayerFactors(name, module) for name, module in layers]
    generator = torch.Generator().manual_seed(seed)
    store: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(index: int) -> Any:
        def record(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
            store[index] = (inputs[0].detach(), output)

        return record

    handles = [module.register_forward_hook(hook(i)) for i, (_, module) in enumerate(layers)]
    fit, n_data, n_outputs = 0.0, 0, 0
    was_training = model.training
    model.eval()
    try:
        for x, y in loader:
            outputs = model(x)
            if outputs.dim() != 2:
                raise ValueError(f"the model must output (batch, outputs), got {tuple(outputs.shape)}")
            n_data += outputs.shape[0]
            n_outputs = outputs.shape[1]
            with torch.no_grad():
                if likelihood == "classification":
                    fit += float(F.cross_entropy(outputs.double(), y, reduction="sum"))
                else:
                    fit += float(((outputs.double() - y.double().reshape(outputs.shape)) ** 2).sum())
            for i, factor in enumerate(factors):
                factor.add_inputs(_input_rows(factor.module, store[i][0]))
            layer_outputs = [store[i][1] for i in range(len(factors))]
            for v in _hessian_factors(outputs, likelihood, ggn, samples, generator):
                grads = torch.autograd.grad(
                    outputs, layer_outputs, grad_outputs=v.to(outputs.dtype), retain_graph=True
                )
                for factor, g in zip(factors, grads, strict=True):
                    factor.add_output_grads(_output_rows(factor.module, g))
            store.clear()
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    if n_data == 0:
        raise ValueError("the loader yielded no data")
    return factors, fit, n_data, n_outputs

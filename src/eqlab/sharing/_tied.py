"""The tied linear map ``y = x W^T + b`` as one autograd function, for `EquivariantLinear`.

The dense weight ``W`` is built from the free weights by one gather; its gradient ``g^T x`` is summed over
the orbits (the entries that share one free weight) by one scatter-add, instead of autograd's generic
backward of the gather. Everything is exact: the forward copies free weights, and the backward only adds
the entries of each orbit (in an order that may differ from a dense reference; on integer-valued floats
the results are equal).

Layout. The free weights ``(C, C_out, C_in)`` are read as a table of ``C_out * C`` rows of width ``C_in``
(row ``o * C + c`` holds ``free[c, o, :]``), plus one zero row when some entries have no connection
(the sparse design). The dense weight ``(M * C_out, N * C_in)``, features position-major, is that table
gathered at ``index[m, o, n] = o * C + colour[m, n]`` (``(M, C_out, N)`` flattened). Without input
channels the rows have width 1 and the gather is one 1-D gather.

Copies. When the table is small (at most 256 numbers), it is read as ``K = 16`` stacked copies, and
consecutive entries of the dense weight read consecutive copies (entry ``p`` reads copy ``p mod K``):
the backward then scatters into ``K`` partial tables and sums them. Without it a pattern with few orbits
(S_n on points: 2) adds a million numbers into the same two cells one after another, each add waiting
for the last (16 ms instead of 0.8 ms at N = M = 1024). The copies stay in the L1 cache; for larger
tables they do not, and ``K = 1``.

Autograd. The function returns ``W`` as a second, differentiable output and saves it, so the backward
needs no second gather and double backward (``create_graph=True``), forward-mode AD (`jvp`) and
``torch.func`` transforms (``generate_vmap_rule``) all see the true dependence of ``W`` on the free
weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from eqlab._tracing import is_tracing

__all__ = ["TiedLinear", "bias_index", "gather_index", "table_copies", "tied_dense", "tied_linear"]


COPIES = 16
"""How many copies of a small free-weight table the entries of the dense weight spread over."""
SMALL_TABLE = 256
"""The most numbers a table may hold to be read as `COPIES` copies (together 16 KiB in float32)."""


def table_copies(num_colours: int, out_channels: int, in_channels: int, gaps: bool) -> int:
    """`COPIES` for a table of at most `SMALL_TABLE` numbers, else 1."""
    rows = out_channels * num_colours + int(gaps)
    return COPIES if rows * in_channels <= SMALL_TABLE else 1


def gather_index(colours: np.ndarray, num_colours: int, out_channels: int, copies: int) -> torch.Tensor:
    """The ``(M * C_out * N,)`` int64 row of the free-weight table each entry of the dense weight reads.

    ``colours`` is the ``(M, N)`` pattern (``-1`` for no connection, which reads the zero row
    ``C_out * num_colours``). With ``copies`` > 1 the table is stacked that many times and entry ``p``
    (in the flattened ``(M, C_out, N)`` order) reads copy ``p mod copies``.
    """
    colours = np.asarray(colours, dtype=np.int64)
    offsets = np.arange(out_channels, dtype=np.int64)[None, :, None] * num_colours
    index = colours[:, None, :] + offsets
    gaps = bool((colours < 0).any())
    index = np.where(colours[:, None, :] < 0, out_channels * num_colours, index).reshape(-1)
    rows = out_channels * num_colours + int(gaps)
    index = index + rows * (np.arange(index.size, dtype=np.int64) % copies)
    return torch.as_tensor(index)


def bias_index(colours: np.ndarray) -> torch.Tensor:
    """The ``(M,)`` int64 free bias each output position reads."""
    return torch.as_tensor(np.asarray(colours, dtype=np.int64))


def _table(free_weight: torch.Tensor, gaps: bool, copies: int) -> torch.Tensor:
    """``(C_out * C [+ 1], C_in)``: row ``o * C + c`` is ``free_weight[c, o]``; a last zero row with gaps;
    stacked ``copies`` times."""
    colours, out_channels, in_channels = free_weight.shape
    table = free_weight.transpose(0, 1).reshape(out_channels * colours, in_channels)
    if gaps:
        table = torch.cat([table, table.new_zeros(1, in_channels)])
    return table.repeat(copies, 1) if copies > 1 else table


def tied_dense(
    free_weight: torch.Tensor, index: torch.Tensor, shape: tuple[int, int], gaps: bool, copies: int
) -> torch.Tensor:
    """The dense weight ``shape`` = ``(M * C_out, N * C_in)`` by one gather of the free-weight table."""
    table = _table(free_weight, gaps, copies)
    if table.shape[1] == 1:  # a 1-D gather is several times faster than gathering rows of width 1
        return table.view(-1).index_select(0, index).view(shape)
    return table.index_select(0, index).view(shape)


def _orbit_sums(
    grad: torch.Tensor, index: torch.Tensor, free_shape: torch.Size, gaps: bool, copies: int
) -> torch.Tensor:
    """The gradient of the free weights ``free_shape`` = ``(C, C_out, C_in)`` from the dense weight's
    ``grad`` ``(M * C_out, N * C_in)``: the sum of each orbit's entries (out of place, so differentiable)."""
    colours, out_channels, in_channels = free_shape
    rows = out_channels * colours + int(gaps)
    if in_channels == 1:  # scatter_add is about twice as fast as index_add on a 1-D CPU tensor
        table = grad.new_zeros(copies * rows).scatter_add(0, index, grad.reshape(-1)).view(copies * rows, 1)
    else:
        table = grad.new_zeros(copies * rows, in_channels).index_add(0, index, grad.reshape(-1, in_channels))
    if copies > 1:
        table = table.view(copies, rows, in_channels).sum(0)
    return table[: out_channels * colours].view(out_channels, colours, in_channels).transpose(0, 1)


def _full_bias(free_bias: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``(M * C_out,)``: the bias of every output feature, position-major."""
    return free_bias.index_select(0, index).reshape(-1)


class TiedLinear(torch.autograd.Function):
    """``(out, W) = (x W^T + b, W)`` with ``W`` gathered from the free weights; see the module docstring.

    Inputs: ``x`` ``(B, N * C_in)``, ``free_weight`` ``(C, C_out, C_in)``, ``free_bias``
    ``(C_b, C_out)`` or ``None``, the two index tensors, the dense shape ``(M * C_out, N * C_in)``,
    whether the pattern has gaps and the table's `table_copies`. Outputs: ``(B, M * C_out)`` and ``W``.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(
        x: torch.Tensor,
        free_weight: torch.Tensor,
        free_bias: torch.Tensor | None,
        weight_index: torch.Tensor,
        bias_index: torch.Tensor,
        shape: tuple[int, int],
        gaps: bool,
        copies: int,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        weight = tied_dense(free_weight, weight_index, shape, gaps, copies)
        if free_bias is None:
            return x @ weight.t(), weight
        return torch.addmm(_full_bias(free_bias, bias_index), x, weight.t()), weight

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[torch.Tensor, torch.Tensor]) -> None:
        x, free_weight, free_bias, weight_index, bias_index, _, gaps, copies = inputs
        ctx.save_for_backward(x, output[1], weight_index, bias_index)
        ctx.save_for_forward(x, output[1], weight_index, bias_index)
        ctx.free_shape = free_weight.shape
        ctx.bias_shape = None if free_bias is None else free_bias.shape
        ctx.bias_dtype = None if free_bias is None else free_bias.dtype
        ctx.gaps = gaps
        ctx.copies = copies
        ctx.set_materialize_grads(False)

    @staticmethod
    def backward(
        ctx: Any, grad_out: torch.Tensor | None, grad_weight: torch.Tensor | None
    ) -> tuple[Any, ...]:
        x, weight, weight_index, bias_index = ctx.saved_tensors
        grad_x = grad_free = grad_bias = None
        if grad_out is None:
            dense = grad_weight
        else:
            # under autocast the forward's addmm ran in a lower precision: so do the matmuls here (the
            # autograd engine casts grad_x back to x's dtype), and the orbit sums add in the weights' dtype
            low = grad_out.dtype
            if ctx.needs_input_grad[0]:
                grad_x = grad_out @ (weight if weight.dtype == low else weight.to(low))
            dense = None
            if ctx.needs_input_grad[1]:
                dense = (grad_out.t() @ (x if x.dtype == low else x.to(low))).to(weight.dtype)
                if grad_weight is not None:
                    dense = dense + grad_weight
            if ctx.bias_shape is not None and ctx.needs_input_grad[2]:
                per_feature = grad_out.sum(0).view(bias_index.shape[0], ctx.bias_shape[1]).to(ctx.bias_dtype)
                grad_bias = per_feature.new_zeros(ctx.bias_shape).index_add(0, bias_index, per_feature)
        if dense is not None and ctx.needs_input_grad[1]:
            grad_free = _orbit_sums(dense, weight_index, ctx.free_shape, ctx.gaps, ctx.copies)
        return grad_x, grad_free, grad_bias, None, None, None, None, None

    @staticmethod
    def jvp(
        ctx: Any,
        x_t: torch.Tensor | None,
        free_t: torch.Tensor | None,
        bias_t: torch.Tensor | None,
        *_: Any,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x, weight, weight_index, bias_index = ctx.saved_tensors
        weight_t = (
            weight.new_zeros(weight.shape)
            if free_t is None
            else tied_dense(free_t, weight_index, tuple(weight.shape), ctx.gaps, ctx.copies)
        )
        out_t = x @ weight_t.t()
        if x_t is not None:
            out_t = out_t + x_t @ weight.t()
        if bias_t is not None:
            out_t = out_t + _full_bias(bias_t, bias_index)
        return out_t, weight_t


def tied_linear(
    x: torch.Tensor,
    free_weight: torch.Tensor,
    free_bias: torch.Tensor | None,
    weight_index: torch.Tensor,
    bias_index: torch.Tensor,
    shape: tuple[int, int],
    gaps: bool,
    copies: int,
) -> torch.Tensor:
    """``x W^T + b``, ``x`` ``(B, N * C_in)`` to ``(B, M * C_out)``, by `TiedLinear`; under a compiler or
    tracer (`eqlab._tracing.is_tracing`: Dynamo cannot trace an autograd function with a custom ``jvp``)
    by the same gather and `torch.nn.functional.linear` as plain ops (same numbers forward, the compiler's
    own backward)."""
    if is_tracing():
        bias = None if free_bias is None else _full_bias(free_bias, bias_index)
        return F.linear(x, tied_dense(free_weight, weight_index, shape, gaps, copies), bias)
    out, _ = TiedLinear.apply(x, free_weight, free_bias, weight_index, bias_index, shape, gaps, copies)
    return out

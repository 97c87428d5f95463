"""`is_tracing`: whether a tracer or compiler is recording the current call. Layers with an eager-only
shortcut (the G-convolutions' eval-mode bank cache, EquivariantLinear's autograd function) take their
plain path then, so a traced graph holds the computation, never a cached constant or a custom rule."""

from __future__ import annotations

import torch

__all__ = ["is_tracing"]


def is_tracing() -> bool:
    """``torch.jit.trace`` or scripting, Dynamo (``torch.compile`` and ``torch.export``'s strict mode),
    non-strict ``torch.export`` (fake or functional tensors under a proxy mode), or ``torch.fx`` symbolic
    tracing."""
    if torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling():
        return True
    symbolic = torch.fx._symbolic_trace
    return bool(getattr(symbolic, "is_fx_symbolic_tracing", symbolic.is_fx_tracing)())

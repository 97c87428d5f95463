"""The op names of `TracedNode.op` that every checker treats alike, grouped by what they do.

Names are ATen-style (see `eqlab.trace._nodes`): ``F.relu``, ``x.relu()``, ``torch.relu`` and
``aten.relu.default`` are all ``"relu"``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OPS", "Vocabulary"]


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class Vocabulary:
    """Op names by family.

    Attributes
    ----------
    activations
        Nonlinear functions applied entry by entry (the pointwise activations of Pacini et al.).
    pass_through
        Entry-wise ops that leave values as they are, or nearly (dropout, copies, dtype casts).
    elementwise
        Entry-wise ops of several tensors, broadcasting (arithmetic, comparisons, ``where``).
    normalisations
        Per-channel normalisations over batch, or over all of the plane (batch, instance, group norm).
    reshapes
        Ops that only change the shape: view, reshape, flatten, squeeze, unsqueeze.
    reductions
        Reductions over given axes (mean, sum, max, ...).
    constants
        Tensors made from a shape alone (``zeros_like``).
    metadata
        Ops returning shapes or sizes, not tensors.
    moves_plane
        Ops that rearrange positions of the plane, or move them into channels (pixel shuffles, flips).
    """

    activations: frozenset[str]
    pass_through: frozenset[str]
    elementwise: frozenset[str]
    normalisations: frozenset[str]
    reshapes: frozenset[str]
    reductions: frozenset[str]
    constants: frozenset[str]
    metadata: frozenset[str]
    moves_plane: frozenset[str]


OPS = Vocabulary(
    activations=_names(
        """relu relu6 sigmoid tanh exp exp2 log log2 log10 log1p expm1 sqrt rsqrt square sin cos tan sinh
        cosh asin acos atan asinh acosh atanh erf erfc erfinv sign sgn abs neg floor ceil round trunc frac
        reciprocal clamp clamp_min clamp_max hardtanh leaky_relu elu selu celu gelu silu mish softplus
        softsign hardswish hardsigmoid logsigmoid log_sigmoid tanhshrink softshrink hardshrink threshold
        logit nan_to_num prelu rrelu"""
    ),
    pass_through=_names(
        """positive dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout
        feature_dropout native_dropout contiguous clone detach to type float double half bfloat16
        type_as alias to_copy lift_fresh_copy"""
    ),
    elementwise=_names(
        """add sub rsub mul div floor_divide remainder fmod pow maximum minimum fmax fmin atan2 where lerp
        addcmul addcdiv eq ne lt le gt ge logical_and logical_or logical_xor logical_not bitwise_and
        bitwise_or bitwise_xor bitwise_not masked_fill copysign hypot xlogy and_ or_ xor isnan isinf
        isfinite"""
    ),
    normalisations=_names(
        """batch_norm native_batch_norm native_batch_norm_legit_no_training native_batch_norm_legit
        instance_norm group_norm native_group_norm local_response_norm"""
    ),
    reshapes=_names("view reshape flatten unflatten squeeze unsqueeze view_as reshape_as unsafe_view"),
    reductions=_names(
        "mean sum amax amin max min std var logsumexp norm prod nansum nanmean var_mean std_mean median"
    ),
    constants=_names("zeros_like ones_like full_like empty_like"),
    metadata=_names("size dim numel getattr stride is_contiguous shape"),
    moves_plane=_names(
        "pixel_shuffle pixel_unshuffle unfold fold im2col col2im rot90 flip roll fliplr flipud"
    ),
)
"""The vocabulary every checker shares."""

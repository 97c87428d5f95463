"""The public face of `eqlab.layerwise`: eleven names, the options as str enums."""

from __future__ import annotations

import eqlab.layerwise as lw
from eqlab._options import Option


def test_the_public_names_are_the_eleven() -> None:
    assert sorted(lw.__all__) == sorted(
        [
            "transform_network", "align", "self_align", "merge", "group_average", "interpolation_barrier",
            "AlignResult", "SelfAlignResult", "BarrierCurve", "Transform", "Method",
        ]
    )  # fmt: skip


def test_the_options_are_str_enums_of_the_old_strings() -> None:
    assert issubclass(lw.Transform, Option) and lw.Transform.values() == ("hflip", "vflip", "rot90")
    assert issubclass(lw.Method, Option) and lw.Method.values() == ("weights", "activations")

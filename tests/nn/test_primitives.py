"""The primitives the soft and sparse blocks share: adaptive polyphase subsampling."""

from __future__ import annotations

import pytest
import torch

from eqlab.nn._primitives import polyphase_subsample


def test_polyphase_subsampling_commutes_with_shifts_up_to_a_shift() -> None:
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    y, y_shifted = polyphase_subsample(x), polyphase_subsample(torch.roll(x, (1, 3), (2, 3)))
    matches = [torch.equal(torch.roll(y, (a, b), (2, 3)), y_shifted) for a in range(4) for b in range(4)]
    assert any(matches)


def test_polyphase_subsampling_refuses_an_odd_height() -> None:
    with pytest.raises(ValueError, match="even height and width"):
        polyphase_subsample(torch.randn(1, 1, 5, 4))

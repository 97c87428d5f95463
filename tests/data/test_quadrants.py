"""DigitMNIST / QuadrantMNIST canvases: the paper's 28 px digit in a quadrant of a 56 px canvas resized to
32 px, where moving the digit between quadrants is a circular shift of the resized canvas."""

from __future__ import annotations

import pytest
import torch

from eqlab.data._quadrants import quadrant_canvases, resize_square


def _mnist_like(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(n, 1, 28, 28)`` random strokes inside a 4 px blank margin, as MNIST's digits have."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, 28, 28)
    images[:, :, 4:24, 4:24] = torch.rand(n, 1, 20, 20, generator=gen)
    return images, torch.randint(0, 10, (n,), generator=gen)


def test_the_paper_shapes_and_labels() -> None:
    images, labels = _mnist_like(64)
    digit, digit_labels = quadrant_canvases(images, labels, torch.Generator().manual_seed(3), size=32)
    quadrant, quadrant_labels = quadrant_canvases(
        images, labels, torch.Generator().manual_seed(3), label_quadrant=True, size=32
    )
    assert digit.shape == quadrant.shape == (64, 1, 32, 32)
    assert torch.equal(digit, quadrant)  # one generator state, one placement, two labellings
    assert torch.equal(digit_labels, labels) and digit_labels.dtype == torch.long
    assert torch.equal(quadrant_labels % 10, labels)
    assert set((quadrant_labels // 10).tolist()) == {0, 1, 2, 3}


def test_without_resizing_each_digit_sits_unchanged_in_its_quadrant() -> None:
    images, labels = _mnist_like(16)
    canvases, targets = quadrant_canvases(
        images, labels, torch.Generator().manual_seed(1), label_quadrant=True
    )
    assert canvases.shape == (16, 1, 56, 56)
    for image, canvas, target in zip(images, canvases, targets, strict=True):
        row, col = divmod(int(target) // 10, 2)
        block = canvas[:, row * 28 : row * 28 + 28, col * 28 : col * 28 + 28]
        assert torch.equal(block, image)
        outside = canvas.clone()
        outside[:, row * 28 : row * 28 + 28, col * 28 : col * 28 + 28] = 0
        assert not outside.any()  # nothing outside the quadrant


def test_moving_a_digit_between_quadrants_shifts_the_resized_canvas_circularly() -> None:
    image, label = _mnist_like(1, seed=5)
    copies = image.double().expand(48, 1, 28, 28).contiguous()
    canvases, targets = quadrant_canvases(
        copies, label.expand(48), torch.Generator().manual_seed(0), label_quadrant=True, size=32
    )
    quadrants = (targets // 10).tolist()
    reference = canvases[quadrants.index(0)]
    for canvas, quadrant in zip(canvases, quadrants, strict=True):
        row, col = divmod(quadrant, 2)
        shifted = torch.roll(reference, shifts=(16 * row, 16 * col), dims=(-2, -1))
        assert (canvas - shifted).abs().max() < 1e-12


def test_resize_square() -> None:
    x = torch.rand(2, 3, 56, 56)
    assert resize_square(x, 56) is x
    small = resize_square(x, 32)
    assert small.shape == (2, 3, 32, 32)
    assert torch.allclose(resize_square(torch.ones(1, 1, 56, 56), 32), torch.ones(1, 1, 32, 32))
    assert resize_square(torch.rand(1, 1, 8, 8), 16).shape == (1, 1, 16, 16)


def test_bad_inputs_name_the_argument() -> None:
    images, labels = _mnist_like(4)
    gen = torch.Generator()
    with pytest.raises(ValueError, match="images must be square"):
        resize_square(torch.zeros(1, 1, 4, 5), 2)
    with pytest.raises(TypeError, match="images must be a floating-point tensor"):
        quadrant_canvases(images.to(torch.uint8), labels, gen)
    with pytest.raises(ValueError, match="size must be"):
        quadrant_canvases(images, labels, gen, size=0)
    with pytest.raises(ValueError, match=r"labels must be digits 0\.\.9, got values 0\.\.10"):
        quadrant_canvases(images, torch.tensor([0, 1, 2, 10]), gen)
    with pytest.raises(TypeError, match="label_quadrant must be True or False"):
        quadrant_canvases(images, labels, gen, label_quadrant=1)  # type: ignore[arg-type]

"""Merging: interpolation with repaired statistics, and the exactly invariant group average, under flips
and under rot90 (C4) with hidden structures recovered exactly."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from eqlab.exactness import check as check_exactness
from eqlab.layerwise import group_average, merge, self_align, transform_network
from eqlab.layerwise._match import collect_features
from eqlab.layerwise._permute import permute_model
from eqlab.layerwise._spec import derive_spec
from eqlab.testing import equivariance_error, relative_error
from tests.layerwise.nets import (
    SIZE,
    ResNet,
    cnn,
    from_cycles,
    generic,
    hidden_structure,
    image_action,
    images,
    mixed_order4,
    state_error,
    vgg,
)


def _invariance(model: nn.Module, transform: str, x: torch.Tensor) -> float:
    """``max_k |f(t^k x) - f(x)|`` relative, in float64."""
    order = 4 if transform == "rot90" else 2
    moves = [image_action(transform, k) for k in range(1, order)]
    return equivariance_error(model, x, moves, [lambda y: y] * len(moves))


@pytest.mark.parametrize("make", [vgg, lambda: vgg(batchnorm=False), ResNet])
def test_the_flip_group_average_is_exactly_invariant(make: type) -> None:
    model = generic(make())
    data = images(64)
    result = self_align(model, "hflip", "activations", data=data, involution=True)
    for with_data in (None, data):
        merged = group_average(model, "hflip", result.permutations, data=with_data)
        assert _invariance(merged, "hflip", images(8, seed=1)) < 1e-12


def test_the_float32_group_average_is_invariant_to_float32_rounding() -> None:
    model = generic(vgg())
    merged = group_average(model, "hflip", self_align(model, "hflip", involution=True).permutations).float()
    x = images(8, seed=1).float()
    assert relative_error(merged(image_action("hflip")(x)), merged(x), batched=False) < 1e-6


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_hidden_c4_structure_is_recovered_exactly(seed: int) -> None:
    model, expected = hidden_structure(cnn((8, 12, 16)), "rot90", mixed_order4, seed)
    result = self_align(model, "rot90")
    for found, truth in zip(result.permutations, expected, strict=True):
        assert torch.equal(found, truth)
    assert result.is_representation and all(s.four_cycles >= 1 and s.pairs >= 1 for s in result.structure)
    assert max(result.alignment.errors.values()) < 1e-12
    assert state_error(result.aligned, model) < 1e-12  # pi T(W) = W, not approximately


def test_a_hidden_c4_structure_is_recovered_by_activations() -> None:
    model, expected = hidden_structure(cnn((8, 12, 16)), "rot90", mixed_order4, 3)
    result = self_align(model, "rot90", "activations", data=images(32))
    assert all(torch.equal(f, t) for f, t in zip(result.permutations, expected, strict=True))
    assert max(result.alignment.activation_errors.values()) < 1e-12


@pytest.mark.parametrize("seed", [0, 1])
def test_the_group_average_of_a_hidden_c4_structure_is_the_network_itself(seed: int) -> None:
    model, _ = hidden_structure(cnn((8, 12, 16)), "rot90", mixed_order4, seed)
    merged = group_average(model, "rot90", input_size=SIZE)
    assert state_error(merged, model) < 1e-12
    assert _invariance(merged, "rot90", images(8, seed=1)) < 1e-12


@settings(max_examples=8, deadline=None)
@given(
    widths=st.lists(st.integers(min_value=1, max_value=10), min_size=1, max_size=3),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_hidden_c4_structures_of_any_widths_and_cycle_types_are_recovered(
    widths: list[int], seed: int
) -> None:
    def random_cycles(n: int, gen: torch.Generator) -> torch.Tensor:
        lengths: list[int] = []
        while sum(lengths) < n:
            fits = [k for k in (1, 2, 4) if sum(lengths) + k <= n]
            lengths.append(fits[int(torch.randint(len(fits), (1,), generator=gen))])
        return from_cycles(n, lengths, gen)

    model, expected = hidden_structure(cnn(widths), "rot90", random_cycles, seed)
    result = self_align(model, "rot90")
    assert result.is_representation
    assert state_error(result.aligned, model) < 1e-12
    if all(s.size > 1 for s in derive_spec(model).channel_sets):  # one channel: nothing to recover
        assert all(torch.equal(f, t) for f, t in zip(result.permutations, expected, strict=True))


def test_the_rot90_group_average_maps_to_itself_bitwise() -> None:
    model = generic(cnn((8, 12, 16)))
    spec = derive_spec(model)
    perms = self_align(model, "rot90").permutations
    merged = group_average(model, "rot90", perms, spec=spec)
    again = permute_model(transform_network(merged, "rot90"), spec, perms)
    pairs = zip(again.state_dict().values(), merged.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)


def _trained_with_rotations(steps: int = 20) -> nn.Module:
    """A small CNN with a max pool and a strided layer, briefly trained (plain gradient steps) on random
    images under quarter turns (float64)."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3),
    ).double()  # fmt: skip
    x, y = images(32), torch.randint(0, 3, (32,), generator=torch.Generator().manual_seed(0))
    for step in range(steps):
        loss = nn.functional.cross_entropy(model(image_action("rot90", step % 4)(x)), y)
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= 0.2 * p.grad
    return model.eval()


def test_a_network_trained_with_rotations_merges_into_an_exactly_c4_invariant_one() -> None:
    model = _trained_with_rotations()
    assert check_exactness(model, SIZE, group="p4").exact  # the size is certified for rot90
    data = images(32, seed=2)
    result = self_align(model, "rot90", "activations", data=data)
    merged = group_average(model, "rot90", result.permutations, data=data, input_size=SIZE)
    assert _invariance(merged, "rot90", images(8, seed=1)) < 1e-12
    assert _invariance(model, "rot90", images(8, seed=1)) > 1e-3  # it was not invariant before


def test_a_nearly_c4_equivariant_network_merges_close_to_itself() -> None:
    model, expected = hidden_structure(cnn((8, 12, 16)), "rot90", mixed_order4, 4)
    noisy = copy.deepcopy(model)
    with torch.no_grad():
        for p in noisy.parameters():
            p.add_(1e-3 * torch.randn(p.shape, dtype=p.dtype, generator=torch.Generator().manual_seed(5)))
    result = self_align(noisy, "rot90", "activations", data=images(32))
    assert all(torch.equal(f, t) for f, t in zip(result.permutations, expected, strict=True))
    merged = group_average(noisy, "rot90", result.permutations, input_size=SIZE)
    x = images(8, seed=1)
    assert _invariance(merged, "rot90", x) < 1e-12
    assert relative_error(merged(x), noisy(x)) < 1e-2


def test_the_group_average_at_an_uncertified_size_is_refused() -> None:
    with pytest.raises(ValueError, match="rot90 is not exact there"):
        group_average(_trained_with_rotations(steps=0), "rot90", input_size=16)


def test_permutations_of_the_wrong_order_are_refused_with_the_way_out() -> None:
    model = generic(cnn((8, 12, 16)))
    cycles = [torch.roll(torch.arange(s.size), 1) for s in derive_spec(model).channel_sets]
    with pytest.raises(ValueError, match=r"order dividing 4.*self_align\(model, 'rot90', constrain=True\)"):
        group_average(model, "rot90", cycles)


def test_merge_endpoints_are_the_models() -> None:
    a, b = generic(vgg(batchnorm=False), 0), generic(vgg(batchnorm=False), 1)
    x = images(16)
    assert torch.equal(merge(a, b, 0.0)(x), a(x)) and torch.equal(merge(a, b, 1.0)(x), b(x))


def test_repair_interpolates_the_standard_deviations() -> None:
    a, b = generic(vgg(batchnorm=False), 0), generic(vgg(batchnorm=False), 1)
    x = images(16)
    repaired = merge(a, b, 0.5, data=x)  # no batch norm: REPAIR
    spec = derive_spec(a)
    node = spec.layer_nodes["0"]
    stats = [collect_features(m, spec, [node], x)[node].double() for m in (a, b, repaired)]
    stds = [s.movedim(1, -1).reshape(-1, 6).std(0) for s in stats]
    torch.testing.assert_close(stds[2], (stds[0] + stds[1]) / 2, rtol=1e-10, atol=1e-12)


def test_merge_with_batch_norm_resets_the_statistics() -> None:
    model = generic(vgg(), 0)
    x = images(16)
    reset = merge(model, model, 0.5, data=x)
    assert not reset.training  # the first batch norm's mean is now its input's mean over the data
    assert relative_error(reset[1].running_mean, reset[0](x).mean((0, 2, 3)), batched=False) < 1e-12

"""Layerwise equivariance: transformed networks, derived permutation specs, matching that recovers hidden
permutations exactly, and merges that are exactly invariant."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pytest
import torch
from torch import nn

from eqlab.layerwise import (
    align,
    apply_transform,
    derive_spec,
    group_average,
    interpolation_barrier,
    involution_assignment,
    merge,
    permute_model,
    self_align,
    transform_network,
)

SIZE = 18  # even for the 2x2 max pool, and 9 after it is exact for the stride-2 3x3 convolution


def vgg(batchnorm: bool = True, stride_head: bool = False) -> nn.Sequential:
    def block(cin: int, cout: int) -> list[nn.Module]:
        norm: list[nn.Module] = [nn.BatchNorm2d(cout)] if batchnorm else []
        return [nn.Conv2d(cin, cout, 3, padding=1), *norm, nn.ReLU()]

    layers = [*block(1, 6), nn.MaxPool2d(2), *block(6, 8)]
    if stride_head:
        layers += [nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 5 * 5, 5)]
    else:
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5)]
    return nn.Sequential(*layers)


class Block(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels)
        self.conv2, self.bn2 = nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


class ResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 6, 3, padding=1)
        self.blocks = nn.Sequential(Block(6), Block(6))
        self.head = nn.Linear(6, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(torch.relu(self.stem(x))).mean((2, 3)))


def _generic(model: nn.Module, seed: int = 0) -> nn.Module:
    """Float64, eval mode, random batch-norm parameters and statistics."""
    gen = torch.Generator().manual_seed(seed)
    model = model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen, dtype=torch.float64))
                m.running_var.copy_(torch.rand(m.num_features, generator=gen, dtype=torch.float64) + 0.5)
    return model.eval()


def _random_involution(n: int, gen: torch.Generator) -> torch.Tensor:
    order = torch.randperm(n, generator=gen)
    perm = torch.arange(n)
    pairs = int(torch.randint(0, n // 2 + 1, (1,), generator=gen))
    for k in range(pairs):
        a, b = int(order[2 * k]), int(order[2 * k + 1])
        perm[a], perm[b] = b, a
    return perm


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).detach().norm() / b.detach().norm())


@pytest.mark.parametrize("make", [vgg, lambda: vgg(stride_head=True), ResNet])
@pytest.mark.parametrize("transform", ["hflip", "vflip", "rot90"])
def test_transformed_network_computes_f_of_t_x(make: type, transform: str) -> None:
    model = _generic(make())
    x = torch.randn(3, 1, SIZE, SIZE, dtype=torch.float64)
    out = transform_network(model, transform, input_size=SIZE)(x)
    assert _relative(out, model(apply_transform(x, transform))) < 1e-12


def test_transform_network_refuses_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match=r"Upsample"):
        transform_network(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample(scale_factor=2)), "hflip")
    with pytest.raises(ValueError, match=r"pixels off its mirror image at input size 16"):
        transform_network(nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1)), "hflip", input_size=16)
    with pytest.raises(ValueError, match="transform must be one of"):
        transform_network(vgg(), "shear")
    with pytest.raises(ValueError, match="reads the flattened input image"):
        transform_network(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)), "hflip")


def test_derived_spec_ties_the_residual_stream() -> None:
    spec = derive_spec(ResNet())
    sizes = sorted((g.name, len(g.members)) for g in spec.groups)
    # stem, both second convs and bn2s, the inner convs' inputs and the head share one group
    assert sizes == [("blocks.0.conv1", 7), ("blocks.1.conv1", 7), ("stem", 2 + 2 * 7 + 1)]
    spec = derive_spec(vgg(stride_head=True))
    assert spec.flattened == {"10": 25} and len(spec.groups) == 3


@pytest.mark.parametrize("make", [vgg, ResNet])
def test_permuted_model_computes_the_same_function(make: type) -> None:
    model = _generic(make())
    spec = derive_spec(model)
    perms = [torch.randperm(g.size) for g in spec.groups]
    x = torch.randn(4, 1, SIZE, SIZE, dtype=torch.float64)
    assert _relative(permute_model(model, spec, perms)(x), model(x)) < 1e-13


def _layerwise_equivariant(make: type, seed: int) -> tuple[nn.Module, list[torch.Tensor]]:
    """A generic network with P T(W) = W for random involutions P, then randomly re-permuted."""
    gen = torch.Generator().manual_seed(seed)
    model = _generic(make(), seed)
    spec = derive_spec(model)
    hidden = [_random_involution(g.size, gen) for g in spec.groups]
    equivariant = group_average(model, "hflip", hidden, spec=spec)
    shuffle = [torch.randperm(g.size, generator=gen) for g in spec.groups]
    shuffled = permute_model(equivariant, spec, shuffle)
    # shuffled[o] = equivariant[shuffle[o]], so its involutions are shuffle^-1 . P . shuffle
    expected = [torch.argsort(q)[p[q]] for p, q in zip(hidden, shuffle, strict=True)]
    return shuffled, expected


@pytest.mark.parametrize("method", ["weights", "activations"])
@pytest.mark.parametrize("make", [vgg, lambda: vgg(batchnorm=False), ResNet])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matching_recovers_hidden_involutions_exactly(method: str, make: type, seed: int) -> None:
    model, expected = _layerwise_equivariant(make, seed)
    data = torch.randn(64, 1, SIZE, SIZE, dtype=torch.float64)
    result = self_align(model, "hflip", method, data=data)
    for found, truth in zip(result.permutations, expected, strict=True):
        assert torch.equal(found, truth)
    assert max(result.alignment.errors.values()) < 1e-12
    assert max(result.alignment.activation_errors.values()) < 1e-12
    assert result.is_representation and all(s.involution for s in result.structure)


@pytest.mark.parametrize("method", ["weights", "activations"])
def test_align_recovers_a_permuted_copy(method: str) -> None:
    model = _generic(vgg(stride_head=True))
    spec = derive_spec(model)
    perms = [torch.randperm(g.size) for g in spec.groups]
    shuffled = permute_model(model, spec, perms)
    result = align(model, shuffled, method, data=torch.randn(32, 1, SIZE, SIZE, dtype=torch.float64))
    for found, perm in zip(result.permutations, perms, strict=True):
        assert torch.equal(perm[found], torch.arange(perm.numel()))  # aligned[o] = shuffled[found[o]]
    assert max(result.errors.values()) < 1e-14


@pytest.mark.parametrize("make", [vgg, lambda: vgg(batchnorm=False), ResNet])
def test_group_average_is_exactly_invariant(make: type) -> None:
    model = _generic(make())
    data = torch.randn(64, 1, SIZE, SIZE, dtype=torch.float64)
    result = self_align(model, "hflip", "activations", data=data, involution=True)
    assert result.is_representation
    for with_data in (None, data):
        merged = group_average(model, "hflip", result.permutations, data=with_data)
        x = torch.randn(8, 1, SIZE, SIZE, dtype=torch.float64)
        assert _relative(merged(apply_transform(x, "hflip")), merged(x)) < 1e-12
        merged32 = merged.float()
        assert _relative(merged32(apply_transform(x.float(), "hflip")), merged32(x.float())) < 1e-6
    with pytest.raises(ValueError, match="does not have order dividing 2"):
        cycles = [torch.roll(torch.arange(g.size), 1) for g in result.alignment.spec.groups]
        group_average(model, "hflip", cycles)


def test_rot90_group_average_with_order_four_permutations() -> None:
    model = _generic(vgg())
    spec = derive_spec(model)
    perms = [torch.arange(g.size) for g in spec.groups]
    merged = group_average(model, "rot90", perms)
    x = torch.randn(4, 1, SIZE, SIZE, dtype=torch.float64)
    assert _relative(merged(apply_transform(x, "rot90")), merged(x)) < 1e-12


def test_involution_assignment_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        cost = rng.standard_normal((6, 6))
        best = max(
            (p for p in itertools.permutations(range(6)) if all(p[p[i]] == i for i in range(6))),
            key=lambda p: sum(cost[i, p[i]] for i in range(6)),
        )
        found = involution_assignment(cost)
        assert np.isclose(sum(cost[i, found[i]] for i in range(6)), sum(cost[i, best[i]] for i in range(6)))
        assert np.array_equal(found[found], np.arange(6))


def test_merge_endpoints_statistics_and_repair() -> None:
    a, b = _generic(vgg(batchnorm=False), 0), _generic(vgg(batchnorm=False), 1)
    x = torch.randn(16, 1, SIZE, SIZE, dtype=torch.float64)
    assert torch.equal(merge(a, b, 0.0)(x), a(x)) and torch.equal(merge(a, b, 1.0)(x), b(x))
    repaired = merge(a, b, 0.5, data=x)  # no batch norm: REPAIR
    spec = derive_spec(a)
    from eqlab.layerwise._match import collect_features

    node = spec.layer_nodes["0"]
    stats = [collect_features(m, spec, [node], x)[node].double() for m in (a, b, repaired)]
    stds = [s.movedim(1, -1).reshape(-1, 6).std(0) for s in stats]
    torch.testing.assert_close(stds[2], (stds[0] + stds[1]) / 2, rtol=1e-10, atol=1e-12)
    bn = _generic(vgg(), 0)
    reset = merge(bn, bn, 0.5, data=x)
    assert reset[1].running_mean.abs().max() > 0 and not reset.training


def test_barrier_between_a_network_and_itself_is_zero() -> None:
    model = _generic(vgg())
    x = torch.randn(32, 1, SIZE, SIZE, dtype=torch.float64)
    y = torch.randint(0, 5, (32,))
    curve = interpolation_barrier(model, model, (x, y), alphas=5)
    assert len(curve.loss) == 5 and abs(curve.loss_barrier) < 1e-12 and abs(curve.accuracy_barrier) < 1e-12


def test_large_involution_heuristic_is_near_the_exact_optimum(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    cost = rng.standard_normal((40, 40))
    exact = involution_assignment(cost)
    module = importlib.import_module("eqlab.layerwise._align")  # the package re-exports align, a function
    monkeypatch.setattr(module, "EXACT_INVOLUTION_MAX", 0)
    heuristic = involution_assignment(cost)
    assert np.array_equal(heuristic[heuristic], np.arange(40))
    score = lambda p: float(cost[np.arange(40), p].sum())  # noqa: E731
    assert score(heuristic) <= score(exact) + 1e-9 and score(heuristic) >= 0.5 * score(exact)
    truth = np.arange(40)
    truth[:20] = np.arange(20)[::-1]  # a planted involution with a large margin wins either way
    planted = cost + 50 * np.eye(40)[truth]
    assert np.array_equal(involution_assignment(planted), truth)

"""`align` and `self_align`: the permutations found act by `eqlab.groups.act` and recover hidden ones
exactly; constrained self-alignments keep ``pi^m = id`` and report their gap."""

from __future__ import annotations

import pytest
import torch

from eqlab.groups import act
from eqlab.groups._perm import compose, identity
from eqlab.layerwise import _cycles, align, self_align
from eqlab.layerwise._permute import permute_model
from eqlab.layerwise._spec import derive_spec
from tests.layerwise.nets import ResNet, cnn, generic, hidden_structure, images, random_involution, vgg


@pytest.mark.parametrize("method", ["weights", "activations"])
def test_align_undoes_a_permutation(method: str) -> None:
    model = generic(vgg(stride_head=True))
    spec = derive_spec(model)
    scramble = [torch.randperm(s.size) for s in spec.channel_sets]
    scrambled = permute_model(model, spec, scramble)
    result = align(model, scrambled, method, data=images(32))
    for found, q in zip(result.permutations, scramble, strict=True):
        assert torch.equal(torch.as_tensor(compose(found, q)), torch.as_tensor(identity(q.numel())))
    assert max(result.errors.values()) < 1e-14


def test_acting_by_the_found_permutations_maps_model_b_onto_model_a() -> None:
    model = generic(vgg())
    spec = derive_spec(model)
    scrambled = permute_model(model, spec, [torch.randperm(s.size) for s in spec.channel_sets])
    first, second = align(model, scrambled).permutations[:2]
    weight = scrambled[4].weight.detach()  # (8, 6, 3, 3): second set's outputs, first set's inputs
    assert torch.equal(act(second, act(first, weight, dim=1), dim=0), model[4].weight)
    assert torch.equal(act(first, scrambled[1].running_var), model[1].running_var)


@pytest.mark.parametrize("method", ["weights", "activations"])
@pytest.mark.parametrize("make", [vgg, lambda: vgg(batchnorm=False), ResNet])
@pytest.mark.parametrize("seed", [0, 1])
def test_hidden_involutions_are_recovered_exactly(method: str, make: type, seed: int) -> None:
    model, expected = hidden_structure(make(), "hflip", random_involution, seed)
    result = self_align(model, "hflip", method, data=images(32))
    for found, truth in zip(result.permutations, expected, strict=True):
        assert torch.equal(found, truth)
    assert max(result.alignment.errors.values()) < 1e-12
    assert max(result.alignment.activation_errors.values()) < 1e-12
    assert result.is_representation and all(s.involution for s in result.structure)


def test_rot90_self_alignment_is_constrained_to_order_four() -> None:
    result = self_align(generic(cnn((8, 12, 16))), "rot90")
    assert result.is_representation
    assert all(s.solver == "exact" and s.gap >= 0.0 for s in result.structure)


def test_unconstrained_rot90_self_alignment_may_break_the_order() -> None:
    result = self_align(generic(cnn((8, 12, 16))), "rot90", constrain=False)
    assert not result.is_representation  # random weights: the linear assignment has other cycles
    assert all(s.solver == "linear assignment" and s.gap == 0.0 for s in result.structure)


def test_flip_self_alignment_is_unconstrained_unless_asked() -> None:
    model = generic(cnn((8, 12, 16)))
    assert self_align(model, "hflip").structure[0].solver == "linear assignment"
    assert all(s.involution for s in self_align(model, "hflip", constrain=True).structure)
    assert all(s.involution for s in self_align(model, "hflip", involution=True).structure)


def test_the_heuristic_keeps_the_order_and_reports_its_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cycles, "EXACT_ORDER4_MAX", 0)
    result = self_align(generic(cnn((8, 12, 16))), "rot90")
    assert result.is_representation
    assert {s.solver for s in result.structure} <= {"heuristic", "exact"}
    assert any(s.solver == "heuristic" and s.gap > 0 for s in result.structure)
    assert "heuristic" in result.table()


def test_the_table_shows_cycles_gap_and_solver() -> None:
    table = self_align(generic(cnn((8, 12, 16))), "rot90").table()
    assert "4-cycles" in table and "pi^4=id" in table and "gap" in table and "exact" in table


def test_involution_is_refused_for_rot90() -> None:
    with pytest.raises(ValueError, match="involution=True needs an order-2 transform"):
        self_align(cnn(), "rot90", involution=True)

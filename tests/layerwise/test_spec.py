"""The permutation spec derived from the traced model: which axes move together, and one trace per use."""

from __future__ import annotations

import pytest
import torch

from eqlab.layerwise import _spec as spec_module
from eqlab.layerwise import group_average, self_align
from eqlab.layerwise._spec import derive_spec
from tests.layerwise.nets import ResNet, cnn, generic, vgg


def test_the_residual_stream_is_one_channel_set() -> None:
    spec = derive_spec(ResNet())
    sizes = sorted((s.name, len(s.members)) for s in spec.channel_sets)
    # stem, both second convs and bn2s, the inner convs' inputs and the head share one set
    assert sizes == [("blocks.0.conv1", 7), ("blocks.1.conv1", 7), ("stem", 2 + 2 * 7 + 1)]


def test_a_flattened_head_reads_blocks_of_pixels() -> None:
    spec = derive_spec(vgg(stride_head=True))
    assert spec.flattened == {"10": 25} and len(spec.channel_sets) == 3


@pytest.fixture
def traces(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the models the spec's tracer traces, recorded by a spy."""
    calls: list[str] = []
    trace = spec_module._trace

    def spy(model: torch.nn.Module) -> torch.fx.GraphModule:
        calls.append(type(model).__name__)
        return trace(model)

    monkeypatch.setattr(spec_module, "_trace", spy)
    return calls


@pytest.mark.parametrize("transform", ["hflip", "rot90"])
def test_self_align_traces_the_model_once(traces: list[str], transform: str) -> None:
    self_align(generic(cnn((4, 6, 8))), transform, input_size=8)
    assert traces == ["Sequential"]


def test_group_average_without_permutations_traces_the_model_once(traces: list[str]) -> None:
    group_average(generic(cnn((4, 6, 8))), "rot90")
    assert traces == ["Sequential"]

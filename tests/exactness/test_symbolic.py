"""`exact_sizes` replays the grid analysis over many sizes from one trace (`eqlab.exactness._symbolic`). The
reference it must agree with is the slow, obviously correct one: a full trace and grid analysis per size
(`_grid`), where a size the model refuses is not exact."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from torch import nn

from eqlab.exactness import exact_sizes
from eqlab.exactness._analyser import _float64_copy, _grid, _ModelRefusesInput, size_scan
from eqlab.exactness._grid import pool_offset
from eqlab.exactness._rules import analyse
from eqlab.exactness._symmetry import symmetry
from tests import zoo

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def reference(model: nn.Module, sizes: Sequence[int], group: str | None = None) -> list[int]:
    """One full trace and grid analysis per size: the sizes where the model runs and every grid maps onto
    itself."""
    probe = _float64_copy(model)
    found = []
    for n in sizes:
        try:
            grid = _grid(model, (n, n), group, None, probe)
        except _ModelRefusesInput:
            continue
        if grid.report.grid_exact is True:
            found.append(n)
    return found


def traced_per_size(notes: list[str]) -> list[str]:
    return [note for note in notes if note.startswith("traced per size")]


def front(model: nn.Module, channels: int = 1) -> nn.Sequential:
    """``model`` behind a 1x1 convolution, which is exact at every size and tells eqlab the input channels
    (a model without ``Conv2d`` modules does not)."""
    return nn.Sequential(nn.Conv2d(channels, channels, 1), model)


# ----------------------------------------------------------------------------------------------------------
# hypothesis: random stacks, three symmetries


STACK_SIZES = range(5, 48)
STACK_GROUPS = ("p4", "hflip", "rot180")


def reference_per_group(
    model: nn.Module, sizes: Sequence[int], groups: Sequence[str]
) -> dict[str, list[int]]:
    """`reference` for several symmetries, sharing each size's trace (tracing does not depend on the
    symmetry; `_grid` analyses the first, `analyse` the others on the same traced graph)."""
    probe = _float64_copy(model)
    found: dict[str, list[int]] = {group: [] for group in groups}
    for n in sizes:
        try:
            grid = _grid(model, (n, n), groups[0], None, probe)
        except _ModelRefusesInput:
            continue
        if grid.report.grid_exact is True:
            found[groups[0]].append(n)
        for group in groups[1:]:
            if grid.view is not None and analyse(grid.view, symmetry(group), grid.input_layout).exact is True:
                found[group].append(n)
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=zoo.stacks())
def test_random_stacks_agree_with_one_trace_per_size(spec: list[tuple[Any, ...]]) -> None:
    model = front(zoo.stack_from_spec(spec, 1, width=2))  # a stack may hold no convolution
    expected = reference_per_group(model, STACK_SIZES, STACK_GROUPS)
    for group in STACK_GROUPS:
        assert exact_sizes(model, STACK_SIZES, group=group) == expected[group], (group, spec)


def test_the_shared_trace_reference_is_the_per_group_one() -> None:
    spec = [("conv", 3, 2, 1, 1), ("avgpool", 3, 2, 1, True, False), ("upsample", 2, "bilinear")]
    model = front(zoo.stack_from_spec(spec, 1, width=2))
    shared = reference_per_group(model, range(5, 30), STACK_GROUPS)
    assert shared == {group: reference(model, range(5, 30), group) for group in STACK_GROUPS}
    assert shared["p4"]  # not vacuous


# ----------------------------------------------------------------------------------------------------------
# the zoo


ZOO: dict[str, tuple[Callable[[], nn.Module], range]] = {
    "resnet18": (lambda: zoo.resnet(18, 4), range(16, 81)),
    "resnet50": (lambda: zoo.resnet(50, 4), range(16, 81)),
    "vgg11_bn adaptive": (lambda: zoo.vgg11_bn(4, hidden=8), range(16, 81)),
    "vgg11_bn flatten head": (
        lambda: zoo.vgg11_bn(4, adaptive=False, input_size=64, hidden=8),
        range(16, 129),
    ),
    "unet": (lambda: zoo.unet(width=4), range(16, 81)),
    "unet resize_to_skip": (lambda: zoo.unet(width=4, resize_to_skip=True), range(16, 81)),
    "functional_net": (zoo.functional_net, range(5, 61)),
    "p4_cnn": (zoo.p4_cnn, range(5, 48)),
    "p4m_cnn": (zoo.p4m_cnn, range(5, 48)),
}
"""Small-width zoo models and the sizes to scan (the per-size reference is the slow part)."""


@functools.cache
def built(name: str) -> nn.Module:
    return ZOO[name][0]()


DOCUMENTED = {
    "resnet18": lambda n: n % 32 == 1,
    "resnet50": lambda n: n % 32 == 1,
    "vgg11_bn adaptive": lambda n: n % 32 == 0,
    "vgg11_bn flatten head": lambda n: n == 64,  # runs at 64..95 only; exact at 0 mod 32
    "unet": lambda n: n % 8 == 0,
    "unet resize_to_skip": lambda n: n % 8 == 0,
    "functional_net": lambda n: n % 8 == 2,
    "p4_cnn": lambda n: n % 4 == 3,
    "p4m_cnn": lambda n: n % 4 == 3,
}
"""The exact sizes each zoo docstring states (``tests/test_zoo.py`` confirms them by measurement)."""


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_models_agree_with_one_trace_per_size(name: str) -> None:
    model, sizes = built(name), ZOO[name][1]
    found = exact_sizes(model, sizes)
    assert found == reference(model, sizes)
    assert found == [n for n in sizes if DOCUMENTED[name](n)]


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_models_are_replayed_without_a_trace_per_size(name: str) -> None:
    scan = size_scan(built(name), list(ZOO[name][1]), None)
    assert traced_per_size(scan.notes) == []
    assert scan.exact.any()


@pytest.mark.parametrize("group", ["hflip", "rot180", "p4m"])
def test_resnet_other_symmetries_agree(group: str) -> None:
    model = zoo.resnet(18, 4)
    sizes = range(28, 70)
    assert exact_sizes(model, sizes, group=group) == reference(model, sizes, group) == [33, 65]


def test_flatten_head_keeps_only_the_sizes_where_it_runs_and_names_the_dense_layer() -> None:
    model = zoo.vgg11_bn(4, adaptive=False, input_size=64, hidden=8)
    sizes = list(range(16, 129))
    scan = size_scan(model, sizes, None)
    runs = [n for n, ok in zip(sizes, scan.runs.tolist(), strict=True) if ok]
    assert runs == list(range(64, 96))  # the first Linear reads 8 width * (H // 32) ** 2 features
    assert exact_sizes(model, sizes) == [64]
    dense = [note for note in scan.notes if note.startswith("classifier.0 (Linear)")]
    assert dense and "fixes the input size" in dense[0]


def test_resize_to_a_skip_names_the_size_read_from_the_data() -> None:
    model = zoo.unet(width=4, resize_to_skip=True)
    scan = size_scan(model, list(range(16, 41)), None)
    read = [note for note in scan.notes if "read from the data" in note]
    assert len(read) == 3  # one interpolation per decoder level
    assert all(note.startswith("interpolate") for note in read)
    assert traced_per_size(scan.notes) == []


def test_the_plain_unet_needs_no_note() -> None:
    scan = size_scan(zoo.unet(width=4), list(range(16, 41)), None)
    assert not [note for note in scan.notes if "read from the data" in note]


def test_sizes_where_the_plain_unet_fails_are_not_exact() -> None:
    model = zoo.unet(width=4)  # the concatenation fails unless 8 divides the side
    sizes = range(1, 34)
    scan = size_scan(model, list(sizes), None)
    assert [n for n, ok in zip(sizes, scan.runs.tolist(), strict=True) if ok] == [8, 16, 24, 32]
    assert exact_sizes(model, sizes) == reference(model, sizes) == [8, 16, 24, 32]


def test_sizes_where_the_resizing_unet_fails_are_not_exact() -> None:
    model = zoo.unet(width=4, resize_to_skip=True)  # runs at n >= 8; below, a max pool gets an empty map
    sizes = range(1, 34)
    assert exact_sizes(model, sizes) == reference(model, sizes) == [8, 16, 24, 32]


def test_a_padded_pool_after_a_layer_that_empties_the_plane() -> None:
    # the dilated convolution reads 7 pixels: at sides 5 and 6 the model does not run
    model = front(zoo.stack_from_spec([("conv", 4, 1, 0, 2), ("maxpool", 2, 1, 1, False)], 1, width=2))
    assert exact_sizes(model, range(5, 20)) == reference(model, range(5, 20))


# ----------------------------------------------------------------------------------------------------------
# pooling: the small-count branch of the replayed window against `pool_offset`


def pools() -> Iterator[tuple[str, int, int, int, bool, bool]]:
    for kind in ("max", "avg"):
        for kernel in range(1, 6):
            for stride in (1, 2, 3):
                for padding in range(kernel // 2 + 1):
                    for ceil in (False, True):
                        for include in (True, False) if kind == "avg" else (True,):
                            yield kind, kernel, stride, padding, ceil, include


POOL_SIZES = list(range(1, 61))


def test_pooling_windows_agree_with_pool_offset() -> None:
    checked = 0
    for kind, kernel, stride, padding, ceil, include in pools():
        pool = (
            nn.MaxPool2d(kernel, stride, padding, ceil_mode=ceil)
            if kind == "max"
            else nn.AvgPool2d(kernel, stride, padding, ceil_mode=ceil, count_include_pad=include)
        )
        model = front(pool)
        scan = size_scan(model, POOL_SIZES, None)
        for n, runs, exact in zip(POOL_SIZES, scan.runs.tolist(), scan.exact.tolist(), strict=True):
            try:
                with torch.no_grad():
                    pool(torch.zeros(1, 1, n, n))
                really_runs = True
            except RuntimeError:
                really_runs = False
            expected = really_runs and pool_offset(n, kind, kernel, stride, padding, 1, ceil, include) == 0
            where = (kind, kernel, stride, padding, ceil, include, n)
            assert runs == really_runs, where
            assert exact == expected, where
            checked += 1
    assert checked == 198 * len(POOL_SIZES)


@pytest.mark.parametrize(
    "pool",
    [
        nn.MaxPool2d(3, 2, 1),
        nn.MaxPool2d(2, 2, 0, ceil_mode=True),
        nn.AvgPool2d(3, 2, 1, count_include_pad=False),
        nn.AvgPool2d(4, 3, 2, ceil_mode=True),
    ],
    ids=str,
)
def test_pooling_agrees_with_one_trace_per_size(pool: nn.Module) -> None:
    model = front(pool)
    assert exact_sizes(model, range(1, 40)) == reference(model, range(1, 40))

"""Every fix `eqlab.audit` suggests for the zoo's models is verified, and its promise holds when the change is
made here, independently of the audit: the input size (`eqlab.exactness.check` at the new size), the layer
geometry (the change applied by hand, then `check`), the orbit average (`eqlab.nn.OrbitAverage` built here and
measured with `eqlab.testing.equivariance_error`) and the group average (`eqlab.layerwise.group_average`
applied here and measured)."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import nn

import eqlab
from eqlab._audit import AuditReport, Fix
from eqlab.exactness import check, exact_sizes
from eqlab.groups._image import transform_image
from eqlab.layerwise import group_average
from eqlab.nn import OrbitAverage
from eqlab.testing import equivariance_error
from tests import zoo
from tests._audit.test_audit import audited, plain_cnn
from tests._audit.test_audit import model as zoo_model

EXACT = 1e-12
F64 = torch.float64
ELEMENTS = {"rot90": (0, 1, 2, 3), "hflip": (0, 4), "vflip": (0, 6), "rot180": (0, 2)}
"""D4 elements (``k + 4 j`` is ``r^k m^j``, m the left-right flip), written out here, not read from eqlab."""


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@dataclass(frozen=True)
class Case:
    model: str  # a name in test_audit.ZOO or in STACKS
    symmetry: str
    size: int
    kinds: frozenset[str]  # the fixes it must get


NOT_EXACT = frozenset({"input size", "layer geometry", "group average", "orbit average"})
EXACT_ARCHITECTURE = frozenset({"group average", "orbit average"})

STACKS = {
    "stack, strided conv": [("conv", 3, 2, 1, 1), ("relu",), ("conv", 3, 1, 1, 1), ("relu",)],
    "stack, strided max pool": [
        ("conv", 3, 1, 1, 1),
        ("relu",),
        ("maxpool", 3, 2, 1, False),
        ("conv", 3, 1, 1, 1),
    ],
}
"""Bodies of `zoo.stack_from_spec` models with an invariant head; stride 2 misses its mirror image at 28."""

CASES = {
    "resnet18-rot90-64": Case("resnet18", "rot90", 64, NOT_EXACT),
    "vgg11_bn-hflip-64": Case("vgg11_bn", "hflip", 64, EXACT_ARCHITECTURE),
    "vgg11_bn-rot90-48": Case("vgg11_bn", "rot90", 48, NOT_EXACT),
    "functional_net-rot90-20": Case(
        "functional_net",
        "rot90",
        20,
        frozenset({"input size", "orbit average"}),  # functional ops: no module to change, no alignment
    ),
    "stack, strided conv-rot90-28": Case("stack, strided conv", "rot90", 28, NOT_EXACT),
    "stack, strided max pool-hflip-28": Case("stack, strided max pool", "hflip", 28, NOT_EXACT),
}


@functools.cache
def stack(name: str) -> nn.Module:
    return zoo.stack_from_spec([*STACKS[name], ("adaptive", 1), ("flatten",), ("linear", 3)], 1)


def model_of(case: Case) -> nn.Module:
    return stack(case.model) if case.model in STACKS else zoo_model(case.model)


@functools.cache
def report_of(key: str) -> AuditReport:
    case = CASES[key]
    if case.model in STACKS:
        return eqlab.audit(stack(case.model), case.symmetry, case.size)
    return audited(case.model, case.symmetry, case.size)


def channels(case: Case) -> int:
    """Input channels: of the first convolution (a module, or a parameter of 4-D filters)."""
    for layer in model_of(case).modules():
        if isinstance(layer, nn.Conv2d):
            return layer.in_channels
    return next(p for p in model_of(case).parameters() if p.dim() == 4).shape[1]


def cases_with(kind: str) -> list[str]:
    return [key for key, case in CASES.items() if kind in case.kinds]


def fixes_of(key: str, kind: str) -> list[Fix]:
    found = [fix for fix in report_of(key).fixes if fix.kind == kind]
    assert found, (key, kind, [fix.kind for fix in report_of(key).fixes])
    return found


def images(case: Case, size: int, batch: int = 2, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, channels(case), size, size, generator=generator, dtype=F64)


def invariance_error(model: nn.Module, x: torch.Tensor, symmetry: str) -> float:
    """``|f(g x) - f(x)|`` (relative, float64) over the elements, for a model with an invariant output."""
    moves = [lambda t, g=g: transform_image(t, g) for g in ELEMENTS[symmetry]]
    return equivariance_error(model, x, moves, [lambda t: t] * len(moves))


def _float64_eval(model: nn.Module) -> nn.Module:
    return copy.deepcopy(model).to(F64).eval()


# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(CASES))
def test_every_fix_is_verified(key: str) -> None:
    report = report_of(key)
    assert {fix.kind for fix in report.fixes} == CASES[key].kinds, report.table()
    for fix in report.fixes:
        assert fix.verified is True, (fix.kind, fix.change, fix.promise, fix.measured_error)
        assert fix.measured_error is not None and fix.measured_error <= EXACT, fix
        assert fix.change and fix.promise


@pytest.mark.parametrize("key", cases_with("input size"))
def test_input_size_fixes_are_exact_and_nearest(key: str) -> None:
    case = CASES[key]
    model = model_of(case)
    fixes = fixes_of(key, "input size")
    news = [fix.details["size"] for fix in fixes]
    below, above = [n for n in news if n < case.size], [n for n in news if n > case.size]
    assert len(below) <= 1 and len(above) <= 1 and below + above == news  # below first
    for fix in fixes:
        new = fix.details["size"]
        gap = abs(new - case.size)
        assert fix.details.get("crop" if new < case.size else "pad") == gap, fix.details
        # the averaged copy at the new size: grid predicted exact and confirmed in float64
        confirmed = check(model, new, group=case.symmetry, confirm=False)
        assert confirmed.verdict == "exact", confirmed.table()
    between = [n for n in range(min(news, default=case.size), max(news, default=case.size) + 1)]
    between = [n for n in between if n not in news and n != case.size]
    assert exact_sizes(model, between, group=case.symmetry) == []


def changed_copy(model: nn.Module, layers: dict[str, dict[str, int]]) -> nn.Module:
    """``model`` with each named module's kernel and padding changed, made here from the module's own
    settings (new convolutions get fresh weights: `check` averages them over the group anyway)."""
    changed = copy.deepcopy(model)
    for path, geometry in layers.items():
        parent_path, _, attribute = path.rpartition(".")
        parent = changed.get_submodule(parent_path) if parent_path else changed
        old = getattr(parent, attribute)
        k, p = geometry["kernel"], geometry["padding"]
        if isinstance(old, nn.Conv2d):
            new: nn.Module = nn.Conv2d(
                old.in_channels,
                old.out_channels,
                k,
                stride=(old.stride[0], old.stride[1]),
                padding=p,
                dilation=(old.dilation[0], old.dilation[1]),
                groups=old.groups,
                bias=old.bias is not None,
            )
        elif isinstance(old, nn.MaxPool2d):
            new = nn.MaxPool2d(k, old.stride, p, old.dilation, ceil_mode=old.ceil_mode)
        elif isinstance(old, nn.AvgPool2d):
            new = nn.AvgPool2d(k, old.stride, p, old.ceil_mode, old.count_include_pad, old.divisor_override)
        else:
            raise AssertionError(f"{path}: a layer geometry fix on a {type(old).__name__}")
        setattr(parent, attribute, new)
    return changed


def output_shapes(model: nn.Module, paths: list[str], x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}

    def record(path: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> None:
            shapes.setdefault(path, tuple(output.shape))

        return hook

    handles = [model.get_submodule(path).register_forward_hook(record(path)) for path in paths]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return shapes


@pytest.mark.parametrize("key", cases_with("layer geometry"))
def test_layer_geometry_fix_applied_here_is_exact(key: str) -> None:
    case = CASES[key]
    model = model_of(case)
    (fix,) = fixes_of(key, "layer geometry")
    layers = fix.details["layers"]
    assert layers and fix.details["still_broken"] == []
    changed = changed_copy(model, layers)
    x = images(case, case.size)
    # each changed layer keeps its output size, so the rest of the network is untouched
    assert output_shapes(_float64_eval(changed), list(layers), x) == output_shapes(
        _float64_eval(model), list(layers), x
    )
    assert check(model, case.size, group=case.symmetry, confirm=False).verdict == "not exact"
    confirmed = check(changed, case.size, group=case.symmetry, confirm=False)
    assert confirmed.verdict == "exact", confirmed.table()


@pytest.mark.parametrize("key", cases_with("orbit average"))
def test_orbit_average_built_here_is_exact(key: str) -> None:
    case = CASES[key]
    (fix,) = fixes_of(key, "orbit average")
    assert fix.details["cost_factor"] == len(ELEMENTS[case.symmetry])
    model = _float64_eval(model_of(case))
    x = images(case, case.size)
    assert invariance_error(model, x, case.symmetry) > 1e-2  # the model as given is not invariant
    averaged = OrbitAverage(model, case.symmetry, "invariant")
    assert averaged.elements == ELEMENTS[case.symmetry]
    assert invariance_error(averaged, x, case.symmetry) <= EXACT


@pytest.mark.parametrize("key", cases_with("group average"))
def test_group_average_applied_here_is_exact_where_promised(key: str) -> None:
    case = CASES[key]
    model = model_of(case)
    (fix,) = fixes_of(key, "group average")
    transform = fix.details["transform"]
    assert transform == case.symmetry
    at = fix.details["checked_at"]
    assert exact_sizes(model, [at], group=case.symmetry) == [at]  # promised where the architecture is exact
    if report_of(key).architecture_exact:
        assert at == case.size
    averaged = _float64_eval(group_average(model, transform))
    assert invariance_error(averaged, images(case, at, seed=1), case.symmetry) <= EXACT
    assert invariance_error(_float64_eval(model), images(case, at, seed=1), case.symmetry) > 1e-2


@pytest.mark.parametrize("symmetry", ["rot90", "hflip"])
def test_group_average_with_labelled_data_reports_accuracies(symmetry: str) -> None:
    net = plain_cnn(seed=2)
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(16, 1, 15, 15, generator=generator, dtype=F64)
    with torch.no_grad():
        y = net(x).argmax(-1)  # labels the model gets right: its accuracy is 1
    report = eqlab.audit(net, symmetry, 15, data=(x, y))
    (fix,) = [fix for fix in report.fixes if fix.kind == "group average"]
    assert fix.verified is True and fix.measured_error is not None and fix.measured_error <= EXACT
    before, after = fix.details["accuracy_before"], fix.details["accuracy_after"]
    assert 0.0 <= before <= 1.0 and 0.0 <= after <= 1.0
    assert before == 1.0
    averaged = group_average(net, symmetry, data=x)
    with torch.no_grad():
        assert after == float((averaged(x).argmax(-1) == y).double().mean())
    assert invariance_error(_float64_eval(averaged), x[:2], symmetry) <= EXACT
    assert f"{after:.3f}" in fix.change

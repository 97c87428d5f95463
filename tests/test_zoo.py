"""The model zoo (`tests.zoo`): torchvision's layouts and parameter counts, the sizes each builder promises
to run at, the sizes where its docstring says it is exact (checked with symmetric filters), torch.fx
tracing, and the random stacks of the hypothesis strategy."""

from __future__ import annotations

import operator
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from torch import fx, nn

from eqlab.groups._image import transform_image
from tests import zoo

D4 = range(8)
ROTATIONS = range(4)
F64 = torch.float64


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def image(size: int | tuple[int, int], channels: int = 1, batch: int = 2) -> torch.Tensor:
    h, w = (size, size) if isinstance(size, int) else size
    return torch.randn(batch, channels, h, w, dtype=F64, generator=torch.Generator().manual_seed(h * 97 + w))


def ready(model: nn.Module) -> nn.Module:
    return model.to(F64).eval()


# ---------------------------------------------------------------------------------------------------------
# parameter counts, by hand


def resnet_count(depth: int, width: int, classes: int, channels: int) -> int:
    """torchvision's ResNet parameter count, from its layout: convolutions have no bias, a batch norm has
    a weight and a bias per channel."""
    basic = depth in (18, 34)
    blocks = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
    expansion = 1 if basic else 4
    total = channels * width * 49 + 2 * width  # conv1, bn1
    inplanes = width
    for stage, n in enumerate(blocks[depth]):
        planes = width * 2**stage
        for b in range(n):
            stride = 2 if stage > 0 and b == 0 else 1
            out = planes * expansion
            if basic:
                total += 9 * inplanes * planes + 2 * planes + 9 * planes * planes + 2 * planes
            else:
                total += inplanes * planes + 9 * planes * planes + planes * out  # 1x1, 3x3, 1x1
                total += 2 * planes + 2 * planes + 2 * out
            if stride != 1 or inplanes != out:
                total += inplanes * out + 2 * out
            inplanes = out
    return total + inplanes * classes + classes  # fc


def vgg11_count(width: int, classes: int, hidden: int, side: int = 7, channels: int = 3) -> int:
    total, c = 0, channels
    for v in (64, 128, 256, 256, 512, 512, 512, 512):
        out = v * width // 64
        total += 9 * c * out + out + 2 * out  # conv with bias, batch norm
        c = out
    return total + (c * side * side + 1) * hidden + (hidden + 1) * hidden + (hidden + 1) * classes


def test_hand_counts_are_torchvisions() -> None:
    assert resnet_count(18, 64, 1000, 3) == 11_689_512
    assert resnet_count(34, 64, 1000, 3) == 21_797_672
    assert resnet_count(50, 64, 1000, 3) == 25_557_032
    assert resnet_count(101, 64, 1000, 3) == 44_549_160
    assert resnet_count(152, 64, 1000, 3) == 60_192_808
    assert vgg11_count(64, 1000, 4096) == 132_868_840


def test_resnet_full_width_parameter_counts() -> None:
    assert count(zoo.resnet(18, 64, 1000, 3)) == 11_689_512
    assert count(zoo.resnet(50, 64, 1000, 3)) == 25_557_032


@pytest.mark.parametrize("depth", [18, 34, 50, 101, 152])
@pytest.mark.parametrize(("width", "classes", "channels"), [(4, 10, 3), (6, 7, 1)])
def test_resnet_counts_at_small_width(depth: int, width: int, classes: int, channels: int) -> None:
    assert count(zoo.resnet(depth, width, classes, channels)) == resnet_count(depth, width, classes, channels)


@pytest.mark.parametrize("adaptive", [True, False])
def test_vgg_counts_at_small_width(adaptive: bool) -> None:
    model = zoo.vgg11_bn(8, 5, adaptive=adaptive, input_size=96, hidden=16)
    assert count(model) == vgg11_count(8, 5, 16, side=7 if adaptive else 3)


# ---------------------------------------------------------------------------------------------------------
# torchvision's names and strides


def resnet_keys(depth: int) -> list[str]:
    """torchvision's ResNet ``state_dict`` keys, in order."""
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    blocks = {18: (2, 2, 2, 2), 50: (3, 4, 6, 3)}[depth]
    convs = 2 if depth == 18 else 3
    keys = ["conv1.weight"] + [f"bn1.{k}" for k in bn]
    for stage, n in enumerate(blocks, start=1):
        for b in range(n):
            prefix = f"layer{stage}.{b}"
            for i in range(1, convs + 1):
                keys += [f"{prefix}.conv{i}.weight"] + [f"{prefix}.bn{i}.{k}" for k in bn]
            if b == 0 and (stage > 1 or depth == 50):
                keys += [f"{prefix}.downsample.0.weight"] + [f"{prefix}.downsample.1.{k}" for k in bn]
    return [*keys, "fc.weight", "fc.bias"]


@pytest.mark.parametrize("depth", [18, 50])
def test_resnet_state_dict_keys_are_torchvisions(depth: int) -> None:
    assert list(zoo.resnet(depth, 4).state_dict()) == resnet_keys(depth)


def test_resnet_modules_and_strides() -> None:
    r18, r50 = zoo.resnet(18, 4), zoo.resnet(50, 4)
    for model in (r18, r50):
        assert (model.conv1.kernel_size, model.conv1.stride, model.conv1.padding) == ((7, 7), (2, 2), (3, 3))
        assert model.conv1.bias is None
        assert isinstance(model.bn1, nn.BatchNorm2d) and isinstance(model.relu, nn.ReLU)
        assert (model.maxpool.kernel_size, model.maxpool.stride, model.maxpool.padding) == (3, 2, 1)
        assert isinstance(model.avgpool, nn.AdaptiveAvgPool2d) and model.avgpool.output_size == 1
        for stage in (model.layer2, model.layer3, model.layer4):
            shortcut = stage[0].downsample
            assert isinstance(shortcut, nn.Sequential)
            assert (shortcut[0].kernel_size, shortcut[0].stride, shortcut[0].bias) == ((1, 1), (2, 2), None)
            assert isinstance(shortcut[1], nn.BatchNorm2d)
            assert all(block.downsample is None for block in stage[1:])
    assert r18.layer1[0].downsample is None
    assert r18.layer2[0].conv1.stride == (2, 2) and r18.layer2[0].conv2.stride == (1, 1)
    assert r50.layer1[0].downsample[0].stride == (1, 1)  # channels change 4 -> 16
    first = r50.layer2[0]
    assert (first.conv1.stride, first.conv2.stride, first.conv3.stride) == ((1, 1), (2, 2), (1, 1))
    assert first.conv2.kernel_size == (3, 3) and first.conv3.out_channels == 32
    assert (r18.fc.in_features, r50.fc.in_features) == (32, 128)


def test_vgg_layout() -> None:
    model = zoo.vgg11_bn(8, 5, hidden=16)
    kinds = [type(m).__name__ for m in model.features]
    assert kinds.count("Conv2d") == 8 and kinds.count("BatchNorm2d") == 8 and kinds.count("MaxPool2d") == 5
    assert kinds[:4] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    widths = [m.out_channels for m in model.features if isinstance(m, nn.Conv2d)]
    assert widths == [8, 16, 32, 32, 64, 64, 64, 64]
    assert isinstance(model.avgpool, nn.AdaptiveAvgPool2d) and model.avgpool.output_size == (7, 7)
    head = [type(m).__name__ for m in model.classifier]
    assert head == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    assert zoo.vgg11_bn(8, adaptive=False, input_size=64, hidden=16).avgpool is None


def test_builders_are_deterministic_and_leave_the_global_generator_alone() -> None:
    state = torch.get_rng_state()
    a, b, c = zoo.resnet(18, 4, seed=3), zoo.resnet(18, 4, seed=3), zoo.resnet(18, 4, seed=4)
    assert torch.equal(torch.get_rng_state(), state)
    states = a.state_dict().items(), b.state_dict().values(), c.state_dict().values()
    for (key, x), y, z in zip(*states, strict=True):
        assert torch.equal(x, y), key
        if x.is_floating_point():
            assert not torch.equal(x, z), key


def test_randomize_batchnorm_gives_nontrivial_statistics() -> None:
    model = zoo.randomize_batchnorm(nn.Sequential(nn.BatchNorm2d(64), nn.BatchNorm1d(64)), seed=1)
    for bn in model:
        assert float(bn.running_var.min()) >= 0.5 and float(bn.running_var.max()) <= 2.0
        assert float(bn.weight.detach().min()) >= 0.5 and float(bn.weight.detach().max()) <= 1.5
        assert float(bn.running_mean.abs().max()) > 0 and float(bn.bias.detach().abs().max()) > 0
    bn = ready(model[0])
    x = image(5, channels=64)
    assert not torch.allclose(bn(x), x)
    assert not torch.equal(model[0].running_mean, model[1].running_mean)


# ---------------------------------------------------------------------------------------------------------
# the sizes each builder promises to run at


@pytest.mark.parametrize("depth", [18, 50])
def test_resnet_runs(depth: int) -> None:
    model = ready(zoo.resnet(depth, 4, 7, 2))
    for size in (1, 32, 33, (33, 40)):
        assert model(image(size, 2)).shape == (2, 7)
    if depth == 18:
        assert model(image(224, 2, batch=1)).shape == (1, 7)


def test_vgg_runs() -> None:
    model = ready(zoo.vgg11_bn(4, 5, hidden=8))
    for size in (32, 64, (32, 70), 224):
        assert model(image(size, 3, batch=1)).shape == (1, 5)
    with pytest.raises(RuntimeError):
        model(image(31, 3, batch=1))


def test_vgg_flatten_head_fixes_the_size() -> None:
    model = ready(zoo.vgg11_bn(4, 5, adaptive=False, input_size=64, hidden=8))
    for size in (64, 80, 95, (64, 95)):
        assert model(image(size, 3, batch=1)).shape == (1, 5)
    for size in (63, 96, (64, 96)):
        with pytest.raises(RuntimeError):
            model(image(size, 3, batch=1))


def test_unet_runs_at_multiples_of_two_to_the_depth() -> None:
    model = ready(zoo.unet(2, 3, width=4, depth=3))
    for size in (8, 16, (24, 16)):
        x = image(size, 2)
        assert model(x).shape == (2, 3, *x.shape[-2:])
    for size in (12, (16, 20)):
        with pytest.raises(RuntimeError):
            model(image(size, 2))


def test_unet_resized_to_skip_runs_at_every_size() -> None:
    resized = ready(zoo.unet(2, 3, width=4, depth=3, resize_to_skip=True))
    for size in (8, 12, 13, (17, 11)):
        x = image(size, 2)
        assert resized(x).shape == (2, 3, *x.shape[-2:])
    x = image(16, 2)  # where the skips match already, resizing changes nothing
    assert torch.equal(resized(x), ready(zoo.unet(2, 3, width=4, depth=3))(x))


def test_functional_net_runs() -> None:
    model = ready(zoo.functional_net(2, 3))
    for size in (2, 3, 10, (11, 18)):
        assert model(image(size, 2)).shape == (2, 3)
    with pytest.raises(RuntimeError):
        model(image(1, 2))


@pytest.mark.parametrize("builder", [zoo.p4_cnn, zoo.p4m_cnn])
def test_group_cnns_run(builder: Callable[..., nn.Module]) -> None:
    model = ready(builder(in_channels=2, num_classes=3))
    for size in (3, 11, 12, (15, 8)):
        assert model(image(size, 2)).shape == (2, 3)


# ---------------------------------------------------------------------------------------------------------
# the sizes where the docstrings say the grid maps onto itself


def symmetrize_filters(model: nn.Module) -> nn.Module:
    """Average every 4-d parameter (a convolution's filter) over D4, in place."""
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() == 4:
                p.copy_(sum(transform_image(p, g) for g in D4) / 8)
    return model


def error(model: nn.Module, x: torch.Tensor, g: int, equivariant: bool) -> float:
    """Relative error of invariance (or equivariance: the output transformed like an image) under ``g``."""
    with torch.no_grad():
        y = model(x)
        want = transform_image(y, g) if equivariant else y
        return float((model(transform_image(x, g)) - want).abs().max() / y.abs().max())


def worst(model: nn.Module, size: int, channels: int, elements: range, equivariant: bool = False) -> float:
    x = image(size, channels)
    return max(error(model, x, g, equivariant) for g in elements)


@pytest.mark.parametrize("depth", [18, 50])
def test_resnet_exact_at_one_mod_32(depth: int) -> None:
    model = symmetrize_filters(ready(zoo.resnet(depth, 4)))
    assert worst(model, 33, 3, D4) < 1e-12
    for size in (32, 31):
        assert worst(model, size, 3, ROTATIONS) > 1e-6


def test_vgg_features_exact_at_multiples_of_32() -> None:
    model = symmetrize_filters(ready(zoo.vgg11_bn(4, hidden=8)))
    body = nn.Sequential(model.features, model.avgpool)
    assert worst(body, 64, 3, D4, equivariant=True) < 1e-12
    for size in (48, 65):
        assert worst(body, size, 3, ROTATIONS, equivariant=True) > 1e-6


def test_unet_exact_at_multiples_of_two_to_the_depth() -> None:
    model = symmetrize_filters(ready(zoo.unet(width=4)))
    assert worst(model, 16, 1, D4, equivariant=True) < 1e-12
    resized = symmetrize_filters(ready(zoo.unet(width=4, resize_to_skip=True)))
    for size in (11, 13):
        assert worst(resized, size, 1, ROTATIONS, equivariant=True) > 1e-6


def test_functional_net_exact_at_two_mod_8() -> None:
    model = symmetrize_filters(ready(zoo.functional_net()))
    for size in (10, 18):
        assert worst(model, size, 1, D4) < 1e-12
    for size in (11, 12, 14):
        assert worst(model, size, 1, ROTATIONS) > 1e-6


def test_group_cnns_exact_at_three_mod_4() -> None:
    p4, p4m = ready(zoo.p4_cnn()), ready(zoo.p4m_cnn())
    for size in (11, 15):
        assert worst(p4, size, 1, ROTATIONS) < 1e-12
        assert worst(p4m, size, 1, D4) < 1e-12
    assert worst(p4, 11, 1, range(4, 8)) > 1e-6  # p4 has no reflections
    for size in (12, 13):
        assert worst(p4, size, 1, ROTATIONS) > 1e-6


# ---------------------------------------------------------------------------------------------------------
# torch.fx


class EqlabLeaves(fx.Tracer):
    """fx's tracer with eqlab's layers kept whole, as `eqlab.trace` keeps them."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return type(m).__module__.startswith("eqlab.") or super().is_leaf_module(m, module_qualified_name)


def traced(model: nn.Module, tracer: fx.Tracer | None = None) -> fx.GraphModule:
    if tracer is None:
        return fx.symbolic_trace(model)
    return fx.GraphModule(model, tracer.trace(model))


@pytest.mark.parametrize(
    ("name", "build", "size", "channels"),
    [
        ("resnet18", lambda: zoo.resnet(18, 4), 33, 3),
        ("resnet50", lambda: zoo.resnet(50, 4), 33, 3),
        ("vgg11_bn", lambda: zoo.vgg11_bn(4, hidden=8), 32, 3),
        ("vgg11_bn flatten head", lambda: zoo.vgg11_bn(4, adaptive=False, input_size=64, hidden=8), 64, 3),
        ("unet", lambda: zoo.unet(width=4), 16, 1),
        ("unet resized", lambda: zoo.unet(width=4, resize_to_skip=True), 13, 1),
        ("functional_net", zoo.functional_net, 10, 1),
    ],
)
def test_symbolic_trace_reproduces_the_model(
    name: str, build: Callable[[], nn.Module], size: int, channels: int
) -> None:
    model = ready(build())
    x = image(size, channels)
    graph = traced(model)
    torch.testing.assert_close(graph(x), model(x), rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("builder", [zoo.p4_cnn, zoo.p4m_cnn])
def test_group_cnns_trace_with_eqlab_layers_as_leaves(builder: Callable[[], nn.Module]) -> None:
    model = ready(builder())
    graph = traced(model, EqlabLeaves())
    x = image(11)
    torch.testing.assert_close(graph(x), model(x), rtol=0, atol=0)
    kinds = [type(graph.get_submodule(n.target)).__name__ for n in graph.graph.nodes if n.op == "call_module"]
    assert kinds[:6] == ["LiftingConv2d", "ReLU", "GroupConv2d", "ReLU", "GroupMaxPool2d", "GroupPool"]


def test_functional_net_traces_to_functions_only() -> None:
    graph = traced(zoo.functional_net())
    ops = {n.op for n in graph.graph.nodes}
    assert ops == {"placeholder", "get_attr", "call_function", "call_method", "output"}
    functions = {n.target for n in graph.graph.nodes if n.op == "call_function"}
    assert functions == {F.conv2d, F.relu, F.max_pool2d, F.avg_pool2d, operator.getitem, F.linear}
    assert [n.target for n in graph.graph.nodes if n.op == "call_method"] == ["mean"]


def test_traced_graphs_show_flatten_and_resize() -> None:
    functions = {n.target for n in traced(zoo.resnet(18, 4)).graph.nodes if n.op == "call_function"}
    assert torch.flatten in functions and operator.add in functions
    unet_functions = {n.target for n in traced(zoo.unet(resize_to_skip=True)).graph.nodes}
    assert F.interpolate in unet_functions and torch.cat in unet_functions
    assert F.interpolate not in {n.target for n in traced(zoo.unet()).graph.nodes}


# ---------------------------------------------------------------------------------------------------------
# random stacks


@settings(max_examples=30, deadline=None)
@given(zoo.stacks())
def test_every_drawn_stack_runs_where_its_shapes_say(spec: list[tuple]) -> None:
    model = ready(zoo.stack_from_spec(spec, 2))
    ran = []
    for size in zoo.SIZES:
        shape = zoo.stack_output_shape(spec, 2, size)
        x = image(size, 2, batch=1)
        if shape is None:
            with pytest.raises(RuntimeError):
                model(x)
        else:
            assert model(x).shape == (1, *shape), (spec, size)
            ran.append(size)
    assert ran, spec
    x = image(ran[0], 2, batch=1)
    torch.testing.assert_close(traced(model)(x), model(x), rtol=0, atol=0)


def test_stack_from_spec_builds_every_kind() -> None:
    spec = [
        ("conv", 3, 2, 1, 2),
        ("bn",),
        ("relu",),
        ("maxpool", 3, 2, 1, True),
        ("avgpool", 2, 1, 1, False, False),
        ("upsample", 2, "bilinear"),
        ("convT", 3, 2, 1, 1),
        ("adaptive", 2),
        ("relu",),
        ("flatten",),
        ("linear", 3),
    ]
    model = ready(zoo.stack_from_spec(spec, 2, width=5))
    kinds = [type(m).__name__ for m in model]
    assert kinds == [
        *("Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "AvgPool2d", "Upsample", "ConvTranspose2d"),
        *("AdaptiveAvgPool2d", "ReLU", "Flatten", "Linear"),
    ]
    assert (model[0].dilation, model[6].output_padding, model[10].in_features) == ((2, 2), (1, 1), 20)
    assert zoo.stack_output_shape(spec, 2, 17, width=5) == (3,)
    assert model(image(17, 2)).shape == (2, 3)
    assert zoo.stack_output_shape(spec[:7], 2, 17, width=5) == (5, 24, 24)
    assert ready(zoo.stack_from_spec(spec[:7], 2, width=5))(image(17, 2)).shape == (2, 5, 24, 24)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([], "spec must be a non-empty list"),
        ([("pool", 2)], r"spec\[0\] must be a tuple starting with one of"),
        ([("relu",), ("conv", 3, 1, 1)], r"spec\[1\] must have 5 entries for 'conv'"),
        ([("maxpool", 3, 1, 2, False)], r"spec\[0\] padding must be at most kernel // 2 = 1, got 2"),
        ([("convT", 3, 2, 0, 2)], r"spec\[0\] output_padding must be smaller than the stride 2, got 2"),
        ([("upsample", 2, "bicubic")], r"spec\[0\] mode must be one of"),
        ([("conv", 3, 1, 1, 1), ("flatten",), ("linear", 2)], r"spec\[1\] \('flatten',\) must follow"),
        ([("adaptive", 2), ("linear", 2)], r"spec\[1\] \('linear', n\) must follow"),
        ([("adaptive", 2), ("flatten",), ("relu",)], r"spec\[2\] must be \('linear', n\) after a flatten"),
        ([("conv", 0, 1, 1, 1)], r"spec\[0\] kernel must be an integer >= 1, got 0"),
    ],
)
def test_stack_from_spec_refuses_bad_specs(spec: list[tuple], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        zoo.stack_from_spec(spec, 1)


def test_builders_refuse_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"depth must be one of \[18, 34, 50, 101, 152\], got 20"):
        zoo.resnet(20)
    with pytest.raises(ValueError, match="input_size must be an integer >= 32, got 16"):
        zoo.vgg11_bn(adaptive=False, input_size=16)
    with pytest.raises(TypeError, match="width must be an integer >= 1, got 2.5"):
        zoo.unet(width=2.5)
    with pytest.raises(TypeError, match=r"spec\[0\] kernel must be an integer >= 1, got 3.0"):
        zoo.stack_from_spec([("conv", 3.0, 1, 1, 1)], 1)

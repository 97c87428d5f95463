"""The walk that replaces every eqlab layer of a model by plain torch modules.

A module whose class (or a base class, unless a subclass redefines ``forward``) has a converter is
replaced by the converter's result; any other
module keeps its class and has its children walked. A module of an eqlab layer package without a
converter is refused, naming it: an eqlab layer is never passed through silently. Third-party modules are
kept (they are plain torch already), and so are the containers of `eqlab.studies` (models whose forward
composes their children), whose children are walked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

__all__ = ["Converter", "ExportContext", "is_eqlab_layer", "record_shapes", "walk"]

_KEPT_PACKAGES = ("eqlab.studies.", "eqlab._export.")
"""eqlab packages whose modules are not layers: the studies' model containers and the plain modules."""


def is_eqlab_layer(module: nn.Module) -> bool:
    """Whether ``module``'s class is defined in eqlab outside `eqlab.studies` and `eqlab._export`."""
    name = type(module).__module__
    return name.startswith("eqlab.") and not name.startswith(_KEPT_PACKAGES)


@dataclass
class ExportContext:
    """What a converter may ask: the input shapes each module saw on the example input, and the walk
    itself for the submodules it wraps."""

    converters: dict[type, Converter]
    """The converter of each eqlab layer class."""
    shapes: dict[int, tuple[torch.Size, ...]] = field(default_factory=dict)
    """``id(module)`` -> the shapes of its tensor arguments on the example input (first call)."""
    path: str = "model"
    """Where in the model the module being converted sits, for error messages."""

    def at(self, name: str) -> ExportContext:
        """The context of the child ``name``."""
        return ExportContext(self.converters, self.shapes, f"{self.path}.{name}")

    def convert(self, module: nn.Module, name: str) -> nn.Module:
        """The plain replacement of the child ``name``, ``module``."""
        return walk(module, self.at(name))

    def input_shape(self, module: nn.Module) -> torch.Size:
        """The shape of the first tensor ``module`` received on the example input."""
        shapes = self.shapes.get(id(module))
        if not shapes:
            raise ValueError(
                f"eqlab.export needs the input size of {type(module).__name__} at {self.path}, but it was "
                "not called when the model ran on example_input; give an example_input that reaches it"
            )
        return shapes[0]


Converter = Callable[[nn.Module, ExportContext], nn.Module]


def _converter(module: nn.Module, converters: dict[type, Converter], path: str) -> Converter | None:
    """The converter of ``module``'s class or of its nearest base class that has one; a subclass that
    defines its own ``forward`` on the way is refused (the converter would export the base's numbers)."""
    for cls in type(module).__mro__:
        if cls in converters:
            return converters[cls]
        if "forward" in vars(cls) and any(c in converters for c in cls.__mro__):
            raise TypeError(
                f"eqlab.export cannot export {cls.__module__}.{cls.__qualname__} at {path}: it subclasses an "
                "eqlab layer and defines its own forward, which the layer's export would not compute"
            )
    return None


def walk(module: nn.Module, context: ExportContext) -> nn.Module:
    """``module`` with every eqlab layer in it replaced (children are replaced in place)."""
    converter = _converter(module, context.converters, context.path)
    if converter is not None:
        return converter(module, context)
    if is_eqlab_layer(module):
        cls = type(module)
        raise TypeError(
            f"eqlab.export cannot export {cls.__module__}.{cls.__qualname__} at {context.path}: it has no "
            "plain-torch equivalent yet"
        )
    for name, child in list(module.named_children()):
        setattr(module, name, context.convert(child, name))
    return module


def record_shapes(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> dict[int, tuple[torch.Size, ...]]:
    """Run ``model`` on ``inputs`` (no gradient) and record each module's tensor argument shapes."""
    shapes: dict[int, tuple[torch.Size, ...]] = {}

    def hook(module: nn.Module, args: tuple[object, ...]) -> None:
        shapes.setdefault(id(module), tuple(a.shape for a in args if isinstance(a, torch.Tensor)))

    handles = [m.register_forward_pre_hook(hook) for m in model.modules()]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return shapes

"""`eqlab.export` on the model of every study, built small: the same numbers in float64 (1e-12) and
float32 (1e-5), and no eqlab layer left."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

import eqlab
from eqlab.studies._activations._config import ActivationsConfig, Network
from eqlab.studies._activations._networks import build_network
from eqlab.studies._layerwise._models import build_vgg, invariant_not_layerwise
from eqlab.studies._sharing import MODELS as SHARING_MODELS
from eqlab.studies._sharing import SharingConfig
from eqlab.studies._sharing import build_model as build_sharing
from eqlab.studies._soft._config import MODELS as SOFT_MODELS
from eqlab.studies._soft._config import SoftConfig
from eqlab.studies._soft._multi_config import MultiConfig
from eqlab.studies._soft._multi_units import build_multi_model
from eqlab.studies._soft._units import build_model as build_soft
from eqlab.studies._subsampling._models import build_cnn
from tests.export.helpers import difference, eqlab_layers

pytestmark = pytest.mark.usefixtures("one_torch_thread")

_SOFT = SoftConfig(alpha=1, widths=(1, 2), strides=(2, 2), size=8, multi=MultiConfig(alpha=4))

STUDY_MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    **{
        f"sharing-{name}": ((lambda name=name: build_sharing(name, SharingConfig(set_size=5, width=4))), (5,))
        for name in SHARING_MODELS
    },
    "subsampling-p4": (lambda: build_cnn("p4", (2, 3, 3)), (1, 11, 11)),
    "subsampling-p4m": (lambda: build_cnn("p4m", (2, 2)), (1, 9, 9)),
    **{
        f"activations-{network}": (
            (
                lambda network=network: build_network(
                    network, ActivationsConfig(rotation_order=4, hidden_copies=1), 0
                )
            ),
            (2,),
        )
        for network in Network
    },
    "layerwise-vgg": (lambda: build_vgg((3, 4), (0,)), (1, 8, 8)),
    "layerwise-invariant": (lambda: invariant_not_layerwise(6), (1, 6, 6)),
    **{
        f"soft-{name}": ((lambda name=name: build_soft(_SOFT, "digit", name)), (1, 8, 8))
        for name in SOFT_MODELS
    },
    "soft-multi": (lambda: build_multi_model(_SOFT), (1, 8, 8)),
}
"""Each study's models at a small size, with the shape of one input sample."""


def _train_batch_norms(model: nn.Module) -> None:
    """Running statistics away from their defaults, so the exported batch norms are really tested."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", list(STUDY_MODELS))
def test_every_study_model_exports(name: str, dtype: torch.dtype) -> None:
    build, sample = STUDY_MODELS[name]
    model = build().to(dtype).eval()
    _train_batch_norms(model)
    example = torch.randn(3, *sample, dtype=dtype)
    exported = eqlab.export(model, example)
    assert eqlab_layers(exported) == []
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    assert difference(exported, model, example) < tolerance
    assert difference(exported, model, torch.randn(4, *sample, dtype=dtype)) < tolerance

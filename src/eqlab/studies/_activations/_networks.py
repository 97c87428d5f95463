"""The rotation networks: their hidden representations, a cache of their shapes (`RepLinear` finds its
bases by SVDs), `build_network`, the target vector field, each seed's points, and the network unit that
trains one network on one seed and measures it in float64."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset

from eqlab._arguments import integer
from eqlab.activations._named import named_representation
from eqlab.groups import Representation
from eqlab.groups._representation import rotation_matrix
from eqlab.nn import RepLinear
from eqlab.runs import RunFolder
from eqlab.runs._config import config_to_dict
from eqlab.studies._activations._config import ANGLES, MEASURED_POINTS, ActivationsConfig, Network
from eqlab.studies._activations._results import NetworkSeed
from eqlab.testing import equivariance_error
from eqlab.train import train


def _feature_representations(rotation_order: int, hidden_copies: int) -> dict[str, Representation]:
    rot = Representation.rotation(rotation_order)
    regular = named_representation(f"C{rotation_order}:regular")
    dim = hidden_copies * rotation_order
    return {
        "input": rot,
        Network.ROTATION: Representation.direct_sum(*[rot] * (dim // 2), name=f"{dim // 2} x rotation"),
        Network.TRIVIAL: Representation.trivial(dim),
        Network.REGULAR: Representation.direct_sum(*[regular] * hidden_copies, name="regular"),
    }


@functools.lru_cache(maxsize=8)
def _template(network: Network, rotation_order: int, hidden_copies: int) -> nn.Module:
    """A network of that shape; cached, since `RepLinear` finds its basis by an SVD (seconds each)."""
    width = hidden_copies * rotation_order
    if network is Network.MLP:
        return nn.Sequential(
            nn.Linear(2, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 2)
        )
    reps = _feature_representations(rotation_order, hidden_copies)
    rot, hidden = reps["input"], reps[network]
    return nn.Sequential(
        RepLinear(rot, hidden), nn.ReLU(), RepLinear(hidden, hidden), nn.ReLU(), RepLinear(hidden, rot)
    )


def build_network(network: Network | str, config: ActivationsConfig, seed: int) -> nn.Module:
    """One of the `Network` kinds, initialised from ``seed`` alone (torch's global generator is left as it
    was): plane -> hidden -> hidden -> plane, ReLU after each hidden layer, on the CPU in float32."""
    network = Network.parse(network, "network")
    seed = integer(seed, "seed", minimum=0)
    model = copy.deepcopy(_template(network, config.rotation_order, config.hidden_copies))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in model.modules():
            if isinstance(module, (nn.Linear, RepLinear)):
                module.reset_parameters()
    return model


def vector_field(x: torch.Tensor) -> torch.Tensor:
    """An equivariant target ``(m, 2) -> (m, 2)``: ``sin(2r) x + 0.5 cos(r) J x`` with ``r = |x|``."""
    r = x.norm(dim=1, keepdim=True)
    jx = torch.stack([-x[:, 1], x[:, 0]], dim=1)
    return torch.sin(2 * r) * x + 0.5 * torch.cos(r) * jx


def _rotate(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return x @ matrix.T


def _rotations(matrices: np.ndarray) -> list[Callable[[torch.Tensor], torch.Tensor]]:
    """The action of each ``(2, 2)`` matrix on a batch of points ``(m, 2)``."""
    return [functools.partial(_rotate, torch.as_tensor(m, dtype=torch.float64)) for m in matrices]


def _counts(layer: nn.Module) -> tuple[int, int]:
    """Free weights and bias entries of a layer: RepLinear's basis sizes or a Linear's sizes."""
    if isinstance(layer, RepLinear):
        return layer.num_weights, layer.num_bias
    if isinstance(layer, nn.Linear):
        return layer.weight.numel(), 0 if layer.bias is None else layer.bias.numel()
    raise TypeError(f"unexpected layer {type(layer).__name__}")


def points(config: ActivationsConfig, run: RunFolder, seed_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """This seed's training and test points (every network of the seed gets the same)."""
    gen = run.generator("points", seed_index)
    return 1.5 * torch.randn(config.train_points, 2, generator=gen), 1.5 * torch.randn(
        config.test_points, 2, generator=gen
    )


def network_unit(config: ActivationsConfig, run: RunFolder, network: Network, seed_index: int) -> NetworkSeed:
    x_train, x_test = points(config, run, seed_index)
    model = build_network(network, config, run.seed_for("init", str(network), seed_index)).to(run.device)
    trained = network is not Network.TRIVIAL  # the zero map whatever its weights: nothing to train
    if trained:
        data = TensorDataset(x_train.to(run.device), vector_field(x_train).to(run.device))
        train(
            model,
            data,
            config.train,
            loss_fn=nn.functional.mse_loss,
            seed=run.seed_for("order", seed_index),  # one batch order per seed, shared by its networks
            run=run,
            unit=f"{network}-s{seed_index}",
            config=config_to_dict(config),
        )
    # the analysis is in float64 on the CPU, whatever device trained the model
    model = model.cpu().double().eval()
    x64, y64 = x_test.double(), vector_field(x_test.double())
    measured = x64[:MEASURED_POINTS]
    angles = run.rng("angles", seed_index).uniform(0, 360, size=ANGLES)
    group = _rotations(Representation.rotation(config.rotation_order).elements())
    so2 = _rotations(rotation_matrix(angles))
    with torch.no_grad():
        out = model(measured)
        mse = float(((model(x64) - y64) ** 2).mean())
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, RepLinear))]
    first, last = _counts(layers[0]), _counts(layers[-1])
    return NetworkSeed(
        network=network,
        seed_index=seed_index,
        trained=trained,
        test_mse=mse,
        target_power=float((y64**2).mean()),
        cn_error=equivariance_error(model, measured, group, group),
        so2_error=equivariance_error(model, measured, so2, so2),
        output_spread=float((out - out[:1]).abs().max()),
        first_layer_weights=first[0],
        last_layer_weights=last[0],
        last_layer_bias=last[1],
        parameters=sum(p.numel() for p in model.parameters()),
    )

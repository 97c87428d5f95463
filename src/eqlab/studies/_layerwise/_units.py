"""The ``layerwise`` study's units of work: training a network of one regime and seed, and the analyses of
each network (self-alignment, self-barrier, group average), of each pair of seeds (alignment, barriers) and
of each constructed invariant network."""

from __future__ import annotations

import functools
from typing import Any

import torch
from torch import nn
from torch.utils.data import TensorDataset

from eqlab.groups._image import flip_width
from eqlab.layerwise import align, group_average, self_align
from eqlab.layerwise._barrier import evaluate, interpolation_barriers
from eqlab.runs import RunFolder
from eqlab.runs._config import config_to_dict
from eqlab.studies._layerwise._config import LayerwiseConfig, Regime
from eqlab.studies._layerwise._data import PairData, Source
from eqlab.studies._layerwise._models import build_vgg, invariant_not_layerwise
from eqlab.studies._layerwise._results import (
    FirstLayer,
    InitialResult,
    NetworkResult,
    PairResult,
    ToyResult,
)
from eqlab.testing import equivariance_error, relative_error
from eqlab.train import TrainSettings, train


def _flip_half(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip[:, None, None, None].to(x.device), flip_width(x), x)


def train_network(
    settings: TrainSettings,
    widths: tuple[int, ...],
    pool_after: tuple[int, ...],
    data: PairData,
    regime: Regime,
    *,
    init_seed: int,
    order_seed: int,
    device: str = "cpu",
    run: RunFolder | None = None,
    unit: str = "train",
    config: dict[str, Any] | None = None,
) -> tuple[nn.Sequential, float]:
    """A network of ``regime`` trained on ``data`` (resumed from its checkpoint in ``run`` if there is one),
    moved to the CPU in eval mode, and its last epoch's training loss. ``init_seed`` seeds its initial
    weights, ``order_seed`` the batch order and the flips."""
    torch.manual_seed(init_seed)
    model = build_vgg(widths, pool_after, in_channels=data.x_train.shape[1]).to(device)
    history = train(
        model,
        TensorDataset(data.x_train, data.y_train),
        settings,
        loss_fn=nn.functional.cross_entropy,
        seed=order_seed,
        run=run,
        unit=unit,
        augment=_flip_half if regime is Regime.FLIP else None,
        config=config,
    )
    return model.cpu().eval(), float(history["train_loss"][-1])  # the analyses run on the CPU


def initial_network(source: Source, data: PairData, init_seed: int) -> nn.Sequential:
    """The network `train_network` starts from with ``init_seed``, untrained, in eval mode on the CPU."""
    torch.manual_seed(init_seed)
    return build_vgg(source.widths, source.pool_after, in_channels=data.x_train.shape[1]).eval()


def _trained(
    config: LayerwiseConfig, run: RunFolder, source: Source, data: PairData, regime: Regime, seed: int
) -> tuple[nn.Sequential, float]:
    """The trained network of ``(regime, seed)`` and its last epoch's training loss: both regimes of a
    seed start from the same initial weights (stream ``("init", seed)``) and see the same batch order and
    flip draws (stream ``("batch order", seed)``)."""
    return train_network(
        config.train,
        source.widths,
        source.pool_after,
        data,
        regime,
        init_seed=run.seed_for("init", seed),
        order_seed=run.seed_for("batch order", seed),
        device=run.device,
        run=run,
        unit=f"{regime}-s{seed}",
        config=config_to_dict(config),
    )


def _batches(x: torch.Tensor, y: torch.Tensor | None, size: int) -> list[Any]:
    if y is None:
        return list(x.split(size))
    return list(zip(x.split(size), y.split(size), strict=True))


def _evaluation(config: LayerwiseConfig, data: PairData) -> dict[str, Any]:
    stats = data.x_train[: config.statistics_samples]
    labels = data.y_train[: len(stats)]
    size = config.analysis_batch
    return {"test": _batches(data.x_test, data.y_test, size), "train": _batches(stats, labels, size)}


def _weight_changes(model: nn.Module, initial: nn.Module, layers: tuple[str, ...]) -> tuple[float, ...]:
    """Per layer: ``|W - W0| / |W0|``, weights and bias together."""
    trained, start = dict(model.named_modules()), dict(initial.named_modules())

    def flat(module: nn.Module) -> torch.Tensor:
        return torch.cat([p.detach().double().reshape(-1) for p in module.parameters()])

    return tuple(relative_error(flat(trained[k]), flat(start[k]), batched=False) for k in layers)


def _network_unit(
    config: LayerwiseConfig,
    model: nn.Sequential,
    initial: nn.Sequential,
    train_loss: float,
    data: PairData,
    regime: Regime,
    seed: int,
    pair: int,
) -> NetworkResult:
    stats = _batches(data.x_train[: config.statistics_samples], None, config.analysis_batch)
    evaluation = _evaluation(config, data)
    result = self_align(model, "hflip", config.method, data=stats)
    curves = interpolation_barriers(model, result.aligned, evaluation, config.alphas, statistics_data=stats)
    constrained = self_align(model, "hflip", config.method, data=stats, involution=True)
    merged = group_average(model, "hflip", constrained.permutations, data=stats)
    test = evaluation["test"]
    flipped = [(flip_width(x), y) for x, y in test]
    loss, accuracy = evaluate(model, test)
    first = _first_conv(model).weight.detach()
    layers = tuple(result.alignment.errors)
    return NetworkResult(
        regime=regime,
        seed=seed,
        pair=pair,
        final_train_loss=train_loss,
        test_loss=loss,
        test_accuracy=accuracy,
        flipped_test_accuracy=evaluate(model, flipped)[1],
        layers=layers,
        weight_errors=tuple(result.alignment.errors.values()),
        activation_errors=tuple(result.alignment.activation_errors[k] for k in layers),
        weight_changes=_weight_changes(model, initial, layers),
        structure=tuple(result.structure),
        self_barrier=curves["test"],
        self_barrier_train=curves["train"],
        merged_accuracy=evaluate(merged, test)[1],
        merged_invariance=equivariance_error(merged, data.x_test[:256], flip_width, lambda t: t),
        first_layer=FirstLayer(
            permutation=tuple(int(p) for p in constrained.permutations[0]),
            shape=tuple(first.shape),
            filters=tuple(float(v) for v in first.reshape(-1)),
        ),
    )


def initial_unit(
    config: LayerwiseConfig, run: RunFolder, source: Source, data: PairData, seed: int
) -> InitialResult:
    """Seed ``seed``'s untrained network self-aligned as the trained ones are (same method and inputs)."""
    model = initial_network(source, data, run.seed_for("init", seed))
    stats = _batches(data.x_train[: config.statistics_samples], None, config.analysis_batch)
    result = self_align(model, "hflip", config.method, data=stats).alignment
    return InitialResult(
        seed=seed,
        pair=seed // 2,
        weight_errors=tuple(result.errors.values()),
        activation_errors=tuple(result.activation_errors[k] for k in result.errors),
    )


def _first_conv(model: nn.Sequential) -> nn.Conv2d:
    layer = model[0]
    if not isinstance(layer, nn.Conv2d):
        raise TypeError(f"model must start with a Conv2d, got {type(layer).__name__}")
    return layer


def _pair_unit(
    config: LayerwiseConfig, a: nn.Module, b: nn.Module, data: PairData, regime: Regime, pair: int
) -> PairResult:
    stats = _batches(data.x_train[: config.statistics_samples], None, config.analysis_batch)
    evaluation = _evaluation(config, data)
    result = align(a, b, config.method, data=stats)
    aligned = interpolation_barriers(a, result.aligned, evaluation, config.alphas, statistics_data=stats)
    naive = interpolation_barriers(a, b, evaluation, config.alphas, statistics_data=stats)
    return PairResult(
        regime=regime,
        pair=pair,
        seeds=(2 * pair, 2 * pair + 1),
        aligned=aligned["test"],
        naive=naive["test"],
        aligned_train=aligned["train"],
        naive_train=naive["train"],
        weight_errors=tuple(result.errors.values()),
    )


def toy_unit(run: RunFolder, index: int) -> ToyResult:
    """Construction ``index`` of the invariant network (seed stream ``("toy", index)``), measured on
    random inputs (stream ``("toy inputs", index)``)."""
    model = invariant_not_layerwise(seed=run.seed_for("toy", index))
    x = torch.randn(256, 1, 8, 8, generator=run.generator("toy inputs", index), dtype=torch.float64)
    weights = self_align(model, "hflip", "weights", data=x)
    acts = self_align(model, "hflip", "activations", data=x)
    return ToyResult(
        invariance=equivariance_error(model, x, flip_width, lambda t: t),
        weight_error=weights.alignment.errors["0"],
        activation_error=acts.alignment.activation_errors["0"],
    )


Trained = dict[tuple[Regime, int], tuple[nn.Sequential, float]]
"""The trained networks of one pair of seeds and their last training losses, by (regime, seed)."""


def _analysed_network(
    config: LayerwiseConfig,
    run: RunFolder,
    source: Source,
    trained: Trained,
    data: PairData,
    regime: Regime,
    seed: int,
) -> NetworkResult:
    model, loss = trained[(regime, seed)]
    initial = initial_network(source, data, run.seed_for("init", seed))
    return _network_unit(config, model, initial, loss, data, regime, seed, seed // 2)


def _analysed_pair(
    config: LayerwiseConfig, trained: Trained, data: PairData, regime: Regime, pair: int
) -> PairResult:
    a, b = (trained[(regime, s)][0] for s in (2 * pair, 2 * pair + 1))
    return _pair_unit(config, a, b, data, regime, pair)


def pair_units(
    config: LayerwiseConfig, run: RunFolder, source: Source, pair: int
) -> tuple[list[NetworkResult], list[InitialResult], list[PairResult]]:
    """The units of pair ``pair``: each of its networks in each regime, each of its seeds' untrained
    networks, and the pair in each regime."""
    seeds = [s for s in (2 * pair, 2 * pair + 1) if s < config.seeds]
    jobs = [(regime, seed) for regime in Regime for seed in seeds]
    names = [f"net-{regime}-s{seed}" for regime, seed in jobs]
    names += [f"pair-{regime}-p{pair}" for regime in Regime] if len(seeds) == 2 else []
    data = source.pair_data(config, run, pair)
    # under torchrun every rank trains together: the pair's networks are trained (or loaded from their
    # finished checkpoints) unless all of its units are saved, which during a run needs every rank to have
    # trained them already, so all ranks decide alike
    trained: Trained = {}
    if not all(run.unit_result(name) is not None for name in names):
        trained = {job: _trained(config, run, source, data, *job) for job in jobs}
    networks = [
        run.unit(
            f"net-{regime}-s{seed}",
            functools.partial(_analysed_network, config, run, source, trained, data, regime, seed),
            NetworkResult,
        )
        for regime, seed in jobs
    ]
    initial = [
        run.unit(
            f"init-s{seed}", functools.partial(initial_unit, config, run, source, data, seed), InitialResult
        )
        for seed in seeds
    ]
    pairs = [
        run.unit(
            f"pair-{regime}-p{pair}",
            functools.partial(_analysed_pair, config, trained, data, regime, pair),
            PairResult,
        )
        for regime in Regime
        if len(seeds) == 2
    ]
    return networks, initial, pairs

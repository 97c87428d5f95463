"""Study ``soft``: learning layer-wise translation equivariance with the marginal likelihood
(van der Ouderaa, Immer & van der Wilk, NeurIPS 2023), on the paper's toy problem (Section 6.1).

Each digit is pasted into a random quadrant of a zero canvas twice its side and the canvas resized to
the input size (`eqlab.data._quadrants`). Without ``--data-dir`` the digits are the bundled 8 x 8 ones on
a 16 x 16 canvas; with ``--data-dir`` holding MNIST they are MNIST's 28 x 28 digits on a 56 x 56 canvas,
resized (the paper: to 32 x 32). Tasks: ``digit`` (label = digit; moving a digit between quadrants is a
circular shift by half the canvas, so translation symmetry holds), ``quadrant`` (label = digit + 10 x
quadrant; the symmetry must be broken somewhere) and, with CIFAR-10 in ``--data-dir``, ``cifar10`` (the
paper's Section 6.2 data). Models: `soft_backbone` with ``conv``, ``fc``, ``fc+conv`` and ``ffc+conv``
blocks (`JOBS`): CONV and FC with fixed priors (MAP), the premise and the baselines; FC+CONV and
FFC+CONV with fixed priors and with prior precisions learned by the Kronecker-factored Laplace marginal
likelihood (`train_marglik`), paired per seed.

**The premise is judged first**, in every run: on the digit task CONV at least as accurate as FC (paired
CONV - FC > -0.02), on the quadrant task FC ahead. Where it fails, the report says the claims after it
are not tests of the paper's mechanism.

**Two readings of how much a two-path block is equivariant.** The paper's: the prior precisions of its
paths' weights (a tighter dense-path prior pushes the block towards the conv path). And its use: the
conv path's share of the block's output, ``|conv(h)| / (|conv(h)| + |dense(h)|)`` on test inputs. The
share is chosen over prior variance times fan-in or effective parameter counts because it is measured on
the trained network in the output's own units, so it compares paths of any fan-in and size (256 against 9
in the first block, 10^5 against 10^2 weights) and says what the network does, not what the prior
allows. Each block's share is judged; the report lists the blocks where the two readings disagree.

**Section 6.3, multiple symmetries** (``multi``): ``p4+conv+ffc`` blocks (a p4 group convolution, a
convolution and a factored dense path, averaged) trained with learned priors on the digit task's
canvases, upright and with every digit turned by a multiple of 90 degrees drawn per image; which path
each block keeps, read the same two ways.

**Seeds**: named streams (`Streams`); the design sweep (``design/soft_sweep.py``) draws the same streams
under the prefix ``design``, so it shares no seed with the reported runs.
"""

from __future__ import annotations

import functools

from eqlab.runs import RunFolder, Study
from eqlab.studies._soft._claims import verdicts
from eqlab.studies._soft._config import (
    JOBS,
    MODELS,
    PAPER,
    PRIORS,
    QUICK,
    SYMMETRIC,
    TWO_PATH,
    SoftConfig,
    SoftTask,
    check_config,
)
from eqlab.studies._soft._data import SoftData
from eqlab.studies._soft._estimate import estimate
from eqlab.studies._soft._multi_config import CONDITIONS, MULTI_MODEL, MultiConfig
from eqlab.studies._soft._multi_units import build_multi_model, multi_unit_name, train_multi_unit
from eqlab.studies._soft._report import report
from eqlab.studies._soft._results import (
    BlockMeasure,
    Evidence,
    MultiUnit,
    PathMeasure,
    SoftResults,
    SoftUnit,
)
from eqlab.studies._soft._units import build_model, train_unit, unit_name

__all__ = [
    "CONDITIONS",
    "JOBS",
    "MODELS",
    "MULTI_MODEL",
    "PRIORS",
    "STUDY",
    "SYMMETRIC",
    "TWO_PATH",
    "BlockMeasure",
    "Evidence",
    "MultiConfig",
    "MultiUnit",
    "PathMeasure",
    "SoftConfig",
    "SoftData",
    "SoftResults",
    "SoftTask",
    "SoftUnit",
    "build_model",
    "build_multi_model",
    "check_config",
    "estimate",
    "report",
    "run",
    "verdicts",
]


def run(config: SoftConfig, run_dir: RunFolder) -> SoftResults:
    """Every (seed, task) and trained (model, priors) of `JOBS` as a resumable work unit, then (unless
    ``multi.enabled`` is False) every (seed, condition) of the multiple-symmetry experiment."""
    data = SoftData(check_config(config), run_dir)
    units = [
        run_dir.unit(
            unit_name(task, model_name, priors, seed_index),
            functools.partial(train_unit, config, run_dir, data, task, model_name, priors, seed_index),
            SoftUnit,
        )
        for seed_index in range(config.seeds)
        for task in config.tasks
        for model_name, priors in JOBS
    ]
    multi = [
        run_dir.unit(
            multi_unit_name(condition, seed_index),
            functools.partial(train_multi_unit, config, run_dir, data, condition, seed_index),
            MultiUnit,
        )
        for seed_index in range(config.seeds if config.multi.enabled else 0)
        for condition in CONDITIONS
    ]
    return SoftResults(tuple(units), tuple(multi))


STUDY = Study(
    name="soft",
    summary="Learned layer-wise equivariance (van der Ouderaa et al. 2023): marginal likelihood vs MAP",
    config=SoftConfig,
    results=SoftResults,
    run=run,
    report=report,
    budget_minutes=8.0,
    quick=QUICK,
    paper=PAPER,
    estimate=estimate,
)

"""The shared training loop: plain PyTorch, resumable, and unchanged under ``torchrun``.

- `train` trains a model in place on a dataset as `TrainSettings` say, with checkpoints, resume and
  DistributedDataParallel when a process group is running;
- `Optimizer` and `Schedule` name the optimisers and learning-rate schedules.

.. include:: README.md
"""

from eqlab.train._loop import TrainSettings, train
from eqlab.train._options import Optimizer, Schedule

__all__ = ["Optimizer", "Schedule", "TrainSettings", "train"]

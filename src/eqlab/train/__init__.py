"""The shared training loop, resumable and ready for torchrun / DistributedDataParallel."""

from eqlab.train._distributed import init_from_env, is_distributed, rank
from eqlab.train._loop import OPTIMIZERS, SCHEDULES, TrainSettings, train

__all__ = ["OPTIMIZERS", "SCHEDULES", "TrainSettings", "init_from_env", "is_distributed", "rank", "train"]

"""The training loop under torchrun with two CPU processes (gloo) equals one process with the same
global batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from tests.train import ddp_worker


def test_two_process_ddp_matches_single_process(tmp_path: Path) -> None:
    out = tmp_path / "ddp.pt"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(root / "tests" / "train" / "ddp_worker.py"),
        str(out),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "terminate called without an active exception" in done.stderr:
        # a rank aborting in gloo's teardown (2 of 5 clean-clone CI runs on 2 busy cores, never alone):
        # one retry; any other failure, or the same one twice, fails the test
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-8000:]

    model, data = ddp_worker.build()
    history = ddp_worker.train(model, data, ddp_worker.SETTINGS, loss_fn=torch.nn.functional.mse_loss, seed=7)
    assert len(history["train_loss"]) == 3
    distributed = torch.load(out)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(distributed[name], value, rtol=1e-10, atol=1e-12)
    untrained, _ = ddp_worker.build()
    assert not torch.allclose(untrained.state_dict()["0.weight"], model.state_dict()["0.weight"])

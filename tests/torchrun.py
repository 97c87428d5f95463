"""Launch a two-process ``torchrun`` (gloo on CPU) from a test, with the one retry its teardown needs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
"""The repository root."""


def torchrun(*args: str, nproc: int = 2, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m torch.distributed.run --standalone --nproc_per_node=nproc *args``, one torch thread per
    process, with the repository's ``src`` and root importable; asserts it exits 0.

    A rank can abort in gloo's teardown ("terminate called without an active exception"; 2 of 5
    clean-clone CI runs on 2 busy cores, never alone): that one failure gets one retry. Any other
    failure, or the same one twice, fails the test.
    """
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}"]
    command += list(args)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 and "terminate called without an active exception" in done.stderr:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-8000:]
    return done

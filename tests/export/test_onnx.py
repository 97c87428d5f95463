"""The ONNX round trip: ``torch.onnx.export`` of an exported model, run in onnxruntime, the same outputs in
float32 (onnxruntime's CPU convolution has no float64 kernel). onnx, onnxscript and onnxruntime are the
``onnx`` extra, which ``make test`` installs; without it these tests are skipped."""

from __future__ import annotations

import pytest
import torch

import eqlab
from eqlab._export._verify import relative_difference
from tests.export.cases import CASES, Case

pytest.importorskip("onnxscript", reason="the onnx extra (pip install 'eqlab[onnx]') is not installed")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra (pip install 'eqlab[onnx]') is not installed")

pytestmark = pytest.mark.usefixtures("one_torch_thread")

_BY_NAME = {c.name: c for c in CASES}
ROUND_TRIPS = [
    _BY_NAME[n] for n in ("gcnn-p4m", "equivariant-mlp-channels", "soft-backbone", "orbit-average-gcnn")
]
"""A G-CNN with batch norm and pools, parameter sharing with channels, a soft backbone (polyphase
subsampling and factored paths), and an orbit average around a lifting convolution."""


@pytest.mark.parametrize("case", ROUND_TRIPS, ids=[c.name for c in ROUND_TRIPS])
def test_an_exported_model_runs_in_onnxruntime(case: Case) -> None:
    model, example = case.build().eval(), case.inputs(3)
    with torch.no_grad():
        model(example)
    exported = eqlab.export(model, example)
    program = torch.onnx.export(exported, (example,), dynamo=True, verbose=False)
    assert program is not None
    session = ort.InferenceSession(
        program.model_proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    fresh = case.inputs(3)
    (out,) = session.run(None, {session.get_inputs()[0].name: fresh.numpy()})
    with torch.no_grad():
        expected = model(fresh)
    assert relative_difference(torch.from_numpy(out), expected) < 1e-5

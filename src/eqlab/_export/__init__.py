"""`eqlab.export`: a trained eqlab model as plain PyTorch, for inference, torch.export, torch.compile and
ONNX. The implementation behind the top-level `eqlab.export`; see README.md."""

from eqlab._export._export import export

__all__ = ["export"]

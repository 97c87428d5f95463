"""One traced view of any model, shared by every checker: `trace_model` turns a model into a list of
`TracedNode` (leaf modules, functions, tensor methods and ATen ops, each named and with its arguments
bound), made with torch.fx or, where fx fails or traces wrongly, with torch.export, and trusted only when
it reproduces the model's output.

.. include:: README.md
"""

from eqlab.trace._graph import TraceFailure
from eqlab.trace._model import TracedModel, trace_model
from eqlab.trace._nodes import TracedNode

__all__ = ["TraceFailure", "TracedModel", "TracedNode", "trace_model"]

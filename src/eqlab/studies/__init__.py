"""The studies of ``eqlab run``: one module per paper's experiment (config + run + report).

The registry is an explicit, ordered dict built here; adding a study means importing its ``STUDY``.
.. include:: README.md
"""

from eqlab.runs._study import Study
from eqlab.studies import _activations, _layerwise, _sharing, _soft, _subsampling

STUDIES: dict[str, Study] = {
    study.name: study
    for study in (_sharing.STUDY, _subsampling.STUDY, _activations.STUDY, _layerwise.STUDY, _soft.STUDY)
}
"""Every study of ``eqlab run``, by name, in the order ``eqlab list`` shows them."""

__all__ = ["STUDIES"]

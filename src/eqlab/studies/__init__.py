"""The studies of ``eqlab run``: one module per paper's experiment (config + run + report).

The registry is an explicit, ordered dict built here; adding a study means importing its ``STUDY``.
"""

from eqlab.runs.study import Study
from eqlab.studies import activations, layerwise, sharing, soft, subsampling

STUDIES: dict[str, Study] = {
    study.name: study
    for study in (sharing.STUDY, subsampling.STUDY, activations.STUDY, layerwise.STUDY, soft.STUDY)
}

__all__ = ["STUDIES"]

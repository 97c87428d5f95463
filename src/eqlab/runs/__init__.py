"""Run folders, the verdict rule and reports: what every study of ``eqlab run`` needs.

- `Study` describes one study (config, run, report); `RunFolder` is its run's folder;
- `judge` decides a claim from per-seed values by the one verdict rule, giving a `Verdict` whose
  `Status` is supported, contradicted, inconclusive or not measurable, and whose `Kind` says whether
  the claim is a finding or a demonstration (true by construction);
- `Report`, `Table` and `Figure` are what a study's report says.

.. include:: README.md
"""

from eqlab.runs._folder import RunFolder
from eqlab.runs._report import Figure, Report, Table
from eqlab.runs._study import Study
from eqlab.runs._verdict import Kind, Status, Verdict, judge

__all__ = ["Figure", "Kind", "Report", "RunFolder", "Status", "Study", "Table", "Verdict", "judge"]

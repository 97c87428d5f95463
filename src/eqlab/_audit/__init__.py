"""`eqlab.audit`: does my model respect a symmetry, where does it break, and how do I fix it?

The implementation behind the top-level `eqlab.audit` and `eqlab.AuditReport`; see README.md.
"""

from eqlab._audit._audit import audit
from eqlab._audit._report import AuditLayer, AuditReport, AuditVerdict, Fix

__all__ = ["AuditLayer", "AuditReport", "AuditVerdict", "Fix", "audit"]

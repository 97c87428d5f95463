"""Run folders, checkpoints and resume, metrics, the verdict rule, and reports.

See ``README.md`` in this folder.
"""

from eqlab.runs._atomic import atomic_torch_save, atomic_write_bytes, atomic_write_json, atomic_write_text
from eqlab.runs._checkpoint import (
    INTERRUPT_ENV,
    get_rng_state,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from eqlab.runs._config import ConfigError, apply_overrides, config_to_dict, parse_assignments
from eqlab.runs._folder import RunFolder, environment
from eqlab.runs._progress import Progress
from eqlab.runs._report import Figure, Report, Table, format_number, write_index, write_report
from eqlab.runs._seeding import unit_seed
from eqlab.runs._study import Study, config_from_dict
from eqlab.runs._verdict import CONFIDENCE, MIN_SEEDS, STATUSES, Verdict, judge

__all__ = [
    "CONFIDENCE",
    "INTERRUPT_ENV",
    "MIN_SEEDS",
    "STATUSES",
    "ConfigError",
    "Figure",
    "Progress",
    "Report",
    "RunFolder",
    "Study",
    "Table",
    "Verdict",
    "apply_overrides",
    "atomic_torch_save",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "config_from_dict",
    "config_to_dict",
    "environment",
    "format_number",
    "get_rng_state",
    "judge",
    "load_checkpoint",
    "parse_assignments",
    "save_checkpoint",
    "set_rng_state",
    "unit_seed",
    "write_index",
    "write_report",
]

"""The bad-input battery: at least 8 bad inputs for every public entry point, each of which must get a
clear ``ValueError`` / ``TypeError`` (exit code 2 on the command line) naming the argument.

``python -m tests.battery.count`` prints the counts (clear, obscure, silent) per entry point.
"""

from __future__ import annotations

import importlib
import pkgutil

from tests.battery.harness import Battery


def load() -> Battery:
    """Every case and valid call, from the ``cases_*`` modules of this folder."""
    battery = Battery()
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("cases_"):
            battery.extend(importlib.import_module(f"{__name__}.{info.name}").build())
    return battery

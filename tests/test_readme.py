"""The README's Python examples run as written, and print what the README shows beside them."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_the_readme_example_runs_without_deprecated_names(index: int) -> None:
    code = python_blocks()[index]
    out = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(out):
        warnings.simplefilter("error", DeprecationWarning)
        exec(compile(code, f"README.md example {index}", "exec"), {"__name__": "__readme__"})


def _printed_and_shown(marker: str) -> tuple[str, str]:
    """What the README example containing ``marker`` prints, and the output block the README shows
    after it."""
    blocks = python_blocks()
    index = next(i for i, b in enumerate(blocks) if marker in b)
    shown = re.search(
        r"```python\n" + re.escape(blocks[index]) + r"```\n\n```\n(.*?)```", README.read_text(), re.S
    )
    assert shown is not None, f"the example with {marker!r} is followed by its output"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[index], f"README.md example ({marker})", "exec"), {"__name__": "__readme__"})
    return out.getvalue().strip(), shown.group(1).strip()


def test_the_exactness_example_prints_what_the_readme_shows() -> None:
    printed, shown = _printed_and_shown("from eqlab.exactness import check")
    assert printed == shown


def _without_rounding(text: str) -> str:
    """Errors below 1e-12 are float rounding, whose digits differ between machines: read them as one."""
    return re.sub(r"\d\.\de-(1[3-9]|[2-9]\d)", "<1e-12", text)


def test_the_audit_example_prints_what_the_readme_shows() -> None:
    printed, shown = _printed_and_shown("eqlab.audit(net")
    assert _without_rounding(printed) == _without_rounding(shown)

"""Reports: what a study claims, what this run measured, the verdicts, the tables and plots behind them.

A study turns its saved results into a `Report`; this module writes it as ``report.md`` (plots linked)
and ``report.html`` (self-contained: plots embedded as base64 PNG). Verdicts are shown in two groups,
findings and demonstrations, under a sentence that counts them (`judging_sentence`).
"""

from __future__ import annotations

import base64
import html
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np
import torch

from eqlab._arguments import describe, real, string
from eqlab._arguments import path as check_path
from eqlab.runs._atomic import atomic_write_text
from eqlab.runs._verdict import CONFIDENCE, Kind, Status, Verdict

__all__ = [
    "Figure",
    "Report",
    "Table",
    "format_duration",
    "format_number",
    "judging_sentence",
    "plot_name",
    "status_counts",
    "write_report",
]

_STATUS_COLOURS = {
    Status.SUPPORTED: "#1a7f37",
    Status.CONTRADICTED: "#b42318",
    Status.INCONCLUSIVE: "#9a6700",
    Status.NOT_MEASURABLE: "#57606a",
}


@dataclass
class Table:
    """A results table of a `Report`: a title, column headers and rows of cells.

    Examples
    --------
    >>> Table("errors", ["model", "error"], [["mlp", 0.25], ["equivariant", 1.5e-13]]).headers
    ['model', 'error']
    """

    title: str
    """The table's title (may be empty)."""
    headers: list[str]
    """The column names."""
    rows: list[list[Any]]
    """Rows of cells, one per header: strings, numbers (written with 4 significant digits, in
    scientific notation below 1e-3 and from 1e5), booleans or None."""

    def __post_init__(self) -> None:
        string(self.title, "title", empty=True)
        if not isinstance(self.headers, (list, tuple)) or not self.headers:
            raise TypeError(f"headers must be a non-empty list of column names, got {describe(self.headers)}")
        for i, header in enumerate(self.headers):
            string(header, f"headers[{i}]", empty=True)
        if not isinstance(self.rows, (list, tuple)):
            raise TypeError(f"rows must be a list of rows (lists of cells), got {describe(self.rows)}")
        for i, row in enumerate(self.rows):
            if not isinstance(row, (list, tuple)):
                raise TypeError(f"rows[{i}] must be a list of cells, got {describe(row)}")
            if len(row) != len(self.headers):
                raise ValueError(
                    f"rows[{i}] must have one cell per header ({len(self.headers)}), got {len(row)} cells"
                )
            for j, cell in enumerate(row):
                _check_cell(cell, f"rows[{i}][{j}]")
        self.headers = list(self.headers)
        self.rows = [list(row) for row in self.rows]


@dataclass
class Figure:
    """A plot of a `Report`, in the run's ``plots/`` folder, with a caption saying what to read from it."""

    filename: str
    """A plain file name inside ``plots/`` (``"errors.png"``), no folders."""
    caption: str
    """What the plot shows and what to read from it."""

    def __post_init__(self) -> None:
        plot_name(self.filename, "filename")
        string(self.caption, "caption")


def plot_name(value: Any, name: str) -> str:
    """``value`` when it is a plain file name inside ``plots/``: no folders, not ``.`` or ``..``."""
    string(value, name)
    parts = (PurePosixPath(value).parts, PureWindowsPath(value).parts)
    if any(len(p) != 1 or p[0] in (".", "..") for p in parts):
        raise ValueError(f"{name} must be a plain file name inside plots/, got {value!r}")
    return str(value)


@dataclass
class Report:
    """Everything a study's report says; written as ``report.md`` and a self-contained ``report.html``."""

    study: str
    """The study's name."""
    title: str
    """The report's title."""
    paper: str
    """The paper reproduced, in words."""
    claim: str
    """The paper's claim, in words."""
    measured: str
    """What this run measured, in words."""
    verdicts: list[Verdict] = field(default_factory=list)
    """The `Verdict` of each claim, from `judge`."""
    tables: list[Table] = field(default_factory=list)
    """The `Table` items, in the order shown."""
    figures: list[Figure] = field(default_factory=list)
    """The `Figure` items, in the order shown."""
    notes: list[str] = field(default_factory=list)
    """Further remarks, one paragraph each; a remark about an outcome is built from the results."""
    key_figure: str | None = None
    """The file name of the figure the run index shows (default: the first figure)."""
    settings: dict[str, Any] = field(default_factory=dict)
    """The configuration the run used (filled in by the runner)."""
    facts: list[str] = field(default_factory=list)
    """About the run itself: its time, its device, the paper preset's estimated cost (filled in by the
    runner from timings.json)."""

    def __post_init__(self) -> None:
        string(self.study, "study")
        string(self.title, "title")
        for name in ("paper", "claim", "measured"):
            string(getattr(self, name), name, empty=True)
        kinds = (
            ("verdicts", Verdict),
            ("tables", Table),
            ("figures", Figure),
            ("notes", str),
            ("facts", str),
        )
        for name, kind in kinds:
            items = getattr(self, name)
            if not isinstance(items, (list, tuple)):
                raise TypeError(f"{name} must be a list of {kind.__name__}, got {describe(items)}")
            for i, item in enumerate(items):
                if not isinstance(item, kind):
                    raise TypeError(f"{name}[{i}] must be a {kind.__name__}, got {describe(item)}")
            setattr(self, name, list(items))
        if not isinstance(self.settings, Mapping):
            raise TypeError(f"settings must be a dict of name -> value, got {describe(self.settings)}")
        self.settings = dict(self.settings)
        names = [f.filename for f in self.figures]
        if self.key_figure is not None and self.key_figure not in names:
            raise ValueError(f"key_figure must be one of the figures {names}, got {self.key_figure!r}")

    @property
    def findings(self) -> list[Verdict]:
        """The verdicts on claims that test the paper (`Kind.FINDING`)."""
        return [v for v in self.verdicts if v.kind is Kind.FINDING]

    @property
    def demonstrations(self) -> list[Verdict]:
        """The verdicts on claims true by construction (`Kind.DEMONSTRATION`)."""
        return [v for v in self.verdicts if v.kind is Kind.DEMONSTRATION]

    @property
    def key(self) -> str | None:
        """The file name of the figure the run index shows."""
        return self.key_figure or (self.figures[0].filename if self.figures else None)


def status_counts(verdicts: list[Verdict]) -> dict[str, int]:
    """How many verdicts have each `Status`, in the order of `Status`."""
    return {str(s): sum(v.status is s for v in verdicts) for s in Status}


def judging_sentence(report: Report) -> str:
    """How many claims the report judges, of which kind, at what level, and with what outcome."""
    findings, demos = report.findings, report.demonstrations

    def counts(verdicts: list[Verdict]) -> str:
        parts = [f"{n} {status}" for status, n in status_counts(verdicts).items() if n]
        return ", ".join(parts) if parts else "none"

    level, side = f"{CONFIDENCE:.0%}", (1 - CONFIDENCE) / 2
    decided = sum(v.decided for v in findings)
    return (
        f"This run judges {len(findings)} finding(s) ({counts(findings)}) and {len(demos)} "
        f"demonstration(s) ({counts(demos)}). Each claim is judged on its own by a two-sided {level} "
        f"Student-t interval of the mean over seeds, so a decision errs with at most {side:.1%} chance "
        f"when the true mean sits at its threshold: across the {decided} decided finding(s), up to "
        f"{side * decided:.2g} wrong decision(s) are expected by chance. There is no family-wise correction."
    )


def _check_cell(value: Any, name: str) -> Any:
    """``value`` as a table cell: a string, a number (numpy's and one-entry tensors too), a bool or None."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        if value.size == 1 if isinstance(value, np.ndarray) else value.numel() == 1:
            value = value.item()
        else:
            raise TypeError(f"{name} must be a string or a number, got {describe(value)}")
    if value is None or isinstance(value, (str, bool, np.bool_)):
        return value
    if isinstance(value, numbers.Real):
        return value
    raise TypeError(f"{name} must be a string or a number, got {describe(value)}")


def format_number(value: Any) -> str:
    """Readable numbers: 4 significant digits, scientific for very small or large magnitudes.

    ``value`` is a table cell: strings, bools and None are written as they are.
    """
    value = _check_cell(value, "value")
    if value is None or isinstance(value, (str, bool, np.bool_)):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    value = float(value)
    if math.isnan(value):
        return "n/a"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.4g}"


def format_duration(seconds: float) -> str:
    """A time in the unit that reads best: ``"57 s"``, ``"5.2 min"``, ``"3.1 h"``, ``"6.4 days"``.

    >>> format_duration(57.2), format_duration(314.0), format_duration(554197.0)
    ('57 s', '5.2 min', '6.4 days')

    Raises
    ------
    TypeError
        If ``seconds`` is not a real number (a bool, a string, None).
    ValueError
        If ``seconds`` is negative, NaN or infinite.
    """
    seconds = real(seconds, "seconds", minimum=0.0)
    for size, unit in ((86400, "days"), (3600, "h"), (60, "min")):
        if seconds >= 1.5 * size:
            return f"{seconds / size:.2g} {unit}" if seconds < 10 * size else f"{seconds / size:.0f} {unit}"
    return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"


def _interval(v: Verdict) -> str:
    if math.isnan(v.low):
        return f"mean {format_number(v.mean)}"
    return f"mean {format_number(v.mean)}, 95% CI [{format_number(v.low)}, {format_number(v.high)}]"


def to_markdown(report: Report) -> str:
    """The report as Markdown (plots referenced as ``plots/<file>``)."""
    lines = [f"# {report.title}", "", f"*{report.paper}*", "", "## The claim", "", report.claim, ""]
    lines += [
        "## What this run measured",
        "",
        report.measured,
        "",
        "## Verdicts",
        "",
        judging_sentence(report),
    ]
    for title, verdicts in _verdict_sections(report):
        lines += [
            "",
            f"### {title}",
            "",
            "| claim | verdict | measured | rule |",
            "| --- | --- | --- | --- |",
        ]
        for v in verdicts:
            side = ">" if v.direction == "greater" else "<"
            lines.append(
                f"| {v.claim} | **{v.status}** | {_interval(v)} | {side} {v.threshold:g}: {v.detail} |"
            )
    lines.append("")
    for table in report.tables:
        lines += [f"### {table.title}", "", "| " + " | ".join(table.headers) + " |"]
        lines.append("|" + " --- |" * len(table.headers))
        lines += ["| " + " | ".join(format_number(c) for c in row) + " |" for row in table.rows]
        lines.append("")
    for fig in report.figures:
        lines += [f"![{fig.caption}](plots/{fig.filename})", "", f"*{fig.caption}*", ""]
    if report.notes:
        lines += ["## Notes on scale and method", ""] + [f"- {n}" for n in report.notes] + [""]
    if report.facts:
        lines += ["## This run", ""] + [f"- {n}" for n in report.facts] + [""]
    if report.settings:
        lines += ["## Settings", "", "```"] + [f"{k} = {v}" for k, v in report.settings.items()] + ["```", ""]
    return "\n".join(lines)


def _verdict_sections(report: Report) -> list[tuple[str, list[Verdict]]]:
    sections = [
        ("Findings: claims this run tests", report.findings),
        (
            "Demonstrations: true by construction, shown to work (not tests of the paper)",
            report.demonstrations,
        ),
    ]
    return [(title, verdicts) for title, verdicts in sections if verdicts]


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em;
       color: #1f2328; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: .92em; }
th, td { border: 1px solid #d0d7de; padding: .35em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } .status { font-weight: 600; white-space: nowrap; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: .92em; } pre { background: #f6f8fa; padding: .8em; overflow-x: auto; }
.paper { color: #57606a; font-style: italic; }
"""


def _esc(value: Any) -> str:
    return html.escape(format_number(value))


def to_html(report: Report, plots: Path) -> str:
    """The report as one self-contained HTML page (plots embedded)."""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(report.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(report.title)}</h1><p class='paper'>{html.escape(report.paper)}</p>",
        f"<h2>The claim</h2><p>{html.escape(report.claim)}</p>",
        f"<h2>What this run measured</h2><p>{html.escape(report.measured)}</p>",
        f"<h2>Verdicts</h2><p>{html.escape(judging_sentence(report))}</p>",
    ]
    for title, verdicts in _verdict_sections(report):
        parts.append(f"<h3>{html.escape(title)}</h3>")
        parts.append("<table><tr><th>claim</th><th>verdict</th><th>measured</th><th>rule</th></tr>")
        for v in verdicts:
            colour = _STATUS_COLOURS.get(v.status, "#1f2328")
            side = "&gt;" if v.direction == "greater" else "&lt;"
            parts.append(
                f"<tr><td>{html.escape(v.claim)}</td>"
                f"<td class='status' style='color:{colour}'>{v.status}</td>"
                f"<td>{html.escape(_interval(v))}</td>"
                f"<td>{side} {v.threshold:g}: {html.escape(v.detail)}</td></tr>"
            )
        parts.append("</table>")
    for table in report.tables:
        parts.append(f"<h3>{html.escape(table.title)}</h3><table><tr>")
        parts += [f"<th>{html.escape(h)}</th>" for h in table.headers]
        parts.append("</tr>")
        for row in table.rows:
            parts.append("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>")
        parts.append("</table>")
    for fig in report.figures:
        path = plots / fig.filename
        if path.exists():
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(
                f"<figure><img alt='{html.escape(fig.caption)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{html.escape(fig.caption)}</figcaption></figure>"
            )
        else:
            parts.append(f"<p><em>plot {html.escape(fig.filename)} is missing</em></p>")
    if report.notes:
        parts.append("<h2>Notes on scale and method</h2><ul>")
        parts += [f"<li>{html.escape(n)}</li>" for n in report.notes]
        parts.append("</ul>")
    if report.facts:
        parts.append("<h2>This run</h2><ul>")
        parts += [f"<li>{html.escape(n)}</li>" for n in report.facts]
        parts.append("</ul>")
    if report.settings:
        body = "\n".join(f"{k} = {v}" for k, v in report.settings.items())
        parts.append(f"<h2>Settings</h2><pre>{html.escape(body)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(report: Report, run_dir: Path) -> None:
    """Write ``report.md`` and ``report.html`` into ``run_dir`` atomically."""
    if not isinstance(report, Report):
        raise TypeError(f"report must be a Report, got {describe(report)}")
    run_dir = check_path(run_dir, "run_dir")
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"run_dir must be a folder, got the file {run_dir}")
    atomic_write_text(run_dir / "report.md", to_markdown(report))
    atomic_write_text(run_dir / "report.html", to_html(report, run_dir / "plots"))

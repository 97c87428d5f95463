"""Reports: what a study claims, what this run measured, the verdicts, the tables and plots behind them.

A study turns its saved results into a `Report`; this module writes it as ``report.md`` (plots linked)
and ``report.html`` (self-contained: plots embedded as base64 PNG), and writes the ``index.html`` that
links every study of one ``eqlab run``.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eqlab.runs.atomic import atomic_write_text
from eqlab.runs.verdict import Verdict

__all__ = ["Figure", "Report", "Table", "format_number", "write_index", "write_report"]

_STATUS_COLOURS = {
    "supported": "#1a7f37",
    "not supported": "#b42318",
    "not measurable at this scale": "#9a6700",
}


@dataclass
class Table:
    """A results table: a title, column headers and rows of cells (numbers are formatted)."""

    title: str
    headers: list[str]
    rows: list[list[Any]]


@dataclass
class Figure:
    """A plot in the run's ``plots/`` folder, with a caption saying what to read from it."""

    filename: str
    caption: str


@dataclass
class Report:
    """Everything a study's report says."""

    study: str
    title: str
    paper: str
    claim: str
    measured: str
    verdicts: list[Verdict] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def format_number(value: Any) -> str:
    """Readable numbers: 4 significant digits, scientific for very small or large magnitudes."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "n/a"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.4g}"


def _interval(v: Verdict) -> str:
    if math.isnan(v.low):
        return f"mean {format_number(v.mean)}"
    return f"mean {format_number(v.mean)}, 95% CI [{format_number(v.low)}, {format_number(v.high)}]"


def to_markdown(report: Report) -> str:
    """The report as Markdown (plots referenced as ``plots/<file>``)."""
    lines = [f"# {report.title}", "", f"*{report.paper}*", "", "## The claim", "", report.claim, ""]
    lines += ["## What this run measured", "", report.measured, "", "## Verdicts", ""]
    lines += ["| claim | verdict | measured | rule |", "| --- | --- | --- | --- |"]
    for v in report.verdicts:
        side = ">" if v.direction == "greater" else "<"
        lines.append(f"| {v.claim} | **{v.status}** | {_interval(v)} | {side} {v.threshold:g}: {v.detail} |")
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
    if report.settings:
        lines += ["## Settings", "", "```"] + [f"{k} = {v}" for k, v in report.settings.items()] + ["```", ""]
    return "\n".join(lines)


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
        "<h2>Verdicts</h2><table><tr><th>claim</th><th>verdict</th><th>measured</th><th>rule</th></tr>",
    ]
    for v in report.verdicts:
        colour = _STATUS_COLOURS.get(v.status, "#1f2328")
        side = "&gt;" if v.direction == "greater" else "&lt;"
        parts.append(
            f"<tr><td>{html.escape(v.claim)}</td><td class='status' style='color:{colour}'>{v.status}</td>"
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
    if report.settings:
        body = "\n".join(f"{k} = {v}" for k, v in report.settings.items())
        parts.append(f"<h2>Settings</h2><pre>{html.escape(body)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(report: Report, run_dir: Path) -> None:
    """Write ``report.md`` and ``report.html`` into ``run_dir`` atomically."""
    atomic_write_text(run_dir / "report.md", to_markdown(report))
    atomic_write_text(run_dir / "report.html", to_html(report, run_dir / "plots"))


def write_index(path: Path, entries: list[dict[str, Any]]) -> None:
    """Write the ``index.html`` of one ``eqlab run``: one row per study with its verdicts and a link.

    Each entry holds ``study``, ``title``, ``folder`` (relative link target), ``status`` (``"ok"`` or
    ``"failed"``) and ``verdicts`` (list of `Verdict`).
    """
    rows = []
    for e in entries:
        verdicts = "<br>".join(
            f"<span style='color:{_STATUS_COLOURS.get(v.status, '#1f2328')}'>{html.escape(v.status)}</span>: "
            f"{html.escape(v.claim)}"
            for v in e["verdicts"]
        )
        link = f"<a href='{html.escape(e['folder'])}/report.html'>{html.escape(e['title'])}</a>"
        rows.append(f"<tr><td>{link}</td><td>{html.escape(e['status'])}</td><td>{verdicts}</td></tr>")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>eqlab run</title><style>{_CSS}</style>"
        "</head><body><h1>eqlab run</h1><table><tr><th>study</th><th>run</th><th>verdicts</th></tr>"
        + "\n".join(rows)
        + "</table></body></html>"
    )
    atomic_write_text(path, page)

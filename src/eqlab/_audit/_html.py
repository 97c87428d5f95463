"""`write_html`: an `AuditReport` as one self-contained HTML page.

The page holds the verdict and its reason, the measurements, a plot of the averaged copy's cumulative error
by depth (a PNG embedded as base64), the fixes with whether each was verified, the notes and the layers.
For ``symmetry="all"``, one row per symmetry, then one section (with its own plot) per symmetry. Every text
from the report is escaped; the page loads nothing from elsewhere. It is written atomically: to a temporary
file in the target's folder, then renamed over the target.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from pathlib import Path
from typing import Any

from eqlab._arguments import describe
from eqlab._audit._report import AuditReport, AuditVerdict
from eqlab._audit._terminal import layer_rows, measurements, number, size_text, symmetry_row
from eqlab._files import atomic_write_text, file_target

__all__ = ["EXACT_LINE", "FLOOR", "error_plot_png", "html_page", "write_html"]

FLOOR = 1e-17
"""Where the plot draws errors of exactly 0 (and any below it), since a log scale has no 0."""

EXACT_LINE = 1e-12
"""The float64 error at and below which a measurement counts as exact; a labelled line on the plot."""

_VERDICT_CLASS = {
    AuditVerdict.EXACT: "exact",
    AuditVerdict.APPROXIMATE: "approximate",
    AuditVerdict.NOT_EQUIVARIANT: "not-equivariant",
}

_LAYER_HEADS = ("layer", "op", "offset", "exact", "cumulative error", "self-alignment error", "effect")
_LAYER_CLASSES = {1: "word", 2: "num", 3: "word", 4: "num", 5: "num"}
"""The layers table's numbers (right-aligned, monospace) and short words (never wrapped), by column."""


def write_html(report: AuditReport, path: str | os.PathLike[str]) -> Path:
    """Write ``report`` as one self-contained HTML page to ``path``, atomically.

    Parameters
    ----------
    report
        What `eqlab.audit` returned (one symmetry, or ``symmetry="all"``).
    path
        The file to write; its folder is created when missing.

    Returns
    -------
    Path
        The file written.
    """
    if not isinstance(report, AuditReport):
        raise TypeError(f"report must be an AuditReport, got {describe(report)}")
    target = file_target(path)
    atomic_write_text(target, html_page(report))
    return target


def html_page(report: AuditReport) -> str:
    """The whole page as text."""
    if not isinstance(report, AuditReport):
        raise TypeError(f"report must be an AuditReport, got {describe(report)}")
    size = size_text(report.input_size)
    if report.symmetries:
        title = f"eqlab audit: every grid symmetry at input {size}"
        body = [f"<h1>{_e(title)}</h1>", _verdict_block(report), _symmetry_table(report)]
        if report.notes:
            body += ["<h2>Notes</h2>", _notes(report)]
        body.append(_seconds(report))
        for one in report.symmetries:
            body.append(f'<section id="{_anchor(one)}">')
            body.append(f"<h2>{_e(one.symmetry)} at input {_e(size)}</h2>")
            body.append(_one(one, level=3, layers_open=False))
            body.append("</section>")
    else:
        title = f"eqlab audit: {report.symmetry} at input {size}"
        body = [f"<h1>{_e(title)}</h1>", _one(report, level=2, layers_open=True)]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(part for part in body if part)
        + "\n</main>\n</body>\n</html>\n"
    )


def _one(report: AuditReport, *, level: int, layers_open: bool) -> str:
    """One symmetry: verdict, measurements, plot, fixes, notes, layers, times."""
    h = f"h{level}"
    parts = [_verdict_block(report), f"<{h}>Measurements</{h}>", _measurements(report)]
    parts.append(f"<{h}>Error by depth</{h}>")
    parts.append(_plot(report))
    parts.append(f"<{h}>Fixes</{h}>")
    parts.append(_fixes(report))
    if report.notes:
        parts += [f"<{h}>Notes</{h}>", _notes(report)]
    parts.append(_layers(report, level=level, open_=layers_open))
    parts.append(_seconds(report))
    return "\n".join(part for part in parts if part)


def _verdict_block(report: AuditReport) -> str:
    css = _VERDICT_CLASS.get(report.verdict, "")
    return (
        f'<div class="verdict {css}"><span class="word">{_e(report.verdict.value)}</span>'
        f'<span class="reason">{_e(report.reason)}</span></div>'
    )


def _measurements(report: AuditReport) -> str:
    rows = [f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>" for label, value in measurements(report)]
    return '<table class="kv">' + "".join(rows) + "</table>"


def _plot(report: AuditReport) -> str:
    png = error_plot_png(report)
    if png is None:
        return '<p class="muted">The report holds no error by depth (depth_errors is empty).</p>'
    data = base64.b64encode(png).decode("ascii")
    alt = (
        f"cumulative error of the averaged copy by depth, {report.symmetry} at {size_text(report.input_size)}"
    )
    caption = (
        "Each point is a traced node in graph order; the error is the float64 relative error of the node's "
        "output in the averaged copy when the input is transformed (worst over the group). "
        f"Errors of 0 are drawn at {FLOOR:.0e}; infinite or NaN errors at the top."
    )
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _fixes(report: AuditReport) -> str:
    if not report.fixes:
        return '<p class="muted">The report lists no fixes.</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in ("#", "kind", "change", "promise", "measured error", "check"))
    rows = []
    for i, fix in enumerate(report.fixes, 1):
        check = (
            '<span class="ok">verified</span>' if fix.verified else '<span class="bad">NOT verified</span>'
        )
        rows.append(
            f'<tr><td class="num">{i}</td><td class="word">{_e(fix.kind)}</td><td>{_e(fix.change)}</td>'
            f'<td>{_e(fix.promise)}</td><td class="num">{_e(number(fix.measured_error))}</td>'
            f'<td class="word">{check}</td></tr>'
        )
    return f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _layers(report: AuditReport, *, level: int, open_: bool) -> str:
    h = f"h{level}"
    if not report.layers:
        return f'<{h}>Layers</{h}><p class="muted">The report lists no layers.</p>'
    head = "".join(f"<th>{_e(name)}</th>" for name in _LAYER_HEADS)
    rows = []
    for cells in layer_rows(report):
        tds = "".join(
            f'<td class="{_LAYER_CLASSES.get(i, "")}">{_e(cell)}</td>' for i, cell in enumerate(cells)
        )
        rows.append(f"<tr>{tds}</tr>")
    table = f'<table class="grid"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    summary = f"Layers that matter for the symmetry ({len(report.layers)})"
    return f"<details{' open' if open_ else ''}><summary>{_e(summary)}</summary>{table}</details>"


def _symmetry_table(report: AuditReport) -> str:
    heads = (
        "symmetry",
        "verdict",
        "end-to-end error",
        "architecture exact",
        "grid predicts",
        "averaged copy",
        "fixes verified",
        "reason",
    )
    head = "".join(f"<th>{_e(h)}</th>" for h in heads)
    rows = []
    for one in report.symmetries:
        cells = symmetry_row(one)
        css = _VERDICT_CLASS.get(one.verdict, "")
        rows.append(
            f'<tr><td><a href="#{_anchor(one)}">{_e(cells[0])}</a></td>'
            f'<td><span class="tag {css}">{_e(cells[1])}</span></td>'
            + "".join(f'<td class="num">{_e(cell)}</td>' for cell in cells[2:7])
            + f"<td>{_e(cells[7])}</td></tr>"
        )
    return (
        '<h2>One row per symmetry</h2><table class="grid"><thead><tr>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _notes(report: AuditReport) -> str:
    if not report.notes:
        return ""
    return '<ul class="notes">' + "".join(f"<li>{_e(note)}</li>" for note in report.notes) + "</ul>"


def _seconds(report: AuditReport) -> str:
    if not report.seconds:
        return ""
    times = ", ".join(f"{part} {seconds:.2f} s" for part, seconds in report.seconds.items())
    return f'<p class="muted">Time: {_e(times)}</p>'


def _anchor(report: AuditReport) -> str:
    return "sym-" + "".join(c if c.isalnum() else "-" for c in report.symmetry)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def error_plot_png(report: AuditReport) -> bytes | None:
    """The plot of one symmetry's cumulative error by depth as PNG bytes (None: no depth errors).

    x: the nodes of ``report.depth_errors`` in graph order; y (log scale): the averaged copy's cumulative
    error, with 0 drawn at `FLOOR` and infinite or NaN errors at the top; a second series: the
    ``self_alignment_error`` of the layers that have one; a line at `EXACT_LINE`.
    """
    if not report.depth_errors:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    nodes = [name for name, _ in report.depth_errors]
    errors = [float(error) for _, error in report.depth_errors]
    position = {name: i for i, name in enumerate(nodes)}
    aligned = [
        (position[row.name], float(row.self_alignment_error))
        for row in report.layers
        if row.self_alignment_error is not None and row.name in position
    ]
    finite = [v for v in errors + [v for _, v in aligned] if math.isfinite(v)]
    ceiling = 10.0 ** math.ceil(math.log10(max([1.0, *finite]))) * 10.0

    def shown(value: float) -> float:
        return ceiling if not math.isfinite(value) else max(value, FLOOR)

    width = min(16.0, max(7.0, 0.16 * len(nodes) + 2.0))
    fig = Figure(figsize=(width, 5.2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = list(range(len(nodes)))
    ax.plot(
        xs,
        [shown(v) for v in errors],
        marker="o",
        markersize=3.5,
        linewidth=1.4,
        color="#1f5fa8",
        label="averaged copy: cumulative error",
    )
    bad = [(x, v) for x, v in zip(xs, errors, strict=True) if not math.isfinite(v)]
    if bad:
        ax.scatter(
            [x for x, _ in bad],
            [ceiling] * len(bad),
            marker="x",
            s=60,
            color="#c0392b",
            zorder=5,
            label="inf or NaN (drawn at the top)",
        )
    if aligned:
        ax.scatter(
            [x for x, _ in aligned],
            [shown(v) for _, v in aligned],
            marker="D",
            s=28,
            color="#e67e22",
            zorder=4,
            label="self-alignment error (model as given)",
        )
    ax.axhline(EXACT_LINE, color="#2e8b57", linestyle="--", linewidth=1.2)
    ax.axhline(FLOOR, color="#888888", linestyle=":", linewidth=1.0)
    ax.set_yscale("log")
    ax.set_ylim(FLOOR / 10.0, ceiling * 10.0)
    ax.text(
        1.0,
        FLOOR,
        f" 0 (drawn at {FLOOR:.0e})",
        transform=ax.get_yaxis_transform(),
        va="center",
        ha="left",
        fontsize=8,
        color="#555555",
    )
    ax.text(
        1.0,
        EXACT_LINE,
        f" exact ({EXACT_LINE:.0e})",
        transform=ax.get_yaxis_transform(),
        va="center",
        ha="left",
        fontsize=8,
        color="#2e8b57",
    )
    step = max(1, math.ceil(len(nodes) / 70))
    ax.set_xticks(xs[::step], [_short(name) for name in nodes[::step]], rotation=90, fontsize=7)
    ax.set_xlim(-0.5, len(nodes) - 0.5)
    ax.set_xlabel("traced node, in graph order" + (f" (every {step}th labelled)" if step > 1 else ""))
    ax.set_ylabel("relative error (float64)")
    ax.set_title(f"{report.symmetry} at input {size_text(report.input_size)}: error by depth")
    ax.grid(True, which="major", axis="y", alpha=0.3)
    handles = len(ax.get_legend_handles_labels()[0])
    fig.legend(loc="outside lower center", ncol=handles if width >= 10 else 2, fontsize=8, frameon=False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0.15)
    return buffer.getvalue()


def _short(name: str, limit: int = 28) -> str:
    return name if len(name) <= limit else "…" + name[-(limit - 1) :]


_CSS = """
:root { --ink: #1d2430; --muted: #5b6472; --line: #d9dee5; --zebra: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; background: #ffffff; color: var(--ink);
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 14px; }
h2 { font-size: 1.25rem; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 1.05rem; margin: 20px 0 8px; }
section { margin-top: 36px; }
.verdict { display: flex; gap: 14px; align-items: baseline; padding: 12px 16px; border-radius: 6px;
  border-left: 6px solid; margin: 8px 0 16px; }
.verdict .word { font-weight: 700; font-size: 1.2rem; text-transform: uppercase; white-space: nowrap; }
.verdict.exact { background: #e8f5ec; border-color: #2e8b57; }
.verdict.exact .word { color: #1e6b40; }
.verdict.approximate { background: #fff6dd; border-color: #d4a017; }
.verdict.approximate .word { color: #8a6500; }
.verdict.not-equivariant { background: #fdecea; border-color: #c0392b; }
.verdict.not-equivariant .word { color: #a02b1f; }
.tag { font-weight: 600; padding: 1px 8px; border-radius: 10px; white-space: nowrap; }
.tag.exact { background: #e8f5ec; color: #1e6b40; }
.tag.approximate { background: #fff6dd; color: #8a6500; }
.tag.not-equivariant { background: #fdecea; color: #a02b1f; }
table { border-collapse: collapse; margin: 6px 0 12px; }
table.grid { width: 100%; font-size: 0.9rem; }
table.grid th, table.grid td { border: 1px solid var(--line); padding: 5px 8px; vertical-align: top;
  text-align: left; }
table.grid thead th { background: #eef1f5; }
table.grid tbody tr:nth-child(even) { background: var(--zebra); }
table.kv th { text-align: left; font-weight: 600; padding: 3px 18px 3px 0; vertical-align: top; }
table.kv td { padding: 3px 0; }
td.num { text-align: right; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  white-space: nowrap; }
td { overflow-wrap: break-word; }
td.word { white-space: nowrap; }
.ok { color: #1e6b40; font-weight: 600; }
.bad { color: #a02b1f; font-weight: 700; }
.muted { color: var(--muted); }
figure { margin: 8px 0 12px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); font-size: 0.85rem; margin-top: 4px; }
details summary { cursor: pointer; font-weight: 600; margin: 20px 0 8px; font-size: 1.05rem; }
ul.notes li { margin: 3px 0; }
a { color: #1f5fa8; }
"""

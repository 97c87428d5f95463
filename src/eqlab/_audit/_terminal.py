"""`print_report`: an `AuditReport` in the terminal, with rich.

Every word of an outcome (the verdict, its reason, what a layer does, what a fix promises) is read from the
report; this module only lays it out: the verdict coloured, the measurements, the layers as a table, the
fixes as a numbered list, the notes, and for ``symmetry="all"`` one row per symmetry. The cell texts are
shared with the HTML page (`layer_rows`, `symmetry_row`, `number`, ...).
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from eqlab._arguments import describe
from eqlab._audit._report import AuditReport, AuditVerdict

__all__ = [
    "VERDICT_STYLES",
    "layer_rows",
    "measurements",
    "number",
    "pair_text",
    "print_report",
    "size_text",
    "symmetry_row",
    "verdict_text",
    "yes_no",
]

VERDICT_STYLES = {
    AuditVerdict.EXACT: "bold green",
    AuditVerdict.APPROXIMATE: "bold yellow",
    AuditVerdict.NOT_EQUIVARIANT: "bold red",
}
"""The colour of each verdict."""

WIDE = 140
"""From this console width on, a layer's effect gets its own column; below it, it goes under the name."""


def print_report(report: AuditReport, console: Console) -> None:
    """Print ``report`` to ``console``: verdict, measurements, layers, fixes and notes.

    Parameters
    ----------
    report
        What `eqlab.audit` returned; with ``symmetry="all"``, a table of its per-symmetry reports.
    console
        Where to print (a `rich.console.Console`).
    """
    if not isinstance(report, AuditReport):
        raise TypeError(f"report must be an AuditReport, got {describe(report)}")
    if not isinstance(console, Console):
        raise TypeError(f"console must be a rich.console.Console, got {describe(console)}")
    console.print(_header(report), soft_wrap=True)
    if report.symmetries:
        console.print(_symmetry_table(report))
        for one in report.symmetries:
            console.print(Text.assemble((f"  {one.symmetry}: ", "bold"), one.reason), soft_wrap=True)
    else:
        _print_one(report, console)
    for note in report.notes:
        console.print(Text.assemble(("note: ", "bold"), note), soft_wrap=True)
    if report.seconds:
        times = ", ".join(f"{part} {seconds:.2f} s" for part, seconds in report.seconds.items())
        console.print(Text(f"time: {times}", style="dim"), soft_wrap=True)
    if report.symmetries:
        console.print(
            Text("each symmetry's layers and fixes: --symmetry NAME, or the HTML page", style="dim"),
            soft_wrap=True,
        )


def _print_one(report: AuditReport, console: Console) -> None:
    for label, value in measurements(report):
        console.print(Text.assemble((f"  {label}: ", "bold"), value), soft_wrap=True)
    if report.layers:
        console.print(_layer_table(report, wide=console.width >= WIDE))
    if report.fixes:
        console.print(Text("fixes (each applied to a copy and measured):", style="bold"))
        for i, fix in enumerate(report.fixes, 1):
            line = Text.assemble(f"{i:2d}. ", (f"[{fix.kind}]", "cyan"), f" {fix.change}")
            console.print(line, soft_wrap=True)
            status = ("verified", "green") if fix.verified else ("NOT verified", "bold red")
            console.print(
                Text.assemble(f"    {fix.promise}; measured {number(fix.measured_error)}: ", status),
                soft_wrap=True,
            )


def _header(report: AuditReport) -> Text:
    return Text.assemble(
        (f"{report.symmetry} at input {size_text(report.input_size)}: ", "bold"),
        verdict_text(report.verdict),
        ": ",
        report.reason,
    )


def _layer_table(report: AuditReport, *, wide: bool) -> Table:
    """The layers; ``wide``: name, op and effect in their own columns, else all three in the first cell
    (the effect in grey under the name) and no vertical rules, so the numbers keep their width."""
    title = "layers that matter for the symmetry"
    if wide:
        table = Table(title=title, title_justify="left")
        table.add_column("layer", overflow="fold")
        table.add_column("op", overflow="fold")
    else:
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("layer (op) / effect", overflow="fold", ratio=1)
    for column in ("offset", "exact", "cumulative", "self-align"):
        table.add_column(column, justify="center" if column == "exact" else "right", no_wrap=True)
    if wide:
        table.add_column("effect", overflow="fold", ratio=1)
    for name, op, *numbers, effect in layer_rows(report):
        cells = [Text(cell) for cell in numbers]
        if wide:
            table.add_row(Text(name), Text(op), *cells, Text(effect))
        else:
            table.add_row(Text.assemble((name, "bold"), f" ({op})\n", (effect, "dim")), *cells)
    return table


def _symmetry_table(report: AuditReport) -> Table:
    table = Table(
        title="one row per symmetry (reasons below)",
        title_justify="left",
        caption="arch.: architecture exact; grid: the grid's prediction; averaged: the averaged copy's "
        "error; fixes: verified of all",
        caption_justify="left",
    )
    for column in ("symmetry", "verdict", "end-to-end", "arch.", "grid", "averaged", "fixes"):
        justify = "left" if column in ("symmetry", "verdict") else "right"
        table.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for one in report.symmetries:
        cells = symmetry_row(one)
        table.add_row(Text(cells[0]), verdict_text(one.verdict), *(Text(cell) for cell in cells[2:-1]))
    return table


def measurements(report: AuditReport) -> list[tuple[str, str]]:
    """``(label, value)`` pairs of one symmetry's measurements, as text."""
    return [
        ("end-to-end error (model as given, in eval mode, float64)", number(report.end_to_end_error)),
        (
            "architecture exact",
            f"{yes_no(report.architecture_exact)} (grid predicts {yes_no(report.grid_prediction)}, "
            f"averaged copy measures {number(report.architecture_error)})",
        ),
        ("output action", report.out_action or "-"),
        ("tolerance", number(report.tolerance)),
    ]


def layer_rows(report: AuditReport) -> list[list[str]]:
    """The layers as text cells, one row per `AuditLayer`: layer, op, offset, exact, cumulative error,
    self-alignment error, effect."""
    return [
        [
            row.name,
            row.op,
            "-" if row.offset is None else pair_text(row.offset),
            yes_no(row.exact),
            number(row.cumulative_error),
            number(row.self_alignment_error),
            row.effect,
        ]
        for row in report.layers
    ]


def symmetry_row(one: AuditReport) -> list[str]:
    """One symmetry's row as text cells: symmetry, verdict, end-to-end error, architecture exact, grid
    prediction, averaged-copy error, verified fixes (``verified/all``), reason."""
    verified = sum(fix.verified for fix in one.fixes)
    return [
        one.symmetry,
        str(one.verdict.value),
        number(one.end_to_end_error),
        yes_no(one.architecture_exact),
        yes_no(one.grid_prediction),
        number(one.architecture_error),
        f"{verified}/{len(one.fixes)}" if one.fixes else "-",
        one.reason,
    ]


def verdict_text(verdict: AuditVerdict) -> Text:
    """The verdict in its colour."""
    return Text(str(verdict.value), style=VERDICT_STYLES.get(verdict, "bold"))


def number(value: float | None) -> str:
    """``value`` as ``.1e`` (``inf`` and ``nan`` as Python writes them), None as ``-``."""
    return "-" if value is None else f"{value:.1e}"


def yes_no(value: bool | None) -> str:
    """``yes``, ``no``, or ``-`` for None (not decided)."""
    return "-" if value is None else ("yes" if value else "no")


def pair_text(pair: tuple[Any, Any]) -> str:
    """An offset pair: one number when both agree, else ``height x width``."""

    def one(v: Any) -> str:
        return f"{v:g}" if isinstance(v, float) else str(v)

    return one(pair[0]) if pair[0] == pair[1] else f"{one(pair[0])}x{one(pair[1])}"


def size_text(size: tuple[int, int]) -> str:
    """``(height, width)`` as ``HxW``."""
    return f"{size[0]}x{size[1]}"

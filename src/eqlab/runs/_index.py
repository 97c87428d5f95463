"""The run index, ``<out>/<stamp>/index.html``: one card per study of one ``eqlab run``.

A card shows the paper, the claim, the verdicts counted by outcome (findings and demonstrations apart),
the study's key plot, the time it took against its budget, and links to its report and files.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from eqlab._arguments import choice, describe, real, string
from eqlab.runs._atomic import atomic_write_text
from eqlab.runs._folder import DEVICES
from eqlab.runs._report import _CSS, _STATUS_COLOURS, format_duration, format_number, plot_name
from eqlab.runs._study import SCALES
from eqlab.runs._verdict import Kind, Status, Verdict

__all__ = ["IndexCard", "write_index"]

CARD_SCALES = (*SCALES, "quick")
"""The scales a card can show: the presets of ``--set scale=...`` and ``--quick``."""

FILES = ("report.html", "report.md", "results.json", "config.json", "env.json", "metrics.jsonl")
"""The files of a study's folder that a card links to (those that exist)."""


@dataclass
class IndexCard:
    """What the run index shows of one study."""

    study: str
    """The study's name."""
    title: str
    """One line: the study's summary."""
    folder: Path
    """The study's run folder."""
    status: str
    """``"ok"``, or ``"failed: <error>"``."""
    paper: str = ""
    """The paper, in words (from the report)."""
    claim: str = ""
    """The paper's claim, in words (from the report)."""
    verdicts: list[Verdict] = field(default_factory=list)
    """The report's verdicts."""
    seconds: float | None = None
    """The time the study took (None when it failed before it could be timed)."""
    budget_minutes: float | None = None
    """The study's budget on 2 CPU cores at the default scale."""
    scale: str = "default"
    """``"default"``, ``"paper"`` or ``"quick"``."""
    device: str = "cpu"
    """Where it ran."""
    key_figure: str | None = None
    """The plain file name, inside the folder's ``plots/``, of the plot the card shows (like
    `Figure.filename`: no folders)."""

    def __post_init__(self) -> None:
        string(self.study, "study")
        for name in ("title", "paper", "claim"):
            string(getattr(self, name), name, empty=True)
        choice(self.scale, "scale", CARD_SCALES)
        choice(self.device, "device", DEVICES)
        string(self.status, "status")
        if not isinstance(self.folder, Path):
            raise TypeError(f"folder must be a Path, got {describe(self.folder)}")
        if not isinstance(self.verdicts, (list, tuple)) or not all(
            isinstance(v, Verdict) for v in self.verdicts
        ):
            raise TypeError(f"verdicts must be a list of Verdict, got {describe(self.verdicts)}")
        for name in ("seconds", "budget_minutes"):
            if getattr(self, name) is not None:
                real(getattr(self, name), name, minimum=0.0)
        if self.key_figure is not None:
            plot_name(self.key_figure, "key_figure")


def _badges(verdicts: list[Verdict]) -> str:
    if not verdicts:
        return "<span class='none'>none</span>"
    out = []
    for status in Status:
        n = sum(v.status is status for v in verdicts)
        if n:
            out.append(
                f"<span class='badge' style='background:{_STATUS_COLOURS[status]}'>{n} {status}</span>"
            )
    return " ".join(out)


def _card(card: IndexCard) -> str:
    link = Path("..") / card.folder.name
    findings = [v for v in card.verdicts if v.kind is Kind.FINDING]
    demos = [v for v in card.verdicts if v.kind is Kind.DEMONSTRATION]
    failed = card.status != "ok"
    name = html.escape(card.study)
    if (card.folder / "report.html").exists():
        name = f"<a href='{html.escape(str(link / 'report.html'))}'>{name}</a>"
    head = f"<h2>{name}</h2><p>{html.escape(card.title)}</p>" + (
        f"<p class='paper'>{html.escape(card.paper)}</p>" if card.paper else ""
    )
    body = [f"<div class='card{' failed' if failed else ''}'>", head]
    if failed:
        body.append(f"<p class='error'>{html.escape(card.status)}</p>")
    if card.claim:
        body.append(f"<details><summary>The claim</summary><p>{html.escape(card.claim)}</p></details>")
    body.append(f"<p><b>Findings</b>: {_badges(findings)}<br><b>Demonstrations</b>: {_badges(demos)}</p>")
    if card.key_figure and (card.folder / "plots" / card.key_figure).exists():
        src = html.escape(str(link / "plots" / card.key_figure))
        body.append(f"<a href='{src}'><img alt='key plot of {html.escape(card.study)}' src='{src}'></a>")
    if card.seconds is not None:
        took = f"took {format_duration(card.seconds)} on {html.escape(card.device)}"
        if card.budget_minutes is not None and card.scale == "default":
            took += f" (budget {format_number(card.budget_minutes)} min on 2 CPU cores)"
        elif card.scale != "default":
            took += f" at the {html.escape(card.scale)} scale"
        body.append(f"<p class='time'>{took}</p>")
    links = [
        f"<a href='{html.escape(str(link / name))}'>{name}</a>"
        for name in FILES
        if (card.folder / name).exists()
    ]
    body.append(f"<p class='links'>{' · '.join(links)}</p></div>")
    return "\n".join(body)


_INDEX_CSS = """
body { max-width: 1200px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 1em; }
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: .2em 1em 1em; background: #fff; }
.card.failed { border-color: #b42318; } .card h2 { margin: .4em 0 .1em; border: none; }
.card img { width: 100%; border: 1px solid #d0d7de; margin-top: .5em; }
.badge { color: #fff; border-radius: 1em; padding: .1em .6em; font-size: .85em; white-space: nowrap; }
.none { color: #57606a; } .error { color: #b42318; font-family: monospace; white-space: pre-wrap; }
.time, .links { color: #57606a; font-size: .9em; } details { margin: .3em 0; }
"""


def write_index(path: Path, cards: list[IndexCard], title: str = "eqlab run") -> None:
    """Write the index page of one ``eqlab run`` at ``path``: a card per study, in run order."""
    if not isinstance(cards, (list, tuple)) or not all(isinstance(c, IndexCard) for c in cards):
        raise TypeError(f"cards must be a list of IndexCard, got {describe(cards)}")
    title = string(title, "title")
    total = sum(c.seconds or 0.0 for c in cards)
    counts = {
        s: sum(v.status is s for c in cards for v in c.verdicts if v.kind is Kind.FINDING) for s in Status
    }
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no findings"
    failed = [c.study for c in cards if c.status != "ok"]
    if failed:
        plural = "y" if len(failed) == 1 else "ies"
        summary += f"; {len(failed)} stud{plural} did not finish: {', '.join(failed)}"
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}{_INDEX_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{len(cards)} stud{'y' if len(cards) == 1 else 'ies'} in {format_duration(total)}; "
        f"findings: {html.escape(summary)}.</p><div class='cards'>"
        + "\n".join(_card(c) for c in cards)
        + "</div></body></html>"
    )
    atomic_write_text(path, page)

"""Reports keep findings and demonstrations apart under a sentence counting them; cost estimates time
steps."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from eqlab.runs import Figure, Report, judge
from eqlab.runs._cost import CostEstimate, seconds_per_step
from eqlab.runs._report import judging_sentence, status_counts, to_markdown, write_report


def _report() -> Report:
    return Report(
        "demo",
        "A demo",
        "A paper",
        "A claim",
        "What was measured",
        verdicts=[
            judge("gap is positive", [0.3, 0.25, 0.28]),
            judge("gap is negative", [0.3, -0.25, 0.28], direction="less"),
            judge("the layer is exact", [-16.0, -15.5, -15.8], -12, "less", kind="demonstration"),
        ],
    )


def test_findings_and_demonstrations_are_apart_and_counted(tmp_path: Path) -> None:
    report = _report()
    assert [v.claim for v in report.findings] == ["gap is positive", "gap is negative"]
    assert [v.claim for v in report.demonstrations] == ["the layer is exact"]
    assert status_counts(report.findings) == {
        "supported": 1,
        "contradicted": 0,
        "inconclusive": 1,
        "not measurable": 0,
    }
    sentence = judging_sentence(report)
    assert (
        "errs with at most 2.5% chance" in sentence
        and "across the 1 decided finding(s), up to 0.025" in sentence
    )
    assert sentence.startswith(
        "This run judges 2 finding(s) (1 supported, 1 inconclusive) and 1 demonstration(s)"
    )
    text = to_markdown(report)
    findings, demos = text.index("### Findings"), text.index("### Demonstrations")
    assert findings < text.index("gap is negative") < demos < text.index("the layer is exact")
    write_report(report, tmp_path)
    assert "Demonstrations: true by construction" in (tmp_path / "report.html").read_text()


def test_the_key_figure_must_be_one_of_the_figures() -> None:
    figure = Figure("a.png", "A plot.")
    assert Report("d", "t", "", "", "", figures=[figure]).key == "a.png"
    with pytest.raises(ValueError, match="key_figure must be one of the figures"):
        Report("d", "t", "", "", "", figures=[figure], key_figure="b.png")


def test_a_cost_estimate_times_steps() -> None:
    model = nn.Linear(4, 2)
    seconds = seconds_per_step(model, lambda: (torch.randn(8, 4), torch.randn(8, 2)), nn.functional.mse_loss)
    assert 0 < seconds < 5
    cost = CostEstimate(seconds * 1000, 1000, seconds, 3, "cpu", "a linear layer")
    assert math.isclose(cost.seconds, 1000 * seconds) and "1,000 steps in all" in cost.in_words()
    assert CostEstimate(7200, 10, 720, 3, "cpu", "x").in_words().startswith("about 2 h on cpu")
    with pytest.raises(TypeError, match="make_batch must return"):
        seconds_per_step(model, lambda: (torch.randn(8, 4), None), nn.functional.mse_loss)  # type: ignore[arg-type,return-value]

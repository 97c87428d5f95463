"""The ``subsampling`` study's report, built from saved results: claims, tables, plots and notes."""

from __future__ import annotations

from pathlib import Path

from eqlab.runs import Figure, Report
from eqlab.studies._subsampling._claims import verdicts
from eqlab.studies._subsampling._config import Regime, SubsamplingConfig
from eqlab.studies._subsampling._notes import notes
from eqlab.studies._subsampling._plots import angle_plot, depth_plot
from eqlab.studies._subsampling._results import SubsamplingResults
from eqlab.studies._subsampling._tables import accuracy_table, per_class_table


def report(config: SubsamplingConfig, results: SubsamplingResults, plots: Path) -> Report:
    """Verdicts, tables and plots from saved results."""
    exact, approx = results.exact_size, results.approximate_size
    tables = [accuracy_table(results), per_class_table(results)]
    depth_sentence = depth_plot(results, config, plots)
    upright_file, upright_sentence = angle_plot(results, config, Regime.UPRIGHT, plots)
    rotated_file, rotated_sentence = angle_plot(results, config, Regime.ROTATED, plots)
    return Report(
        study="subsampling",
        title="Subsampling: exact against approximate rotation equivariance",
        paper="Edixhoven, Lengyel & van Gemert, Using and Abusing Equivariance (ICCV Workshops 2023)",
        claim=(
            "A group CNN is exactly equivariant only if every strided layer samples a grid that the "
            "rotations map onto itself; one pixel of input size can make it only approximately "
            "equivariant. Approximately equivariant networks generalise worse to unseen rotations, but "
            "when the training data's symmetry differs from the network's they can relax their "
            "constraint and match or beat exact ones."
        ),
        measured=(
            f"The same {config.group} CNN trained {config.seeds} times at {exact} px (certified exact) and "
            f"{approx} px, on upright digits and on digits rotated by about {config.rotated_mean:g} "
            "degrees: float64 error by depth, seen and unseen accuracy, accuracy per digit and against the "
            "rotation angle. Each seed draws its own data and rotations; the two networks of a seed are "
            "paired on them and start from the same weights."
        ),
        verdicts=verdicts(config, results),
        tables=tables,
        figures=[
            Figure(
                "depth_errors.png",
                "Cumulative equivariance error after each spatial layer, trained upright (mean with 95% "
                "interval over seeds; floored at 1e-17 and capped at 1e3; the dotted line is 1e-6). "
                f"{depth_sentence}",
            ),
            Figure(
                upright_file,
                "Trained upright: accuracy against the rotation of the test digits (mean with 95% interval "
                "over seeds; dotted lines at the quarter turns). An exactly invariant network's curve "
                f"repeats every 90 degrees. {upright_sentence}",
            ),
            Figure(
                rotated_file,
                f"Trained on digits rotated by ~N({config.rotated_mean:g}, {config.rotated_sd:g}) degrees: "
                f"the same curves. {rotated_sentence}",
            ),
        ],
        notes=notes(config, results),
        key_figure=upright_file,
    )

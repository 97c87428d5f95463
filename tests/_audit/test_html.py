"""The audit's HTML page: one self-contained file, written atomically, every text escaped, the error-by-depth
plot embedded as a PNG."""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import matplotlib.image
import pytest

from eqlab._audit._html import error_plot_png, html_page, write_html
from eqlab._audit._report import AuditLayer, AuditReport, AuditVerdict, Fix

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMAGE = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _report(symmetry: str = "p4", verdict: AuditVerdict = AuditVerdict.NOT_EQUIVARIANT) -> AuditReport:
    layers = [
        AuditLayer(
            "stem<conv>",
            "Conv2d",
            "7x7 stride 2 padding 3 moves the grid by 0.5",
            False,
            (0.5, 0.5),
            3e-3,
            0.2,
        ),
        AuditLayer("act", "ReLU", "pointwise & admissible", True, None, 3e-3, None),
        AuditLayer("block.conv", "Conv2d", "3x3 stride 1 padding 1", True, (0.0, 0.0), 0.0, 0.0),
        AuditLayer(
            "head", "Linear", "reads flattened positions; fixes the size", None, None, float("inf"), None
        ),
    ]
    fixes = [
        Fix("input size", "use 225x225: pad 1 row & column", "exact at 225", 2e-16, True, {"size": 225}),
        Fix("layer geometry", "stem<conv>: padding 3 -> 2", "exact at 224", 4e-2, False),
    ]
    depth = [("x", 0.0), ("stem<conv>", 3e-3), ("act", 3e-3), ("block.conv", 0.0), ("head", float("inf"))]
    return AuditReport(
        symmetry=symmetry,
        input_size=(224, 224),
        verdict=verdict,
        reason="the stem's <stride 2> offsets the grid",
        end_to_end_error=0.31,
        architecture_exact=False,
        grid_prediction=False,
        architecture_error=2.5e-3,
        out_action="invariant (inferred)",
        layers=layers,
        depth_errors=depth,
        fixes=fixes,
        notes=["head fixes the input size at 224 <b>"],
        seconds={"trace and grid": 0.1},
    )


def _all() -> AuditReport:
    parts = [
        _report("p4"),
        _report("hflip", AuditVerdict.EXACT),
        _report("rot180", AuditVerdict.APPROXIMATE),
    ]
    return AuditReport(
        "all",
        (224, 224),
        AuditVerdict.NOT_EQUIVARIANT,
        "p4 is not equivariant",
        0.31,
        False,
        symmetries=parts,
    )


def _pngs(text: str) -> list[bytes]:
    return [base64.b64decode(data, validate=True) for data in IMAGE.findall(text)]


def test_the_page_holds_the_verdict_the_escaped_texts_and_a_png_plot(tmp_path: Path) -> None:
    path = write_html(_report(), tmp_path / "audit.html")
    assert path == tmp_path / "audit.html"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "not equivariant" in text and "the stem&#x27;s &lt;stride 2&gt; offsets the grid" in text
    assert "stem&lt;conv&gt;" in text and "stem<conv>" not in text
    assert "pointwise &amp; admissible" in text and "fixes the input size at 224 &lt;b&gt;" in text
    assert "verified" in text and "NOT verified" in text
    assert "3.0e-03" in text and "inf" in text and "2.0e-16" in text
    (png,) = _pngs(text)
    assert png.startswith(PNG_SIGNATURE)
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and pixels.shape[1] > 300


def test_the_page_loads_nothing_from_elsewhere() -> None:
    text = html_page(_report())
    assert "<script" not in text and "<link" not in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "@import" not in text and "url(" not in text


def test_zero_and_infinite_errors_are_plotted_and_an_empty_depth_gives_no_plot() -> None:
    png = error_plot_png(_report())
    assert png is not None and png.startswith(PNG_SIGNATURE)
    empty = _report()
    empty.depth_errors = []
    assert error_plot_png(empty) is None
    text = html_page(empty)
    assert "data:image/png" not in text and "depth_errors is empty" in text


def test_the_write_goes_to_a_temporary_file_of_the_same_folder_then_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "audit.html"
    target.write_text("old page")
    replaced: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def failing_replace(src: str, dst: str) -> None:
        replaced.append((Path(src), Path(dst)))
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_html(_report(), target)
    ((src, dst),) = replaced
    assert src.parent == tmp_path and dst == target and src != target
    assert target.read_text() == "old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.html"]  # the temporary file is gone

    monkeypatch.setattr(os, "replace", real_replace)
    write_html(_report(), tmp_path / "new" / "audit.html")
    assert "not equivariant" in (tmp_path / "new" / "audit.html").read_text()


def test_the_all_page_has_one_row_and_one_plot_per_symmetry(tmp_path: Path) -> None:
    text = write_html(_all(), tmp_path / "all.html").read_text(encoding="utf-8")
    assert "every grid symmetry at input 224x224" in text
    for name, verdict in (("p4", "not equivariant"), ("hflip", "exact"), ("rot180", "approximate")):
        assert f'<a href="#sym-{name}">{name}</a>' in text and f'<section id="sym-{name}">' in text
        assert f'<span class="tag {verdict.replace(" ", "-")}">{verdict}</span>' in text
    pngs = _pngs(text)
    assert len(pngs) == 3 and all(png.startswith(PNG_SIGNATURE) for png in pngs)
    assert "1/2" in text  # one of the two fixes of each symmetry verified


def test_bad_arguments_name_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="report must be an AuditReport"):
        write_html({"verdict": "exact"}, tmp_path / "a.html")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="path must name a file"):
        write_html(_report(), tmp_path)
    with pytest.raises(TypeError, match="path must be a path"):
        write_html(_report(), 3)  # type: ignore[arg-type]

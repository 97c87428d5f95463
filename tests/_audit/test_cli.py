"""``eqlab audit``: exit 0 exact, 1 approximate or not equivariant, 2 bad usage, 3 an internal error; MODEL
files that need unpickling are read only with --allow-pickle (the exactness command shares the loader)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import eqlab._audit
from eqlab._cli import _load_model, app
from eqlab.runs._config import ConfigError
from tests._audit import models

runner = CliRunner()
P4 = "tests._audit.models:p4"
PLAIN = "tests._audit.models:plain"


def _audit(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nosuchmodule_for_audit:cnn", "--size", "11"], ["MODEL", "nosuchmodule_for_audit"]),
        (["tests._audit.models:nosuch", "--size", "11"], ["MODEL", "nosuch"]),
        (["tests._audit.models:not_a_model", "--size", "11"], ["MODEL", "str"]),
        ([P4, "--size", "11", "--symmetry", "p6"], ["--symmetry", "p6", "rot90"]),
        ([P4, "--size", "0"], ["--size"]),
        ([P4, "--size", "11", "--height", "0"], ["--height"]),
        ([P4, "--size", "11", "--out-action", "rotate"], ["--out-action", "invariant"]),
        ([P4, "--size", "11", "--tolerance", "-1"], ["tolerance"]),
    ],
)
def test_bad_usage_exits_2_and_names_the_argument(args: list[str], words: list[str]) -> None:
    code, output = _audit(*args)
    assert code == 2, output
    for word in words:
        assert word in output, (word, output)
    assert "Traceback" not in output


def test_a_pickled_module_is_read_only_with_allow_pickle(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save(models.plain(), path)
    code, output = _audit(str(path), "--size", "11")
    assert code == 2
    flat = " ".join(output.split())
    assert "weights_only=True" in flat and "torch.nn.modules" in flat
    assert (
        "Loading a pickle runs code from the file" in flat
        and "--allow-pickle only for files you trust" in flat
    )
    code, output = _audit(str(path), "--size", "11", "--allow-pickle")
    assert code == 1 and "not equivariant" in output
    # the exactness command shares the loader: the same refusal, the same way through
    refused = runner.invoke(app, ["exactness", str(path), "--size", "11"])
    assert refused.exit_code == 2 and "--allow-pickle" in refused.output
    assert runner.invoke(app, ["exactness", str(path), "--size", "11", "--allow-pickle"]).exit_code == 0


def test_a_checkpoint_naming_its_builder_is_read_only_with_allow_pickle(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    torch.save({"builder": PLAIN, "model": models.plain().state_dict()}, path)  # weights_only can read it
    code, output = _audit(str(path), "--size", "11")
    flat = " ".join(output.split())
    assert code == 2 and PLAIN in flat and "Loading a pickle runs code from the file" in flat
    assert _audit(str(path), "--size", "11", "--allow-pickle")[0] == 1


def test_a_state_dict_or_garbage_file_is_bad_usage(tmp_path: Path) -> None:
    state = tmp_path / "weights.pt"
    torch.save(models.plain().state_dict(), state)
    code, output = _audit(str(state), "--size", "11")
    flat = " ".join(output.split())
    assert code == 2 and "state dict" in flat and "no architecture" in flat and "module:function" in flat
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00not a torch file")
    code, output = _audit(str(garbage), "--size", "11", "--allow-pickle")
    assert code == 2 and "MODEL" in output
    assert _audit(str(tmp_path / "missing.pt"), "--size", "11")[0] == 2


def test_a_torch_export_file_is_read_as_its_module(tmp_path: Path) -> None:
    model = models.plain().eval()
    x = torch.randn(2, 1, 11, 11)
    path = tmp_path / "model.pt2"
    torch.export.save(torch.export.export(model, (x,)), path)
    loaded = _load_model(str(path), allow_pickle=False)
    assert isinstance(loaded, torch.nn.Module)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    with pytest.raises(ConfigError, match="torch.export.load"):
        (tmp_path / "bad.pt2").write_bytes(b"not an export")
        _load_model(str(tmp_path / "bad.pt2"), allow_pickle=False)


def test_an_exact_model_exits_0_and_a_plain_cnn_exits_1() -> None:
    code, output = _audit(P4, "--size", "11", "--symmetry", "rot90")
    assert code == 0, output
    assert output.startswith("p4 at input 11x11: exact") and "end-to-end error" in output
    code, output = _audit(PLAIN, "--size", "11")
    assert code == 1, output
    assert "not equivariant" in output and "fixes (each applied to a copy and measured)" in output
    assert "verified" in output


def test_json_prints_the_report_alone_and_html_writes_the_page(tmp_path: Path) -> None:
    page = tmp_path / "audit.html"
    result = runner.invoke(app, ["audit", PLAIN, "--size", "11", "--json", "--html", str(page)])
    assert result.exit_code == 1
    data = json.loads(result.stdout)  # nothing else on stdout
    assert data["verdict"] == "not equivariant" and data["input_size"] == [11, 11]
    assert data["end_to_end_error"] > 1e-2 and data["fixes"]
    assert f"wrote {page}" in result.stderr
    text = page.read_text(encoding="utf-8")
    assert "not equivariant" in text and 'src="data:image/png;base64,' in text
    result = runner.invoke(app, ["audit", P4, "--size", "11", "--html", str(page)])
    assert result.exit_code == 0 and f"wrote {page}" in result.stdout
    assert '<div class="verdict exact">' in page.read_text(encoding="utf-8")  # the new page replaced the old


def test_all_symmetries_exit_0_only_when_every_one_is_exact() -> None:
    code, output = _audit("tests._audit.models:p4m", "--size", "11", "--symmetry", "all")
    assert code == 0, output
    for name in ("p4", "p4m", "rot180", "hflip", "vflip"):
        assert f"  {name}: " in output
    code, output = _audit(P4, "--size", "11", "--symmetry", "all")
    assert code == 1, output  # exact for the rotations, not for the flips
    assert "exact" in output and "not equivariant" in output


def test_an_internal_error_is_one_line_and_exit_code_3(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the audit")

    monkeypatch.setattr(eqlab._audit, "audit", broken)
    code, output = _audit(P4, "--size", "11")
    assert code == 3 and "internal error: RuntimeError: a bug in the audit" in output
    assert "Traceback" not in output


def test_the_help_says_why_pickles_need_allow_pickle() -> None:
    result = runner.invoke(app, ["audit", "--help"])
    flat = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 0
    assert "loading a pickle runs code from the file" in flat.lower() and "--allow-pickle" in flat
    assert "files you trust" in flat


def test_load_model_refuses_a_pickle_by_default(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    torch.save(models.plain(), path)
    with pytest.raises(ConfigError, match="--allow-pickle"):
        _load_model(str(path), allow_pickle=False)
    assert isinstance(_load_model(str(path), allow_pickle=True), torch.nn.Sequential)

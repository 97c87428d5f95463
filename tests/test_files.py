"""`eqlab._files`: atomic writes keep the old file on failure, leave no temporary file, and give the new
file the permissions any new file gets (0o666 less the umask), not the temporary file's 0o600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from eqlab._files import atomic_write_text, replacing


def test_a_written_file_is_readable_as_the_umask_allows(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        target = tmp_path / "page.html"
        atomic_write_text(target, "<p>ok</p>")
        assert stat.S_IMODE(target.stat().st_mode) == 0o644
        assert target.read_text() == "<p>ok</p>"
    finally:
        os.umask(mask)


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), replacing(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_folder_is_not_a_file_to_write(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="path must name a file to write"):
        atomic_write_text(tmp_path, "x")

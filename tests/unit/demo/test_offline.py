"""The demo's working directory: rebuilt when it is the demo's own, never a user's."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloctl.demo.offline import MARKER, prepare_live_workdir, prepare_workdir
from sloctl.errors import InvalidRequestError


def test_a_directory_with_someone_elses_files_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("important")
    with pytest.raises(InvalidRequestError, match="was not made by sloctl demo"):
        prepare_workdir(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "important"


def test_the_demos_own_directory_is_rebuilt(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    prepare_workdir(workdir)
    (workdir / "old-block").mkdir()
    prepare_workdir(workdir)
    assert not (workdir / "old-block").exists()
    assert (workdir / MARKER).is_file()


def test_an_empty_directory_is_taken(tmp_path: Path) -> None:
    prepare_workdir(tmp_path)
    assert (tmp_path / MARKER).is_file()


def test_the_live_demo_keeps_the_report_demos_data_and_rebuilds_its_own(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    prepare_workdir(workdir)
    (workdir / "data").mkdir()
    live = prepare_live_workdir(workdir)
    (live / "incidents.db").write_text("old")
    assert prepare_live_workdir(workdir) == live
    assert not (live / "incidents.db").exists()
    assert (workdir / "data").is_dir()


def test_the_live_demo_leaves_someone_elses_directory_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("important")
    with pytest.raises(InvalidRequestError, match="was not made by sloctl demo"):
        prepare_live_workdir(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]

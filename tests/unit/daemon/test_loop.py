"""The daemon's configuration load: the on-call schedule is part of it, and a broken one keeps
the schedule in force (every problem logged with its file and line)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from sloctl.daemon.loop import Daemon
from sloctl.errors import DefinitionError
from sloctl.runtime.logs import make_logger

ROOT = Path(__file__).resolve().parents[3]


def test_a_broken_schedule_on_reload_keeps_the_one_in_force(tmp_path: Path) -> None:
    schedule = tmp_path / "oncall.yaml"
    schedule.write_text((ROOT / "deploy" / "oncall.yaml").read_text(), encoding="utf-8")
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        f"definitions: {ROOT / 'slo-definitions'}\nstore: {tmp_path / 'store.db'}\n"
        "schedule: oncall.yaml\n",
        encoding="utf-8",
    )
    logs = io.StringIO()
    daemon = Daemon(config, {}, make_logger("info", stream=logs))
    daemon.load()
    assert daemon.schedule is not None
    kept = daemon.schedule
    schedule.write_text("time_zone: Nowhere/Else\nrotations: []\n", encoding="utf-8")
    daemon.load()
    assert daemon.schedule is kept
    assert not daemon.snapshot.reload_successful
    [failed] = [
        json.loads(line) for line in logs.getvalue().splitlines() if "reload_failed" in line
    ]
    assert f"{schedule}:1: time_zone: unknown time zone 'Nowhere/Else'" in failed["problems"]


def test_a_broken_schedule_at_start_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "oncall.yaml").write_text("rotations: 3\n", encoding="utf-8")
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        f"definitions: {ROOT / 'slo-definitions'}\nschedule: oncall.yaml\n", encoding="utf-8"
    )
    with pytest.raises(DefinitionError, match="in the on-call schedule"):
        Daemon(config, {}, make_logger(stream=io.StringIO())).load()

"""``sloctl backtest --maintenance`` over the incident month on a real Prometheus: the api
outage (day 3, 10:00, 20 minutes of errors) inside a window is recorded as suppressed and
nobody is paged; a window ending before the outage does is announced when the window ends."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sloctl.cli.main import main
from tests.integration.conftest import Served
from tests.integration.definitions import write_definitions
from tests.integration.fixture import MONTH_EVENTS

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
OUTAGE = MONTH_EVENTS[0]
FROM = OUTAGE.start - timedelta(hours=1)
TO = OUTAGE.end + timedelta(hours=1)


def stamp(moment: object) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


def replay(served: Served, tmp_path: Path, minutes: int) -> list[dict[str, Any]]:
    windows = tmp_path / "maintenance.yaml"
    windows.write_text(
        "windows:\n"
        "  - service: api\n"
        "    name: upgrade\n"
        f"    start: {stamp(OUTAGE.start - timedelta(minutes=5))}\n"
        f"    end: {stamp(OUTAGE.start + timedelta(minutes=minutes))}\n"
    )
    definitions = write_definitions(tmp_path / "defs", "rolling: 30d", depends=True)
    result = CliRunner().invoke(
        main,
        [
            *("backtest", "--prometheus-url", served.url, "--definitions", str(definitions)),
            *("--policy", str(ROOT / "deploy" / "policy.yaml"), "--maintenance", str(windows)),
            *("--from", stamp(FROM), "--to", stamp(TO), "--output", "json"),
        ],
    )
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)
    return [row for row in rows if "api" in row["services"]]


def test_an_outage_inside_a_window_is_suppressed(month_served: Served, tmp_path: Path) -> None:
    (row,) = replay(month_served, tmp_path, 40)
    assert (row["severity"], row["state"]) == ("P1", "resolved")
    assert (row["suppressed_by"], row["unsuppressed_at"]) == ("upgrade", None)
    assert row["paged"] == "no (maintenance window upgrade)"
    notes = [line["note"] for line in row["timeline"]]
    assert "suppressed: api is in maintenance window upgrade (nothing paged)" in notes


def test_an_outage_outliving_its_window_is_announced_at_its_end(
    month_served: Served, tmp_path: Path
) -> None:
    (row,) = replay(month_served, tmp_path, 10)
    assert row["suppressed_by"] == "upgrade"
    assert row["unsuppressed_at"] == stamp(OUTAGE.start + timedelta(minutes=10))
    assert row["paged"] == "after maintenance window upgrade"

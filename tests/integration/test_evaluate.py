"""`sloctl incidents evaluate` against the real Prometheus: live decisions, step by step."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from sloctl.cli.main import main
from tests.integration.conftest import Served
from tests.integration.definitions import service_yaml
from tests.integration.fixture import API_OUTAGE

pytestmark = pytest.mark.integration


def test_the_api_outage_is_declared_followed_and_resolved(served: Served, tmp_path: Path) -> None:
    definitions = tmp_path / "defs"
    definitions.mkdir()
    (definitions / "api.yaml").write_text(service_yaml("api", "rolling: 30d"))
    store = str(tmp_path / "incidents.db")
    runner = CliRunner()

    def sloctl(*args: str) -> str:
        result = runner.invoke(main, ["incidents", "--store", store, *args])
        assert result.exit_code == 0, result.output
        return result.output

    begin, _ = API_OUTAGE
    moment = begin - timedelta(minutes=10)
    while moment <= begin + timedelta(hours=1, minutes=30):
        sloctl(
            "evaluate",
            "--prometheus-url",
            served.url,
            "--definitions",
            str(definitions),
            "--at",
            moment.isoformat(),
        )
        moment += timedelta(minutes=5)
    incidents = json.loads(sloctl("list", "--all", "--output", "json"))
    assert [(i["id"], i["service"], i["cause"], i["severity"]) for i in incidents] == [
        ("INC-0001", "api", "errors", "P1"),
    ]
    [incident] = incidents
    assert incident["state"] == "resolved"
    assert incident["detected_at"] == "2026-10-31T10:05:00Z"
    moves = [t["to"] for t in incident["timeline"] if t["from"] != t["to"]]
    assert moves == ["detected", "monitoring", "resolved"], incident["timeline"]
    assert all(t["actor"] == "sloctl" for t in incident["timeline"])
    assert incident["peak_error_ratio"] > 0.5


def test_prometheus_trouble_changes_nothing(tmp_path: Path) -> None:
    store = str(tmp_path / "incidents.db")
    result = CliRunner().invoke(
        main,
        [
            "incidents",
            "--store",
            store,
            "evaluate",
            "--prometheus-url",
            "http://127.0.0.1:9",
            "--definitions",
            str(Path(__file__).resolve().parents[2] / "slo-definitions"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output
    listed = CliRunner().invoke(main, ["incidents", "--store", store, "list", "--output", "json"])
    assert json.loads(listed.output) == []

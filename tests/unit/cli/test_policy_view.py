"""``sloctl policy show``: the thresholds in force per service, as the alerts use them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from sloctl.cli.main import main
from sloctl.generate.rules import alerts
from sloctl.incidents.conditions import bounds, service_conditions
from sloctl.loading.definitions import load_definitions
from sloctl.loading.policy_file import shipped_policy
from tests.paths import ROOT

SHIPPED = ROOT / "slo-definitions"


def show(*args: str) -> Result:
    return CliRunner().invoke(main, ["policy", "show", "--definitions", str(SHIPPED), *args])


def shown(*args: str) -> list[dict[str, Any]]:
    result = show("--output", "json", *args)
    assert result.exit_code == 0, result.output
    loaded = json.loads(result.stdout)
    assert isinstance(loaded, list)
    return loaded


def test_every_service_with_its_overrides() -> None:
    found = {entry["service"]: entry for entry in shown()}
    assert list(found) == ["ai-worker", "api", "auth", "database"]
    assert found["ai-worker"]["overrides"] == ["healthy_error_ratio"]
    assert found["ai-worker"]["thresholds"]["healthy_error_ratio"] == "0.005"
    assert found["api"]["overrides"] == []
    assert found["api"]["thresholds"]["major_for"] == "30m"
    assert found["api"]["thresholds"]["sustained_burn_rate"] == "10"


def test_one_service_shows_what_its_alerts_fire_on() -> None:
    [entry] = shown("--service", "auth")
    rows = {(c["slo"], c["condition"], c["severity"]): c for c in entry["conditions"]}
    sustained = rows[("availability", "sustained-errors", "P3")]
    assert sustained["for"] == "5m"
    assert sustained["rows"] == [{"window": "5m", "short_window": None, "above": "0.005"}]
    burn = rows[("availability", "budget-burn", "P3")]
    assert [(r["window"], r["short_window"], r["above"]) for r in burn["rows"]] == [
        ("1h", "5m", "0.0072"),
        ("6h", "30m", "0.003"),
    ]
    slos = [s for s in load_definitions(SHIPPED) if s.service == "auth"]
    specs = service_conditions(shipped_policy().for_service("auth"))
    generated = {
        (a.labels["slo"], a.alert) for s in slos for a in alerts(s, specs) if a.bound is not None
    }
    assert {(c["slo"], c["alert"]) for c in entry["conditions"]} == generated
    assert len(entry["conditions"]) == sum(len(bounds(s, specs)) for s in slos)


def test_a_policy_file_is_what_is_shown(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("services:\n  api:\n    major_for: 45m\n")
    [entry] = shown("--service", "api", "--policy", str(policy))
    assert entry["overrides"] == ["major_for"]
    major = next(c for c in entry["conditions"] if c["condition"] == "major-errors")
    assert major["for"] == "45m"
    assert major["summary"] == "error ratio above 10% over 5 min for more than 45 min"
    # ai-worker's shipped override is not there: only the given file counts.
    [worker] = shown("--service", "ai-worker", "--policy", str(policy))
    assert worker["thresholds"]["healthy_error_ratio"] == "0.001"


def test_the_table_lists_each_condition() -> None:
    result = show("--service", "api")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].strip() == "api (overrides of the defaults: none)"
    assert any(
        line.split()
        == ["availability", "sustained-errors", "P3", "burn-rate", "5m", "1%", "(10x)", "5m"]
        for line in lines
    )
    assert any(line.split()[:3] == ["latency", "severe-latency", "P2"] for line in lines)
    assert "held for 15m" in lines[-2] + lines[-1]


def test_an_unknown_service_is_one_clear_error() -> None:
    result = show("--service", "billing")
    assert result.exit_code == 2
    assert "no SLO of service 'billing'" in result.output
    assert "Traceback" not in result.output

"""A slow burn on a real Prometheus: 2 % errors on api's 99.9 % SLO become a P3 in time.

Ten hours of the runbook's four services, normal but for api burning its budget at 20x from
the seventh hour on, backfilled into a real Prometheus and replayed by ``sloctl backtest``'s
code with the shipped policy (what the command uses without ``--policy``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sloctl.core.severity import Severity
from sloctl.demo.history import History, Injection, Scenario, runbook_profiles
from sloctl.demo.local_prometheus import LocalPrometheus
from sloctl.incidents.backtest import Replayed, backtest
from sloctl.incidents.policy import Cause, Policy
from sloctl.loading.definitions import load_definitions
from sloctl.loading.policy_file import policy_in_force
from sloctl.prometheus.client import PrometheusReader
from tests.integration.conftest import build_data

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 10, 30, tzinfo=UTC)
BURN = START + timedelta(hours=7)
END = START + timedelta(hours=10)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    scenario = Scenario(
        start=START,
        end=END,
        step=30,
        profiles=runbook_profiles(),
        injections=(Injection("api", BURN, BURN + timedelta(hours=2), error_ratio=0.02),),
    )
    data = build_data(History.generate(scenario), tmp_path_factory.mktemp("slow-burn"))
    with LocalPrometheus(data) as server:
        yield server.url


def replay(url: str, policy: Policy) -> list[Replayed]:
    slos = load_definitions(ROOT / "slo-definitions")
    reader = PrometheusReader(url, timeout=120)
    return backtest(slos, reader, policy, START + timedelta(hours=6), END)


def test_a_2_percent_burn_is_declared_p3_within_15_minutes(url: str) -> None:
    [found] = replay(url, policy_in_force(None))
    incident = found.incident
    assert (incident.service, incident.cause, incident.severity) == (
        "api",
        Cause.ERRORS,
        Severity.P3,
    )
    detected_after = incident.detected_at - BURN
    assert timedelta(0) < detected_after <= timedelta(minutes=15)
    assert incident.timeline[0].note.startswith("error ratio above 10x the error budget")


def test_the_1h_pair_alone_would_have_taken_three_times_as_long(url: str) -> None:
    shipped = policy_in_force(None)
    without = replace(shipped, defaults=replace(shipped.defaults, sustained_burn_rate=Decimal(999)))
    [found] = replay(url, without)
    assert found.incident.detected_at - BURN >= timedelta(minutes=40)
    assert found.incident.timeline[0].note.startswith("error budget burning at a paging rate")

"""The backtest over the integration scenario: exactly the injected incidents, nothing else."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sloctl.incidents.backtest import backtest
from sloctl.incidents.policy import Cause
from sloctl.loading.definitions import load_definitions
from sloctl.loading.policy_file import load_policy
from sloctl.prometheus.client import PrometheusReader
from tests.integration.conftest import Served
from tests.integration.definitions import write_definitions
from tests.integration.fixture import AI_WORKER_MAJOR, API_OUTAGE, AUTH_SLOW, END, START

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_backtest_finds_exactly_the_injected_incidents(served: Served, tmp_path: Path) -> None:
    slos = load_definitions(write_definitions(tmp_path, "rolling: 30d"))
    reader = PrometheusReader(served.url, timeout=120)
    policy = load_policy(ROOT / "deploy" / "policy.yaml")
    found = backtest(slos, reader, policy, START + timedelta(hours=6), END)
    summary = sorted((r.incident.service, r.incident.cause, r.peak_severity) for r in found)
    assert summary == [
        ("ai-worker", Cause.ERRORS, "P2"),  # 20 % errors for 45 minutes: major feature down
        ("api", Cause.ERRORS, "P1"),  # 60 % errors: outage
        ("auth", Cause.LATENCY, "P2"),  # p95 far above 500 ms for an hour
    ]
    windows = {
        "ai-worker": AI_WORKER_MAJOR,
        "api": API_OUTAGE,
        "auth": AUTH_SLOW,
    }
    for replayed in found:
        begin, finish = windows[replayed.incident.service]
        # P1 at once; the others once a burn-rate or latency indicator has held its time.
        assert begin <= replayed.incident.detected_at <= begin + timedelta(minutes=30)
        assert replayed.end is not None
        assert finish <= replayed.end <= finish + timedelta(hours=1)
    # Quiet periods, the counter reset, the scrape gap and the traffic stop declare nothing.
    assert len(found) == 3
    assert reader.requests_made <= 60

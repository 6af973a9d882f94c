"""Signals from the real Prometheus: the daemon's instant reading and the backtest's replay
see the same numbers at the same moments."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sloctl.incidents.policy import Policy
from sloctl.incidents.signals import read_signals, replay, signal_plan
from sloctl.loading.definitions import load_definitions
from sloctl.prometheus.client import PrometheusReader
from tests.integration.conftest import Served
from tests.integration.definitions import write_definitions
from tests.integration.fixture import API_OUTAGE, AUTH_SLOW

pytestmark = pytest.mark.integration


def test_the_outage_reads_as_one_and_replay_agrees(served: Served, tmp_path: Path) -> None:
    slos = load_definitions(write_definitions(tmp_path, "rolling: 30d"))
    reader = PrometheusReader(served.url, timeout=60)
    begin, _ = API_OUTAGE
    start, end, step = (
        begin - timedelta(minutes=10),
        begin + timedelta(minutes=30),
        timedelta(minutes=1),
    )
    replayed = list(replay(slos, Policy(), reader, start, end, step))
    assert len(replayed) == 41
    for minutes in (0, 9, 15, 25, 40):
        moment = start + timedelta(minutes=minutes)
        live = read_signals(signal_plan(slos, Policy()), reader, moment)
        assert live.failed == {}
        assert live.signals == replayed[minutes], moment
    before = replayed[0]["api"]
    assert before.error_ratio is not None
    assert before.error_ratio < 0.01
    during = replayed[20]["api"]
    assert during.error_ratio is not None
    assert during.error_ratio > 0.5
    assert during.burning
    assert replayed[20]["auth"].error_ratio is not None
    assert replayed[20]["auth"].error_ratio < 0.01


def test_slow_answers_read_as_p95(served: Served, tmp_path: Path) -> None:
    slos = load_definitions(write_definitions(tmp_path, "rolling: 30d"))
    reader = PrometheusReader(served.url, timeout=60)
    begin, _ = AUTH_SLOW
    slow = read_signals(signal_plan(slos, Policy()), reader, begin + timedelta(minutes=30)).signals[
        "auth"
    ]
    assert slow.p95_seconds is not None
    assert slow.p95_seconds > 0.5
    calm = read_signals(signal_plan(slos, Policy()), reader, begin - timedelta(hours=1)).signals[
        "auth"
    ]
    assert calm.p95_seconds is not None
    assert calm.p95_seconds < 0.2

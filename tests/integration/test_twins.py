"""SLOs that count the same events (:mod:`sloctl.core.twins`) on a real Prometheus: a report and
a daemon cycle read their counts once, and judge each of them exactly as it is judged alone,
each with its own target; a correction is taken out of their counts once, not once per twin."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import structlog

from sloctl.core.maintenance import MaintenanceWindow
from sloctl.core.slo import Slo
from sloctl.daemon.loop import Daemon, loaded_from
from sloctl.loading.definitions import load_definitions
from sloctl.prometheus.client import PrometheusReader
from sloctl.reading.evaluation import SloResult, evaluate
from tests.integration.conftest import Served
from tests.integration.definitions import write_definitions
from tests.integration.fixture import API_OUTAGE, END, truth_without
from tests.integration.test_report_truth import TOLERANCE, relative_error

pytestmark = pytest.mark.integration
START = END - timedelta(days=2)
SPAN = (API_OUTAGE[0] - timedelta(minutes=5), API_OUTAGE[1] + timedelta(minutes=5))


def _twin(name: str, indicator: str, target: str) -> str:
    return (
        f"  - name: {name}\n    indicator:\n{indicator}"
        f"    objective: {{target: {target!r}}}\n    window: {{rolling: 2d}}\n"
    )


RATIO = """\
      ratio:
        total: http_requests_total{service="api"}
        bad: http_requests_total{service="api",code=~"5.."}
"""
LATENCY = """\
      latency:
        histogram: http_request_duration_seconds{service="api"}
        threshold: 0.2s
"""
TWINS = (
    _twin("availability-strict", RATIO, "99.99%")
    + _twin("availability-loose", RATIO, "90%")
    + _twin("latency-again", LATENCY, "95%")
)
TWIN_KEYS = ("api/availability-strict", "api/availability-loose", "api/latency-again")


def definitions(directory: Path) -> tuple[Slo, ...]:
    written = write_definitions(directory)
    api = written / "api.yaml"
    api.write_text(api.read_text() + TWINS)
    return load_definitions(written)


def same_judgement(together: SloResult, alone: SloResult) -> None:
    assert together.slo == alone.slo
    assert together.span == alone.span
    assert together.counts == alone.counts, together.slo.key
    assert together.burn_counts == alone.burn_counts, together.slo.key
    assert together.budget == alone.budget, together.slo.key
    assert together.note == alone.note


def test_a_report_judges_each_twin_as_it_judges_it_alone(served: Served, tmp_path: Path) -> None:
    slos = definitions(tmp_path / "definitions")
    reader = PrometheusReader(served.url, timeout=60)
    window = MaintenanceWindow("api", "outage-fix", *SPAN, correction=True)
    evaluation = evaluate(slos, reader, END, corrections=[window], coverage=True)
    together = {result.slo.key: result for result in evaluation.results}
    assert set(together) == {slo.key for slo in slos}
    for slo in slos:
        [alone] = evaluate([slo], reader, END, corrections=[window], coverage=True).results
        same_judgement(together[slo.key], alone)
        assert together[slo.key].coverage == alone.coverage
    # Three availability SLOs of api share one count, corrected once: the truth without the
    # window, whatever their targets make of it.
    truth = truth_without(lambda a, b: served.history.availability("api", a, b), START, END, [SPAN])
    keys = ("api/availability", "api/availability-strict", "api/availability-loose")
    for key in keys:
        counts = together[key].counts
        assert counts is not None
        assert relative_error(counts.total, truth.total) <= TOLERANCE, (key, counts, truth)
        assert relative_error(counts.bad, truth.bad) <= TOLERANCE, (key, counts, truth)
        assert together[key].note == "corrected: 30 min excluded (outage-fix)"
    strict, usual, loose = (together[key].budget for key in ("api/availability-strict", *keys[::2]))
    assert strict.budget_minutes < usual.budget_minutes < loose.budget_minutes  # own targets
    assert strict.burn_rate is not None
    assert usual.burn_rate is not None
    assert strict.burn_rate == pytest.approx(usual.burn_rate * 10)


def test_a_daemon_cycle_judges_each_twin_as_a_report_judges_it_alone(
    served: Served, tmp_path: Path
) -> None:
    slos = definitions(tmp_path / "definitions")
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        f"prometheus: {{url: '{served.url}', timeout: 60s}}\ninterval: 30s\n"
        f"definitions: {tmp_path / 'definitions'}\nstore: {tmp_path / 'incidents.db'}\n"
        "listen: 127.0.0.1:0\n"
    )
    logger = structlog.wrap_logger(structlog.PrintLogger(open(os.devnull, "w")))  # noqa: SIM115
    daemon = Daemon(loaded_from(config, {}, logger), {}, logger)
    report = daemon.cycle(END)
    assert report.stale == 0
    snapshot = daemon.snapshot
    reader = PrometheusReader(served.url, timeout=60)
    results = {result.slo.key: result for result in snapshot.results}
    for slo in slos:
        [alone] = evaluate([slo], reader, END).results
        cycled = results[slo.key]
        assert cycled.budget.budget_minutes == alone.budget.budget_minutes
        assert cycled.counts is not None
        assert alone.counts is not None
        # From whole slices and edges, not raw windows: equal within the fixture's tolerance.
        assert relative_error(cycled.counts.total, alone.counts.total) <= TOLERANCE, slo.key
        assert relative_error(cycled.counts.bad, alone.counts.bad) <= TOLERANCE, slo.key
    assert set(snapshot.slis) == {slo.key for slo in slos}
    assert snapshot.slis["api/availability-strict"] == snapshot.slis["api/availability"]
    assert snapshot.slis["api/latency-again"] == snapshot.slis["api/latency"]
    assert all(key in snapshot.last_data for key in TWIN_KEYS)

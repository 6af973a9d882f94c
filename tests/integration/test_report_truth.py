"""`sloctl report` against a real Prometheus, checked against the generator's exact truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from sloctl.core.budget import Counts, Status
from sloctl.core.window import Month
from sloctl.loading.definitions import load_definitions
from sloctl.prometheus.client import PrometheusReader
from sloctl.reading.evaluation import Evaluation, SloResult, evaluate
from tests.integration.conftest import Served
from tests.integration.definitions import (
    THRESHOLDS,
    TIMESLICES_YAML,
    UNKNOWN_YAML,
    write_definitions,
)
from tests.integration.fixture import END, START

pytestmark = pytest.mark.integration
TOLERANCE = 1e-3  # the bar: 0.1 % relative


def relative_error(measured: float, truth: float) -> float:
    if truth == 0:
        return abs(measured)
    return abs(measured - truth) / abs(truth)


def truth_of(served: Served, result: SloResult, start: datetime, end: datetime) -> Counts:
    service, name = result.slo.service, result.slo.name
    if name == "latency":
        return served.history.latency(service, THRESHOLDS[service], start, end)
    return served.history.availability(service, start, end)


def assert_matches(measured: Counts | None, truth: Counts, what: str) -> None:
    assert measured is not None, f"{what}: no data, truth {truth}"
    assert relative_error(measured.total, truth.total) <= TOLERANCE, (what, measured, truth)
    assert relative_error(measured.bad, truth.bad) <= TOLERANCE, (what, measured, truth)


def run(served: Served, directory: Path, at: datetime, month: Month | None = None) -> Evaluation:
    reader = PrometheusReader(served.url, timeout=60)
    return evaluate(load_definitions(directory), reader, at, month=month)


def by_key(evaluation: Evaluation) -> dict[str, SloResult]:
    return {result.slo.key: result for result in evaluation.results}


def test_rolling_window_matches_truth_across_reset_and_gap(served: Served, tmp_path: Path) -> None:
    evaluation = run(served, write_definitions(tmp_path), END)
    assert len(evaluation.results) == 8
    for result in evaluation.results:
        truth = truth_of(served, result, END - timedelta(days=2), END)
        assert_matches(result.counts, truth, result.slo.key)
        ratio = truth.bad / truth.total
        assert result.budget.error_ratio is not None
        assert relative_error(result.budget.error_ratio, ratio) <= TOLERANCE
        consumed = ratio * 2 * 24 * 60
        assert result.budget.consumed_minutes is not None
        assert relative_error(result.budget.consumed_minutes, consumed) <= TOLERANCE, result.slo.key


def test_api_outage_and_reset_are_counted(served: Served, tmp_path: Path) -> None:
    api = by_key(run(served, write_definitions(tmp_path), END))["api/availability"]
    # The burst alone is 20 minutes at 50 %: about 10 minutes of full outage, far over the
    # 2.88 minutes a 2-day window allows at 99.9 %.
    assert api.budget.status is Status.EXHAUSTED
    assert api.counts is not None
    assert api.counts.bad > 0.4 * 20 * 60 * 40 * 0.5


def test_burn_rates_match_truth(served: Served, tmp_path: Path) -> None:
    evaluation = run(served, write_definitions(tmp_path), END)
    for result in evaluation.results:
        for name, hours in (("1h", 1), ("6h", 6)):
            truth = truth_of(served, result, END - timedelta(hours=hours), END)
            measured = result.burn_counts[name]
            if truth.total == 0:
                assert measured is None or measured.total == 0, (result.slo.key, name)
                assert result.burn_rates[name] is None
                continue
            assert_matches(measured, truth, f"{result.slo.key} {name}")


def test_zero_traffic_is_no_data_not_good(served: Served, tmp_path: Path) -> None:
    database = by_key(run(served, write_definitions(tmp_path), END))["database/availability"]
    assert database.burn_rates["1h"] is None  # the last two hours had no requests at all
    assert database.budget.status is not Status.NO_DATA  # the window as a whole has traffic
    assert database.counts is not None
    assert database.counts.bad == 0  # its 5xx series never existed


def test_service_without_series_is_no_data(served: Served, tmp_path: Path) -> None:
    directory = write_definitions(tmp_path)
    (directory / "billing.yaml").write_text(UNKNOWN_YAML)
    billing = by_key(run(served, directory, END))["billing/availability"]
    assert billing.budget.status is Status.NO_DATA
    assert billing.budget.consumed_minutes is None
    assert billing.budget.error_ratio is None


def test_closed_calendar_month_matches_truth(served: Served, tmp_path: Path) -> None:
    evaluation = run(served, write_definitions(tmp_path), END, month=Month(2026, 10))
    month_start = datetime.fromisoformat("2026-10-01T00:00:00+00:00")
    month_end = datetime.fromisoformat("2026-11-01T00:00:00+00:00")
    for result in evaluation.results:
        assert result.span.start == month_start
        assert result.span.end == month_end
        truth = truth_of(served, result, month_start, month_end)
        assert_matches(result.counts, truth, result.slo.key)
        expected_budget = result.slo.error_budget * 31 * 24 * 60
        assert result.budget.budget_minutes == expected_budget


def test_calendar_month_in_another_zone(served: Served, tmp_path: Path) -> None:
    directory = write_definitions(tmp_path, "calendar: month, timezone: Europe/Berlin")
    evaluation = run(served, directory, END)
    berlin_start = datetime.fromisoformat("2026-10-31T23:00:00+00:00")  # 1 Nov, 00:00 CET
    for result in evaluation.results:
        assert result.span.start == berlin_start
        assert result.span.full_end == datetime.fromisoformat("2026-11-30T23:00:00+00:00")
        truth = truth_of(served, result, berlin_start, END)
        assert_matches(result.counts, truth, result.slo.key)
        measured_minutes = 25 * 60
        ratio = truth.bad / truth.total
        assert result.budget.consumed_minutes is not None
        assert relative_error(result.budget.consumed_minutes, ratio * measured_minutes) <= TOLERANCE


def test_timeslices_match_truth(served: Served, tmp_path: Path) -> None:
    directory = tmp_path / "defs"
    directory.mkdir()
    (directory / "slices.yaml").write_text(TIMESLICES_YAML)
    result = run(served, directory, END).results[0]
    truth = served.history.bad_slices("api", END - timedelta(days=2), END, 60, Decimal("0.99"))
    assert result.counts == truth
    assert truth.bad >= 20  # the 20-minute burst makes at least 20 one-minute slices bad
    assert result.budget.consumed_minutes == pytest.approx(truth.bad)


def test_requests_do_not_grow_with_slo_count(served: Served, tmp_path: Path) -> None:
    few = write_definitions(tmp_path / "few")
    many = write_definitions(tmp_path / "many")
    for copy in range(50):
        for service in THRESHOLDS:
            text = (few / f"{service}.yaml").read_text()
            text = text.replace("name: availability", f"name: availability-{copy}")
            text = text.replace("name: latency", f"name: latency-{copy}")
            (many / f"{service}-{copy}.yaml").write_text(text)
    counts = []
    for directory in (few, many):
        reader = PrometheusReader(served.url, timeout=60)
        evaluation = evaluate(load_definitions(directory), reader, END)
        counts.append((len(evaluation.results), reader.requests_made))
    assert counts[0][0] == 8
    assert counts[1][0] == 8 + 8 * 50
    assert counts[0][1] == counts[1][1]


def sloctl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sloctl", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_cli_json_report(served: Served, tmp_path: Path) -> None:
    directory = write_definitions(tmp_path)
    done = sloctl(
        "report",
        "--definitions",
        str(directory),
        "--at",
        "2026-11-02T00:00:00Z",
        "--output",
        "json",
        env={"SLOCTL_PROMETHEUS_URL": served.url},
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) == 8
    required = {
        "service",
        "slo",
        "sli",
        "objective",
        "window_start",
        "window_end",
        "budget_minutes",
        "consumed_minutes",
        "remaining_minutes",
        "error_ratio",
        "total_events",
        "bad_events",
        "burn_rates",
        "status",
    }
    for row in rows:
        assert required <= row.keys()
        assert row["window_end"] == "2026-11-02T00:00:00Z"
        assert row["window_start"] == "2026-10-31T00:00:00Z"
        truth = served.history.availability(row["service"], START, END)
        if row["slo"] == "availability":
            window_truth = served.history.availability(row["service"], END - timedelta(days=2), END)
            assert relative_error(row["total_events"], window_truth.total) <= TOLERANCE
            assert truth.total >= window_truth.total


@pytest.mark.parametrize("output", ["table", "markdown", "csv"])
def test_cli_other_outputs(served: Served, tmp_path: Path, output: str) -> None:
    directory = write_definitions(tmp_path)
    done = sloctl(
        "report",
        "--prometheus-url",
        served.url,
        "--definitions",
        str(directory),
        "--at",
        "2026-11-02T00:00:00Z",
        "--output",
        output,
    )
    assert done.returncode == 0, done.stderr
    for service in THRESHOLDS:
        assert service in done.stdout


def test_cli_month_report(served: Served, tmp_path: Path) -> None:
    directory = write_definitions(tmp_path)
    done = sloctl(
        "report",
        "--prometheus-url",
        served.url,
        "--definitions",
        str(directory),
        "--at",
        "2026-11-02T00:00:00Z",
        "--month",
        "2026-10",
        "--output",
        "json",
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert {row["window_start"] for row in rows} == {"2026-10-01T00:00:00Z"}
    assert {row["window_end"] for row in rows} == {"2026-11-01T00:00:00Z"}
    api = next(r for r in rows if r["service"] == "api" and r["slo"] == "availability")
    assert api["budget_minutes"] == 44.64


def test_unaligned_time_stays_within_tolerance(served: Served, tmp_path: Path) -> None:
    """Between scrapes Prometheus extrapolates; the report must still be within 0.1 %."""
    at = END - timedelta(seconds=13)
    evaluation = run(served, write_definitions(tmp_path), at)
    for result in evaluation.results:
        truth = truth_of(served, result, at - timedelta(days=2), at)
        assert_matches(result.counts, truth, result.slo.key)


def test_queries_sent_side_by_side_give_the_same_report(served: Served, tmp_path: Path) -> None:
    directory = write_definitions(tmp_path)
    (directory / "timeslices.yaml").write_text(TIMESLICES_YAML)
    slos = load_definitions(directory)
    reader = PrometheusReader(served.url, timeout=60)
    one = evaluate(slos, reader, END, coverage=True, parallel=1)
    several = evaluate(slos, reader, END, coverage=True, parallel=4)
    assert several == one
    assert several.queries == one.queries
    assert all(result.coverage is not None for result in several.results)

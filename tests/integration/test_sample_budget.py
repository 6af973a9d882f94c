"""Budgets from a Prometheus that refuses today's raw-window queries as too large.

The wide fixture (:mod:`tests.integration.wide_fixture`) holds 17,281 samples per series over
the SLOs' three-day window, and its Prometheus loads at most 10,000 per query. One
``increase(...[3d])`` is refused there; sloctl's report (cutting the window in pieces when
refused) and the daemon's cycle (whole hourly slices from its store, the edges queried)
still give every count within 0.1 % of the generator's truth.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import structlog

from sloctl.core.budget import Counts
from sloctl.core.slo import Slo
from sloctl.daemon.loop import Daemon, loaded_from
from sloctl.incidents.policy import Policy
from sloctl.incidents.signals import read_signals, replay, signal_plan
from sloctl.loading.definitions import load_definitions
from sloctl.prometheus.client import PrometheusReader
from sloctl.promql.slices import QueryBudget
from sloctl.reading.evaluation import Evaluation, Slicing, evaluate
from sloctl.store.database import open_store
from tests.integration.conftest import Served
from tests.integration.definitions import THRESHOLDS, TIMESLICES_YAML, write_definitions
from tests.integration.fixture import API_OUTAGE, END
from tests.integration.wide_fixture import MAX_SAMPLES, WINDOW

pytestmark = pytest.mark.integration
TOLERANCE = 1e-3
WINDOW_LENGTH = timedelta(days=3)


def definitions(directory: Path) -> Path:
    written = write_definitions(directory, WINDOW)
    for path in written.glob("*.yaml"):
        path.write_text(path.read_text().replace("slos:\n", "scrapeInterval: 15s\nslos:\n", 1))
    return written


def truth(served: Served, service: str, name: str, start: datetime, end: datetime) -> Counts:
    if name == "latency":
        return served.history.latency(service, THRESHOLDS[service], start, end)
    return served.history.availability(service, start, end)


def assert_close(measured: Counts | None, expected: Counts, what: str) -> None:
    if expected.total == 0:
        assert measured is None or measured.total == 0, what
        return
    assert measured is not None, what
    assert abs(measured.total - expected.total) <= TOLERANCE * expected.total, (what, measured)
    assert abs(measured.bad - expected.bad) <= TOLERANCE * max(expected.bad, 1.0), (
        what,
        measured,
        expected,
    )


def assert_truth(served: Served, evaluation: Evaluation, at: datetime) -> None:
    assert len(evaluation.results) == 8
    for result in evaluation.results:
        slo = result.slo
        expected = truth(served, slo.service, slo.name, at - WINDOW_LENGTH, at)
        assert_close(result.counts, expected, slo.key)
        for name, hours in (("1h", 1), ("6h", 6)):
            short = truth(served, slo.service, slo.name, at - timedelta(hours=hours), at)
            assert_close(result.burn_counts[name], short, f"{slo.key} {name}")


def test_todays_raw_window_query_is_refused(wide_served: Served) -> None:
    answer = requests.post(
        f"{wide_served.url}/api/v1/query",
        data={
            "query": 'sum by (service) (increase(http_requests_total{service=~"api|auth"}[3d]))',
            "time": f"{END.timestamp():.3f}",
        },
        timeout=60,
    )
    assert answer.status_code == 422
    assert "too many samples" in answer.json()["error"]


@pytest.mark.parametrize("offset", [0, 13, 1799])
def test_report_splits_refused_windows_and_matches_truth(
    wide_served: Served, tmp_path: Path, offset: int
) -> None:
    at = END - timedelta(seconds=offset)
    reader = PrometheusReader(wide_served.url, timeout=60, stats=True)
    evaluation = evaluate(load_definitions(definitions(tmp_path)), reader, at)
    assert_truth(wide_served, evaluation, at)
    assert reader.peak_samples <= MAX_SAMPLES


def test_report_within_its_budget_sends_nothing_too_large(
    wide_served: Served, tmp_path: Path
) -> None:
    slos = load_definitions(definitions(tmp_path))
    refused = PrometheusReader(wide_served.url, timeout=60)
    evaluate(slos, refused, END)
    reader = PrometheusReader(wide_served.url, timeout=60, stats=True)
    evaluation = evaluate(slos, reader, END, budget=QueryBudget(MAX_SAMPLES))
    assert_truth(wide_served, evaluation, END)
    # With the default budget every family is asked whole, refused, and asked in pieces;
    # within Prometheus's limit each is asked once, in pieces.
    assert reader.requests_made * 2 == refused.requests_made


def test_cli_report_succeeds_under_the_limit(wide_served: Served, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sloctl",
            "report",
            "--prometheus-url",
            wide_served.url,
            "--definitions",
            str(definitions(tmp_path)),
            "--at",
            "2026-11-02T00:00:00Z",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for row in json.loads(done.stdout):
        expected = truth(wide_served, row["service"], row["slo"], END - WINDOW_LENGTH, END)
        assert abs(row["total_events"] - expected.total) <= TOLERANCE * expected.total


@pytest.fixture
def daemon(wide_served: Served, tmp_path: Path) -> Daemon:
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        f"prometheus: {{url: '{wide_served.url}', timeout: 60s}}\n"
        "interval: 30s\n"
        f"definitions: {definitions(tmp_path / 'definitions')}\n"
        f"store: {tmp_path / 'incidents.db'}\n"
        "listen: 127.0.0.1:0\n"
        f"query_max_samples: {MAX_SAMPLES}\n"
    )
    logger = structlog.wrap_logger(structlog.PrintLogger(open(os.devnull, "w")))  # noqa: SIM115
    return Daemon(loaded_from(config, {}, logger), {}, logger)


def test_daemon_cycles_match_truth_and_read_only_the_edges(
    wide_served: Served, daemon: Daemon
) -> None:
    times = [END - timedelta(minutes=40), END - timedelta(minutes=39, seconds=30), END]
    sent = []
    for at in times:
        report = daemon.cycle(at)
        assert report.stale == 0
        assert_truth(wide_served, Evaluation(at, tuple(daemon.snapshot.results), 0), at)
        sent.append(report.requests)
    # The first cycle fills the store; the next ones read each family's edges once, and
    # the signals as before.
    assert sent[1] < sent[0]
    assert sent[2] == sent[1]


def test_slices_survive_a_restart_and_a_changed_definition_reads_its_own(
    wide_served: Served, daemon: Daemon, tmp_path: Path
) -> None:
    slos = daemon.loaded.slos
    config = daemon.loaded.config
    path = config.relative(config.spec.store)
    budget = QueryBudget(MAX_SAMPLES)

    def cycle(slos_now: Sequence[Slo], at: datetime) -> tuple[int, int]:
        store = open_store(path)
        try:
            reader = PrometheusReader(wide_served.url, timeout=60, stats=True)
            slicing = Slicing(store, reader)
            evaluation = evaluate(slos_now, reader, at, budget=budget, slicing=slicing)
            assert_truth(wide_served, evaluation, at)
            assert reader.peak_samples <= MAX_SAMPLES
            return slicing.rebuilt, reader.samples_read
        finally:
            store.close()

    first, full = cycle(slos, END)
    assert first > 0
    again, edges = cycle(slos, END)  # a new process on the same store
    assert again == 0
    assert edges * 10 < full
    changed = definitions(tmp_path / "changed")
    api = changed / "api.yaml"
    api.write_text(api.read_text().replace('code=~"5.."', 'code=~"5[0-9][0-9]"'))
    rebuilt, _ = cycle(load_definitions(changed), END)
    assert 0 < rebuilt < first  # only the changed family is read again


def test_timeslices_refused_whole_are_counted_in_runs(wide_served: Served, tmp_path: Path) -> None:
    directory = tmp_path / "slices"
    directory.mkdir()
    (directory / "slices.yaml").write_text(
        TIMESLICES_YAML.replace("rolling: 2d", WINDOW).replace(
            "slos:\n", "scrapeInterval: 15s\nslos:\n"
        )
    )
    reader = PrometheusReader(wide_served.url, timeout=60, stats=True)
    result = evaluate(load_definitions(directory), reader, END).results[0]
    expected = wide_served.history.bad_slices("api", END - WINDOW_LENGTH, END, 60, Decimal("0.99"))
    assert result.counts == expected
    assert expected.bad >= 20
    assert reader.requests_made > 1  # refused whole, counted in runs
    assert reader.peak_samples <= MAX_SAMPLES


def test_backtest_reads_within_the_limit_and_sees_what_the_daemon_sees(
    wide_served: Served, tmp_path: Path
) -> None:
    slos = load_definitions(definitions(tmp_path / "definitions"))
    begin, _ = API_OUTAGE
    start, end, step = (
        begin - timedelta(minutes=10),
        begin + timedelta(minutes=50),
        timedelta(minutes=1),
    )
    reader = PrometheusReader(wide_served.url, timeout=60, stats=True)
    replayed = list(
        replay(slos, Policy(), reader, start, end, step, budget=QueryBudget(MAX_SAMPLES))
    )
    assert len(replayed) == 61
    assert reader.peak_samples <= MAX_SAMPLES
    assert replayed[20]["api"].error_ratio is not None
    assert replayed[20]["api"].error_ratio > 0.5
    store = open_store(tmp_path / "store.db")
    try:
        planned = signal_plan(slos, Policy())
        for minutes in (0, 9, 30, 60):
            moment = start + timedelta(minutes=minutes)
            live = PrometheusReader(wide_served.url, timeout=60)
            reading = read_signals(
                planned, live, moment, slicing=Slicing(store, live), budget=QueryBudget(MAX_SAMPLES)
            )
            assert reading.failed == {}
            assert reading.signals == replayed[minutes], moment
    finally:
        store.close()


def _report_requests(args: list[str]) -> int:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sloctl",
            "--log-level",
            "info",
            "report",
            *args,
            "--at",
            "2026-11-02T00:00:00Z",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    [event] = [
        json.loads(line)
        for line in done.stderr.splitlines()
        if line.startswith("{") and '"report_evaluated"' in line
    ]
    return int(event["http_requests"])


def test_cli_report_takes_the_sample_budget_of_its_config(
    wide_served: Served, tmp_path: Path
) -> None:
    shipped = str(definitions(tmp_path / "definitions"))
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        f"prometheus: {{url: '{wide_served.url}'}}\nquery_max_samples: {MAX_SAMPLES}\n",
        encoding="utf-8",
    )
    within = _report_requests(["--config", str(config), "--definitions", shipped])
    refused_first = _report_requests(
        ["--prometheus-url", wide_served.url, "--definitions", shipped]
    )
    # Within the config's budget no family is asked whole and refused before its pieces.
    assert within < refused_first

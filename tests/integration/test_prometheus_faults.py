"""The reader and one daemon cycle against a real Prometheus behind the fault proxy.

Each fault is real HTTP on loopback: a 200 MB answer, a trickle of one byte a second, a hang,
a 503 or a 422 for one batch only, and a 401 that echoes the request's headers back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import structlog

from sloctl.daemon.exporter import exposition
from sloctl.daemon.loop import Daemon, loaded_from
from sloctl.errors import PrometheusUnavailableError, QueryError
from sloctl.loading.definitions import load_definitions
from sloctl.prometheus.client import Credentials, Limits, PrometheusReader
from sloctl.reading.evaluation import evaluate
from sloctl.runtime.retry import RetryPolicy
from tests.integration.conftest import Served
from tests.integration.fault_proxy import Fault, FaultProxy
from tests.integration.fixture import END

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
AI_WORKER_LATENCY = r'le=~"2'
"""Matches the queries of the ai-worker latency SLO's 2.5 s bucket, and no other."""
QUICK = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.1)


@pytest.fixture
def proxy(served: Served) -> Iterator[FaultProxy]:
    with FaultProxy(served.url) as running:
        yield running


def reader(
    url: str,
    *,
    timeout: float = 10.0,
    retry: RetryPolicy = QUICK,
    limits: Limits | None = None,
    credentials: Credentials | None = None,
    deadline: float | None = None,
) -> PrometheusReader:
    return PrometheusReader(
        url,
        timeout=timeout,
        retry=retry,
        limits=limits or Limits(),
        credentials=credentials or Credentials(),
        deadline=deadline,
    )


def test_passes_through_unchanged(proxy: FaultProxy) -> None:
    samples = reader(proxy.url).instant("count(up) or vector(1)", END)
    assert len(samples) == 1


def test_a_200_mb_answer_fails_that_query_quickly(proxy: FaultProxy) -> None:
    proxy.fault = Fault("huge", size=200 * 2**20)
    client = reader(proxy.url, limits=Limits(max_body_bytes=4 * 2**20))
    started = time.monotonic()
    with pytest.raises(QueryError, match="larger than 4194304 bytes") as caught:
        client.instant("up", END)
    assert time.monotonic() - started < 10
    assert caught.value.reason == "too_large"
    assert client.requests_made == 1  # a too-large answer is not asked for again
    assert client.failures == {"too_large": 1}


def test_too_many_series_fail_that_query(proxy: FaultProxy) -> None:
    client = reader(proxy.url, limits=Limits(max_series=2))
    with pytest.raises(QueryError, match="more than the limit of 2") as caught:
        client.instant("sum by (service) (http_requests_total)", END)
    assert caught.value.reason == "too_large"


@pytest.mark.parametrize("kind", ["trickle", "hang"])
def test_a_trickling_or_hung_answer_ends_at_the_deadline(proxy: FaultProxy, kind: str) -> None:
    proxy.fault = Fault(kind)
    client = reader(proxy.url, timeout=1.5, retry=RetryPolicy(attempts=2, base_delay=0.1))
    started = time.monotonic()
    with pytest.raises(PrometheusUnavailableError, match=r"within 1\.5 s") as caught:
        client.instant("up", END)
    elapsed = time.monotonic() - started
    assert caught.value.reason == "timeout"
    # Two attempts of 1.5 s each and one pause of at most 0.1 s, with headroom for load.
    assert elapsed < 2 * 1.5 + 0.1 + 1.5, elapsed
    assert client.gave_up is None  # a slow answer is not "down": later queries still try


def test_trickled_headers_end_at_the_deadline(proxy: FaultProxy) -> None:
    """The status line and headers one byte every 0.3 s: requests' per-read timeout never
    fires, the attempt's watchdog does, at 2 s; the failure is a timeout and is counted."""
    proxy.fault = Fault("trickle_headers")
    client = reader(proxy.url, timeout=2.0, retry=RetryPolicy(attempts=1))
    started = time.monotonic()
    with pytest.raises(PrometheusUnavailableError, match=r"no whole answer within 2 s") as caught:
        client.instant("up", END)
    elapsed = time.monotonic() - started
    assert caught.value.reason == "timeout"
    assert elapsed < 4.0, elapsed  # 2 s, the watchdog's 0.1 s poll, and headroom for load
    assert client.failures == {"timeout": 1}
    assert client.gave_up is None


def test_trickled_headers_are_retried_like_other_timeouts(proxy: FaultProxy) -> None:
    proxy.fault = Fault("trickle_headers")
    client = reader(proxy.url, timeout=1.0, retry=RetryPolicy(attempts=2, base_delay=0.1))
    started = time.monotonic()
    with pytest.raises(PrometheusUnavailableError, match="after 2 attempts: no whole answer"):
        client.instant("up", END)
    assert time.monotonic() - started < 2 * 1.0 + 0.1 + 1.5
    assert proxy.faults_served == 2
    proxy.fault = None
    assert client.instant("count(up) or vector(1)", END)  # the cut left no broken connection


def test_stopping_cuts_trickled_headers_short(proxy: FaultProxy) -> None:
    """``cancelled`` (SIGTERM in the daemon) turns true 0.5 s into a 30 s attempt."""
    proxy.fault = Fault("trickle_headers")
    stop = threading.Event()
    client = PrometheusReader(proxy.url, timeout=30, retry=QUICK, cancelled=stop.is_set)
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    with pytest.raises(PrometheusUnavailableError, match="sloctl is stopping") as caught:
        client.instant("up", END)
    assert time.monotonic() - started < 0.5 + 1.5
    assert caught.value.reason == "deadline"
    assert client.requests_made == 1  # not retried: sloctl is stopping


def test_the_reader_deadline_cuts_retries_and_later_queries(proxy: FaultProxy) -> None:
    proxy.fault = Fault("hang")
    client = reader(proxy.url, timeout=30, deadline=time.monotonic() + 1.0)
    started = time.monotonic()
    with pytest.raises(PrometheusUnavailableError):
        client.instant("up", END)
    with pytest.raises(PrometheusUnavailableError, match="time ran out") as caught:
        client.instant("up", END)
    assert time.monotonic() - started < 1.0 + 1.5
    assert caught.value.reason == "deadline"
    assert client.failures == {"timeout": 1, "deadline": 1}


@pytest.mark.parametrize(
    ("status", "reason"), [(400, "rejected"), (422, "rejected"), (503, "overloaded")]
)
def test_one_failing_batch_leaves_the_others_judged(
    proxy: FaultProxy, status: int, reason: str
) -> None:
    proxy.fault = Fault("status", pattern=AI_WORKER_LATENCY, status=status)
    slos = load_definitions(ROOT / "slo-definitions")
    client = reader(proxy.url)
    evaluation = evaluate(slos, client, END, isolate=True)
    assert set(evaluation.failed) == {"ai-worker/latency"}
    assert {r.slo.key for r in evaluation.results} == {s.key for s in slos} - {"ai-worker/latency"}
    assert all(r.counts is not None for r in evaluation.results if r.slo.service == "api")
    assert client.gave_up is None
    assert client.failures == {reason: 1}


def test_echoed_credentials_never_reach_a_message(proxy: FaultProxy) -> None:
    proxy.fault = Fault("echo")
    token, password = "tok-3x4mpl3-s3cr3t", "pa55/w#rd"
    for credentials in (
        Credentials(bearer_token=token),
        Credentials(basic_auth=("sloctl", password)),
    ):
        client = reader(proxy.url.replace("://", "://urluser:url-pa55@"), credentials=credentials)
        with pytest.raises(PrometheusUnavailableError, match="HTTP 401") as caught:
            client.instant("up", END)
        message = str(caught.value)
        assert "Authorization" in message  # the echo is quoted ...
        for secret in (token, password, "url-pa55", "c2xvY3RsOnBhNTUvdyNyZA=="):
            assert secret not in message  # ... with every secret masked
        assert "***" in message


def test_one_daemon_cycle_counts_every_failed_query(proxy: FaultProxy, tmp_path: Path) -> None:
    """A 422 on the ai-worker latency batch: that SLO alone is stale, budget and signal
    queries that failed are each counted, and Prometheus is still reachable."""
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        f"prometheus: {{url: '{proxy.url}', timeout: 10s}}\n"
        f"definitions: {ROOT / 'slo-definitions'}\n"
        f"store: {tmp_path / 'incidents.db'}\n"
        "listen: 127.0.0.1:0\n"
    )
    logger = structlog.get_logger()
    daemon = Daemon(loaded_from(config, {}, logger), {}, logger)
    proxy.fault = Fault("status", pattern=AI_WORKER_LATENCY, status=422)
    at = datetime.now(UTC).replace(microsecond=0)
    daemon.cycle(at)
    assert daemon.snapshot.stale == {"ai-worker/latency"}
    assert proxy.faults_served == 2  # the budget batch and the signal batch of that bucket
    assert daemon.query_errors == {"rejected": 2}
    assert daemon.ready(at)
    assert daemon.snapshot.last_success is None  # not every SLO was read


def test_data_freshness_stops_advancing_when_the_series_vanish(
    served: Served, tmp_path: Path
) -> None:
    """At the end of the history every SLO's events series are there; an hour later the
    scrapes have stopped (as when an exporter vanishes): the timestamp stays where it was,
    while the 30-day budgets still read from the older data."""
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        f"prometheus: {{url: '{served.url}', timeout: 30s}}\n"
        f"definitions: {ROOT / 'slo-definitions'}\n"
        f"store: {tmp_path / 'incidents.db'}\n"
    )
    logger = structlog.get_logger()
    daemon = Daemon(loaded_from(config, {}, logger), {}, logger)
    daemon.cycle(END)
    assert set(daemon.snapshot.last_data.values()) == {END}
    assert len(daemon.snapshot.last_data) == 8
    later = END + timedelta(hours=1)
    daemon.cycle(later)
    assert set(daemon.snapshot.last_data.values()) == {END}
    assert all(result.counts is not None for result in daemon.snapshot.results)
    page = exposition(lambda: daemon.snapshot).decode()
    name = 'sloctl_slo_last_data_timestamp_seconds{service="api",slo="availability"}'
    [line] = [x for x in page.splitlines() if x.startswith(name)]
    assert float(line.split()[1]) == END.timestamp()

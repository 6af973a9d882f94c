"""End to end with real processes: the demo service, a Prometheus scraping it every second,
``sloctl run`` evaluating every second, and a webhook receiver standing in for Slack.

One story, in order, because each step starts from the state the previous one left:
an outage becomes a P1 and is announced; sloctl is killed with SIGKILL in the middle of it and
carries on with the same incident; the outage is followed to resolution, through another kill
with an update still undelivered; a slowdown becomes a P2 and is resolved; Prometheus is
killed and restarted without any incident coming of it.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from sloctl.core.severity import Severity
from sloctl.demo.live import LiveStack, live_stack, wait_until
from sloctl.generate.dashboards import DAEMON_FILE, queries, render_dashboards
from sloctl.incidents.lifecycle import Incident, State
from sloctl.incidents.policy import Cause
from sloctl.loading.policy_file import shipped_policy
from sloctl.prometheus.client import PrometheusReader
from sloctl.store.database import open_store

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("live")) as started:
        yield started


def metrics(stack: LiveStack) -> str:
    return requests.get(f"{stack.sloctl_url}/metrics", timeout=5).text


def readyz(stack: LiveStack) -> int:
    try:
        return requests.get(f"{stack.sloctl_url}/readyz", timeout=2).status_code
    except requests.RequestException:
        return 0


def only(stack: LiveStack, cause: Cause) -> Incident:
    found = [i for i in stack.incidents() if i.cause is cause]
    assert len(found) == 1, found
    return found[0]


def messages_about(stack: LiveStack, incident_id: str) -> list[str]:
    """First lines of the Slack messages naming the incident (its channel is lower case)."""
    wanted = incident_id.lower()
    return [text.splitlines()[0] for text in stack.receiver.texts() if wanted in text.lower()]


def undelivered(stack: LiveStack) -> int:
    store = open_store(stack.store_path)
    try:
        return sum(1 for m in store.outbox() if m.status != "delivered")
    finally:
        store.close()


def cycles(stack: LiveStack) -> float:
    for line in metrics(stack).splitlines():
        if line.startswith("sloctl_evaluation_duration_seconds_count"):
            return float(line.split()[-1])
    return 0.0


def wait_cycles(stack: LiveStack, count: int) -> None:
    first = cycles(stack)
    wait_until(f"{count} cycles", lambda: cycles(stack) >= first + count, 30)


def test_healthy_traffic_declares_nothing_and_metrics_lint_clean(stack: LiveStack) -> None:
    time.sleep(15)  # warm-up: the signal window fills with healthy traffic
    assert stack.incidents() == []
    page = metrics(stack)
    assert 'sloctl_slo_stale{service="api",slo="availability"} 0.0' in page
    lint = subprocess.run(
        ["promtool", "check", "metrics"],
        input=page,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert lint.stdout + lint.stderr == ""


def test_an_outage_is_a_p1_declared_and_notified_within_a_few_cycles(stack: LiveStack) -> None:
    started = time.monotonic()
    stack.inject("api", error_ratio=1.0)
    wait_until("a P1", lambda: any(i.severity is Severity.P1 for i in stack.incidents()), 40)
    declared_after = time.monotonic() - started
    incident = only(stack, Cause.ERRORS)
    assert (incident.id, incident.severity, incident.state) == (
        "INC-0001",
        Severity.P1,
        State.DETECTED,
    )
    # The 10-second window crosses 50 % after about 5 s; a scrape and a cycle later it is seen.
    assert declared_after < 20
    wait_until("the announcement", lambda: messages_about(stack, "INC-0001") != [], 10)
    assert messages_about(stack, "INC-0001") == [":rotating_light: INCIDENT DECLARED"]
    page = metrics(stack)
    assert 'sloctl_incident_open{incident="INC-0001",service="api",severity="P1"} 1.0' in page
    [line] = [
        x
        for x in page.splitlines()
        if x.startswith("sloctl_slo_sli_error_ratio{") and 'slo="availability"' in x
    ]
    assert 'window="10s"' in line
    assert float(line.split()[-1]) > 0.5


def test_sigkill_mid_incident_and_restart_carry_on_with_the_same_incident(stack: LiveStack) -> None:
    wait_until("every message delivered", lambda: undelivered(stack) == 0, 20)
    before = only(stack, Cause.ERRORS)
    stack.kill_sloctl()
    stack.start_sloctl()
    wait_cycles(stack, 3)
    after = only(stack, Cause.ERRORS)
    assert (after.id, after.state, after.severity) == (before.id, State.DETECTED, Severity.P1)
    assert after.timeline == before.timeline
    assert after.detected_at == before.detected_at
    assert [i.id for i in stack.incidents()] == ["INC-0001"]
    assert messages_about(stack, "INC-0001") == [":rotating_light: INCIDENT DECLARED"]


def test_recovery_is_monitored_then_resolved_and_no_message_is_lost(stack: LiveStack) -> None:
    stack.receiver.status = 503  # Slack is having a bad minute
    stack.inject("api", error_ratio=0.0005)
    wait_until("monitoring", lambda: only(stack, Cause.ERRORS).state is State.MONITORING, 40)
    monitoring_at = time.monotonic()
    wait_until("a refused delivery", lambda: stack.receiver.refused > 0, 10, pause=0.05)
    # Killed with the update still undelivered: it must survive in the store.
    stack.kill_sloctl()
    assert undelivered(stack) == 1
    stack.receiver.status = 200
    stack.start_sloctl()
    wait_until("the update", lambda: len(messages_about(stack, "INC-0001")) == 2, 30)
    wait_until("resolution", lambda: only(stack, Cause.ERRORS).state is State.RESOLVED, 40)
    # stable_for is 15 s in the live policy; the restart did not start it over.
    assert 14 <= time.monotonic() - monitoring_at < 30
    incident = only(stack, Cause.ERRORS)
    moves = [t.to_state for t in incident.timeline]
    assert moves == [State.DETECTED, State.MONITORING, State.RESOLVED]
    wait_until("the resolution message", lambda: len(messages_about(stack, "INC-0001")) == 3, 10)
    assert messages_about(stack, "INC-0001") == [
        ":rotating_light: INCIDENT DECLARED",
        ":yellow_circle: INCIDENT UPDATE",
        ":large_green_circle: INCIDENT RESOLVED",
    ]


def test_slow_answers_are_a_p2_and_resolve(stack: LiveStack) -> None:
    stack.inject("api", latency_seconds=0.8)
    wait_until(
        "a latency incident", lambda: any(i.cause is Cause.LATENCY for i in stack.incidents()), 40
    )
    incident = only(stack, Cause.LATENCY)
    assert (incident.id, incident.severity) == ("INC-0002", Severity.P2)
    assert incident.peak_p95_seconds is not None
    assert incident.peak_p95_seconds > 0.5
    stack.inject("api", latency_seconds=0.08)
    wait_until("resolution", lambda: only(stack, Cause.LATENCY).state is State.RESOLVED, 60)
    wait_until("the resolution message", lambda: len(messages_about(stack, "INC-0002")) == 3, 10)


def test_prometheus_killed_and_restarted_declares_nothing(stack: LiveStack) -> None:
    assert stack.prometheus is not None
    process = stack.prometheus.process
    assert process is not None
    process.kill()
    process.wait()
    stack.prometheus.process = None
    wait_until("/readyz to fail", lambda: readyz(stack) == 503, 30)
    wait_until(
        "stale SLOs",
        lambda: 'sloctl_slo_stale{service="api",slo="availability"} 1.0' in metrics(stack),
        30,
    )
    assert "sloctl_query_errors_total{reason=" in metrics(stack)
    time.sleep(5)
    stack.prometheus.start()
    wait_until("/readyz to recover", lambda: readyz(stack) == 200, 60)
    wait_cycles(stack, 15)  # the signal window now spans the gap
    assert [(i.id, i.state) for i in stack.incidents()] == [
        ("INC-0001", State.RESOLVED),
        ("INC-0002", State.RESOLVED),
    ]
    assert 'sloctl_slo_stale{service="api",slo="availability"} 0.0' in metrics(stack)
    assert stack.sloctl is not None
    assert stack.sloctl.poll() is None  # it kept running throughout


def test_the_daemon_dashboard_has_data(stack: LiveStack) -> None:
    # The stack's Prometheus scrapes sloctl too: over the story so far, every query of the
    # dashboard has data (the incident annotation only while an incident was open).
    assert stack.prometheus is not None
    reader = PrometheusReader(stack.prometheus.url)
    document = json.loads(render_dashboards([], shipped_policy())[DAEMON_FILE])
    now = datetime.now(UTC)
    empty = [
        expr
        for expr in queries(document)
        if not reader.range(expr, now - timedelta(minutes=10), now, timedelta(seconds=5))
    ]
    assert empty == []

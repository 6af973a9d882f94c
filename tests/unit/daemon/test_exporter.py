"""sloctl's own metrics: what a scrape sees, and that promtool's linter accepts it."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sloctl.core.budget import Counts, assess_budget
from sloctl.core.changes import Change
from sloctl.core.selector import parse_selector
from sloctl.core.severity import Severity
from sloctl.core.slo import RatioIndicator, Slo
from sloctl.core.window import span_for
from sloctl.daemon.exporter import CycleDurations, Snapshot, exposition
from sloctl.incidents.lifecycle import declare
from sloctl.incidents.policy import Cause, Finding
from sloctl.incidents.signals import Sli
from sloctl.reading.evaluation import BURN_WINDOWS, SloResult

AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def result(service: str, counts: Counts | None) -> SloResult:
    slo = Slo(
        service,
        "availability",
        RatioIndicator(
            parse_selector(f'x_total{{service="{service}"}}'),
            parse_selector(f'x_total{{service="{service}",code="500"}}'),
        ),
        Decimal("0.999"),
    )
    span = span_for(slo, AT)
    budget = assess_budget(
        error_budget=slo.error_budget,
        window_length=span.length,
        measured=span.measured,
        time_left=None,
        counts=counts,
        current=counts,
    )
    return SloResult(slo, span, counts, {name: counts for name, _ in BURN_WINDOWS}, budget)


def snapshot() -> Snapshot:
    incident = declare("INC-0001", "api", Finding(Cause.ERRORS, Severity.P1, "outage"), AT)
    return Snapshot(
        results=(result("api", Counts(1_000_000, 500)), result("auth", None)),
        stale=frozenset({"auth/availability"}),
        slis={"api/availability": Sli(300, 0.02, 0.25), "auth/availability": Sli(60, 0.9)},
        open_incidents=(incident,),
        last_success=AT,
        query_errors={"timeout": 2},
        notifications={("slack", "delivered"): 3, ("pagerduty", "failed"): 1},
        outbox_backlog={"slack": (0, 0.0), "pagerduty": (2, 95.0)},
        last_data={"api/availability": AT, "auth/availability": AT - timedelta(minutes=20)},
    )


def text() -> str:
    return exposition(snapshot).decode()


def test_a_scrape_reads_budgets_burn_rates_and_status() -> None:
    page = text()
    assert 'sloctl_slo_error_budget_seconds{service="api",slo="availability"} 2592.0' in page
    assert 'sloctl_slo_error_budget_remaining_ratio{service="api",slo="availability"} 0.5' in page
    assert 'sloctl_slo_burn_rate{service="api",slo="availability",window="1h"} 0.5' in page
    assert 'sloctl_slo_status{service="api",slo="availability",status="ok"} 1.0' in page
    assert 'sloctl_slo_status{service="auth",slo="availability",status="no data"} 1.0' in page
    assert 'sloctl_slo_stale{service="auth",slo="availability"} 1.0' in page


def test_no_data_is_absent_never_nan() -> None:
    page = text()
    assert "NaN" not in page
    assert 'sloctl_slo_error_ratio{service="auth"' not in page


def test_incidents_and_self_metrics() -> None:
    page = text()
    assert 'sloctl_incident_open{incident="INC-0001",service="api",severity="P1"} 1.0' in page
    assert 'sloctl_incidents_open{service="api",severity="P1"} 1.0' in page
    assert 'sloctl_query_errors_total{reason="timeout"} 2.0' in page
    assert 'sloctl_notifications_total{result="failed",sink="pagerduty"} 1.0' in page
    assert 'sloctl_notifications_pending{sink="pagerduty"} 2.0' in page
    assert 'sloctl_notifications_pending{sink="slack"} 0.0' in page
    assert 'sloctl_notifications_oldest_pending_age_seconds{sink="pagerduty"} 95.0' in page
    [line] = [x for x in page.splitlines() if x.startswith("sloctl_last_successful")]
    assert float(line.split()[1]) == AT.timestamp()
    assert "sloctl_config_last_reload_successful 1.0" in page


def test_promtool_check_metrics_finds_nothing() -> None:
    done = subprocess.run(
        ["promtool", "check", "metrics"],
        input=text(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == ""
    assert done.stderr.strip() == ""


def test_each_scrape_reads_the_snapshot_current_when_it_starts() -> None:
    snapshots = [snapshot(), Snapshot()]
    first = exposition(lambda: snapshots[0]).decode()
    second = exposition(lambda: snapshots[1]).decode()
    assert "INC-0001" in first
    assert "INC-0001" not in second


def test_the_signals_the_policy_judged_are_exported_unless_stale() -> None:
    page = text()
    assert 'sloctl_slo_sli_error_ratio{service="api",slo="availability",window="5m"} 0.02' in page
    assert (
        'sloctl_slo_latency_p95_seconds{service="api",slo="availability",window="5m"} 0.25' in page
    )
    assert 'sloctl_slo_sli_error_ratio{service="auth"' not in page  # stale: not shown as current


def test_cycle_durations_are_a_histogram() -> None:
    durations = CycleDurations().observe(0.3).observe(4.0)
    page = exposition(lambda: Snapshot(cycle_durations=durations)).decode()
    assert 'sloctl_evaluation_duration_seconds_bucket{le="0.25"} 0.0' in page
    assert 'sloctl_evaluation_duration_seconds_bucket{le="0.5"} 1.0' in page
    assert 'sloctl_evaluation_duration_seconds_bucket{le="+Inf"} 2.0' in page
    assert "sloctl_evaluation_duration_seconds_count 2.0" in page
    assert "sloctl_evaluation_duration_seconds_sum 4.3" in page


def test_data_freshness_per_slo() -> None:
    page = text()
    stamps = {
        line.split("{")[1].split("}")[0]: float(line.split()[1])
        for line in page.splitlines()
        if line.startswith("sloctl_slo_last_data_timestamp_seconds{")
    }
    assert stamps == {
        'service="api",slo="availability"': AT.timestamp(),
        'service="auth",slo="availability"': (AT - timedelta(minutes=20)).timestamp(),
    }


def test_maintenance_and_recent_changes_are_exported() -> None:
    changes = (
        Change("api", "deploy", "v1.4.2", AT - timedelta(minutes=30), by="ci"),
        Change("api", "deploy", "v1.4.2", AT - timedelta(minutes=10)),  # redeployed: latest
        Change("database", "config", 'pool="50"', AT - timedelta(hours=2)),
    )
    snapshot = Snapshot(maintenance={"api": False, "database": True}, changes=changes)
    page = exposition(lambda: snapshot).decode()
    assert 'sloctl_maintenance_active{service="api"} 0.0' in page
    assert 'sloctl_maintenance_active{service="database"} 1.0' in page
    assert (AT - timedelta(minutes=10)).timestamp() == 1_793_613_000
    latest = "1.793613e+09"  # the latest of the two, as prometheus-client writes it
    assert (
        f'sloctl_change_timestamp_seconds{{kind="deploy",ref="v1.4.2",service="api"}} {latest}'
        in page
    )
    assert 'ref="pool=\\"50\\"",service="database"}' in page  # label values escaped
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=page, capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr

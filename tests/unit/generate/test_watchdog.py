"""The watchdog reads metrics the exporter really writes, and its rules say what they watch."""

from __future__ import annotations

from sloctl.daemon.exporter import exposition
from sloctl.generate.rules import Alert
from sloctl.generate.watchdog import METRICS, watchdog_group, watchdog_rules, watchdog_tests
from tests.unit.daemon.test_exporter import snapshot


def test_every_metric_it_reads_is_exported() -> None:
    page = exposition(snapshot).decode()  # the exporter tests' full snapshot
    names = {line.split("{")[0].split()[0] for line in page.splitlines() if line[:1] != "#"}
    assert set(METRICS) - names == set()


def test_each_alert_is_tested_quiet_and_firing() -> None:
    alerts = {r.alert for r in watchdog_group().rules if isinstance(r, Alert)}
    checks = [c for test in watchdog_tests()["tests"] for c in test["alert_rule_test"]]
    assert {c["alertname"] for c in checks if c["exp_alerts"]} == alerts
    assert {c["alertname"] for c in checks if not c["exp_alerts"]} == alerts


def test_the_rules_are_one_group() -> None:
    [group] = watchdog_rules()["groups"]
    assert group["name"] == "sloctl-watchdog"
    assert [r["alert"] for r in group["rules"]] == [
        "SloctlDaemonDown",
        "SloctlEvaluationsFailing",
        "SloctlSlosStale",
        "SloctlConfigReloadFailed",
        "SloctlNotificationsFailing",
        "SloctlNotificationsBacklog",
        "SloctlSloDataMissing",
    ]

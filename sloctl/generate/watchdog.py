"""Alerts on sloctl itself: when the daemon that declares incidents cannot, someone must hear.

The rules read the metrics ``sloctl run`` exports (:mod:`sloctl.daemon.exporter`) wherever
Prometheus scrapes it, so they go into ``alert-rules/`` with the SLO rules, with a promtool
test of their own:

- ``SloctlDaemonDown``: no sloctl metrics at all for 5 minutes (not running, or not scraped);
- ``SloctlEvaluationsFailing``: no successful evaluation for 5 minutes (Prometheus down for
  sloctl, a broken store): nothing is being declared or resolved;
- ``SloctlSlosStale``: some SLOs' signals unreadable for 10 minutes;
- ``SloctlConfigReloadFailed``: the last reload was refused, the old configuration runs;
- ``SloctlNotificationsFailing``: a notification failed for good in the last 15 minutes;
- ``SloctlNotificationsBacklog``: a notification has waited more than 10 minutes for 5 more
  (the receiver is down or refusing, and people are not being told).
- ``SloctlSloDataMissing``: an SLO's events series have been missing from its signal window
  for 10 minutes (its exporter vanished or is not scraped): its budget may still read ``ok``
  from older data, but no incident can be declared on it.
"""

from __future__ import annotations

from typing import Any

from sloctl.core.conventions import (
    CONFIG_LAST_RELOAD_SUCCESSFUL,
    LAST_SUCCESSFUL_EVALUATION_TIMESTAMP_SECONDS,
    NOTIFICATIONS_OLDEST_PENDING_AGE_SECONDS,
    NOTIFICATIONS_PENDING,
    NOTIFICATIONS_TOTAL,
    RESULT_LABEL,
    SERVICE_LABEL,
    SEVERITY_LABEL,
    SINK_LABEL,
    SLO_LABEL,
    SLO_LAST_DATA_TIMESTAMP_SECONDS,
    SLO_STALE,
    URGENCY_LABEL,
)
from sloctl.generate.rule_tests import series_text
from sloctl.generate.rules import Alert, Group

FILE_STEM = "sloctl-watchdog"
METRICS = (
    CONFIG_LAST_RELOAD_SUCCESSFUL,
    LAST_SUCCESSFUL_EVALUATION_TIMESTAMP_SECONDS,
    SLO_STALE,
    NOTIFICATIONS_TOTAL,
    NOTIFICATIONS_PENDING,
    NOTIFICATIONS_OLDEST_PENDING_AGE_SECONDS,
    SLO_LAST_DATA_TIMESTAMP_SECONDS,
)
"""Every metric the rules read; a test checks the exporter still writes each."""
STALE_AFTER_SECONDS = 300
BACKLOG_AFTER_SECONDS = 600
DATA_MISSING_AFTER_SECONDS = 600
PAGE = {SEVERITY_LABEL: "page", URGENCY_LABEL: "page"}
TICKET = {SEVERITY_LABEL: "ticket", URGENCY_LABEL: "ticket"}


def _notes(summary: str) -> dict[str, str]:
    return {"summary": summary, "runbook": "README.md section Running in a cluster"}


def watchdog_group() -> Group:
    return Group(
        "sloctl-watchdog",
        "1m",
        [
            Alert(
                "SloctlDaemonDown",
                f"absent({CONFIG_LAST_RELOAD_SUCCESSFUL})",
                "5m",
                PAGE,
                _notes(
                    "no sloctl metrics: the daemon is not running or not scraped, "
                    "so no incident is declared"
                ),
            ),
            Alert(
                "SloctlEvaluationsFailing",
                f"time() - max({LAST_SUCCESSFUL_EVALUATION_TIMESTAMP_SECONDS}) "
                f"> {STALE_AFTER_SECONDS}",
                "5m",
                PAGE,
                _notes(
                    "sloctl has not evaluated successfully for 5 minutes: incidents are "
                    "neither declared nor resolved"
                ),
            ),
            Alert(
                "SloctlSlosStale",
                f"sum by ({SERVICE_LABEL}) ({SLO_STALE}) > 0",
                "10m",
                TICKET,
                _notes("sloctl cannot read the signals of some SLOs of this service"),
            ),
            Alert(
                "SloctlConfigReloadFailed",
                f"max({CONFIG_LAST_RELOAD_SUCCESSFUL}) == 0",
                "5m",
                TICKET,
                _notes(
                    "the last configuration reload was refused; the previous "
                    "configuration is still running"
                ),
            ),
            Alert(
                "SloctlNotificationsFailing",
                f"sum by ({SINK_LABEL}) (increase("
                f"{series_text(NOTIFICATIONS_TOTAL, {RESULT_LABEL: 'failed'})}[15m])) > 0",
                "0m",
                TICKET,
                _notes("incident notifications failed for good; see `sloctl incidents show`"),
            ),
            Alert(
                "SloctlNotificationsBacklog",
                f"max by ({SINK_LABEL}) ({NOTIFICATIONS_OLDEST_PENDING_AGE_SECONDS}) "
                f"> {BACKLOG_AFTER_SECONDS}",
                "5m",
                PAGE,
                _notes(
                    "incident notifications have not been delivered for more than 15 "
                    "minutes; sloctl keeps retrying (see `sloctl incidents show`)"
                ),
            ),
            Alert(
                "SloctlSloDataMissing",
                f"time() - max by ({SERVICE_LABEL}, {SLO_LABEL}) "
                f"({SLO_LAST_DATA_TIMESTAMP_SECONDS}) > {DATA_MISSING_AFTER_SECONDS}",
                "5m",
                TICKET,
                _notes(
                    "sloctl has not seen this SLO's events series for 10 minutes: its "
                    "exporter vanished or is not scraped, and no incident can be declared "
                    "on it"
                ),
            ),
        ],
    )


def watchdog_rules() -> dict[str, Any]:
    return {"groups": [watchdog_group().as_dict()]}


def _alert(name: str, labels: dict[str, str], at: str) -> dict[str, Any]:
    rule = next(r for r in watchdog_group().rules if isinstance(r, Alert) and r.alert == name)
    return {
        "eval_time": at,
        "alertname": name,
        "exp_alerts": [
            {
                "exp_labels": {**rule.labels, **labels},
                "exp_annotations": rule.annotations,
            }
        ],
    }


def _input(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    """One input series of a promtool test: ``name{labels}`` with promtool's value notation."""
    return {"series": series_text(name, labels) if labels else name, "values": values}


def _quiet(name: str, at: str) -> dict[str, Any]:
    return {"eval_time": at, "alertname": name, "exp_alerts": []}


def watchdog_tests() -> dict[str, Any]:
    """promtool tests: every alert silent while all is well, and firing when it is not."""
    api = {SERVICE_LABEL: "api", SLO_LABEL: "availability"}
    healthy = [
        _input(CONFIG_LAST_RELOAD_SUCCESSFUL, {}, "1x40"),
        _input(LAST_SUCCESSFUL_EVALUATION_TIMESTAMP_SECONDS, {}, "0+60x40"),
        _input(SLO_STALE, api, "0x40"),
        _input(NOTIFICATIONS_TOTAL, {RESULT_LABEL: "delivered", SINK_LABEL: "slack"}, "0+1x40"),
        # A message now and then, each delivered within two minutes.
        _input(NOTIFICATIONS_OLDEST_PENDING_AGE_SECONDS, {SINK_LABEL: "slack"}, "0 60 120 0x37"),
        _input(NOTIFICATIONS_PENDING, {SINK_LABEL: "slack"}, "1 1 1 0x37"),
        _input(SLO_LAST_DATA_TIMESTAMP_SECONDS, api, "0+60x40"),
    ]
    trouble = [
        _input(CONFIG_LAST_RELOAD_SUCCESSFUL, {}, "1x10 0x30"),
        # Evaluations stop succeeding after 10 minutes: the timestamp stays at 600.
        _input(LAST_SUCCESSFUL_EVALUATION_TIMESTAMP_SECONDS, {}, "0+60x10 600x30"),
        _input(SLO_STALE, api, "0x10 1x30"),
        _input(NOTIFICATIONS_TOTAL, {RESULT_LABEL: "failed", SINK_LABEL: "slack"}, "0x10 1x30"),
        # PagerDuty unreachable from minute 10: its oldest message ages a minute a minute.
        _input(NOTIFICATIONS_OLDEST_PENDING_AGE_SECONDS, {SINK_LABEL: "pagerduty"}, "0x10 0+60x30"),
        _input(NOTIFICATIONS_PENDING, {SINK_LABEL: "pagerduty"}, "0x10 1x30"),
        # The SLO's events vanish after 10 minutes: sloctl keeps exporting when it last saw
        # them (600), while the other SLO's data stays fresh.
        _input(SLO_LAST_DATA_TIMESTAMP_SECONDS, api, "0+60x10 600x30"),
        _input(SLO_LAST_DATA_TIMESTAMP_SECONDS, api | {SLO_LABEL: "latency"}, "0+60x40"),
    ]
    names = [r.alert for r in watchdog_group().rules if isinstance(r, Alert)]
    return {
        "rule_files": [f"../{FILE_STEM}.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "name": "sloctl healthy: nothing fires",
                "interval": "1m",
                "input_series": healthy,
                "alert_rule_test": [_quiet(name, "30m") for name in names],
            },
            {
                "name": "sloctl in trouble",
                "interval": "1m",
                "input_series": trouble,
                "alert_rule_test": [
                    _quiet("SloctlEvaluationsFailing", "18m"),  # stale since 15m, not 5m yet
                    _alert("SloctlEvaluationsFailing", {}, "21m"),
                    _quiet("SloctlSlosStale", "19m"),
                    _alert("SloctlSlosStale", {SERVICE_LABEL: "api"}, "21m"),
                    _quiet("SloctlConfigReloadFailed", "14m"),
                    _alert("SloctlConfigReloadFailed", {}, "16m"),
                    _alert("SloctlNotificationsFailing", {SINK_LABEL: "slack"}, "12m"),
                    _quiet("SloctlNotificationsFailing", "30m"),  # nothing new for 15 minutes
                    _quiet("SloctlDaemonDown", "30m"),
                    _quiet("SloctlNotificationsBacklog", "24m"),  # 14 minutes old: not yet
                    _alert("SloctlNotificationsBacklog", {SINK_LABEL: "pagerduty"}, "27m"),
                    _quiet("SloctlSloDataMissing", "23m"),  # missing 13 minutes, 10 + 5 not yet
                    _alert(
                        "SloctlSloDataMissing",
                        {SERVICE_LABEL: "api", SLO_LABEL: "availability"},
                        "26m",
                    ),
                ],
            },
            {
                "name": "sloctl gone",
                "interval": "1m",
                "input_series": [{"series": "up", "values": "1x20"}],
                "alert_rule_test": [
                    _quiet("SloctlDaemonDown", "4m"),
                    _alert("SloctlDaemonDown", {}, "6m"),
                ],
            },
        ],
    }

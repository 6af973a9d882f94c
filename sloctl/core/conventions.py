"""The names and fixed numbers sloctl gives things, each written once.

Three kinds of names leave sloctl and are read back by something else, so each is written here
and every writer and reader imports it:

- the metrics ``sloctl run`` exports (read by the watchdog alerts and the daemon dashboard);
- the series the generated recording rules record (read by the generated alerts, their
  promtool tests and the dashboards);
- the label names sloctl sets on those series and on its alerts, and the labels it tags the
  parts of one batched query with.
"""

from __future__ import annotations

from decimal import Decimal

from sloctl.core.durations import format_duration

P95 = Decimal("0.95")
"""The latency quantile the runbook's severity indicators read (2.2: "p95 latency")."""

# --- Labels -----------------------------------------------------------------------------------

SERVICE_LABEL = "service"
SLO_LABEL = "slo"
SEVERITY_LABEL = "severity"
URGENCY_LABEL = "urgency"
INCIDENT_LABEL = "incident"
CAUSE_LABEL = "cause"
INSTALLATION_LABEL = "installation"
"""The store's installation id on an incident's alert: two installations' INC-0001 differ."""
ALERTNAME_LABEL = "alertname"
"""Prometheus's and Alertmanager's label naming an alert."""
WINDOW_LABEL = "window"
"""The window a burn rate or a signal is measured over (``1h``, ``5m``, or ``window``)."""
STATUS_LABEL = "status"
TARGET_LABEL = "target"
REASON_LABEL = "reason"
SINK_LABEL = "sink"
RESULT_LABEL = "result"
BUCKET_LABEL = "le"
"""Prometheus's label for a histogram bucket's upper bound."""

QUERY_WINDOW_LABEL = "sloctl_window"
QUERY_PART_LABEL = "sloctl_part"
QUERY_PIECE_LABEL = "sloctl_piece"
"""Labels that tell apart the results travelling in one batched query; they never leave it."""

# --- Series the generated recording rules record ----------------------------------------------
# One name per quantity for every SLO, told apart by their service and slo labels.

EVENTS_RATE = "sloctl:events:rate5m"
BAD_EVENTS_RATE = "sloctl:bad_events:rate5m"
ERROR_RATIO = "sloctl:error_ratio:rate{window}"
"""A template: see :func:`error_ratio_name`."""
LATENCY_P95 = "sloctl:latency_p95:seconds5m"
OBJECTIVE = "sloctl:slo_objective:ratio"
BUDGET_REMAINING = "sloctl:error_budget_remaining:ratio"


def error_ratio_name(seconds: int) -> str:
    """The recorded error ratio over a window: ``sloctl:error_ratio:rate1h`` for an hour."""
    return ERROR_RATIO.format(window=format_duration(seconds))


# --- Metrics sloctl run exports ---------------------------------------------------------------

SLO_ERROR_BUDGET_REMAINING_RATIO = "sloctl_slo_error_budget_remaining_ratio"
SLO_ERROR_BUDGET_REMAINING_SECONDS = "sloctl_slo_error_budget_remaining_seconds"
SLO_ERROR_BUDGET_CONSUMED_SECONDS = "sloctl_slo_error_budget_consumed_seconds"
SLO_ERROR_BUDGET_SECONDS = "sloctl_slo_error_budget_seconds"
SLO_ERROR_RATIO = "sloctl_slo_error_ratio"
SLO_BURN_RATE = "sloctl_slo_burn_rate"
SLO_STATUS = "sloctl_slo_status"
SLO_STALE = "sloctl_slo_stale"
SLO_SLI_ERROR_RATIO = "sloctl_slo_sli_error_ratio"
SLO_LATENCY_P95_SECONDS = "sloctl_slo_latency_p95_seconds"
SLO_LAST_DATA_TIMESTAMP_SECONDS = "sloctl_slo_last_data_timestamp_seconds"
INCIDENT_OPEN = "sloctl_incident_open"
"""1 per open incident (labels service, severity, incident)."""
INCIDENTS_OPEN = "sloctl_incidents_open"
INCIDENTS_TARGET_MISSED = "sloctl_incidents_target_missed"
LAST_SUCCESSFUL_EVALUATION_TIMESTAMP_SECONDS = "sloctl_last_successful_evaluation_timestamp_seconds"
QUERY_ERRORS_TOTAL = "sloctl_query_errors_total"
NOTIFICATIONS_TOTAL = "sloctl_notifications_total"
NOTIFICATIONS_PENDING = "sloctl_notifications_pending"
NOTIFICATIONS_OLDEST_PENDING_AGE_SECONDS = "sloctl_notifications_oldest_pending_age_seconds"
EVALUATION_DURATION_SECONDS = "sloctl_evaluation_duration_seconds"
"""A histogram: its series are ``<name>_bucket`` (see :func:`buckets`), ``_sum`` and ``_count``."""
CONFIG_LAST_RELOAD_SUCCESSFUL = "sloctl_config_last_reload_successful"


def buckets(histogram: str) -> str:
    """The bucket series of a histogram metric."""
    return f"{histogram}_bucket"


MAINTENANCE_METRIC = "sloctl_maintenance_active"
"""1 while a service is in a maintenance window: the generated alerts are silenced by it."""
CHANGE_METRIC = "sloctl_change_timestamp_seconds"
"""When a recent change to a service was made: the dashboards' change annotations."""

"""The names and fixed numbers sloctl gives things, each written once."""

from __future__ import annotations

from decimal import Decimal

P95 = Decimal("0.95")
"""The latency quantile the runbook's severity indicators read (2.2: "p95 latency")."""

MAINTENANCE_METRIC = "sloctl_maintenance_active"
"""1 while a service is in a maintenance window: the generated alerts are silenced by it."""
CHANGE_METRIC = "sloctl_change_timestamp_seconds"
"""When a recent change to a service was made: the dashboards' change annotations."""

"""The names and fixed numbers sloctl gives things, each written once."""

from __future__ import annotations

from decimal import Decimal

P95 = Decimal("0.95")
"""The latency quantile the runbook's severity indicators read (2.2: "p95 latency")."""

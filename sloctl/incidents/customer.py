"""The customer communication of a P1 (runbook 3.4), drafted at resolution from what was
measured. Pure: the daemon and the CLI write it to a file for the communications lead to finish;
``sloctl incidents show`` shows it."""

from __future__ import annotations

from datetime import UTC, datetime

from sloctl.core.durations import spoken_duration
from sloctl.core.severity import Severity
from sloctl.incidents.lifecycle import Incident

CUSTOMER_SEVERITIES = frozenset({Severity.P1})
"""Runbook 3.4 is the customer communication for P1."""
TO_WRITE = "[To be written by the communications lead]"


def needs_customer_draft(incident: Incident) -> bool:
    return incident.resolved_at is not None and incident.severity in CUSTOMER_SEVERITIES


def disruption_window(incident: Incident) -> tuple[datetime, datetime]:
    """From the first bad reading (else the declaration) to the last bad reading once the
    service was restored (else the restoration, else the resolution)."""
    start = incident.impact_started_at or incident.detected_at
    if incident.impact_ended_at is not None and incident.restored_at is not None:
        end = incident.impact_ended_at
    else:
        end = incident.restored_at or incident.resolved_at or incident.detected_at
    return start, max(start, end)


def measured_impact(incident: Incident) -> str:
    """What users experienced, from the measurements, in plain words."""
    start, end = disruption_window(incident)
    services = ", ".join(incident.services)
    parts = []
    if incident.peak_error_ratio is not None:
        parts.append(
            f"requests to {services} failed (at worst {incident.peak_error_ratio:.0%} of them)"
        )
    if incident.peak_p95_seconds is not None:
        parts.append(f"responses were slow (95% within {incident.peak_p95_seconds:.1f} s at worst)")
    what = " and ".join(parts) or f"{services} did not work as it should"
    return f"For {spoken_duration(end - start, units=2)}, {what}."


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def render_customer(incident: Incident) -> str:
    """Runbook 3.4 filled in: date, services, start and end in UTC, the measured impact."""
    start, end = disruption_window(incident)
    return f"""Subject: Service Disruption - {start.astimezone(UTC):%Y-%m-%d}

Dear Customer,

We experienced a service disruption affecting {", ".join(incident.services)}
from {_utc(start)} to {_utc(end)} UTC.

What happened:
{TO_WRITE}

Impact:
{measured_impact(incident)}

Resolution:
{TO_WRITE}

Prevention:
{TO_WRITE}

We apologize for any inconvenience this caused.

Best regards,
IntelliFlow CRM Team
"""

"""The P1 customer communication (runbook 3.4): window in UTC and impact from measurements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sloctl.core.severity import Severity
from sloctl.incidents.customer import (
    disruption_window,
    measured_impact,
    needs_customer_draft,
    render_customer,
)
from sloctl.incidents.lifecycle import Incident, State, declare, impacted, move
from sloctl.incidents.policy import Cause, Finding

T0 = datetime(2026, 11, 2, 23, 50, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def resolved(severity: Severity = Severity.P1, measured: bool = True) -> Incident:
    incident = declare(
        "INC-0007",
        "api",
        Finding(Cause.ERRORS, severity, "outage"),
        at(0),
        error_ratio=0.62,
        impact_started_at=at(-4) if measured else None,
    )
    if measured:
        incident = impacted(incident, at(38))
    incident = move(incident, State.MONITORING, at(40), actor="sloctl")
    return move(incident, State.RESOLVED, at(55), actor="sloctl")


@pytest.mark.parametrize(
    ("incident", "window"),
    [
        pytest.param(resolved(), (at(-4), at(38)), id="first-to-last-bad-reading"),
        pytest.param(resolved(measured=False), (at(0), at(40)), id="declared-to-restored"),
    ],
)
def test_the_window(incident: Incident, window: tuple[datetime, datetime]) -> None:
    assert disruption_window(incident) == window


def test_only_resolved_p1_incidents_get_a_draft() -> None:
    assert needs_customer_draft(resolved())
    assert not needs_customer_draft(resolved(Severity.P2))
    open_one = declare("INC-0008", "api", Finding(Cause.ERRORS, Severity.P1, "x"), T0)
    assert not needs_customer_draft(open_one)


def test_the_draft_follows_the_template() -> None:
    text = render_customer(resolved())
    assert text.startswith("Subject: Service Disruption - 2026-11-02\n\nDear Customer,\n")
    assert "affecting api\nfrom 2026-11-02 23:46 to 2026-11-03 00:28 UTC." in text
    assert measured_impact(resolved()) == (
        "For 42 minutes, requests to api failed (at worst 62% of them)."
    )
    for heading in ("What happened:", "Impact:", "Resolution:", "Prevention:"):
        assert f"\n{heading}\n" in text
    assert text.endswith("Best regards,\nIntelliFlow CRM Team\n")

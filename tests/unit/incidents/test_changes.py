"""What a declaration lists of recent changes: its services', and their dependencies'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sloctl.core.changes import Change
from sloctl.core.severity import Severity
from sloctl.incidents.changes import changes_for, services_to_look_at, with_changes
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import Symptom, declare, join
from sloctl.incidents.policy import Cause, Finding
from sloctl.notify.message import IncidentEvent
from sloctl.notify.slack import SlackSink

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
FINDING = Finding(Cause.ERRORS, Severity.P1, "error ratio above 50%")
DEPENDS = {"api": ("database",), "auth": ("database",)}


def test_the_services_and_what_they_depend_on() -> None:
    incident = declare("INC-0001", "api", FINDING, T0)
    assert services_to_look_at(incident, DEPENDS) == ("api", "database")
    joined = join(incident, Symptom("auth", Cause.ERRORS), FINDING, T0)
    assert services_to_look_at(joined, DEPENDS) == ("api", "database", "auth")


def test_a_declaration_lists_recent_changes_newest_first_and_only_it() -> None:
    incident = declare("INC-0001", "api", FINDING, T0)
    deploy = Change("api", "deploy", "v1.4.2", T0 - timedelta(minutes=20), by="ci")
    pool = Change("database", "config", "pool=50", T0 - timedelta(minutes=5))
    unrelated = Change("ai-worker", "deploy", "v3", T0 - timedelta(minutes=1))
    too_old = Change("api", "deploy", "v1.4.1", T0 - timedelta(hours=7))
    assert changes_for(incident, [deploy, pool, unrelated, too_old], DEPENDS) == [pool, deploy]
    declared = Event(EventKind.DECLARED, incident, T0)
    updated = Event(EventKind.UPDATED, incident, T0)
    found = with_changes([declared, updated], [deploy, pool, unrelated, too_old], DEPENDS)
    assert found[0].changes == (
        "2026-11-02 09:55 UTC config pool=50 of database",
        "2026-11-02 09:40 UTC deploy v1.4.2 of api by ci",
    )
    assert found[1] == updated
    text = SlackSink.text(IncidentEvent.of(found[0]))
    assert (
        "Recent changes:\n"
        "- 2026-11-02 09:55 UTC config pool=50 of database\n"
        "- 2026-11-02 09:40 UTC deploy v1.4.2 of api by ci\n"
    ) in text


def test_without_changes_the_message_and_payload_stay_as_they_were() -> None:
    event = Event(EventKind.DECLARED, declare("INC-0001", "api", FINDING, T0), T0)
    [listed] = with_changes([event], [], DEPENDS)
    assert "changes" not in IncidentEvent.of(listed).to_stored()
    assert "Recent changes" not in SlackSink.text(IncidentEvent.of(listed))

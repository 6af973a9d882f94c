"""Roles: handles, assignments with their history on the timeline, the holder of each role,
and the public summary that only the communications lead sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sloctl.core.severity import Severity
from sloctl.errors import InvalidRequestError
from sloctl.incidents.lifecycle import State, declare, move
from sloctl.incidents.policy import Cause, Finding
from sloctl.incidents.public_summary import SUMMARY_MAX, services_from, set_summary
from sloctl.incidents.roles import Assignment, Role, assign, handle, holders, roles_of

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
INCIDENT = declare("INC-0001", "api", Finding(Cause.ERRORS, Severity.P1, "errors"), T0)


@pytest.mark.parametrize(
    ("text", "kept"),
    [("alice", "@alice"), ("@alice", "@alice"), (" @a.b-c_d ", "@a.b-c_d"), ("@x1", "@x1")],
)
def test_handles(text: str, kept: str) -> None:
    assert handle(text) == kept


@pytest.mark.parametrize("text", ["", "@", "two words", "@-lead", "<!channel>", "a" * 65])
def test_what_is_not_a_handle(text: str) -> None:
    with pytest.raises(InvalidRequestError, match="is not a handle"):
        handle(text)


def test_assignments_keep_their_history_and_the_latest_holds_the_role() -> None:
    kept: list[Assignment] = []
    incident = INCIDENT
    steps = [
        (Role.COMMANDER, "@ann", "@ann"),
        (Role.SCRIBE, "@cat", "@ann"),
        (Role.COMMANDER, "@ben", "@ann"),
    ]
    for minute, (role, who, by) in enumerate(steps, start=1):
        incident, one = assign(incident, kept, role, who, T0 + timedelta(minutes=minute), by=by)
        kept.append(one)
    assert [line.note for line in incident.timeline[1:]] == [
        "Incident Commander: @ann",
        "Scribe: @cat",
        "Incident Commander: @ben (was @ann)",
    ]
    assert {role: a.who for role, a in holders(kept).items()} == {
        Role.COMMANDER: "@ben",
        Role.SCRIBE: "@cat",
    }
    assert roles_of("@ann", kept) == ()
    assert roles_of("@ben", kept) == (Role.COMMANDER,)


def test_assigning_the_holder_again_or_a_resolved_incident_is_refused() -> None:
    incident, one = assign(INCIDENT, [], Role.COMMANDER, "@ann", T0, by="@ann")
    with pytest.raises(InvalidRequestError, match="already the incident commander"):
        assign(incident, [one], Role.COMMANDER, "@ann", T0, by="@ben")
    resolved = move(incident, State.RESOLVED, T0 + timedelta(minutes=5), actor="@ann")
    with pytest.raises(InvalidRequestError, match="is resolved"):
        assign(resolved, [one], Role.SCRIBE, "@cat", T0, by="@ann")


def test_the_public_summary_is_the_communications_leads() -> None:
    lead = Assignment("INC-0001", Role.COMMUNICATIONS_LEAD, "@lee", T0, "@ann")
    written = set_summary(INCIDENT, [lead], " Logins  fail ", ("api", "auth"), T0, by="@lee")
    assert (written.text, written.services, written.by) == ("Logins fail", ("api", "auth"), "@lee")
    with pytest.raises(InvalidRequestError, match="communications lead is @lee"):
        set_summary(INCIDENT, [lead], "x", ("api",), T0, by="@ann")
    # Nobody holds the role yet: whoever sets it is recorded.
    assert set_summary(INCIDENT, [], "x", ("api",), T0, by="@ann").by == "@ann"


@pytest.mark.parametrize(
    ("text", "message"),
    [(" \n ", "must not be empty"), ("x" * (SUMMARY_MAX + 1), "at most 280")],
)
def test_public_summaries_that_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        set_summary(INCIDENT, [], text, ("api",), T0, by="@a")


@pytest.mark.parametrize(
    ("text", "names"),
    [("api,auth", ("api", "auth")), (" api , api,auth ", ("api", "auth"))],
)
def test_services_lists(text: str, names: tuple[str, ...]) -> None:
    assert services_from(text) == names


@pytest.mark.parametrize("text", ["", " , ", "api,no such"])
def test_services_lists_refused(text: str) -> None:
    with pytest.raises(InvalidRequestError, match="--services"):
        services_from(text)

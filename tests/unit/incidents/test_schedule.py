"""Who is on call: hand-off boundaries, rotations of several people, overrides, services, and
daylight-saving changes in the schedule's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time

from sloctl.core.severity import Severity
from sloctl.incidents.lifecycle import declare
from sloctl.incidents.policy import Cause, Finding
from sloctl.incidents.roles import Role
from sloctl.incidents.schedule import (
    Override,
    Rotation,
    Schedule,
    default_roles,
    on_call,
)

BERLIN = ZoneInfo("Europe/Berlin")
DAILY = Rotation("primary", Role.COMMANDER, datetime(2026, 3, 25, 9, 0), 1, ("@ann", "@ben"))
WEEKLY = Rotation(
    "weekly", Role.COMMANDER, datetime(2026, 10, 19, 9, 0), 7, ("@ann", "@ben", "@cat")
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("rotation", "at", "who", "since", "until"),
    [
        # Berlin is UTC+1 in winter: 09:00 local is 08:00 UTC.
        (DAILY, "2026-03-25T08:00:00", "@ann", "2026-03-25T08:00:00", "2026-03-26T08:00:00"),
        (DAILY, "2026-03-26T07:59:59", "@ann", "2026-03-25T08:00:00", "2026-03-26T08:00:00"),
        (DAILY, "2026-03-26T08:00:00", "@ben", "2026-03-26T08:00:00", "2026-03-27T08:00:00"),
        (DAILY, "2026-03-27T08:00:00", "@ann", "2026-03-27T08:00:00", "2026-03-28T08:00:00"),
        # 29 March 2026: clocks go from 02:00 to 03:00; 09:00 local is now 07:00 UTC.
        (DAILY, "2026-03-29T07:00:00", "@ann", "2026-03-29T07:00:00", "2026-03-30T07:00:00"),
        (DAILY, "2026-03-29T06:59:59", "@ben", "2026-03-28T08:00:00", "2026-03-29T07:00:00"),
        # The day across the change is 23 hours long.
        (DAILY, "2026-03-28T20:00:00", "@ben", "2026-03-28T08:00:00", "2026-03-29T07:00:00"),
        # 25 October 2026: back to UTC+1; the week across it is 169 hours long.
        (WEEKLY, "2026-10-26T07:59:59", "@ann", "2026-10-19T07:00:00", "2026-10-26T08:00:00"),
        (WEEKLY, "2026-10-26T08:00:00", "@ben", "2026-10-26T08:00:00", "2026-11-02T08:00:00"),
        (WEEKLY, "2026-11-02T08:00:00", "@cat", "2026-11-02T08:00:00", "2026-11-09T08:00:00"),
        (WEEKLY, "2026-11-09T08:00:00", "@ann", "2026-11-09T08:00:00", "2026-11-16T08:00:00"),
    ],
)
def test_hand_offs_follow_the_local_clock(
    rotation: Rotation, at: str, who: str, since: str, until: str
) -> None:
    found = on_call(Schedule(BERLIN, (rotation,)), utc(at))
    assert found is not None
    assert (found.who, found.since, found.until) == (who, utc(since), utc(until))


def test_before_the_first_hand_off_nobody_is_on_call() -> None:
    assert on_call(Schedule(BERLIN, (DAILY,)), utc("2026-03-25T07:59:59")) is None


@pytest.mark.parametrize(
    ("start", "at", "who"),
    [
        # 02:30 does not exist on 29 March: the hand-off is at 02:30+01:00 = 01:30 UTC.
        (datetime(2026, 3, 28, 2, 30), "2026-03-29T01:29:59", "@ann"),
        (datetime(2026, 3, 28, 2, 30), "2026-03-29T01:30:00", "@ben"),
        # 02:30 exists twice on 25 October: the first (CEST, 00:30 UTC) is the hand-off.
        (datetime(2026, 10, 24, 2, 30), "2026-10-25T00:29:59", "@ann"),
        (datetime(2026, 10, 24, 2, 30), "2026-10-25T00:30:00", "@ben"),
    ],
)
def test_hand_offs_at_times_that_do_not_exist_or_exist_twice(
    start: datetime, at: str, who: str
) -> None:
    rotation = Rotation("night", Role.COMMANDER, start, 1, ("@ann", "@ben"))
    found = on_call(Schedule(BERLIN, (rotation,)), utc(at))
    assert found is not None
    assert found.who == who


def test_an_override_wins_inside_its_window_only() -> None:
    swap = Override(
        Role.COMMANDER, "@dan", datetime(2026, 3, 26, 12, 0), datetime(2026, 3, 26, 18, 0)
    )
    schedule = Schedule(BERLIN, (DAILY,), (swap,))
    inside = on_call(schedule, utc("2026-03-26T11:00:00"))  # 12:00 local
    assert inside is not None
    assert (inside.who, inside.source) == ("@dan", "override")
    after = on_call(schedule, utc("2026-03-26T17:00:00"))  # 18:00 local: the swap is over
    assert after is not None
    assert after.who == "@ben"


def test_rotations_by_role_and_service() -> None:
    auth = Rotation("auth", Role.COMMANDER, datetime(2026, 3, 25, 9, 0), 1, ("@eve",), ("auth",))
    comms = Rotation("comms", Role.COMMUNICATIONS_LEAD, datetime(2026, 3, 25, 9, 0), 1, ("@fay",))
    schedule = Schedule(BERLIN, (auth, DAILY, comms))
    at = utc("2026-03-25T10:00:00")
    assert [
        None if (found := on_call(schedule, at, role=role, service=service)) is None else found.who
        for role, service in [
            (Role.COMMANDER, "auth"),
            (Role.COMMANDER, "api"),
            (Role.COMMUNICATIONS_LEAD, "api"),
            (Role.SCRIBE, "api"),
        ]
    ] == ["@eve", "@ann", "@fay", None]


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        on_call(Schedule(BERLIN, (DAILY,)), datetime(2026, 3, 26, 9, 0))


@freeze_time("2026-03-26T08:30:00Z")
def test_the_default_roles_are_whoever_was_on_call_at_detection() -> None:
    now = datetime.now(UTC)
    finding = Finding(Cause.ERRORS, Severity.P1, "error ratio above 50%")
    comms = Rotation("comms", Role.COMMUNICATIONS_LEAD, datetime(2026, 3, 25, 9, 0), 1, ("@lee",))
    # Detected before the 08:00 UTC hand-off, declared (assigned) after it.
    incident = declare("INC-0001", "api", finding, now - timedelta(minutes=45))
    changed, assigned = default_roles(Schedule(BERLIN, (comms, DAILY)), incident, now)
    assert [(a.role, a.who, a.by, a.at) for a in assigned] == [
        (Role.COMMANDER, "@ann", "schedule:primary", now),
        (Role.COMMUNICATIONS_LEAD, "@lee", "schedule:comms", now),
    ]
    assert [line.note for line in changed.timeline[1:]] == [
        "Incident Commander: @ann",
        "Communications Lead: @lee",
    ]
    assert default_roles(Schedule(BERLIN, ()), incident, now) == (incident, ())

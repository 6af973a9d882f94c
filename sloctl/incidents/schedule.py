"""Who is on call at a time: rotations with hand-offs at a local time of day, and overrides.

Pure: a :class:`Schedule` is a value (read from a file by :mod:`sloctl.loading.schedule_file`),
and :func:`on_call` answers for an instant given to it. Hand-offs follow the schedule's wall
clock: a daily rotation handing off at 09:00 in Europe/Berlin hands off at 09:00 local time on
both sides of a daylight-saving change (08:00 UTC in winter, 07:00 UTC in summer). A hand-off
time that does not exist on a spring-forward day (02:30 when clocks jump from 02:00 to 03:00)
happens at the instant it names in the earlier offset (03:30 local); one that exists twice on a
fall-back day happens at its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sloctl.incidents.lifecycle import Incident
from sloctl.incidents.roles import Assignment, Role, assign


@dataclass(frozen=True)
class Rotation:
    """``people`` take turns, ``every`` days, handing off at ``start``'s local time of day.

    ``start`` is a naive local time in the schedule's zone: the first hand-off, to
    ``people[0]``. ``services`` limits the rotation to those services (empty: every service).
    """

    name: str
    role: Role
    start: datetime
    every_days: int
    people: tuple[str, ...]
    services: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None:
            raise ValueError("a rotation's start is a local time, without an offset")
        if self.every_days < 1 or not self.people:
            raise ValueError("a rotation needs at least one person and a period of a day or more")

    def covers(self, service: str | None) -> bool:
        return not self.services or service in self.services


@dataclass(frozen=True)
class Override:
    """``who`` takes ``role`` from ``start`` until ``end`` (naive local times), over any
    rotation (a swap, a holiday)."""

    role: Role
    who: str
    start: datetime
    end: datetime
    services: tuple[str, ...] = ()

    def covers(self, service: str | None) -> bool:
        return not self.services or service in self.services


@dataclass(frozen=True)
class Schedule:
    zone: ZoneInfo
    rotations: tuple[Rotation, ...]
    overrides: tuple[Override, ...] = ()

    def instant(self, local: datetime) -> datetime:
        """A naive local time of the schedule as an instant (UTC); see the module's note
        on times that do not exist or exist twice."""
        return local.replace(tzinfo=self.zone, fold=0).astimezone(UTC)


@dataclass(frozen=True)
class OnCall:
    """Who holds a role at an instant, from which rotation (or override), and for how long."""

    who: str
    source: str
    since: datetime
    until: datetime


def _handoff(schedule: Schedule, rotation: Rotation, number: int) -> datetime:
    return schedule.instant(rotation.start + timedelta(days=number * rotation.every_days))


def rotation_at(schedule: Schedule, rotation: Rotation, at: datetime) -> OnCall | None:
    """Who ``rotation`` has on call at ``at`` (aware); None before its first hand-off."""
    if at.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    if at < _handoff(schedule, rotation, 0):
        return None
    local = at.astimezone(schedule.zone).replace(tzinfo=None)
    number = max(0, (local - rotation.start).days // rotation.every_days)
    # The wall-clock guess can be one period off around a DST change: settle on instants.
    while _handoff(schedule, rotation, number + 1) <= at:
        number += 1
    while number > 0 and _handoff(schedule, rotation, number) > at:
        number -= 1
    who = rotation.people[number % len(rotation.people)]
    return OnCall(
        who,
        rotation.name,
        _handoff(schedule, rotation, number),
        _handoff(schedule, rotation, number + 1),
    )


def on_call(
    schedule: Schedule, at: datetime, *, role: Role = Role.COMMANDER, service: str | None = None
) -> OnCall | None:
    """Who holds ``role`` for ``service`` at ``at``: an override in force first, else the
    first rotation (in the file's order) that covers the service and has begun. None when
    nobody is scheduled."""
    for override in schedule.overrides:
        start, end = schedule.instant(override.start), schedule.instant(override.end)
        if override.role is role and override.covers(service) and start <= at < end:
            return OnCall(override.who, "override", start, end)
    for rotation in schedule.rotations:
        if rotation.role is not role or not rotation.covers(service):
            continue
        found = rotation_at(schedule, rotation, at)
        if found is not None:
            return found
    return None


def default_roles(
    schedule: Schedule, incident: Incident, at: datetime
) -> tuple[Incident, tuple[Assignment, ...]]:
    """Every role the schedule has someone on call for, for ``incident``'s service when it was
    declared (the commander first: runbook 4 order), assigned at ``at`` by
    ``schedule:<rotation>``, and the incident with them on its timeline."""
    assignments: list[Assignment] = []
    for role in Role:
        found = on_call(schedule, incident.detected_at, role=role, service=incident.service)
        if found is not None:
            incident, assignment = assign(
                incident, assignments, role, found.who, at, by=f"schedule:{found.source}"
            )
            assignments.append(assignment)
    return incident, tuple(assignments)

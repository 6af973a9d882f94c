"""Maintenance windows: one-off and weekly (DST-correct), membership, overlaps clipped and
merged."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from sloctl.core.maintenance import MaintenanceWindow, Weekly, in_maintenance, overlapping


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


SUNDAY_BERLIN = MaintenanceWindow(
    "api", "weekly", weekly=Weekly(frozenset({6}), time(2), time(3), "Europe/Berlin")
)
ONCE = MaintenanceWindow(
    "database", "migration", utc("2026-11-02T10:00"), utc("2026-11-02T11:00"), correction=True
)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-11-01T00:59", False),  # winter (CET, +01:00): 01:00 to 02:00 UTC
        ("2026-11-01T01:00", True),
        ("2026-11-01T01:59", True),
        ("2026-11-01T02:00", False),  # the end is not in the window
        ("2026-07-05T00:00", True),  # summer (CEST, +02:00): 00:00 to 01:00 UTC
        ("2026-07-05T01:00", False),
        ("2026-11-02T01:30", False),  # a Monday
    ],
)
def test_weekly_windows_follow_the_zone(at: str, expected: bool) -> None:
    assert (in_maintenance([SUNDAY_BERLIN], "api", utc(at)) is not None) is expected
    assert in_maintenance([SUNDAY_BERLIN], "auth", utc(at)) is None


def test_the_dst_change_days() -> None:
    # 2026-03-29: clocks go from 02:00 to 03:00 in Berlin: the local hour does not exist.
    assert SUNDAY_BERLIN.occurrences(utc("2026-03-29T00:00"), utc("2026-03-30T00:00")) == []
    # 2026-10-25: 02:00 to 03:00 happens twice; the window is the first 02:00 to 03:00 (+01:00).
    [autumn] = SUNDAY_BERLIN.occurrences(utc("2026-10-25T00:00"), utc("2026-10-26T00:00"))
    assert autumn == (utc("2026-10-25T00:00"), utc("2026-10-25T02:00"))


def test_a_window_past_midnight_ends_the_next_day() -> None:
    nightly = MaintenanceWindow(
        "api", "nightly", weekly=Weekly(frozenset(range(7)), time(22), time(2))
    )
    assert nightly.occurrences(utc("2026-11-02T00:00"), utc("2026-11-02T12:00")) == [
        (utc("2026-11-01T22:00"), utc("2026-11-02T02:00"))
    ]


def test_overlapping_occurrences_are_clipped_and_merged() -> None:
    later = MaintenanceWindow("database", "later", utc("2026-11-02T10:30"), utc("2026-11-02T12:00"))
    apart = MaintenanceWindow("database", "apart", utc("2026-11-02T13:00"), utc("2026-11-02T14:00"))
    found = overlapping(
        [apart, later, ONCE], "database", utc("2026-11-02T10:15"), utc("2026-11-02T13:30")
    )
    assert [(o.window.name, o.start, o.end) for o in found] == [
        ("migration", utc("2026-11-02T10:15"), utc("2026-11-02T12:00")),
        ("apart", utc("2026-11-02T13:00"), utc("2026-11-02T13:30")),
    ]
    assert [o.minutes for o in found] == [105.0, 30.0]
    corrections = overlapping(
        [apart, later, ONCE],
        "database",
        utc("2026-11-01T00:00"),
        utc("2026-11-03T00:00"),
        corrections_only=True,
    )
    assert [(o.start, o.end) for o in corrections] == [
        (utc("2026-11-02T10:00"), utc("2026-11-02T11:00"))
    ]


def test_a_window_is_one_kind_and_ends_after_it_starts() -> None:
    with pytest.raises(ValueError, match="either start and end"):
        MaintenanceWindow("api", "x")
    with pytest.raises(ValueError, match="end after it starts"):
        MaintenanceWindow("api", "x", utc("2026-11-02T10:00"), utc("2026-11-02T10:00"))
    assert ONCE.occurrences(utc("2026-11-02T11:00"), utc("2026-11-02T12:00")) == []
    assert (
        in_maintenance([ONCE], "database", utc("2026-11-02T10:00") - timedelta(seconds=1)) is None
    )

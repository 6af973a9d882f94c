"""Change events: validation of untrusted fields, one problem per field; what a declaration
lists."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sloctl.core.changes import Change, FieldProblem, recent, related_services, validate_change

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def test_a_valid_change_defaults_to_now() -> None:
    fields = {"service": "api", "kind": "deploy", "ref": " v1.4.2 ", "by": "ci"}
    assert validate_change(fields, now=NOW) == Change("api", "deploy", "v1.4.2", NOW, by="ci")


def test_a_time_with_its_zone_is_kept_in_utc() -> None:
    fields = {"service": "api", "kind": "config", "ref": "x", "at": "2026-11-02T10:30:00+01:00"}
    change = validate_change(fields, now=NOW)
    assert isinstance(change, Change)
    assert change.at == NOW - timedelta(minutes=30)
    assert change.line() == "2026-11-02 09:30 UTC config x of api"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"kind": "deploy", "ref": "v1"}, ["service: is required"]),
        (
            {"service": "API!", "kind": "ship", "ref": "v1"},
            [
                "service: must be lowercase letters, digits, '.', '_' or '-'",
                "kind: must be one of deploy, rollback, config, feature-flag, infrastructure, "
                "dependency",
            ],
        ),
        ({"service": "api", "kind": "deploy", "ref": 3}, ["ref: must be a string"]),
        (
            {"service": "api", "kind": "deploy", "ref": "v1\n"},
            ["ref: must not contain control characters"],
        ),
        (
            {"service": "api", "kind": "deploy", "ref": "v" * 201},
            ["ref: must be at most 200 characters"],
        ),
        (
            {"service": "api", "kind": "deploy", "ref": "v1", "at": "yesterday"},
            ["at: must be an RFC 3339 time (2026-11-02T09:58:00Z)"],
        ),
        (
            {"service": "api", "kind": "deploy", "ref": "v1", "at": "2026-11-02T09:00:00"},
            ["at: must name its time zone (Z or +01:00)"],
        ),
        (
            {"service": "api", "kind": "deploy", "ref": "v1", "at": "2026-11-02T10:05:00Z"},
            ["at: is in the future"],
        ),
        (
            {"service": "api", "kind": "deploy", "ref": "v1", "token": "x"},
            ["token: is not a field of a change"],
        ),
        (
            {"service": "web", "kind": "deploy", "ref": "v1"},
            ["service: unknown service 'web' (known: api, database)"],
        ),
    ],
)
def test_every_problem_is_named_once(fields: dict[str, object], expected: list[str]) -> None:
    found = validate_change(fields, now=NOW, services=["api", "database"])
    assert isinstance(found, list)
    assert [str(p) for p in found] == expected
    assert all(isinstance(p, FieldProblem) for p in found)


def test_related_services_follow_dependencies_through_cycles() -> None:
    depends = {"api": ("auth", "database"), "auth": ("database",), "database": ("api",)}
    assert related_services("api", depends) == ("api", "auth", "database")
    assert related_services("ai-worker", depends) == ("ai-worker",)


def test_recent_changes_are_newest_first_within_the_lookback() -> None:
    old = Change("api", "deploy", "v1", NOW - timedelta(hours=6))
    kept = Change("api", "deploy", "v2", NOW - timedelta(hours=5, minutes=59))
    dependency = Change("database", "config", "pool=50", NOW - timedelta(minutes=10))
    other = Change("auth", "deploy", "v7", NOW - timedelta(minutes=5))
    later = Change("api", "deploy", "v3", NOW + timedelta(seconds=1))
    found = recent([old, kept, dependency, other, later], ["api", "database"], NOW)
    assert found == [dependency, kept]

"""SLOs: grouped by service; their keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from sloctl.core.slo import CalendarWindow, RollingWindow, Slo, Timeslices, by_service
from sloctl.loading.definitions import load_definitions
from tests.paths import ROOT

SHIPPED = ROOT / "slo-definitions"
SERVICES = ("ai-worker", "api", "auth", "database")


def shipped() -> tuple[Slo, ...]:
    return load_definitions(SHIPPED)


def test_by_service_groups_and_sorts() -> None:
    grouped = by_service(shipped())
    assert list(grouped) == list(SERVICES)
    assert all(len(slos) == 2 for slos in grouped.values())
    assert all(s.service == service for service, slos in grouped.items() for s in slos)


def test_the_key_is_made_once_and_stays_outside_equality_and_hashing() -> None:
    first, again = shipped()[0], shipped()[0]
    assert first.key == f"{first.service}/{first.name}"
    assert first.key is first.key  # made once, not formatted on every use
    assert first == again  # one has its key made, the other not yet
    assert hash(first) == hash(again)
    assert again.key == first.key
    renamed = replace(first, name="renamed")
    assert renamed.key == f"{first.service}/renamed"
    assert renamed != first


def test_the_error_budget_is_made_once_per_slo_and_keeps_its_own_exponent() -> None:
    first = shipped()[0]
    assert first.error_budget == 1 - first.target
    assert first.error_budget is first.error_budget
    # Equal targets written differently are equal SLOs, but each keeps its own exact budget.
    short = replace(first, target=Decimal("0.999"))
    long = replace(first, target=Decimal("0.9990"))
    assert short == long
    assert str(short.error_budget) == "0.001"
    assert str(long.error_budget) == "0.0010"


def test_the_rolling_length_is_made_once_per_slo() -> None:
    first = replace(shipped()[0], window=RollingWindow(7 * 86400))
    assert first.rolling_length() == timedelta(days=7)
    assert first.rolling_length() is first.rolling_length()
    calendar = replace(first, window=CalendarWindow("Europe/Berlin"))
    assert calendar.rolling_length() == timedelta(days=30)
    assert Timeslices(Decimal("0.99"), 300).length == timedelta(minutes=5)

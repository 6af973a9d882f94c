"""SLOs: grouped by service; their keys."""

from __future__ import annotations

from dataclasses import replace

from sloctl.core.slo import Slo, by_service
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

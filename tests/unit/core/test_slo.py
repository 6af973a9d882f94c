"""SLOs: grouped by service."""

from __future__ import annotations

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

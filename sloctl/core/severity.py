"""The runbook's severity levels and their targets (incident-response runbook, section 1.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class Severity(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


@dataclass(frozen=True)
class Level:
    name: str
    definition: str
    response: timedelta
    resolution: timedelta


LEVELS: dict[Severity, Level] = {
    Severity.P1: Level(
        "Critical",
        "Complete service outage, data loss, security breach",
        timedelta(minutes=5),
        timedelta(hours=1),
    ),
    Severity.P2: Level(
        "High",
        "Major feature unavailable, significant degradation",
        timedelta(minutes=15),
        timedelta(hours=4),
    ),
    Severity.P3: Level(
        "Medium",
        "Minor feature issue, performance degradation",
        timedelta(hours=1),
        timedelta(hours=24),
    ),
    Severity.P4: Level(
        "Low", "Cosmetic issues, minor bugs", timedelta(hours=8), timedelta(weeks=1)
    ),
}


UPDATE_EVERY: dict[Severity, timedelta | None] = {
    Severity.P1: timedelta(minutes=15),
    Severity.P2: timedelta(minutes=15),
    Severity.P3: timedelta(hours=1),
    Severity.P4: None,
}
"""How often an open incident's status is updated (runbook 3.1 "Next update in 15 minutes"
for P1 and P2, 3.2 "Next update in [X] minutes"); P3 hourly, like its response target; P4 has
no cadence (updates as things change)."""


def spoken(span: timedelta) -> str:
    """``5 min``, ``1 hour``, ``24 hours``, ``1 week``: the runbook's way of writing targets."""
    seconds = int(span.total_seconds())
    for unit, size in (("week", 604800), ("hour", 3600), ("min", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            plural = "s" if count > 1 and unit != "min" else ""
            return f"{count} {unit}{plural}"
    return f"{seconds} s"

"""``sloctl backtest``: replay the severity policy over past Prometheus data.

Reads the counts the daemon's signals are made of as one-step slices, once (see
:func:`sloctl.signals.replay`), and feeds the signals of every step to the same
:func:`sloctl.engine.decide` the daemon uses. Nothing is stored and nobody is notified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sloctl.engine import decide
from sloctl.incidents import Incident
from sloctl.policy import Cause, Held, Policy
from sloctl.signals import SignalReader, replay
from sloctl.slo import Slo


@dataclass(frozen=True)
class Replayed:
    """An incident the policy would have declared."""

    incident: Incident
    peak_severity: str
    end: datetime | None


def backtest(
    slos: Sequence[Slo],
    reader: SignalReader,
    policy: Policy,
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(minutes=1),
) -> list[Replayed]:
    """Every incident the policy would have declared between ``start`` and ``end``."""
    replayed: list[Incident] = []
    counter = 0

    def new_id() -> str:
        nonlocal counter
        counter += 1
        return f"BT-{counter:04d}"

    held: dict[str, Held] = {}
    open_incidents: dict[str, dict[Cause, Incident]] = {}
    for signals in replay(slos, policy, reader, start, end, step):
        for service, measured in signals.items():
            mine = open_incidents.setdefault(service, {})
            held[service], changed, _ = decide(
                policy, service, measured, held.get(service, {}), mine, new_id
            )
            for incident in changed:
                if incident.open:
                    mine[incident.cause] = incident
                else:
                    mine.pop(incident.cause, None)
                    replayed.append(incident)
    replayed.extend(i for mine in open_incidents.values() for i in mine.values())
    replayed.sort(key=lambda i: (i.detected_at, i.service))
    return [Replayed(i, i.severity.value, i.resolved_at) for i in replayed]

"""``sloctl backtest``: replay the severity policy over past Prometheus data.

Reads the counts the daemon's signals are made of as one-step slices, once (see
:func:`sloctl.incidents.signals.replay`), and feeds the signals of every step to the same
:func:`sloctl.incidents.engine.decide` the daemon uses, with the same dependencies between services.
Nothing is stored and nobody is notified.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sloctl.core.maintenance import MaintenanceWindow
from sloctl.core.slo import Slo, dependencies
from sloctl.errors import InvalidRequestError
from sloctl.incidents.engine import Assessment, Decision, Tracked, decide
from sloctl.incidents.lifecycle import Incident
from sloctl.incidents.maintenance import apply_maintenance
from sloctl.incidents.policy import Policy
from sloctl.incidents.signals import SignalReader, replay


@dataclass(frozen=True)
class Replayed:
    """An incident the policy would have declared."""

    incident: Incident
    peak_severity: str
    end: datetime | None


@dataclass(frozen=True)
class Explanation:
    """One service at one instant of a replay: its signals, the engine's verdict, and the
    incident it was part of (if any) once that step was taken."""

    at: datetime
    assessment: Assessment
    incident: Incident | None


@dataclass
class _Replay:
    counter: int = 0

    def new_id(self) -> str:
        self.counter += 1
        return f"BT-{self.counter:04d}"


def _steps(
    slos: Sequence[Slo],
    reader: SignalReader,
    policy: Policy,
    start: datetime,
    end: datetime,
    step: timedelta,
    windows: Sequence[MaintenanceWindow] = (),
) -> Iterator[tuple[Decision, dict[str, Incident], list[Incident]]]:
    """Every step's outcome, the incidents open after it and those it resolved."""
    ids = _Replay()
    depends_on = dependencies(slos)
    tracked: dict[str, Tracked] = {}
    opened: dict[str, Incident] = {}
    for signals in replay(slos, policy, reader, start, end, step):
        outcome = decide(policy, signals, tracked, list(opened.values()), ids.new_id, depends_on)
        if signals:  # maintenance as the daemon applies it: suppressed, announced after
            at = next(iter(signals.values())).at
            outcome = apply_maintenance(outcome, list(opened.values()), windows, at)
        tracked.update(outcome.tracked)
        closed = []
        for incident in outcome.changed:
            if incident.open:
                opened[incident.id] = incident
            else:
                opened.pop(incident.id, None)
                closed.append(incident)
        yield outcome, opened, closed


def backtest(
    slos: Sequence[Slo],
    reader: SignalReader,
    policy: Policy,
    start: datetime,
    end: datetime,
    step: timedelta = timedelta(minutes=1),
    windows: Sequence[MaintenanceWindow] = (),
) -> list[Replayed]:
    """Every incident the policy would have declared between ``start`` and ``end``; those
    declared in a maintenance window of ``windows`` are suppressed (``suppressed_by``)."""
    replayed: list[Incident] = []
    still_open: dict[str, Incident] = {}
    for _, opened, closed in _steps(slos, reader, policy, start, end, step, windows):
        replayed.extend(closed)
        still_open = opened
    replayed.extend(still_open.values())
    replayed.sort(key=lambda i: (i.detected_at, i.service))
    return [Replayed(i, i.severity.value, i.resolved_at) for i in replayed]


def explain(
    slos: Sequence[Slo],
    reader: SignalReader,
    policy: Policy,
    start: datetime,
    at: datetime,
    service: str,
    step: timedelta = timedelta(minutes=1),
) -> Explanation:
    """``service`` at the last step at or before ``at``, replayed from ``start`` (so that how
    long each condition has held is what the daemon would have known)."""
    if service not in {slo.service for slo in slos}:
        raise InvalidRequestError(f"no SLO of service {service!r} in the definitions")
    if at < start:
        raise InvalidRequestError("--at must not be before --from")
    last: Explanation | None = None
    for outcome, opened, closed in _steps(slos, reader, policy, start, at, step):
        assessment = outcome.assessments[service]
        mine = [i for i in (*opened.values(), *closed) if service in i.services]
        last = Explanation(assessment.signals.at, assessment, mine[0] if mine else None)
    if last is None:
        raise InvalidRequestError("no step of the replay falls between --from and --at")
    return last

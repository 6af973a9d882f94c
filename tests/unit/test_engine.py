"""The decision engine: one evaluation of one service's signals, and runs of them over time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sloctl.engine import Event, decide
from sloctl.incidents import SLOCTL, Incident, State, declare, move
from sloctl.notifications import EventKind
from sloctl.policy import Cause, Condition, Finding, Held, Policy, Signals, Thresholds
from sloctl.severity import Severity

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
POLICY = Policy()
WEB = Decimal("0.2")
P1_TARGETS = ("everyone", "leadership")
P2_TARGETS = ("team lead", "stakeholders")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class Ids:
    """A new_id callable that counts its calls."""

    def __init__(self, prefix: str = "INC-", start: int = 1) -> None:
        self.prefix = prefix
        self.next = start
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        value = f"{self.prefix}{self.next:04d}"
        self.next += 1
        return value


@dataclass
class Run:
    """What a caller (the daemon, the backtest) keeps between evaluations."""

    policy: Policy = POLICY
    service: str = "api"
    new_id: Callable[[], str] = field(default_factory=Ids)
    held: Held = field(default_factory=dict)
    open: dict[Cause, Incident] = field(default_factory=dict)
    latest: dict[str, Incident] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    def step(self, signals: Signals) -> list[Event]:
        self.held, changed, events = decide(
            self.policy, self.service, signals, self.held, self.open, self.new_id
        )
        for incident in changed:
            self.latest[incident.id] = incident
            if incident.open:
                self.open[incident.cause] = incident
            else:
                self.open.pop(incident.cause, None)
        self.events.extend(events)
        return events

    def replay(self, signals: Iterable[Signals]) -> list[Event]:
        return [event for one in signals for event in self.step(one)]

    def kinds(self, kind: EventKind) -> list[Event]:
        return [event for event in self.events if event.kind is kind]


def errors(minute: float, ratio: float, *, burning: bool = False) -> Signals:
    return Signals(at(minute), error_ratio=ratio, burning=burning)


def latency(minute: float, p95: float) -> Signals:
    return Signals(at(minute), p95_seconds=p95, latency_threshold=WEB)


def outage_incident(detected: int = 0, severity: Severity = Severity.P1) -> Incident:
    finding = Finding(Cause.ERRORS, severity, "outage")
    return declare("INC-0100", "api", finding, at(detected), error_ratio=0.6)


# --- declaring -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signals", "held", "cause", "severity", "targets"),
    [
        pytest.param(errors(0, 0.6), {}, Cause.ERRORS, Severity.P1, P1_TARGETS, id="outage-P1"),
        pytest.param(
            errors(31, 0.2), {Condition.MAJOR_ERRORS: at(0)}, Cause.ERRORS, Severity.P2,
            P2_TARGETS, id="major-errors-P2",
        ),
        pytest.param(errors(0, 0.05, burning=True), {}, Cause.ERRORS, Severity.P3, (),
                     id="budget-burn-P3"),
        pytest.param(
            latency(5, 0.8),
            {Condition.SEVERE_LATENCY: at(0), Condition.DEGRADED_LATENCY: at(0)},
            Cause.LATENCY, Severity.P2, P2_TARGETS, id="severe-latency-P2",
        ),
        pytest.param(latency(5, 0.3), {Condition.DEGRADED_LATENCY: at(0)}, Cause.LATENCY,
                     Severity.P3, (), id="degraded-latency-P3"),
    ],
)  # fmt: skip
def test_a_new_finding_declares_an_incident(
    signals: Signals, held: Held, cause: Cause, severity: Severity, targets: tuple[str, ...]
) -> None:
    new_id = Ids(prefix="X-", start=7)
    _, changed, events = decide(POLICY, "checkout", signals, held, {}, new_id)
    (incident,) = changed
    assert new_id.calls == 1
    assert incident.id == "X-0007"
    assert (incident.service, incident.cause, incident.severity) == ("checkout", cause, severity)
    assert incident.state is State.DETECTED
    assert incident.detected_at == signals.at
    assert incident.peak_error_ratio == signals.error_ratio
    assert incident.peak_p95_seconds == signals.p95_seconds
    assert not incident.manual
    assert events == [Event(EventKind.DECLARED, incident, signals.at, targets)]


def test_held_carries_the_start_of_each_condition() -> None:
    held, _, _ = decide(POLICY, "api", errors(0, 0.6), {}, {}, Ids())
    assert held == {Condition.OUTAGE: at(0), Condition.MAJOR_ERRORS: at(0)}
    held, _, _ = decide(POLICY, "api", errors(1, 0.4), held, {}, Ids())
    assert held == {Condition.MAJOR_ERRORS: at(0)}


def test_nothing_to_report_when_all_is_well() -> None:
    run = Run()
    run.replay(
        Signals(at(m), error_ratio=0.0002, p95_seconds=0.1, latency_threshold=WEB)
        for m in range(120)
    )
    assert run.events == []
    assert run.latest == {}


def test_errors_and_latency_at_once_are_two_incidents() -> None:
    signals = Signals(at(10), error_ratio=0.6, p95_seconds=0.8, latency_threshold=WEB)
    held: Held = {Condition.SEVERE_LATENCY: at(0), Condition.DEGRADED_LATENCY: at(0)}
    new_id = Ids()
    _, changed, events = decide(POLICY, "api", signals, held, {}, new_id)
    assert [(i.cause, i.severity) for i in changed] == [
        (Cause.ERRORS, Severity.P1), (Cause.LATENCY, Severity.P2),
    ]  # fmt: skip
    assert [i.id for i in changed] == ["INC-0001", "INC-0002"]
    assert [(e.kind, e.incident.id) for e in events] == [
        (EventKind.DECLARED, "INC-0001"), (EventKind.DECLARED, "INC-0002"),
    ]  # fmt: skip


def test_one_incident_per_service_and_cause() -> None:
    run = Run()
    run.replay(errors(m, 0.6) for m in range(30))
    run.replay(latency(30 + m, 0.8) for m in range(10))
    declared = run.kinds(EventKind.DECLARED)
    assert [(e.incident.cause, e.at) for e in declared] == [
        (Cause.ERRORS, at(0)), (Cause.LATENCY, at(35)),
    ]  # fmt: skip
    assert set(run.open) == {Cause.ERRORS, Cause.LATENCY}


def test_an_open_incident_is_not_declared_again() -> None:
    incident = outage_incident()
    new_id = Ids()
    _, changed, events = decide(
        POLICY, "api", errors(1, 0.9), {Condition.OUTAGE: at(0)}, {Cause.ERRORS: incident},
        new_id,
    )  # fmt: skip
    assert new_id.calls == 0
    assert events == []
    (updated,) = changed
    assert updated.id == incident.id
    assert updated.peak_error_ratio == 0.9  # observed


# --- escalating ------------------------------------------------------------------------------


def test_an_escalation_is_an_escalated_event_and_no_new_incident() -> None:
    run = Run()
    run.step(errors(0, 0.05, burning=True))
    (p3,) = run.latest.values()
    assert p3.severity is Severity.P3
    events = run.step(errors(1, 0.7))
    assert [e.kind for e in events] == [EventKind.ESCALATED]
    (event,) = events
    assert event.incident.id == p3.id
    assert event.incident.severity is Severity.P1
    assert event.escalate_to == P1_TARGETS
    assert event.at == at(1)
    assert event.note.startswith("error ratio above 50%")
    assert len(run.kinds(EventKind.DECLARED)) == 1
    assert len(run.latest) == 1
    assert run.open[Cause.ERRORS].severity is Severity.P1


def test_errors_escalate_p3_p2_p1_in_one_incident() -> None:
    run = Run()
    run.replay(errors(m, 0.2, burning=True) for m in range(0, 31))
    run.replay(errors(m, 0.8) for m in range(31, 33))
    escalated = [e for e in run.kinds(EventKind.ESCALATED) if e.note.startswith("error ratio")]
    assert [(e.at, e.incident.severity, e.escalate_to) for e in escalated] == [
        (at(30), Severity.P2, P2_TARGETS), (at(31), Severity.P1, P1_TARGETS),
    ]  # fmt: skip
    assert len(run.kinds(EventKind.DECLARED)) == 1


def test_a_lower_finding_does_not_lower_an_incident() -> None:
    run = Run()
    run.step(errors(0, 0.9))
    run.replay(errors(m, 0.05, burning=True) for m in range(1, 4))
    assert run.open[Cause.ERRORS].severity is Severity.P1
    assert [e.kind for e in run.events] == [EventKind.DECLARED]


# --- hysteresis ------------------------------------------------------------------------------


def test_a_signal_flapping_around_p1_is_one_incident() -> None:
    run = Run()
    flapping = [errors(m, 0.6 if m % 2 == 0 else 0.4) for m in range(60)]
    still_bad = [errors(m, 0.005) for m in range(60, 80)]  # below 10 %, above 0.1 %
    recovered = [errors(m, 0.0005) for m in range(80, 120)]
    for signals in flapping + still_bad:
        run.step(signals)
        assert set(run.open) == {Cause.ERRORS}, signals.at
        assert run.open[Cause.ERRORS].state is State.DETECTED, signals.at
    (incident_id,) = run.latest
    run.replay(recovered)
    assert len(run.kinds(EventKind.DECLARED)) == 1
    assert run.open == {}
    assert {e.incident.id for e in run.events} == {incident_id}
    (monitoring,) = run.kinds(EventKind.UPDATED)
    assert (monitoring.at, monitoring.incident.state) == (at(80), State.MONITORING)
    (resolved,) = run.kinds(EventKind.RESOLVED)
    assert resolved.at == at(95)  # 15 minutes of verification after errors fell below 0.1 %
    assert resolved.incident.state is State.RESOLVED
    assert resolved.incident.resolved_at == at(95)
    assert resolved.note == "verification held for 15m (runbook 2.4)"
    final = run.latest[incident_id]
    assert final.severity is Severity.P1
    assert final.peak_error_ratio == 0.6
    assert [line.to_state for line in final.timeline] == [
        State.DETECTED, State.MONITORING, State.RESOLVED,
    ]  # fmt: skip


def test_a_relapse_while_monitoring_reopens_mitigation_not_a_new_incident() -> None:
    run = Run()
    run.step(errors(0, 0.9))
    run.replay(errors(m, 0.0005) for m in range(1, 10))
    assert run.open[Cause.ERRORS].state is State.MONITORING
    events = run.step(errors(10, 0.9))
    assert [(e.kind, e.incident.state) for e in events] == [(EventKind.UPDATED, State.MITIGATING)]
    assert events[0].note == "indicator back above its threshold"
    run.replay(errors(m, 0.0005) for m in range(11, 40))
    assert len(run.kinds(EventKind.DECLARED)) == 1
    (resolved,) = run.kinds(EventKind.RESOLVED)
    assert resolved.at == at(26)  # monitoring again from 11, 15 minutes later


def test_after_resolution_a_new_outage_is_a_new_incident() -> None:
    run = Run()
    run.step(errors(0, 0.9))
    run.replay(errors(m, 0.0005) for m in range(1, 20))
    assert run.open == {}
    run.step(errors(20, 0.9))
    declared = run.kinds(EventKind.DECLARED)
    assert [e.incident.id for e in declared] == ["INC-0001", "INC-0002"]


# --- missing data ----------------------------------------------------------------------------


def test_missing_data_declares_nothing() -> None:
    run = Run()
    run.replay(Signals(at(m)) for m in range(120))
    assert run.events == []
    assert run.held == {}


def test_missing_data_between_outage_readings_keeps_one_incident() -> None:
    run = Run()
    run.replay(errors(m, 0.9) if m % 2 == 0 else Signals(at(m)) for m in range(10))
    assert len(run.kinds(EventKind.DECLARED)) == 1
    assert run.open[Cause.ERRORS].state is State.DETECTED


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param((), id="detected"),
        pytest.param(((State.ACKNOWLEDGED, "alice"),), id="acknowledged"),
        pytest.param(((State.MITIGATING, "alice"),), id="mitigating"),
        pytest.param(((State.MITIGATING, "alice"), (State.MONITORING, SLOCTL)), id="monitoring"),
    ],
)
def test_missing_data_resolves_nothing(steps: tuple[tuple[State, str], ...]) -> None:
    incident = outage_incident()
    for minute, (state, actor) in enumerate(steps, start=1):
        incident = move(incident, state, at(minute), actor=actor)
    state = incident.state
    run = Run()
    run.open[Cause.ERRORS] = incident
    run.replay(Signals(at(m)) for m in range(4, 59))  # within the 1-hour resolution target
    kinds = {e.kind for e in run.events}
    assert EventKind.DECLARED not in kinds
    assert EventKind.RESOLVED not in kinds
    assert EventKind.UPDATED not in kinds
    assert run.open[Cause.ERRORS].state is state
    assert run.open[Cause.ERRORS].timeline == incident.timeline


# --- missed targets --------------------------------------------------------------------------


def test_a_missed_response_target_is_escalated_once() -> None:
    run = Run()
    run.replay(errors(m, 0.9) for m in range(30))
    (escalated,) = run.kinds(EventKind.ESCALATED)
    assert escalated.at == at(6)  # P1: acknowledged within 5 minutes
    assert escalated.escalate_to == P1_TARGETS
    assert escalated.note == "not acknowledged within the P1 response target"
    assert escalated.incident.ack_breached
    assert run.open[Cause.ERRORS].ack_breached


def test_no_response_escalation_when_acknowledged_in_time() -> None:
    run = Run()
    run.replay(errors(m, 0.9) for m in range(4))
    acknowledged = move(run.open[Cause.ERRORS], State.ACKNOWLEDGED, at(4), actor="alice")
    run.open[Cause.ERRORS] = acknowledged
    run.replay(errors(m, 0.9) for m in range(4, 30))
    assert run.kinds(EventKind.ESCALATED) == []


def test_a_p3_response_breach_goes_to_on_call() -> None:
    run = Run()
    run.replay(errors(m, 0.05, burning=True) for m in range(0, 70))
    (escalated,) = run.kinds(EventKind.ESCALATED)
    assert escalated.at == at(61)
    assert escalated.escalate_to == ("on-call",)
    assert escalated.note == "not acknowledged within the P3 response target"


def test_a_missed_resolution_target_is_escalated_once() -> None:
    run = Run()
    run.step(errors(0, 0.9))
    run.open[Cause.ERRORS] = move(run.open[Cause.ERRORS], State.ACKNOWLEDGED, at(1), actor="alice")
    run.replay(errors(m, 0.9) for m in range(1, 120))
    (escalated,) = run.kinds(EventKind.ESCALATED)
    assert escalated.at == at(61)
    assert escalated.note == "not resolved within the P1 resolution target"
    assert escalated.escalate_to == P1_TARGETS


# --- P4 and ids ------------------------------------------------------------------------------


def test_p4_never_comes_from_the_engine() -> None:
    seen: set[Severity] = set()
    for ratio in (0.0, 0.0005, 0.05, 0.2, 0.6):
        for p95 in (0.1, 0.3, 0.9):
            for burning in (False, True):
                run = Run()
                run.replay(
                    Signals(
                        at(m), error_ratio=ratio, p95_seconds=p95, latency_threshold=WEB,
                        burning=burning, latency_burning=burning,
                    )
                    for m in range(0, 90, 3)
                )  # fmt: skip
                for incident in run.latest.values():
                    seen.add(incident.severity)
                    seen.update(line.severity for line in incident.timeline)
                seen.update(e.incident.severity for e in run.events)
    assert Severity.P4 not in seen
    assert seen == {Severity.P1, Severity.P2, Severity.P3}  # the grid did reach the others


def test_ids_come_from_the_new_id_callable() -> None:
    issued = iter(["first-id", "second-id", "third-id"])
    run = Run(new_id=lambda: next(issued))
    run.step(Signals(at(0), error_ratio=0.9, p95_seconds=0.3, latency_threshold=WEB,
                     latency_burning=True))  # fmt: skip
    assert sorted(run.latest) == ["first-id", "second-id"]
    assert run.open[Cause.ERRORS].id == "first-id"
    assert run.open[Cause.LATENCY].id == "second-id"
    run.replay(errors(m, 0.9) for m in range(1, 10))  # escalations and breaches keep the id
    assert {e.incident.id for e in run.events} == {"first-id", "second-id"}


def test_per_service_policy_is_used() -> None:
    strict = Thresholds(stable_for=timedelta(minutes=5))
    run = Run(policy=Policy(services={"api": strict}))
    run.step(errors(0, 0.9))
    run.replay(errors(m, 0.0005) for m in range(1, 20))
    (resolved,) = run.kinds(EventKind.RESOLVED)
    assert resolved.at == at(6)
    assert resolved.note == "verification held for 5m (runbook 2.4)"


def test_a_declared_by_hand_incident_is_not_closed_by_healthy_metrics() -> None:
    manual = declare(
        "INC-0009", "api", Finding(Cause.ERRORS, Severity.P1, "double charging"), T0,
        actor="bob", manual=True,
    )  # fmt: skip
    held: Held = {}
    current = manual
    for minute in range(1, 60):
        signals = Signals(T0 + timedelta(minutes=minute), error_ratio=0.0001)
        held, changed, _ = decide(
            Policy(), "api", signals, held, {Cause.ERRORS: current}, lambda: "X"
        )
        current = changed[-1] if changed else current
    assert current.open
    assert current.state is State.DETECTED

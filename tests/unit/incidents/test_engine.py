"""The decision engine: one evaluation of every service's signals, and runs of them over time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sloctl.core.severity import Severity
from sloctl.incidents.engine import Decision, Tracked, decide, dependency_order, reading
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import SLOCTL, Incident, State, declare, move
from sloctl.incidents.policy import (
    Cause,
    Condition,
    Finding,
    Held,
    Policy,
    ServiceSignals,
    Thresholds,
)

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
    tracked: dict[str, Tracked] = field(default_factory=dict)
    open: dict[str, Incident] = field(default_factory=dict)
    latest: dict[str, Incident] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    depends_on: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def held(self) -> Held:
        return self.tracked.get(self.service, Tracked()).held

    def step(self, signals: ServiceSignals) -> list[Event]:
        return self.step_all({self.service: signals})

    def step_all(self, signals: dict[str, ServiceSignals]) -> list[Event]:
        outcome = decide(
            self.policy,
            signals,
            self.tracked,
            list(self.open.values()),
            self.new_id,
            self.depends_on,
        )
        self.tracked.update(outcome.tracked)
        for incident in outcome.changed:
            self.latest[incident.id] = incident
            if incident.open:
                self.open[incident.id] = incident
            else:
                self.open.pop(incident.id, None)
        self.events.extend(outcome.events)
        return outcome.events

    def replay(self, signals: Iterable[ServiceSignals]) -> list[Event]:
        return [event for one in signals for event in self.step(one)]

    def only(self) -> Incident:
        (incident,) = self.open.values()
        return incident

    def kinds(self, kind: EventKind) -> list[Event]:
        return [event for event in self.events if event.kind is kind]


def one_step(
    signals: ServiceSignals,
    held: Held | None = None,
    opened: Iterable[Incident] = (),
    new_id: Callable[[], str] | None = None,
    service: str = "api",
) -> Decision:
    return decide(
        POLICY,
        {service: signals},
        {service: Tracked(held or {})},
        list(opened),
        new_id or Ids(),
    )


def errors(minute: float, ratio: float, *, burning: bool = False) -> ServiceSignals:
    return ServiceSignals(at(minute), error_ratio=ratio, burning=burning)


def latency(minute: float, p95: float) -> ServiceSignals:
    return ServiceSignals(at(minute), p95_seconds=p95, latency_threshold=WEB)


def outage_incident(detected: int = 0, severity: Severity = Severity.P1) -> Incident:
    finding = Finding(Cause.ERRORS, severity, "outage")
    return declare("INC-0100", "api", finding, at(detected), error_ratio=0.6)


# --- declaring -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signals", "held", "cause", "severity", "targets"),
    [
        pytest.param(errors(0, 0.6), {}, Cause.ERRORS, Severity.P1, P1_TARGETS, id="outage-P1"),
        pytest.param(
            errors(31, 0.2),
            {Condition.MAJOR_ERRORS: at(0)},
            Cause.ERRORS,
            Severity.P2,
            P2_TARGETS,
            id="major-errors-P2",
        ),
        pytest.param(
            errors(0, 0.05, burning=True), {}, Cause.ERRORS, Severity.P3, (), id="budget-burn-P3"
        ),
        pytest.param(
            latency(5, 0.8),
            {Condition.SEVERE_LATENCY: at(0), Condition.DEGRADED_LATENCY: at(0)},
            Cause.LATENCY,
            Severity.P2,
            P2_TARGETS,
            id="severe-latency-P2",
        ),
        pytest.param(
            latency(5, 0.3),
            {Condition.DEGRADED_LATENCY: at(0)},
            Cause.LATENCY,
            Severity.P3,
            (),
            id="degraded-latency-P3",
        ),
    ],
)
def test_a_new_finding_declares_an_incident(
    signals: ServiceSignals, held: Held, cause: Cause, severity: Severity, targets: tuple[str, ...]
) -> None:
    new_id = Ids(prefix="X-", start=7)
    outcome = one_step(signals, held, new_id=new_id, service="checkout")
    changed, events = outcome.changed, outcome.events
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
    held = one_step(errors(0, 0.6)).tracked["api"].held
    assert held == {Condition.OUTAGE: at(0), Condition.MAJOR_ERRORS: at(0)}
    held = one_step(errors(1, 0.4), held).tracked["api"].held
    assert held == {Condition.MAJOR_ERRORS: at(0)}


def test_nothing_to_report_when_all_is_well() -> None:
    run = Run()
    run.replay(
        ServiceSignals(at(m), error_ratio=0.0002, p95_seconds=0.1, latency_threshold=WEB)
        for m in range(120)
    )
    assert run.events == []
    assert run.latest == {}


def test_errors_and_latency_at_once_are_one_incident_with_two_causes() -> None:
    signals = ServiceSignals(at(10), error_ratio=0.6, p95_seconds=0.8, latency_threshold=WEB)
    held: Held = {Condition.SEVERE_LATENCY: at(0), Condition.DEGRADED_LATENCY: at(0)}
    new_id = Ids()
    outcome = one_step(signals, held, new_id=new_id)
    (incident,) = outcome.changed
    assert new_id.calls == 1
    assert (incident.cause, incident.severity) == (Cause.ERRORS, Severity.P1)
    assert incident.causes == (Cause.ERRORS, Cause.LATENCY)
    assert [(e.kind, e.incident.id) for e in outcome.events] == [
        (EventKind.DECLARED, "INC-0001"),  # one page, not one per symptom
    ]
    assert [line.note for line in incident.timeline][1].startswith("api latency joined: p95")


def test_a_later_symptom_joins_the_open_incident_and_may_raise_it() -> None:
    run = Run()
    run.replay(errors(m, 0.05, burning=True) for m in range(30))
    assert run.only().severity is Severity.P3
    run.replay(
        ServiceSignals(
            at(m), error_ratio=0.05, burning=True, p95_seconds=0.8, latency_threshold=WEB
        )
        for m in range(30, 40)
    )
    assert len(run.kinds(EventKind.DECLARED)) == 1
    incident = run.only()
    assert incident.causes == (Cause.ERRORS, Cause.LATENCY)
    assert incident.severity is Severity.P2
    joined = [e for e in run.kinds(EventKind.UPDATED) if "joined" in e.note]
    assert [(e.at, e.note.split(":")[0]) for e in joined] == [(at(35), "api latency joined")]
    (raised,) = [e for e in run.kinds(EventKind.ESCALATED) if e.note.startswith("p95")]
    assert raised.at == at(35)
    assert raised.escalate_to == P2_TARGETS
    assert incident.timeline[-1].readings[0].p95_seconds == 0.8


def test_an_open_incident_is_not_declared_again() -> None:
    incident = outage_incident()
    new_id = Ids()
    outcome = one_step(errors(1, 0.9), {Condition.OUTAGE: at(0)}, [incident], new_id)
    assert new_id.calls == 0
    assert outcome.events == []
    (updated,) = outcome.changed
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
    assert run.only().severity is Severity.P1


def test_errors_escalate_p3_p2_p1_in_one_incident() -> None:
    run = Run()
    run.replay(errors(m, 0.2, burning=True) for m in range(0, 31))
    run.replay(errors(m, 0.8) for m in range(31, 33))
    escalated = [e for e in run.kinds(EventKind.ESCALATED) if e.note.startswith("error ratio")]
    assert [(e.at, e.incident.severity, e.escalate_to) for e in escalated] == [
        (at(30), Severity.P2, P2_TARGETS),
        (at(31), Severity.P1, P1_TARGETS),
    ]
    assert len(run.kinds(EventKind.DECLARED)) == 1


def test_a_lower_finding_does_not_lower_an_incident() -> None:
    run = Run()
    run.step(errors(0, 0.9))
    run.replay(errors(m, 0.05, burning=True) for m in range(1, 4))
    assert run.only().severity is Severity.P1
    assert [e.kind for e in run.events] == [EventKind.DECLARED]


# --- hysteresis ------------------------------------------------------------------------------


def test_a_signal_flapping_around_p1_is_one_incident() -> None:
    run = Run()
    flapping = [errors(m, 0.6 if m % 2 == 0 else 0.4) for m in range(60)]
    still_bad = [errors(m, 0.005) for m in range(60, 80)]  # below 10 %, above 0.1 %
    recovered = [errors(m, 0.0005) for m in range(80, 120)]
    for signals in flapping + still_bad:
        run.step(signals)
        assert run.only().state is State.DETECTED, signals.at
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
        State.DETECTED,
        State.MONITORING,
        State.RESOLVED,
    ]


def test_a_relapse_while_monitoring_reopens_mitigation_not_a_new_incident() -> None:
    run = Run()
    run.step(errors(0, 0.9))
    run.replay(errors(m, 0.0005) for m in range(1, 10))
    assert run.only().state is State.MONITORING
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
    run.replay(ServiceSignals(at(m)) for m in range(120))
    assert run.events == []
    assert run.held == {}


def test_missing_data_between_outage_readings_keeps_one_incident() -> None:
    run = Run()
    run.replay(errors(m, 0.9) if m % 2 == 0 else ServiceSignals(at(m)) for m in range(10))
    assert len(run.kinds(EventKind.DECLARED)) == 1
    assert run.only().state is State.DETECTED


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
    run.open[incident.id] = incident
    run.replay(ServiceSignals(at(m)) for m in range(4, 59))  # within the 1-hour resolution target
    kinds = {e.kind for e in run.events}
    assert EventKind.DECLARED not in kinds
    assert EventKind.RESOLVED not in kinds
    assert EventKind.UPDATED not in kinds
    assert run.only().state is state
    assert run.only().timeline == incident.timeline


# --- missed targets --------------------------------------------------------------------------


def test_a_missed_response_target_is_escalated_once() -> None:
    run = Run()
    run.replay(errors(m, 0.9) for m in range(30))
    (escalated,) = run.kinds(EventKind.ESCALATED)
    assert escalated.at == at(6)  # P1: acknowledged within 5 minutes
    assert escalated.escalate_to == P1_TARGETS
    assert escalated.note == "not acknowledged within the P1 response target"
    assert escalated.incident.ack_breached
    assert run.only().ack_breached


def test_no_response_escalation_when_acknowledged_in_time() -> None:
    run = Run()
    run.replay(errors(m, 0.9) for m in range(4))
    acknowledged = move(run.only(), State.ACKNOWLEDGED, at(4), actor="alice")
    run.open[acknowledged.id] = acknowledged
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
    acknowledged = move(run.only(), State.ACKNOWLEDGED, at(1), actor="alice")
    run.open[acknowledged.id] = acknowledged
    run.replay(errors(m, 0.9) for m in range(1, 120))
    (escalated,) = run.kinds(EventKind.ESCALATED)
    assert escalated.at == at(61)
    assert escalated.note == "not restored within the P1 resolution target"
    assert escalated.escalate_to == P1_TARGETS


# --- P4 and ids ------------------------------------------------------------------------------


def test_p4_never_comes_from_the_engine() -> None:
    seen: set[Severity] = set()
    for ratio in (0.0, 0.0005, 0.05, 0.2, 0.6):
        for p95 in (0.1, 0.3, 0.9):
            for burning in (False, True):
                run = Run()
                run.replay(
                    ServiceSignals(
                        at(m),
                        error_ratio=ratio,
                        p95_seconds=p95,
                        latency_threshold=WEB,
                        burning=burning,
                        latency_burning=burning,
                    )
                    for m in range(0, 90, 3)
                )
                for incident in run.latest.values():
                    seen.add(incident.severity)
                    seen.update(line.severity for line in incident.timeline)
                seen.update(e.incident.severity for e in run.events)
    assert Severity.P4 not in seen
    assert seen == {Severity.P1, Severity.P2, Severity.P3}  # the grid did reach the others


def test_ids_come_from_the_new_id_callable() -> None:
    issued = iter(["first-id", "second-id", "third-id"])
    run = Run(new_id=lambda: next(issued))
    run.step(
        ServiceSignals(
            at(0), error_ratio=0.9, p95_seconds=0.3, latency_threshold=WEB, latency_burning=True
        )
    )
    assert sorted(run.latest) == ["first-id"]
    assert run.only().causes == (Cause.ERRORS, Cause.LATENCY)
    run.replay(errors(m, 0.9) for m in range(1, 10))  # escalations and breaches keep the id
    assert {e.incident.id for e in run.events} == {"first-id"}


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
        "INC-0009",
        "api",
        Finding(Cause.ERRORS, Severity.P1, "double charging"),
        T0,
        actor="bob",
        manual=True,
    )
    run = Run()
    run.open[manual.id] = manual
    run.replay(ServiceSignals(T0 + timedelta(minutes=m), error_ratio=0.0001) for m in range(1, 60))
    assert run.only().state is State.DETECTED


def test_a_data_loss_declared_by_hand_stays_its_own() -> None:
    loss = declare(
        "INC-0009",
        "api",
        Finding(Cause.DATA_LOSS, Severity.P1, "rows lost"),
        T0,
        actor="bob",
        manual=True,
    )
    run = Run()
    run.open[loss.id] = loss
    run.replay(errors(m, 0.9) for m in range(1, 5))
    assert sorted(run.open) == ["INC-0001", "INC-0009"]
    assert run.open["INC-0009"] == loss
    assert run.open["INC-0001"].causes == (Cause.ERRORS,)


# --- verification on current signals, and the times -----------------------------------------


def test_a_lagging_burn_rate_neither_holds_verification_nor_declares_again() -> None:
    """A 20-minute outage: the 6 h / 30 min pair keeps firing half an hour after it ended, but
    the current signals verify, so the incident resolves 15 minutes after recovery and the
    lagging pair declares nothing."""
    run = Run()
    run.replay(errors(m, 0.6, burning=True) for m in range(20))
    run.replay(errors(m, 0.0002, burning=m < 50) for m in range(20, 90))
    assert [e.incident.id for e in run.kinds(EventKind.DECLARED)] == ["INC-0001"]
    (resolved,) = run.kinds(EventKind.RESOLVED)
    assert resolved.at == at(35)
    incident = resolved.incident
    assert (incident.impact_started_at, incident.impact_ended_at) == (at(0), at(19))
    assert incident.restored_at == at(20)
    assert incident.time_to_restore == timedelta(minutes=20)
    assert incident.resolution_met


def test_impact_starts_at_the_first_bad_reading_before_the_declaration() -> None:
    run = Run()
    run.replay(errors(m, 0.2) for m in range(45))  # major errors: P2 after 30 minutes
    run.replay(errors(m, 0.0002) for m in range(45, 70))
    (declared,) = run.kinds(EventKind.DECLARED)
    assert declared.at == at(30)
    incident = run.latest[declared.incident.id]
    assert incident.impact_started_at == at(0)
    assert incident.time_to_detect == timedelta(minutes=30)
    assert incident.impact == timedelta(minutes=44)
    assert incident.declared_at == at(30)
    assert incident.timeline[0].readings[0].error_ratio == 0.2


def test_the_resolution_target_is_judged_at_restoration() -> None:
    run = Run()
    run.replay(errors(m, 0.9) for m in range(55))
    run.replay(errors(m, 0.0002) for m in range(55, 80))  # resolved at 70, past the 1 hour
    (resolved,) = run.kinds(EventKind.RESOLVED)
    assert resolved.at == at(70)
    assert resolved.incident.restored_at == at(55)
    assert resolved.incident.resolution_met
    assert not [e for e in run.kinds(EventKind.ESCALATED) if "resolution" in e.note]


# --- dependencies ----------------------------------------------------------------------------


def service_errors(minute: float, **ratios: float) -> dict[str, ServiceSignals]:
    return {name.replace("_", "-"): errors(minute, ratio) for name, ratio in ratios.items()}


DEPENDS: dict[str, tuple[str, ...]] = {
    "api": ("database",),
    "auth": ("database",),
    "ai-worker": ("api",),
}


def test_a_dependency_outage_is_one_incident_for_every_service_it_hurts() -> None:
    run = Run(depends_on=DEPENDS)
    run.step_all(service_errors(0, database=1.0, api=0.6, auth=0.0002))
    run.step_all(service_errors(1, database=1.0, api=0.6, auth=0.6))
    (declared,) = run.kinds(EventKind.DECLARED)
    assert declared.incident.service == "database"
    incident = run.only()
    assert incident.services == ("database", "api", "auth")
    (joined,) = run.kinds(EventKind.UPDATED)  # auth joined a step later: an update, no page
    assert joined.note.startswith("auth affected (errors): error ratio above 50%")
    run.step_all(service_errors(2, database=0.0, api=0.6, auth=0.0))
    assert run.only().state is State.DETECTED  # api is not verified yet
    for minute in range(3, 30):
        run.step_all(service_errors(minute, database=0.0, api=0.0002, auth=0.0))
    (resolved,) = run.kinds(EventKind.RESOLVED)
    assert resolved.at == at(18)
    assert resolved.incident.timeline[-1].readings == tuple(
        reading(name, errors(18, ratio))
        for name, ratio in (("database", 0.0), ("api", 0.0002), ("auth", 0.0))
    )


def test_dependents_join_through_a_chain_and_a_missing_reading_holds_verification() -> None:
    run = Run(depends_on=DEPENDS)
    run.step_all(service_errors(0, database=1.0, api=0.6, ai_worker=0.6))
    assert run.only().services == ("database", "api", "ai-worker")
    for minute in range(1, 45):
        signals = service_errors(minute, database=0.0, api=0.0)
        if minute > 25:
            signals["ai-worker"] = errors(minute, 0.0)
        run.step_all(signals)
    (resolved,) = run.kinds(EventKind.RESOLVED)
    assert resolved.incident.restored_at == at(26)  # ai-worker is read again from 26 on
    assert resolved.at == at(41)


def test_a_dependent_with_trouble_of_its_own_pages_alone() -> None:
    run = Run(depends_on=DEPENDS)
    run.step_all(service_errors(0, database=0.0, api=0.6))
    assert [(e.incident.service, e.incident.services) for e in run.events] == [("api", ("api",))]


def test_services_are_judged_dependencies_first() -> None:
    assert dependency_order(["api", "auth", "database", "ai-worker"], DEPENDS) == [
        "database",
        "api",
        "ai-worker",
        "auth",
    ]
    assert dependency_order(["api"], DEPENDS) == ["api"]


def test_an_incident_is_verified_on_its_own_symptoms() -> None:
    """A latency incident ends when latency is back, though a quiet hour's error ratio wobbles
    around 0.1 %: that is not this incident's trouble (and too little to be one of its own)."""
    run = Run()
    run.replay(
        ServiceSignals(at(m), error_ratio=0.0002, p95_seconds=0.8, latency_threshold=WEB)
        for m in range(30)
    )
    run.replay(
        ServiceSignals(
            at(m), error_ratio=0.0015 if m % 3 else 0.0, p95_seconds=0.1, latency_threshold=WEB
        )
        for m in range(30, 60)
    )
    (resolved,) = run.kinds(EventKind.RESOLVED)
    assert resolved.at == at(45)
    assert resolved.incident.causes == (Cause.LATENCY,)
    assert resolved.incident.impact_ended_at == at(29)
    assert run.tracked["api"].bad_since == {Cause.ERRORS: at(58)}


def test_a_dependent_raising_a_new_incident_at_once_is_still_one_page() -> None:
    run = Run(depends_on=DEPENDS)
    signals = {"database": errors(0, 0.05, burning=True), "api": errors(0, 0.9)}
    events = run.step_all(signals)
    assert [(e.kind, e.incident.severity, e.escalate_to) for e in events] == [
        (EventKind.DECLARED, Severity.P1, P1_TARGETS)
    ]
    assert events[0].incident.services == ("database", "api")

"""The incident lifecycle of runbook section 2: transitions, targets (1.2), escalation, 2.4."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sloctl.core.durations import format_duration
from sloctl.core.severity import Severity
from sloctl.errors import InvalidRequestError, TransitionError
from sloctl.incidents.lifecycle import (
    SLOCTL,
    Breach,
    Incident,
    State,
    acknowledge,
    check_targets,
    declare,
    escalate,
    escalation_targets,
    follow,
    move,
    observe,
)
from sloctl.incidents.policy import Cause, Finding, Thresholds

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
RUNBOOK = Thresholds()
REASON = "error ratio above 50% (complete service outage, runbook 2.2 / 7.1)"

D = State.DETECTED
A = State.ACKNOWLEDGED
MI = State.MITIGATING
MO = State.MONITORING
R = State.RESOLVED

# The lifecycle of runbook section 2, written out by hand rather than read from the module:
# detected -> acknowledged -> mitigating -> monitoring -> resolved, steps may be skipped
# forwards, and monitoring may relapse to mitigating.
ALLOWED_STEPS = {
    (D, A),
    (D, MI),
    (D, MO),
    (D, R),
    (A, MI),
    (A, MO),
    (A, R),
    (MI, MO),
    (MI, R),
    (MO, MI),
    (MO, R),
}
ALL_STEPS = [(before, after) for before in State for after in State]
REFUSED_STEPS = [step for step in ALL_STEPS if step not in ALLOWED_STEPS]

# How to get from detected to each state (by sloctl, so nobody has acknowledged anything).
PATH_TO: dict[State, tuple[State, ...]] = {D: (), A: (A,), MI: (MI,), MO: (MO,), R: (R,)}


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def finding(
    severity: Severity = Severity.P1, cause: Cause = Cause.ERRORS, reason: str = REASON
) -> Finding:
    return Finding(cause, severity, reason)


def fresh(severity: Severity = Severity.P1, cause: Cause = Cause.ERRORS) -> Incident:
    return declare("INC-0001", "api", finding(severity, cause), T0)


def in_state(state: State, severity: Severity = Severity.P1, actor: str = SLOCTL) -> Incident:
    incident = fresh(severity)
    for step, target in enumerate(PATH_TO[state], start=1):
        incident = move(incident, target, at(step), actor=actor)
    assert incident.state is state
    return incident


def step_id(step: tuple[State, State]) -> str:
    return f"{step[0].value}->{step[1].value}"


# --- declaring -------------------------------------------------------------------------------


def test_declare_opens_a_detected_incident_with_one_timeline_line() -> None:
    incident = declare(
        "INC-0009",
        "checkout",
        finding(Severity.P2, Cause.LATENCY, "slow"),
        T0,
        error_ratio=0.02,
        p95_seconds=0.8,
    )
    assert incident.id == "INC-0009"
    assert incident.service == "checkout"
    assert incident.cause is Cause.LATENCY
    assert incident.severity is Severity.P2
    assert incident.state is State.DETECTED
    assert incident.open
    assert incident.detected_at == T0
    assert incident.summary == "slow"
    assert incident.acknowledged_at is None
    assert incident.resolved_at is None
    assert incident.peak_error_ratio == 0.02
    assert incident.peak_p95_seconds == 0.8
    assert not incident.manual
    (line,) = incident.timeline
    assert (line.at, line.from_state, line.to_state) == (T0, None, State.DETECTED)
    assert (line.actor, line.note, line.severity) == (SLOCTL, "slow", Severity.P2)


def test_a_person_declaring_is_on_the_timeline_and_marked_manual() -> None:
    incident = declare("INC-0002", "api", finding(), T0, actor="alice", manual=True)
    assert incident.manual
    assert incident.timeline[0].actor == "alice"


# --- transitions -----------------------------------------------------------------------------


def test_the_hand_written_lifecycle_has_every_pair_of_states() -> None:
    assert len(ALL_STEPS) == 25
    assert len(ALLOWED_STEPS) == 11
    assert len(REFUSED_STEPS) == 14


@pytest.mark.parametrize("step", sorted(ALLOWED_STEPS), ids=step_id)
def test_every_allowed_transition(step: tuple[State, State]) -> None:
    before, after = step
    incident = in_state(before)
    moved = move(incident, after, at(30), actor="alice", note="did something")
    assert moved.state is after
    assert moved.open is (after is not State.RESOLVED)
    assert moved.timeline[:-1] == incident.timeline
    line = moved.timeline[-1]
    assert (line.at, line.from_state, line.to_state) == (at(30), before, after)
    assert (line.actor, line.note, line.severity) == ("alice", "did something", Severity.P1)
    assert incident.state is before  # the original value is untouched


@pytest.mark.parametrize("step", REFUSED_STEPS, ids=step_id)
def test_every_refused_transition(step: tuple[State, State]) -> None:
    before, after = step
    incident = in_state(before)
    with pytest.raises(TransitionError, match=f"INC-0001 is {before.value}") as raised:
        move(incident, after, at(30), actor="alice")
    assert isinstance(raised.value, InvalidRequestError)
    assert after.value in str(raised.value)


def test_resolving_twice_is_refused() -> None:
    resolved = move(fresh(), State.RESOLVED, at(20), actor="alice")
    with pytest.raises(InvalidRequestError):
        move(resolved, State.RESOLVED, at(21), actor="alice")


@pytest.mark.parametrize(
    ("steps", "acknowledged"),
    [
        pytest.param([(A, 3, "alice")], 3, id="ack-by-a-person"),
        pytest.param([(A, 3, SLOCTL)], 3, id="ack-is-an-ack-whoever-records-it"),
        pytest.param([(MI, 4, "alice")], 4, id="first-step-by-a-person-is-mitigating"),
        pytest.param([(R, 9, "alice")], 9, id="first-step-by-a-person-is-resolving"),
        pytest.param([(MO, 2, SLOCTL)], None, id="sloctl-monitoring-is-no-ack"),
        pytest.param([(MO, 2, SLOCTL), (R, 20, SLOCTL)], None, id="sloctl-all-the-way"),
        pytest.param([(MO, 2, SLOCTL), (MI, 6, "bob")], 6, id="person-after-sloctl-steps"),
        pytest.param([(A, 3, "alice"), (MI, 7, "bob")], 3, id="later-steps-keep-the-ack"),
        pytest.param([(MI, 4, "alice"), (MO, 9, "bob")], 4, id="later-person-keeps-first"),
    ],
)
def test_acknowledged_at(steps: list[tuple[State, int, str]], acknowledged: int | None) -> None:
    incident = fresh()
    for state, minute, actor in steps:
        incident = move(incident, state, at(minute), actor=actor)
    assert incident.acknowledged_at == (None if acknowledged is None else at(acknowledged))


@pytest.mark.parametrize("actor", [SLOCTL, "alice"])
@pytest.mark.parametrize("before", [D, A, MI, MO])
def test_resolved_at_is_set_when_resolving(before: State, actor: str) -> None:
    incident = in_state(before)
    assert incident.resolved_at is None
    resolved = move(incident, State.RESOLVED, at(50), actor=actor)
    assert resolved.resolved_at == at(50)
    assert not resolved.open


def test_the_timeline_grows_by_one_line_per_transition() -> None:
    incident = fresh(Severity.P2)
    steps = [
        (A, 3, "alice", "looking"),
        (MI, 8, "alice", "rolled back deploy 42"),
        (MO, 20, SLOCTL, "errors below 0.1%"),
        (MI, 25, SLOCTL, "relapse"),
        (MO, 40, "bob", ""),
        (R, 55, "bob", "stable"),
    ]
    previous = D
    for count, (state, minute, actor, note) in enumerate(steps, start=2):
        incident = move(incident, state, at(minute), actor=actor, note=note)
        assert len(incident.timeline) == count
        line = incident.timeline[-1]
        assert (line.at, line.from_state, line.to_state) == (at(minute), previous, state)
        assert (line.actor, line.note, line.severity) == (actor, note, Severity.P2)
        previous = state
    assert [line.to_state for line in incident.timeline] == [D, A, MI, MO, MI, MO, R]


def test_timeline_lines_carry_the_severity_at_the_time() -> None:
    incident = fresh(Severity.P3)
    incident = move(incident, State.ACKNOWLEDGED, at(2), actor="alice")
    incident = escalate(incident, finding(Severity.P1), at(5))
    incident = move(incident, State.MITIGATING, at(6), actor="alice")
    assert [line.severity for line in incident.timeline] == [
        Severity.P3,
        Severity.P3,
        Severity.P1,
        Severity.P1,
    ]


# --- targets (runbook 1.2 and 2.5) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "response", "resolution"),
    [
        pytest.param(Severity.P1, timedelta(minutes=5), timedelta(hours=1), id="P1"),
        pytest.param(Severity.P2, timedelta(minutes=15), timedelta(hours=4), id="P2"),
        pytest.param(Severity.P3, timedelta(hours=1), timedelta(hours=24), id="P3"),
        pytest.param(Severity.P4, timedelta(hours=8), timedelta(days=7), id="P4"),
    ],
)
def test_ack_and_resolution_due_follow_the_runbook(
    severity: Severity, response: timedelta, resolution: timedelta
) -> None:
    incident = fresh(severity)
    assert incident.ack_due == T0 + response
    assert incident.resolution_due == T0 + resolution


@pytest.mark.parametrize(
    ("severity", "due"),
    [
        pytest.param(Severity.P1, at(50) + timedelta(hours=72), id="P1-72h"),
        pytest.param(Severity.P2, at(50) + timedelta(hours=72), id="P2-72h"),
        pytest.param(Severity.P3, None, id="P3-none"),
        pytest.param(Severity.P4, None, id="P4-none"),
    ],
)
def test_postmortem_due_72_hours_after_resolution(severity: Severity, due: datetime | None) -> None:
    incident = fresh(severity)
    assert incident.postmortem_due is None  # not before it is resolved
    mitigating = move(incident, State.MITIGATING, at(10), actor="alice")
    assert mitigating.postmortem_due is None
    resolved = move(mitigating, State.RESOLVED, at(50), actor="alice")
    assert resolved.postmortem_due == due


def test_postmortem_due_follows_an_escalation_to_p2() -> None:
    incident = escalate(fresh(Severity.P3), finding(Severity.P2), at(5))
    resolved = move(incident, State.RESOLVED, at(50), actor="alice")
    assert resolved.postmortem_due == at(50) + timedelta(hours=72)


# --- escalation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "found", "expected"),
    [
        pytest.param(Severity.P3, Severity.P2, Severity.P2, id="P3-to-P2"),
        pytest.param(Severity.P2, Severity.P1, Severity.P1, id="P2-to-P1"),
        pytest.param(Severity.P3, Severity.P1, Severity.P1, id="P3-to-P1"),
        pytest.param(Severity.P4, Severity.P3, Severity.P3, id="P4-to-P3"),
        pytest.param(Severity.P1, Severity.P3, Severity.P1, id="P3-finding-on-P1-is-nothing"),
        pytest.param(Severity.P1, Severity.P2, Severity.P1, id="P2-finding-on-P1-is-nothing"),
        pytest.param(Severity.P2, Severity.P3, Severity.P2, id="P3-finding-on-P2-is-nothing"),
        pytest.param(Severity.P2, Severity.P2, Severity.P2, id="same-severity-is-nothing"),
    ],
)
def test_escalate_raises_and_never_lowers(
    current: Severity, found: Severity, expected: Severity
) -> None:
    incident = move(fresh(current), State.ACKNOWLEDGED, at(1), actor="alice")
    raised = escalate(incident, finding(found, reason="worse now"), at(7))
    assert raised.severity is expected
    if expected is current:
        assert raised == incident
        return
    assert raised.state is incident.state
    assert raised.summary == "worse now"
    assert raised.timeline[:-1] == incident.timeline
    line = raised.timeline[-1]
    assert (line.at, line.from_state, line.to_state) == (at(7), A, A)
    assert (line.actor, line.severity) == (SLOCTL, expected)
    assert line.note == f"escalated from {current.value} to {expected.value}: worse now"


def test_escalating_step_by_step_p3_p2_p1() -> None:
    incident = fresh(Severity.P3)
    incident = escalate(incident, finding(Severity.P2), at(10))
    incident = escalate(incident, finding(Severity.P1), at(20))
    incident = escalate(incident, finding(Severity.P3), at(30))
    assert incident.severity is Severity.P1
    assert len(incident.timeline) == 3


@pytest.mark.parametrize(
    ("severity", "targets"),
    [
        pytest.param(Severity.P1, ("everyone", "leadership"), id="P1-all-hands-and-leadership"),
        pytest.param(Severity.P2, ("team lead", "stakeholders"), id="P2-lead-and-stakeholders"),
        pytest.param(Severity.P3, (), id="P3-nobody"),
        pytest.param(Severity.P4, (), id="P4-nobody"),
    ],
)
def test_escalation_targets(severity: Severity, targets: tuple[str, ...]) -> None:
    assert escalation_targets(severity) == targets


# --- missed targets --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "response"),
    [
        pytest.param(Severity.P1, timedelta(minutes=5), id="P1"),
        pytest.param(Severity.P2, timedelta(minutes=15), id="P2"),
        pytest.param(Severity.P3, timedelta(hours=1), id="P3"),
        pytest.param(Severity.P4, timedelta(hours=8), id="P4"),
    ],
)
def test_a_missed_response_target_is_reported_once(severity: Severity, response: timedelta) -> None:
    incident = fresh(severity)
    on_time, breaches = check_targets(incident, T0 + response)
    assert breaches == []
    assert not on_time.ack_breached
    late, breaches = check_targets(on_time, T0 + response + timedelta(minutes=1))
    assert breaches == [Breach.RESPONSE]
    assert late.ack_breached
    again, breaches = check_targets(late, T0 + response + timedelta(minutes=2))
    assert breaches == []
    assert again.ack_breached


@pytest.mark.parametrize(
    ("severity", "acknowledged_after"),
    [
        pytest.param(Severity.P1, timedelta(minutes=4), id="P1-in-4-min"),
        pytest.param(Severity.P1, timedelta(minutes=5), id="P1-at-the-deadline"),
        pytest.param(Severity.P2, timedelta(minutes=14), id="P2-in-14-min"),
        pytest.param(Severity.P3, timedelta(minutes=59), id="P3-in-59-min"),
    ],
)
def test_no_response_breach_when_acknowledged_in_time(
    severity: Severity, acknowledged_after: timedelta
) -> None:
    incident = move(fresh(severity), State.ACKNOWLEDGED, T0 + acknowledged_after, actor="alice")
    for minutes in (6, 16, 61, 120):
        incident, breaches = check_targets(incident, at(minutes))
        assert Breach.RESPONSE not in breaches
    assert not incident.ack_breached


def test_a_first_manual_step_in_time_also_meets_the_response_target() -> None:
    incident = move(fresh(Severity.P1), State.MITIGATING, at(3), actor="alice")
    _, breaches = check_targets(incident, at(10))
    assert breaches == []


def test_an_automatic_step_does_not_meet_the_response_target() -> None:
    incident = move(fresh(Severity.P1), State.MONITORING, at(1), actor=SLOCTL)
    _, breaches = check_targets(incident, at(10))
    assert breaches == [Breach.RESPONSE]


@pytest.mark.parametrize(
    ("severity", "resolution"),
    [
        pytest.param(Severity.P1, timedelta(hours=1), id="P1"),
        pytest.param(Severity.P2, timedelta(hours=4), id="P2"),
        pytest.param(Severity.P3, timedelta(hours=24), id="P3"),
        pytest.param(Severity.P4, timedelta(weeks=1), id="P4"),
    ],
)
def test_a_missed_resolution_target_is_reported_once(
    severity: Severity, resolution: timedelta
) -> None:
    incident = move(fresh(severity), State.ACKNOWLEDGED, at(1), actor="alice")
    on_time, breaches = check_targets(incident, T0 + resolution)
    assert breaches == []
    late, breaches = check_targets(on_time, T0 + resolution + timedelta(minutes=1))
    assert breaches == [Breach.RESOLUTION]
    assert late.resolution_breached
    _, breaches = check_targets(late, T0 + resolution + timedelta(hours=1))
    assert breaches == []


def test_both_targets_missed_at_once_are_both_reported() -> None:
    incident, breaches = check_targets(fresh(Severity.P1), at(61))
    assert breaches == [Breach.RESPONSE, Breach.RESOLUTION]
    assert incident.ack_breached
    assert incident.resolution_breached


def test_a_resolved_incident_misses_no_target() -> None:
    resolved = move(fresh(Severity.P1), State.RESOLVED, at(3), actor=SLOCTL)
    unchanged, breaches = check_targets(resolved, at(600))
    assert breaches == []
    assert unchanged == resolved


def test_an_escalation_brings_the_tighter_response_target() -> None:
    incident = fresh(Severity.P3)
    incident, breaches = check_targets(incident, at(30))
    assert breaches == []
    incident = escalate(incident, finding(Severity.P1), at(31))
    assert incident.ack_due == at(5)
    incident, breaches = check_targets(incident, at(32))
    assert breaches == [Breach.RESPONSE]


# --- following the signals (runbook 2.4) -----------------------------------------------------


@pytest.mark.parametrize("before", [D, A, MI])
def test_healthy_and_not_triggered_moves_to_monitoring(before: State) -> None:
    incident = in_state(before)
    followed = follow(incident, healthy=True, triggered=False, at=at(10), limits=RUNBOOK)
    assert followed.state is State.MONITORING
    assert followed.healthy_since == at(10)
    assert len(followed.timeline) == len(incident.timeline) + 1
    line = followed.timeline[-1]
    assert (line.at, line.from_state, line.to_state, line.actor) == (
        at(10),
        before,
        State.MONITORING,
        SLOCTL,
    )
    assert "runbook 2.4" in line.note


@pytest.mark.parametrize(
    ("healthy", "triggered"),
    [
        pytest.param(False, False, id="unhealthy"),
        pytest.param(False, True, id="unhealthy-and-triggered"),
        pytest.param(True, True, id="healthy-but-triggered"),
    ],
)
@pytest.mark.parametrize("before", [D, A, MI])
def test_no_monitoring_before_verification_holds(
    before: State, healthy: bool, triggered: bool
) -> None:
    incident = in_state(before)
    followed = follow(incident, healthy=healthy, triggered=triggered, at=at(10), limits=RUNBOOK)
    assert followed == incident


def monitoring_since(minute: int) -> Incident:
    incident = move(fresh(), State.ACKNOWLEDGED, at(1), actor="alice")
    return move(incident, State.MONITORING, at(minute), actor=SLOCTL)


@pytest.mark.parametrize(
    ("stable_for", "healthy_for", "resolved"),
    [
        pytest.param(timedelta(minutes=15), timedelta(minutes=14), False, id="14-of-15-min"),
        pytest.param(
            timedelta(minutes=15), timedelta(minutes=14, seconds=59), False, id="a-second-short"
        ),
        pytest.param(timedelta(minutes=15), timedelta(minutes=15), True, id="15-of-15-min"),
        pytest.param(timedelta(minutes=15), timedelta(minutes=40), True, id="40-of-15-min"),
        pytest.param(timedelta(minutes=5), timedelta(minutes=5), True, id="5-of-5-min"),
        pytest.param(timedelta(minutes=30), timedelta(minutes=20), False, id="20-of-30-min"),
    ],
)
def test_monitoring_resolves_after_the_stable_period(
    stable_for: timedelta, healthy_for: timedelta, resolved: bool
) -> None:
    limits = Thresholds(stable_for=stable_for)
    incident = monitoring_since(10)
    moment = at(10) + healthy_for
    followed = follow(incident, healthy=True, triggered=False, at=moment, limits=limits)
    if not resolved:
        assert followed.state is State.MONITORING
        assert followed.healthy_since == at(10)
        assert followed.timeline == incident.timeline
        return
    assert followed.state is State.RESOLVED
    assert followed.resolved_at == moment
    line = followed.timeline[-1]
    assert (line.from_state, line.to_state, line.actor) == (MO, R, SLOCTL)
    assert (
        line.note
        == f"verification held for {format_duration(int(stable_for.total_seconds()))} (runbook 2.4)"
    )


def test_healthy_every_minute_resolves_exactly_at_the_stable_period() -> None:
    incident = monitoring_since(10)
    for minute in range(11, 25):
        incident = follow(incident, healthy=True, triggered=False, at=at(minute), limits=RUNBOOK)
        assert incident.state is State.MONITORING, minute
    incident = follow(incident, healthy=True, triggered=False, at=at(25), limits=RUNBOOK)
    assert incident.state is State.RESOLVED
    assert incident.resolved_at == at(25)


def test_unhealthy_in_monitoring_restarts_the_healthy_clock() -> None:
    incident = monitoring_since(10)
    incident = follow(incident, healthy=True, triggered=False, at=at(20), limits=RUNBOOK)
    unhealthy = follow(incident, healthy=False, triggered=False, at=at(21), limits=RUNBOOK)
    assert unhealthy.state is State.MONITORING
    assert unhealthy.healthy_since is None
    assert unhealthy.timeline == incident.timeline
    incident = unhealthy
    for minute in range(22, 37):  # healthy again from 22: 15 minutes are up at 37
        incident = follow(incident, healthy=True, triggered=False, at=at(minute), limits=RUNBOOK)
        assert incident.state is State.MONITORING, minute
        assert incident.healthy_since == at(22)
    incident = follow(incident, healthy=True, triggered=False, at=at(37), limits=RUNBOOK)
    assert incident.state is State.RESOLVED


@pytest.mark.parametrize("healthy", [True, False])
def test_triggered_again_in_monitoring_is_a_relapse(healthy: bool) -> None:
    incident = monitoring_since(10)
    relapsed = follow(incident, healthy=healthy, triggered=True, at=at(30), limits=RUNBOOK)
    assert relapsed.state is State.MITIGATING
    assert relapsed.healthy_since is None
    assert relapsed.resolved_at is None
    line = relapsed.timeline[-1]
    assert (line.at, line.from_state, line.to_state, line.actor) == (at(30), MO, MI, SLOCTL)
    assert line.note == "indicator back above its threshold"
    # Back to monitoring later starts the stable period again.
    back = follow(relapsed, healthy=True, triggered=False, at=at(40), limits=RUNBOOK)
    assert back.state is State.MONITORING
    assert back.healthy_since == at(40)
    still = follow(back, healthy=True, triggered=False, at=at(54), limits=RUNBOOK)
    assert still.state is State.MONITORING


@pytest.mark.parametrize("triggered", [False, True])
@pytest.mark.parametrize("state", [D, A, MI, MO])
def test_no_data_changes_nothing_but_the_stable_clock(state: State, triggered: bool) -> None:
    incident = in_state(state)
    for minutes in (5, 30, 600):
        followed = follow(
            incident, healthy=None, triggered=triggered, at=at(minutes), limits=RUNBOOK
        )
        assert followed.state is incident.state
        assert followed.timeline == incident.timeline
        # A gap never counts towards the stable period: it starts over when data returns.
        expected = None if state is MO else incident.healthy_since
        assert followed.healthy_since == expected


@pytest.mark.parametrize(
    ("healthy", "triggered"),
    [
        pytest.param(True, False, id="healthy"),
        pytest.param(False, False, id="unhealthy"),
        pytest.param(False, True, id="triggered"),
        pytest.param(None, False, id="no-data"),
    ],
)
def test_a_resolved_incident_is_left_alone(healthy: bool | None, triggered: bool) -> None:
    resolved = in_state(State.RESOLVED)
    followed = follow(resolved, healthy=healthy, triggered=triggered, at=at(90), limits=RUNBOOK)
    assert followed == resolved


# --- peaks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "observed", "peak"),
    [
        pytest.param((None, None), [(0.05, None)], (0.05, None), id="first-error-ratio"),
        pytest.param((None, None), [(None, 0.7)], (None, 0.7), id="first-p95"),
        pytest.param((0.2, 0.3), [(0.6, None), (0.1, 0.9)], (0.6, 0.9), id="keeps-the-max"),
        pytest.param((0.6, 0.9), [(0.1, 0.2)], (0.6, 0.9), id="lower-values-ignored"),
        pytest.param((0.6, 0.9), [(None, None)], (0.6, 0.9), id="no-data-keeps-peaks"),
        pytest.param((0.6, 0.9), [(0.0, 0.0)], (0.6, 0.9), id="zero-keeps-peaks"),
    ],
)
def test_observe_keeps_the_peaks(
    start: tuple[float | None, float | None],
    observed: list[tuple[float | None, float | None]],
    peak: tuple[float | None, float | None],
) -> None:
    incident = declare("INC-0001", "api", finding(), T0, error_ratio=start[0], p95_seconds=start[1])
    for ratio, p95 in observed:
        incident = observe(incident, ratio, p95)
    assert (incident.peak_error_ratio, incident.peak_p95_seconds) == peak
    assert incident.state is State.DETECTED
    assert len(incident.timeline) == 1


def test_a_person_can_acknowledge_after_sloctl_moved_on() -> None:
    monitoring = in_state(MO)
    assert monitoring.acknowledged_at is None
    taken = acknowledge(monitoring, at(3), actor="alice", note="watching")
    assert taken.state is MO
    assert taken.acknowledged_at == at(3)
    assert taken.timeline[-1].note == "acknowledged: watching"
    assert check_targets(taken, at(60))[1] == []
    with pytest.raises(TransitionError, match="already acknowledged"):
        acknowledge(taken, at(4), actor="bob")


def test_acknowledging_a_detected_incident_moves_it() -> None:
    taken = acknowledge(in_state(D), at(2), actor="alice")
    assert taken.state is A

"""Signals: batched queries, judged per service; a failed query leaves out only its services."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sloctl.core.selector import Matcher
from sloctl.core.slo import LatencyIndicator, Slo, Timeslices
from sloctl.incidents.policy import Policy, Thresholds
from sloctl.incidents.signals import (
    Judged,
    Measured,
    Sli,
    read_signals,
    signal_plan,
    windows_of,
)
from sloctl.loading.definitions import load_definitions
from tests.fake_prometheus import ServiceTraffic, fake_prometheus
from tests.paths import ROOT

AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SLOS = load_definitions(ROOT / "slo-definitions")


def many(count: int) -> list[Slo]:
    """``count`` SLOs over as many services, all in the conventional metric layout."""
    found: list[Slo] = []
    for index in range(count // 2):
        for slo in SLOS[:2]:
            found.append(_renamed(slo, f"svc-{index:04d}"))
    return found


def _renamed(slo: Slo, service: str) -> Slo:
    indicator = slo.indicator
    if isinstance(indicator, LatencyIndicator):
        histogram = indicator.histogram.with_matcher(Matcher("service", "=", service))
        return replace(slo, service=service, indicator=replace(indicator, histogram=histogram))
    assert indicator.bad is not None
    matcher = Matcher("service", "=", service)
    return replace(
        slo,
        service=service,
        indicator=replace(
            indicator,
            total=indicator.total.with_matcher(matcher),
            bad=indicator.bad.with_matcher(matcher),
        ),
    )


def test_queries_do_not_grow_with_the_number_of_slos() -> None:
    small = signal_plan(many(4), Policy())
    large = signal_plan(many(1000), Policy())
    assert small.queries == large.queries
    assert large.queries == 5  # totals, errors, histogram count and bucket, p95


def test_windows_are_the_signal_window_and_the_paging_pairs() -> None:
    api = next(s for s in SLOS if s.service == "api" and s.name == "availability")
    assert windows_of(api, 300) == (300, 1800, 3600, 21600)
    assert windows_of(api, 20) == (20, 300, 1800, 3600, 21600)


def test_a_service_window_from_the_policy_reaches_its_queries() -> None:
    policy = Policy(services={"api": Thresholds(signal_window=timedelta(seconds=20))})
    planned = signal_plan(SLOS, policy)
    text = "\n".join(b.expr for b in planned.counts) + "\n".join(q.expr for q in planned.quantiles)
    assert '"20"' in text  # the window travels as a label of the shared count query
    assert any("[20s]" in q.expr for q in planned.quantiles)
    assert any("[5m]" in q.expr for q in planned.quantiles)


def _readings(
    slo: Slo, counts: dict[int, tuple[float, float]]
) -> dict[tuple[str, int], dict[str, float]]:
    return {(slo.key, w): {"total": total, "bad": bad} for w, (total, bad) in counts.items()}


def test_judge_takes_the_worst_ratio_and_the_latency_slos_p95() -> None:
    api = [s for s in SLOS if s.service == "api"]
    availability = api[0]
    readings = _readings(
        availability,
        {300: (100.0, 60.0), 1800: (600.0, 60.0), 3600: (1200.0, 60.0), 21600: (7200.0, 60.0)},
    )
    latency = api[1]
    signals = signal_plan(api, Policy()).judge(Measured(readings, {latency.key: 0.8}), AT)["api"]
    assert signals.error_ratio == pytest.approx(0.6)
    assert signals.p95_seconds == 0.8
    assert signals.latency_threshold == Decimal("0.2")
    # 1h at 5 % and 5m at 60 % are both above 14.4 x 0.1 %: burning at a paging rate.
    assert signals.burning
    assert not signals.latency_burning


def test_no_traffic_is_no_data_never_zero_or_nan() -> None:
    api = [s for s in SLOS if s.service == "api"]
    readings = _readings(api[0], {300: (0.0, 0.0)})
    signals = signal_plan(api, Policy()).judge(Measured(readings, {}), AT)["api"]
    assert signals.error_ratio is None
    assert signals.p95_seconds is None
    assert not signals.burning


def test_a_failed_query_leaves_out_only_the_services_it_was_for() -> None:
    # api has a latency SLO and auth has not: a refused histogram query costs api only.
    slos = [s for s in SLOS if s.service == "api" or s.key == "auth/availability"]
    planned = signal_plan(slos, Policy())
    everyone = dict.fromkeys(("api", "auth", "ai-worker", "database"), 0.0)  # no errors, all fast
    refusing = ServiceTraffic(everyone, p95=0.1, refuse="http_request_duration_seconds_bucket")
    with fake_prometheus(refusing) as prometheus:
        reading = read_signals(planned, prometheus.reader(), AT)
    assert refusing.range_asked == []  # a live reading asks instant queries only
    assert set(reading.failed) == {"api"}
    assert "refused" in reading.failed["api"]
    assert set(reading.signals) == {"auth"}
    assert reading.signals["auth"].error_ratio == 0.0
    with fake_prometheus(ServiceTraffic(everyone, p95=0.1)) as prometheus:
        reading = read_signals(planned, prometheus.reader(), AT)
    assert reading.failed == {}
    assert set(reading.signals) == {"api", "auth"}
    assert reading.signals["api"].p95_seconds == 0.1
    assert reading.queries == planned.queries


def test_the_burn_rate_is_the_worst_availability_slos_over_its_own_budget() -> None:
    api, auth = (
        [s for s in SLOS if s.service == name and s.name == "availability"]
        for name in ("api", "auth")
    )
    readings = {
        **_readings(api[0], {300: (1000.0, 20.0)}),  # 2 % of a 0.1 % budget: 20x
        **_readings(auth[0], {300: (1000.0, 2.0)}),  # 0.2 % of a 0.05 % budget: 4x
    }
    judged = signal_plan([*api, *auth], Policy()).judge(Measured(readings, {}), AT)
    assert judged["api"].burn_rate == pytest.approx(20.0)
    assert judged["auth"].burn_rate == pytest.approx(4.0)
    assert judged["api"].error_ratio == pytest.approx(0.02)
    empty = signal_plan(api, Policy()).judge(Measured({}, {}), AT)["api"]
    assert empty.burn_rate is None  # no traffic: no burn rate, never 0


def test_a_window_is_counted_once_per_slo_object_never_shared_with_its_definition() -> None:
    api = next(s for s in SLOS if s.service == "api" and s.name == "availability")
    sliced = replace(api, timeslices=Timeslices(Decimal("0.99"), 300))
    judged = Judged.of(sliced)
    assert judged.slo.key == sliced.key
    assert judged.slo.timeslices is None
    # Events and slices under one key: the judged SLO reads the events, its definition the
    # slices, however the two are asked in turn.
    readings = {(api.key, 3600): {"total": 1000.0, "bad": 50.0, "slices": 12.0, "bad_slices": 3.0}}
    measured = Measured(readings, {})
    as_defined = Judged(sliced, judged.pages)
    for _ in range(2):
        assert judged.ratio(measured, 3600) == pytest.approx(0.05)
        assert as_defined.ratio(measured, 3600) == pytest.approx(0.25)
    assert judged.has_data(measured, 3600)
    assert not judged.has_data(measured, 300)
    assert judged.ratio(measured, 300) is None
    # Bad counts above the total (both extrapolated) are clamped, as before.
    over = Measured({(api.key, 300): {"total": 10.0, "bad": 12.0}}, {})
    assert judged.ratio(over, 300) == 1.0
    # Series without traffic are data, with no ratio, however often asked.
    quiet = Measured({(api.key, 300): {"total": 0.0, "bad": 0.0}}, {})
    for _ in range(2):
        assert judged.ratio(quiet, 300) is None
        assert judged.has_data(quiet, 300)


def test_each_slo_is_counted_once_for_its_signals_and_its_indicator() -> None:
    api = [s for s in SLOS if s.service == "api"]
    availability, latency = api
    readings = {
        **_readings(availability, {300: (100.0, 60.0), 1800: (0.0, 0.0), 3600: (1200.0, 60.0)}),
        (latency.key, 300): {"total": 50.0, "good": 40.0},
    }
    [layout] = signal_plan(api, Policy()).services
    assert [windows for _, windows, _, _ in layout.counted] == [(300, 1800, 3600, 21600)] * 2
    measured = Measured(readings, {latency.key: 0.3})
    layout.signals(measured, AT)
    # The windows the signals counted are the ones the indicators read: nothing is counted
    # again, and each value says what Judged.ratio and has_data say.
    counted = {j.slo.key: measured.counted(j, ()) for j, _, _, _ in layout.counted}
    assert counted[availability.key] == {300: 0.6, 1800: -1.0, 3600: 0.05, 21600: None}
    assert counted[latency.key] == {300: pytest.approx(0.2), 1800: None, 3600: None, 21600: None}
    slis = dict(layout.slis(measured, {latency.key: 0.3}))
    for judged, _, _, _ in layout.counted:
        sli = slis[judged.slo.key]
        assert sli.error_ratio == judged.ratio(measured, 300)
        assert sli.has_data == judged.has_data(measured, 300)
    assert slis[availability.key] == Sli(300, 0.6, None, has_data=True)
    assert slis[latency.key].p95_seconds == 0.3
    quiet = Measured(_readings(availability, {300: (0.0, 0.0)}), {})
    assert dict(layout.slis(quiet, {}))[availability.key] == Sli(300, None, None, has_data=True)
    assert dict(layout.slis(quiet, {}))[latency.key] == Sli(300, None, None, has_data=False)


def test_twins_are_read_once_and_judged_as_each_would_be_alone() -> None:
    api = [s for s in SLOS if s.service == "api"]
    availability, latency = api
    # The same counts with other targets; 99 % pages on no pair that 99.9 % pages on.
    loose = replace(availability, name="loose", target=Decimal("0.99"))
    strict = replace(availability, name="strict", target=Decimal("0.9999"))
    slow = replace(latency, name="slow", target=Decimal("0.9"))
    twins = [availability, latency, loose, strict, slow]
    planned = signal_plan(twins, Policy())
    assert planned.queries == signal_plan(api, Policy()).queries
    [layout] = planned.services
    assert [judged.slo.key for judged, _, _, _ in layout.counted] == [
        availability.key,
        latency.key,
    ]
    assert layout.read_for[availability.key] == (availability.key, loose.key, strict.key)
    assert layout.read_for[latency.key] == (latency.key, slow.key)
    _, _, pages, smallest = layout.counted[0]
    lowest: dict[tuple[int, int], float] = {}
    for judged in layout.availability:
        for long, short, limit in judged.pages:
            lowest[(long, short)] = min(limit, lowest.get((long, short), 1.0))
    assert {(long, short): limit for long, short, limit in pages} == lowest
    assert smallest == min(judged.error_budget for judged in layout.availability)
    paging: list[list[bool]] = []
    for bad in (0.0, 2.0, 20.0, 200.0, 2000.0):  # from nobody paging to everybody
        counts = dict.fromkeys((300, 1800, 3600, 21600), (10_000.0, bad))
        readings = _readings(availability, counts)
        readings[(latency.key, 300)] = {"total": 100.0, "good": 50.0}
        measured = Measured(readings, {latency.key: 0.4})
        together = layout.signals(measured, AT)
        each = [
            signal_plan([slo], Policy()).judge(Measured(_readings(slo, counts), {}), AT)["api"]
            for slo in (availability, loose, strict)
        ]
        assert together.burning == any(alone.burning for alone in each)
        assert together.burn_rate == max(alone.burn_rate or 0.0 for alone in each)
        assert together.error_ratio == each[0].error_ratio
        slis = dict(layout.slis(measured, {latency.key: 0.4}))
        assert set(slis) == {slo.key for slo in twins}
        assert slis[loose.key] == slis[strict.key] == slis[availability.key]
        assert slis[slow.key] == slis[latency.key]
        assert slis[slow.key].p95_seconds == 0.4
        paging.append([alone.burning for alone in each])
    # 99.9 %, 99 % and 99.99 % page above 14.4x their budgets: 1.44 %, 14.4 % and 0.144 %.
    assert paging == [
        [False] * 3,
        [False] * 3,
        [False, False, True],
        [True, False, True],
        [True] * 3,
    ]


def test_a_failed_query_fails_every_twin_of_the_slos_it_was_for() -> None:
    api = [s for s in SLOS if s.service == "api"]
    slow = replace(api[1], name="slow", target=Decimal("0.9"))
    planned = signal_plan([*api, slow], Policy())
    everyone = dict.fromkeys(("api", "auth", "ai-worker", "database"), 0.0)
    refusing = ServiceTraffic(everyone, p95=0.1, refuse="http_request_duration_seconds_bucket")
    with fake_prometheus(refusing) as prometheus:
        reading = read_signals(planned, prometheus.reader(), AT)
    assert set(reading.failed) == {"api"}
    assert set(reading.failed_slos) == {api[1].key, slow.key}

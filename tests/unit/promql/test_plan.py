"""Tests for sloctl.promql.plan: folding many SLOs into few queries and splitting the answers
back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sloctl.core.budget import Counts
from sloctl.core.conventions import QUERY_PART_LABEL, QUERY_PIECE_LABEL, QUERY_WINDOW_LABEL
from sloctl.core.selector import parse_selector
from sloctl.core.series import Sample
from sloctl.core.slo import LatencyIndicator, RatioIndicator, Slo, Timeslices
from sloctl.promql.plan import (
    BAD,
    BAD_SLICES,
    GOOD,
    GOOD_SERIES,
    SLICES,
    TOTAL,
    Batch,
    CountRequest,
    counts_from,
    families,
    piece_query,
    piece_values,
    plan,
    sides,
    split_answer,
)
from sloctl.promql.slices import Piece

AT = datetime(2026, 11, 15, 12, tzinfo=UTC)
MONTH = 30 * 86400
WINDOWS = (MONTH, 3600, 21600)


def _ratio_slo(
    service: str, name: str = "availability", timeslices: Timeslices | None = None
) -> Slo:
    return Slo(
        service=service,
        name=name,
        indicator=RatioIndicator(
            total=parse_selector(f'http_requests_total{{service="{service}"}}'),
            bad=parse_selector(f'http_requests_total{{service="{service}",code=~"5.."}}'),
        ),
        target=Decimal("0.999"),
        timeslices=timeslices,
    )


def _good_ratio_slo(service: str) -> Slo:
    return Slo(
        service=service,
        name="success",
        indicator=RatioIndicator(
            total=parse_selector(f'http_requests_total{{service="{service}"}}'),
            good=parse_selector(f'http_requests_total{{service="{service}",code=~"2.."}}'),
        ),
        target=Decimal("0.99"),
    )


def _latency_slo(service: str, threshold: str = "0.2", timeslices: Timeslices | None = None) -> Slo:
    return Slo(
        service=service,
        name=f"latency-{threshold}",
        indicator=LatencyIndicator(
            histogram=parse_selector(f'http_request_duration_seconds{{service="{service}"}}'),
            threshold_seconds=Decimal(threshold),
        ),
        target=Decimal("0.95"),
        timeslices=timeslices,
    )


def _requests(slos: Sequence[Slo], windows: tuple[int, ...] = WINDOWS) -> list[CountRequest]:
    return [CountRequest(slo=slo, time=AT, windows=windows) for slo in slos]


def _services(count: int) -> list[str]:
    return [f"svc-{index}" for index in range(1, count + 1)]


def _batch_with(batches: Sequence[Batch], text: str) -> Batch:
    found = [batch for batch in batches if text in batch.expr]
    assert len(found) == 1, f"{len(found)} batches contain {text!r}"
    return found[0]


def _sample(service: str, window: int, value: float, **extra: str) -> Sample:
    return Sample(
        labels={"service": service, QUERY_WINDOW_LABEL: str(window), **extra}, value=value
    )


# --------------------------------------------------------------------------- batching


@pytest.mark.parametrize("count", [1, 4, 1000], ids=["1-slo", "4-slos", "1000-slos"])
def test_conventional_layout_folds_into_two_batches(count: int) -> None:
    slos = [_ratio_slo(service) for service in _services(count)]
    batches = plan(_requests(slos))
    assert len(batches) == 2
    for batch in batches:
        assert batch.split == ("service",)
        assert batch.time == AT
        assert len(batch.members) == count
        assert len(batch.slo_keys) == count
        assert batch.expr.count("label_replace(") == len(WINDOWS)
        for window in WINDOWS:
            assert f'"{QUERY_WINDOW_LABEL}", "{window}"' in batch.expr
    roles = {role for batch in batches for pairs in batch.members.values() for _, role in pairs}
    assert roles == {TOTAL, BAD}


def test_one_slo_gets_plain_equality_matchers() -> None:
    batches = plan(_requests([_ratio_slo("api")], windows=(3600,)))
    exprs = sorted(batch.expr for batch in batches)
    assert exprs == [
        'label_replace(sum by (service) (increase(http_requests_total{code=~"5..",service="api"}'
        '[1h])), "sloctl_window", "3600", "", "")',
        'label_replace(sum by (service) (increase(http_requests_total{service="api"}[1h])), '
        '"sloctl_window", "3600", "", "")',
    ]


def test_several_services_share_one_alternation() -> None:
    slos = [_ratio_slo(service) for service in ("b", "a", "c")]
    batches = plan(_requests(slos, windows=(3600,)))
    total = _batch_with(batches, 'http_requests_total{service=~"a|b|c"}')
    assert total.slo_keys == ("a/availability", "b/availability", "c/availability")
    assert total.members[("a",)] == (("a/availability", TOTAL),)


@pytest.mark.parametrize("count", [1, 4, 1000], ids=["1-slo", "4-slos", "1000-slos"])
def test_latency_slos_with_one_threshold_add_a_constant_number_of_batches(count: int) -> None:
    services = _services(count)
    ratio_only = plan(_requests([_ratio_slo(service) for service in services]))
    latency_only = plan(_requests([_latency_slo(service) for service in services]))
    both = plan(_requests([_ratio_slo(s) for s in services] + [_latency_slo(s) for s in services]))
    assert len(latency_only) == 2
    assert len(both) - len(ratio_only) == 2
    assert len(both) == 4
    bucket = _batch_with(both, "http_request_duration_seconds_bucket")
    assert 'le=~"0\\\\.20*"' in bucket.expr
    assert len(bucket.members) == count


def test_different_latency_thresholds_get_separate_bucket_batches() -> None:
    slos = [
        _latency_slo("api", "0.2"),
        _latency_slo("web", "0.2"),
        _latency_slo("ai-worker", "2.5"),
        _latency_slo("auth", "0.5"),
    ]
    batches = plan(_requests(slos))
    assert len(batches) == 4  # one _count batch shared by all, one bucket batch per threshold
    count = _batch_with(batches, "http_request_duration_seconds_count")
    assert len(count.members) == 4
    for threshold, services in (("0\\\\.20*", {"api", "web"}), ("2\\\\.50*", {"ai-worker"})):
        bucket = _batch_with(batches, f'le=~"{threshold}"')
        assert {key[0] for key in bucket.members} == services
        assert all(role == GOOD for pairs in bucket.members.values() for _, role in pairs)


def test_two_thresholds_of_one_service_share_the_count_query() -> None:
    slos = [_latency_slo("api", "0.2"), _latency_slo("api", "1")]
    batches = plan(_requests(slos))
    assert len(batches) == 3
    count = _batch_with(batches, "_count")
    assert count.members[("api",)] == (("api/latency-0.2", TOTAL), ("api/latency-1", TOTAL))


def test_different_evaluation_times_are_not_mixed() -> None:
    later = datetime(2026, 11, 16, tzinfo=UTC)
    requests = [
        CountRequest(_ratio_slo("a"), AT, (3600,)),
        CountRequest(_ratio_slo("b"), later, (3600,)),
    ]
    batches = plan(requests)
    assert len(batches) == 4
    assert {batch.time for batch in batches} == {AT, later}


def test_windows_of_a_family_travel_in_one_query() -> None:
    requests = [
        CountRequest(_ratio_slo("a"), AT, (MONTH, 3600)),
        CountRequest(_ratio_slo("b"), AT, (7 * 86400, 3600)),
    ]
    batches = plan(requests)
    assert len(batches) == 2
    for batch in batches:
        assert batch.expr.count("\nor\n") == 2
        assert "[30d]" in batch.expr
        assert "[1w]" in batch.expr
        assert "[1h]" in batch.expr


def test_no_requests_no_batches() -> None:
    assert plan([]) == []


# --------------------------------------------------------------------------- split_answer


def test_split_answer_maps_samples_to_slo_and_window() -> None:
    slos = [_ratio_slo(service) for service in ("a", "b")]
    batches = plan(_requests(slos, windows=(MONTH, 3600)))
    total = _batch_with(batches, 'http_requests_total{service=~"a|b"}')
    bad = _batch_with(batches, 'code=~"5.."')
    total_readings = split_answer(
        total,
        [
            _sample("a", MONTH, 1000.0),
            _sample("a", 3600, 10.0),
            _sample("b", MONTH, 2000.0),
        ],
    )
    bad_readings = split_answer(bad, [_sample("b", MONTH, 7.0)])
    assert dict(total_readings) == {
        ("a/availability", MONTH): {TOTAL: 1000.0},
        ("a/availability", 3600): {TOTAL: 10.0},
        ("b/availability", MONTH): {TOTAL: 2000.0},
    }
    assert dict(bad_readings) == {("b/availability", MONTH): {BAD: 7.0}}


@pytest.mark.parametrize(
    "sample",
    [
        pytest.param(_sample("zzz", 3600, 1.0), id="service-nobody-asked-for"),
        pytest.param(Sample({"service": "a"}, 1.0), id="no-window-label"),
        pytest.param(
            Sample({"service": "a", QUERY_WINDOW_LABEL: "1h"}, 1.0), id="non-numeric-window"
        ),
        pytest.param(Sample({QUERY_WINDOW_LABEL: "3600"}, 1.0), id="no-service-label"),
    ],
)
def test_split_answer_ignores_samples_it_cannot_place(sample: Sample) -> None:
    batches = plan(_requests([_ratio_slo("a"), _ratio_slo("b")], windows=(3600,)))
    total = _batch_with(batches, 'http_requests_total{service=~"a|b"}')
    assert dict(split_answer(total, [sample])) == {}


def test_split_answer_ignores_cross_product_combinations() -> None:
    def slo(env: str, service: str) -> Slo:
        return Slo(
            service=service,
            name="availability",
            indicator=RatioIndicator(
                total=parse_selector(f't{{env="{env}",service="{service}"}}'),
                bad=parse_selector(f't{{env="{env}",service="{service}",code=~"5.."}}'),
            ),
            target=Decimal("0.999"),
        )

    batches = plan(_requests([slo("prod", "a"), slo("dev", "b")], windows=(3600,)))
    assert len(batches) == 2
    total = _batch_with(batches, 't{env=~"dev|prod",service=~"a|b"}')
    assert total.split == ("env", "service")
    samples = [
        Sample({"env": env, "service": service, QUERY_WINDOW_LABEL: "3600"}, value)
        for env, service, value in (
            ("prod", "a", 1.0),
            ("prod", "b", 2.0),
            ("dev", "a", 3.0),
            ("dev", "b", 4.0),
        )
    ]
    assert dict(split_answer(total, samples)) == {
        ("a/availability", 3600): {TOTAL: 1.0},
        ("b/availability", 3600): {TOTAL: 4.0},
    }


def test_split_answer_hands_a_shared_series_to_every_slo_on_it() -> None:
    slos = [_ratio_slo("api"), _good_ratio_slo("api")]
    batches = plan(_requests(slos, windows=(3600,)))
    assert len(batches) == 3  # total shared, 5xx and 2xx apart
    total = _batch_with(batches, 'http_requests_total{service="api"}[')
    readings = split_answer(total, [_sample("api", 3600, 50.0)])
    assert dict(readings) == {
        ("api/availability", 3600): {TOTAL: 50.0},
        ("api/success", 3600): {TOTAL: 50.0},
    }


# --------------------------------------------------------------------------- counts_from

THIRTY_DAYS = MONTH


@pytest.mark.parametrize(
    ("slo", "reading", "expected"),
    [
        pytest.param(_ratio_slo("a"), None, None, id="no-reading"),
        pytest.param(_ratio_slo("a"), {}, None, id="empty-reading"),
        pytest.param(
            _ratio_slo("a"), {TOTAL: 1000.0, BAD: 3.0}, Counts(1000.0, 3.0), id="both-sides"
        ),
        pytest.param(
            _ratio_slo("a"), {TOTAL: 1000.0}, Counts(1000.0, 0.0), id="absent-bad-side-is-zero"
        ),
        pytest.param(_ratio_slo("a"), {BAD: 3.0}, None, id="absent-total-is-no-data"),
        pytest.param(
            _good_ratio_slo("a"),
            {TOTAL: 1000.0, GOOD: 990.0},
            Counts(1000.0, 10.0),
            id="good-based-bad-is-total-minus-good",
        ),
        pytest.param(
            _good_ratio_slo("a"),
            {TOTAL: 1000.0, GOOD: 1000.5},
            Counts(1000.0, 0.0),
            id="good-above-total-floors-at-zero",
        ),
        pytest.param(_good_ratio_slo("a"), {GOOD: 5.0}, None, id="good-based-absent-total"),
        pytest.param(
            _latency_slo("a"),
            {TOTAL: 200.0, GOOD: 190.0},
            Counts(200.0, 10.0),
            id="latency-slow-requests-are-bad",
        ),
        pytest.param(
            _ratio_slo("a", timeslices=Timeslices(Decimal("0.95"), 300)),
            {BAD_SLICES: 3.0, SLICES: 8640.0},
            Counts(8640.0, 3.0),
            id="timeslices",
        ),
        pytest.param(
            _ratio_slo("a", timeslices=Timeslices(Decimal("0.95"), 300)),
            {SLICES: 8640.0},
            Counts(8640.0, 0.0),
            id="timeslices-no-bad-part",
        ),
        pytest.param(
            _ratio_slo("a", timeslices=Timeslices(Decimal("0.95"), 300)),
            {BAD_SLICES: 3.0},
            None,
            id="timeslices-no-slices-part",
        ),
    ],
)
def test_counts_from(slo: Slo, reading: dict[str, float] | None, expected: Counts | None) -> None:
    counts, note = counts_from(slo, reading, THIRTY_DAYS)
    assert counts == expected
    assert note == ""


def test_timeslices_count_every_slice_of_the_window_not_only_busy_ones() -> None:
    slo = _ratio_slo("a", timeslices=Timeslices(Decimal("0.95"), 60))
    counts, _ = counts_from(slo, {BAD_SLICES: 1.0, SLICES: 10.0}, THIRTY_DAYS)
    assert counts == Counts(43200.0, 1.0)  # burn rate and consumed budget agree


@pytest.mark.parametrize("value", [math.nan, math.inf], ids=["nan", "inf"])
def test_counts_from_refuses_non_finite_readings(value: float) -> None:
    counts, note = counts_from(_ratio_slo("a"), {TOTAL: 1000.0, BAD: value}, THIRTY_DAYS)
    assert counts is None
    assert "NaN or infinity" in note


def test_timeslice_latency_without_its_bucket_explains_the_threshold() -> None:
    slo = _latency_slo("api", "0.25", timeslices=Timeslices(Decimal("0.95"), 60))
    counts, note = counts_from(slo, {SLICES: 100.0, BAD_SLICES: 100.0}, THIRTY_DAYS)
    assert counts is None
    assert "le=0.25" in note
    counts, note = counts_from(slo, {SLICES: 100.0, BAD_SLICES: 2.0, GOOD_SERIES: 1.0}, THIRTY_DAYS)
    assert counts == Counts(43200.0, 2.0)
    assert note == ""


def test_counts_from_latency_without_its_bucket_explains_the_threshold() -> None:
    slo = _latency_slo("api", "0.25")
    counts, note = counts_from(slo, {TOTAL: 200.0}, THIRTY_DAYS)
    assert counts is None
    assert "le=0.25" in note
    assert "http_request_duration_seconds_bucket" in note
    assert "bucket" in note


def test_sides_are_the_numbers_of_counts_from_and_its_note_otherwise() -> None:
    slos = [
        _ratio_slo("a"),
        _good_ratio_slo("a"),
        _latency_slo("api", "0.25"),
        _ratio_slo("a", timeslices=Timeslices(Decimal("0.95"), 300)),
        _latency_slo("api", "0.25", timeslices=Timeslices(Decimal("0.95"), 60)),
    ]
    readings: list[dict[str, float] | None] = [
        None,
        {},
        {TOTAL: 1000.0, BAD: 5.0},
        {TOTAL: 1000.0},
        {TOTAL: 10.0, GOOD: 4.0},
        {TOTAL: 10.0, GOOD: 12.0},
        {GOOD: 4.0},
        {TOTAL: 200.0, BAD: math.nan},
        {SLICES: 100.0, BAD_SLICES: 2.0},
        {SLICES: 100.0, BAD_SLICES: 2.0, GOOD_SERIES: 1.0},
        {SLICES: 0.0, BAD_SLICES: 0.0},
        {BAD_SLICES: 3.0, SLICES: math.inf},
    ]
    for slo in slos:
        for reading in readings:
            counts, note = counts_from(slo, reading, THIRTY_DAYS)
            found = sides(slo, reading, THIRTY_DAYS)
            if counts is None:
                assert found == note
            else:
                assert found == (counts.total, counts.bad)
                assert note == ""


def test_counts_from_never_invents_a_nan() -> None:
    counts, _ = counts_from(_good_ratio_slo("a"), {TOTAL: 10.0, GOOD: 4.0}, THIRTY_DAYS)
    assert counts is not None
    assert not math.isnan(counts.bad)
    assert counts.bad == 6.0


# --------------------------------------------------------------------------- timeslices


def test_timeslice_slo_produces_bad_slices_and_slices_parts() -> None:
    slo = _ratio_slo("api", timeslices=Timeslices(Decimal("0.95"), 300))
    batches = plan(_requests([slo], windows=(86400,)))
    assert len(batches) == 1
    expr = batches[0].expr
    assert f'"{QUERY_PART_LABEL}", "{BAD_SLICES}"' in expr
    assert f'"{QUERY_PART_LABEL}", "{SLICES}"' in expr
    assert "sum_over_time(" in expr
    assert "count_over_time(" in expr
    assert "[86399s:5m]" in expr
    assert "> bool 0.05)" in expr
    assert "> 0)[86399s:5m]" in expr

    samples = [
        _sample("api", 86400, 3.0, **{QUERY_PART_LABEL: BAD_SLICES}),
        _sample("api", 86400, 288.0, **{QUERY_PART_LABEL: SLICES}),
    ]
    readings = split_answer(batches[0], samples)
    assert dict(readings) == {("api/availability", 86400): {BAD_SLICES: 3.0, SLICES: 288.0}}
    reading = readings[("api/availability", 86400)]
    assert counts_from(slo, reading, 86400) == (Counts(288.0, 3.0), "")


def test_timeslice_latency_slo_compares_the_good_ratio_with_the_slice_target() -> None:
    slo = _latency_slo("api", "0.2", timeslices=Timeslices(Decimal("0.95"), 60))
    batches = plan(_requests([slo], windows=(3600,)))
    assert len(batches) == 1
    assert "< bool 0.95)" in batches[0].expr
    assert "[3599s:1m]" in batches[0].expr


@pytest.mark.parametrize("count", [1, 4, 1000], ids=["1-slo", "4-slos", "1000-slos"])
def test_timeslice_slos_of_one_layout_fold_into_one_batch(count: int) -> None:
    timeslices = Timeslices(Decimal("0.95"), 300)
    slos = [_ratio_slo(service, timeslices=timeslices) for service in _services(count)]
    batches = plan(_requests(slos))
    assert len(batches) == 1
    assert len(batches[0].members) == count
    # two parts (bad slices and slices) per window
    assert batches[0].expr.count(f'"{QUERY_PART_LABEL}", ') == 2 * len(WINDOWS)


def test_timeslice_slos_with_different_slice_targets_or_lengths_are_apart() -> None:
    slos = [
        _ratio_slo("a", timeslices=Timeslices(Decimal("0.95"), 300)),
        _ratio_slo("b", timeslices=Timeslices(Decimal("0.99"), 300)),
        _ratio_slo("c", timeslices=Timeslices(Decimal("0.95"), 60)),
    ]
    batches = plan(_requests(slos, windows=(86400,)))
    assert len(batches) == 3
    assert len({batch.expr for batch in batches}) == 3
    assert sorted(key for batch in batches for key in batch.slo_keys) == [
        "a/availability",
        "b/availability",
        "c/availability",
    ]


# --------------------------------------------------------------------------- families and pieces


def test_families_fold_occurrences_and_leave_timeslices_apart() -> None:
    slos = [_ratio_slo(s) for s in _services(3)]
    sliced = _ratio_slo("api", name="slices", timeslices=Timeslices(Decimal("0.95"), 300))
    found, rest = families(_requests([*slos, sliced]))
    assert [r.slo for r in rest] == [sliced]
    assert len(found) == 2  # the request totals and the 5xx side
    total = next(f for f in found if f.shape.fixed == ())
    assert total.windows == tuple(sorted(WINDOWS))
    assert set(total.members) == {(s,) for s in _services(3)}
    assert total.selector().render() == 'http_requests_total{service=~"svc-1|svc-2|svc-3"}'


def test_a_family_moved_in_time_keeps_what_its_members_made() -> None:
    slos = [_ratio_slo(s) for s in _services(3)]
    [family, _] = families(_requests(slos))[0]
    later = AT + timedelta(seconds=30)
    moved = family.at(later)
    assert moved == replace(family, time=later)
    assert moved.time == later
    assert moved.slo_keys is family.slo_keys
    assert moved.slo_keys == tuple(sorted(slo.key for slo in slos))
    # A daemon's next cycle asks the same SLOs at a new time: the same keys, not made again.
    [next_cycle, _] = families([replace(r, time=later) for r in _requests(slos)])[0]
    assert next_cycle == moved
    assert next_cycle.slo_keys is family.slo_keys


def test_family_identity_follows_the_query_not_the_members() -> None:
    few, _ = families(_requests([_ratio_slo("api")]))
    many, _ = families(_requests([_ratio_slo("api"), _ratio_slo("auth")]))
    assert {f.identity for f in few} == {f.identity for f in many}
    other = _ratio_slo("api")
    indicator = RatioIndicator(
        total=parse_selector('http_requests_total{service="api"}'),
        bad=parse_selector('http_requests_total{service="api",code=~"5[0-9][0-9]"}'),
    )
    changed, _ = families(_requests([Slo("api", "availability", indicator, other.target)]))
    assert len({f.identity for f in few} | {f.identity for f in changed}) == 3


def test_piece_query_tags_every_piece_and_reads_its_answer_back() -> None:
    [family, _] = families(_requests([_ratio_slo("api")], windows=(7200,)))[0]
    at = round(AT.timestamp() * 1000)
    pieces = [Piece(at - 3_600_000, 3_600_000), Piece(at, 3_600_000)]
    expr = piece_query(family, pieces)
    assert expr.count(QUERY_PIECE_LABEL) == 2
    assert "offset 1h" in expr
    assert "offset 2h" in expr
    answer = [
        Sample({"service": "api", QUERY_PIECE_LABEL: pieces[0].label}, 10.0),
        Sample({"service": "api", QUERY_PIECE_LABEL: pieces[1].label}, 5.0),
        Sample({"service": "other", QUERY_PIECE_LABEL: pieces[1].label}, 99.0),
    ]
    assert piece_values(family, answer) == {
        (("api",), pieces[0].label): 10.0,
        (("api",), pieces[1].label): 5.0,
    }
    plain = piece_query(family, [Piece(at, 7_200_000)], exact=False)
    assert 'increase(http_requests_total{service="api"}[2h])' in plain
    with pytest.raises(ValueError, match="family's time"):
        piece_query(family, [pieces[0]], exact=False)


def test_timeslice_windows_in_runs_add_up() -> None:
    slo = _ratio_slo("api", timeslices=Timeslices(Decimal("0.95"), 300))
    [batch] = plan(_requests([slo], windows=(86400,)), parts=3)
    assert batch.expr.count("sum_over_time(") == 3
    assert "[28799s:5m]" in batch.expr
    assert "offset 8h" in batch.expr
    assert "offset 16h" in batch.expr
    samples = [
        _sample("api", 86400, bad, **{QUERY_PART_LABEL: BAD_SLICES, QUERY_PIECE_LABEL: str(offset)})
        for offset, bad in ((0, 1.0), (96, 2.0), (192, 0.0))
    ] + [
        _sample("api", 86400, 96.0, **{QUERY_PART_LABEL: SLICES, QUERY_PIECE_LABEL: str(offset)})
        for offset in (0, 96, 192)
    ]
    reading = split_answer(batch, samples)[("api/availability", 86400)]
    assert reading == {BAD_SLICES: 3.0, SLICES: 288.0}

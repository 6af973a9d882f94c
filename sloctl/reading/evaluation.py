"""One evaluation: every SLO's counts read at pinned times and judged by the budget math.

Occurrence counts are read per metric family within a sample budget (see
:mod:`sloctl.promql.slices`): a window that one query could not read within the budget is cut into
pieces that add up exactly, and a 422 "too many samples" cuts them shorter and asks again.
With a slice store (the daemon), whole settled slices come from the store and only the edges
of each window are read every cycle; slices missing from the store (after a restart or a
changed definition) are read again from Prometheus, as range queries within the budget.

An *evaluation* is this budget reading at one time: ``sloctl report`` makes one, and so does
each cycle of the daemon (:mod:`sloctl.daemon.loop`) before its incident pass.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Protocol

from sloctl.core.budget import (
    Budget,
    Counts,
    Spending,
    assess_spending,
    budget_minutes,
    burn_rate,
    error_ratio,
    minutes,
    spending,
)
from sloctl.core.series import Sample, Series
from sloctl.core.slo import Slo
from sloctl.core.twins import Twins, twins
from sloctl.core.window import Month, Span, WindowKind, span_for
from sloctl.errors import PrometheusError, TooManySamplesError
from sloctl.promql import build as promql
from sloctl.promql.build import Shape
from sloctl.promql.plan import (
    BAD,
    GOOD,
    TOTAL,
    CountRequest,
    Family,
    SloCounts,
    counts_from,
    families,
    millis,
    piece_query,
    piece_values,
    plan,
    split_answer,
)
from sloctl.promql.slices import (
    SETTLE_SECONDS,
    SLICE_SECONDS,
    Piece,
    QueryBudget,
    cut,
    halve,
    layout,
)
from sloctl.runtime.parallel import Parallel, Pending

if TYPE_CHECKING:
    from sloctl.core.maintenance import MaintenanceWindow, Occurrence

BURN_WINDOWS: tuple[tuple[str, timedelta], ...] = (
    ("1h", timedelta(hours=1)),
    ("6h", timedelta(hours=6)),
)
CURRENT_BURN = "1h"
BURN_SECONDS: tuple[tuple[str, int], ...] = tuple(
    (name, int(length.total_seconds())) for name, length in BURN_WINDOWS
)
COVERAGE_POINTS = 720
"""How finely coverage is sampled over a window: 720 points is an hour per point over 30 days."""
COVERAGE_MIN_STEP = 60
COVERAGE_MIN_POINTS = 24
"""Refused as too large, coverage is asked at half the points, down to this many."""


class InstantReader(Protocol):
    def instant(self, expr: str, at: datetime, *, slos: Sequence[str] = ()) -> list[Sample]: ...


class CountReader(InstantReader, Protocol):
    def range(
        self,
        expr: str,
        start: datetime,
        end: datetime,
        step: timedelta,
        *,
        slos: Sequence[str] = (),
    ) -> list[Series]: ...


SliceRows = dict[tuple[str, int], float | None]
"""(split key as JSON, slice end in milliseconds) -> count; None where nothing was counted."""


class SliceStore(Protocol):
    def slice_counts(self, family: str, first: int, last: int) -> SliceRows: ...

    def save_slice_counts(self, family: str, rows: SliceRows, *, older_than: int) -> None: ...


@dataclass
class Remembered:
    """One family's stored slices in memory, and the longest window (ms) that reads them."""

    rows: SliceRows = field(default_factory=dict)
    reach: int = 0


@dataclass
class Slicing:
    """Where the daemon keeps whole slices, and how long they are."""

    store: SliceStore
    reader: CountReader
    slice_seconds: int = SLICE_SECONDS
    settle_seconds: int = SETTLE_SECONDS
    rebuilt: int = field(default=0, init=False)
    """Slices read from Prometheus because the store did not have them."""
    remembered: dict[str, Remembered] = field(default_factory=dict)
    """Stored slices already read, by family: a daemon passes the same mapping every cycle so
    that the store is read only for slices it has not seen."""
    answered: dict[tuple[str, str], dict[tuple[str, ...], float | None]] = field(
        default_factory=dict, init=False
    )
    """Pieces already read (family identity, piece label) -> count per split key: the budgets
    and the signals of one cycle share their edges. Use one Slicing per evaluation time."""


@dataclass(frozen=True)
class SloResult:
    """One SLO judged over one span."""

    slo: Slo
    span: Span
    counts: Counts | None
    burn_counts: dict[str, Counts | None]
    """Per burn window; one dict for all twins (:mod:`sloctl.core.twins`): never changed."""
    budget: Budget
    note: str = ""
    coverage: float | None = None
    """Share of the measured window in which the SLO's total series existed (None: not
    asked). Below 1 the budget is judged on part of the window only."""

    def for_twin(self, slo: Slo) -> SloResult:
        """This judgement, of ``slo``: a twin of this result's SLO (:mod:`sloctl.core.twins`)
        with its objective. Made for thousands of SLOs a cycle, so the fields are copied
        whole rather than set one by one, as a frozen dataclass's ``__init__`` does at five
        times the cost."""
        twin = object.__new__(SloResult)
        twin.__dict__.update(self.__dict__)
        twin.__dict__["slo"] = slo
        return twin

    @property
    def burn_rates(self) -> dict[str, float | None]:
        rates: dict[str, float | None] = {
            name: burn_rate(error_ratio(counts), self.slo.error_budget)
            for name, counts in self.burn_counts.items()
        }
        rates["window"] = self.budget.burn_rate
        return rates


@dataclass(frozen=True)
class Evaluation:
    at: datetime
    results: tuple[SloResult, ...]
    """Every SLO that could be read (all of them unless ``failed`` says otherwise)."""
    queries: int
    failed: Mapping[str, PrometheusError] = field(default_factory=dict)
    """SLO keys whose query failed, with the error; only when evaluated with ``isolate``."""


def query_time(slo: Slo, end: datetime) -> datetime:
    """When to evaluate ``slo``'s queries: the span's end, or for timeslices the end of the
    slice that holds it.

    Prometheus aligns subquery steps to multiples of the step, so evaluating at ``end`` would
    leave the slice in progress out; its end judges it on the data so far instead.
    """
    if slo.timeslices is None:
        return end
    step = slo.timeslices.slice_seconds
    seconds = math.ceil(end.timestamp() / step) * step
    return datetime.fromtimestamp(seconds, UTC)


def evaluate(
    slos: Sequence[Slo],
    reader: InstantReader,
    at: datetime,
    *,
    kind: WindowKind | None = None,
    month: Month | None = None,
    isolate: bool = False,
    coverage: bool = False,
    budget: QueryBudget | None = None,
    slicing: Slicing | None = None,
    corrections: Sequence[MaintenanceWindow] = (),
    parallel: int = 1,
) -> Evaluation:
    """Read and judge every SLO at ``at`` (or over ``month``), every query within ``budget``,
    whole slices from ``slicing``'s store when given; the events inside the windows of
    ``corrections`` marked ``correction`` are taken out of each SLO's window (see
    :func:`correct`).

    A failed query raises, unless ``isolate``: then only the SLOs of that query are left out
    (in ``failed``, with the error) and every other query is still asked. With ``coverage``,
    each result also says which share of its window had data (one more query per metric
    family of totals; where that query fails, the coverage is unknown).

    SLOs that count the same events (:mod:`sloctl.core.twins`) are read, corrected and
    counted once, for the first of them; each is judged with its own objective.

    Without ``slicing``, up to ``parallel`` of those queries are sent at once (each family's
    counts and each coverage query is independent of the others); with a slice store they
    are sent one at a time, as the store is read and written between them.
    """
    alike = twins(slos)  # SLOs that count the same events are read and counted once
    firsts = alike.firsts
    each = [(slo, span_for(slo, at, kind=kind, month=month)) for slo in firsts]
    spans = {slo.key: span for slo, span in each}
    burn_seconds = tuple(seconds for _, seconds in BURN_SECONDS)
    asked: dict[int, tuple[int, ...]] = {}  # one windows tuple per window length
    requests = []
    for slo, span in each:
        measured = span.measured_seconds
        windows = asked.get(measured)
        if windows is None:
            windows = asked[measured] = (measured, *burn_seconds)
        time = span.end if slo.timeslices is None else query_time(slo, span.end)
        requests.append(CountRequest(slo, time, windows))
    failed: dict[str, PrometheusError] = {}
    covered: dict[str, float] = {}
    unknown: set[str] = set()
    with Parallel(parallel if slicing is None else 1) as queue:
        counting = start_counts(requests, reader, budget or QueryBudget(), slicing, queue)
        covering = [
            (first, queue.submit(partial(read_coverage, first, reader)))
            for first in (coverage_queries(firsts, spans) if coverage else ())
        ]
        readings, queries = counting.collect(failed if isolate else None)
        for first, pending in covering:
            shares, sent = pending.result()
            queries += sent
            if shares is None:
                unknown.update(first.slo_keys)
            else:
                covered.update(shares)
    excluded: dict[str, list[Occurrence]] = {}
    if corrections:
        queries += correct(firsts, spans, corrections, reader, budget, readings, excluded, failed)
    if failed:
        failed = alike.spread(failed)
        slos = [slo for slo in slos if slo.key not in failed]
    results = judge(slos, spans, readings, alike)
    if coverage:  # found for the firsts of twins, as the counts were
        covered = alike.spread(covered)
        unknown = set(alike.spread(dict.fromkeys(unknown)))
        results = tuple(
            replace(
                result,
                coverage=None if result.slo.key in unknown else covered.get(result.slo.key, 0.0),
            )
            for result in results
        )
    if excluded:
        excluded = alike.spread(excluded)
        results = tuple(
            _corrected_note(result, excluded.get(result.slo.key, [])) for result in results
        )
    return Evaluation(at=at, results=results, queries=queries, failed=failed)


CORRECTED_ROLES = (TOTAL, BAD, GOOD)
"""The event counts a correction subtracts (timeslice budgets are not corrected)."""


def correct(
    slos: Sequence[Slo],
    spans: Mapping[str, Span],
    corrections: Sequence[MaintenanceWindow],
    reader: InstantReader,
    budget: QueryBudget | None,
    readings: SloCounts,
    excluded: dict[str, list[Occurrence]],
    failed: dict[str, PrometheusError],
) -> int:
    """Subtract from each SLO's window count its events inside correction windows.

    Each occurrence (clipped to the SLO's measured window, overlaps merged) is counted as the
    report counts a window: a window of the occurrence's length ending at its end, through
    :func:`read_counts` (in pieces that add up exactly when it is long). Returns the queries
    sent; fills ``excluded`` with the occurrences taken out per SLO."""
    from sloctl.core.maintenance import overlapping  # noqa: PLC0415 - only with corrections

    wanted: dict[tuple[datetime, int], list[Slo]] = {}
    for slo in slos:
        if slo.key in failed or slo.timeslices is not None:
            continue
        span = spans[slo.key]
        found = overlapping(corrections, slo.service, span.start, span.end, corrections_only=True)
        for occurrence in found:
            seconds = int((occurrence.end - occurrence.start).total_seconds())
            if seconds > 0:
                wanted.setdefault((occurrence.end, seconds), []).append(slo)
                excluded.setdefault(slo.key, []).append(occurrence)
    sent = 0
    for (end, seconds), chosen in sorted(wanted.items(), key=lambda item: item[0]):
        requests = [CountRequest(slo=slo, time=end, windows=(seconds,)) for slo in chosen]
        inside, queries = read_counts(requests, reader, budget or QueryBudget())
        sent += queries
        for slo in chosen:
            whole = readings.get((slo.key, spans[slo.key].measured_seconds))
            part = inside.get((slo.key, seconds), {})
            if whole is None:
                continue
            for role in CORRECTED_ROLES:
                if role in whole and role in part:
                    whole[role] = max(0.0, whole[role] - part[role])
    return sent


def _corrected_note(result: SloResult, occurrences: Sequence[Occurrence]) -> SloResult:
    if not occurrences:
        return result
    minutes = sum(o.minutes for o in occurrences)
    names = ", ".join(dict.fromkeys(o.window.name for o in occurrences))
    note = f"corrected: {minutes:g} min excluded ({names})"
    return replace(result, note=f"{result.note}; {note}" if result.note else note)


def judge(
    slos: Sequence[Slo],
    spans: Mapping[str, Span],
    readings: SloCounts,
    alike: Twins | None = None,
) -> tuple[SloResult, ...]:
    """Every SLO judged over its span from the counts read: by its own key, or with
    ``alike``, by the key of its twins' first (:mod:`sloctl.core.twins`), under which its
    span and readings are filed. Twins share the counts; those with the same error budget
    also share the judgement (:attr:`~sloctl.core.twins.Twins.judged_as`)."""
    counted: dict[str, Judging] = {}
    judged: dict[str, SloResult] = {}
    results = []
    for slo in slos:
        if alike is None:
            key = same = slo.key
        else:
            key, same = alike.first_of[slo.key], alike.judged_as[slo.key]
        twin = judged.get(same)
        if twin is not None:
            results.append(twin.for_twin(slo))
            continue
        found = counted.get(key)
        if found is None:
            found = counted[key] = _counted(slo, key, spans[key], readings)
        twin = judged[same] = _judge(slo, spans[key], found)
        results.append(twin)
    return tuple(results)


@dataclass(frozen=True)
class CoverageQuery:
    """For SLOs whose totals share one shape and window: at how many evenly spaced points of
    the window their total series existed."""

    present: str
    """The instant expression that is 1 for every split key whose total series exist."""
    seconds: int
    time: datetime
    split: tuple[str, ...]
    members: Mapping[tuple[str, ...], tuple[str, ...]]
    step: int

    @property
    def points(self) -> int:
        return max(1, self.seconds // self.step)

    @property
    def expr(self) -> str:
        return f"count_over_time({promql.subquery(self.present, self.seconds, self.step)})"

    def coarser(self) -> CoverageQuery | None:
        """The same question at half the points (Prometheus refused this one as too large),
        or None below :data:`COVERAGE_MIN_POINTS`."""
        if self.points // 2 < COVERAGE_MIN_POINTS:
            return None
        return replace(self, step=self.step * 2)

    @property
    def slo_keys(self) -> tuple[str, ...]:
        return tuple(sorted({key for keys in self.members.values() for key in keys}))

    def shares(self, samples: Sequence[Sample]) -> dict[str, float]:
        found: dict[str, float] = {}
        for sample in samples:
            key = tuple(sample.labels.get(label, "") for label in self.split)
            if math.isfinite(sample.value):
                for slo_key in self.members.get(key, ()):
                    found[slo_key] = min(1.0, max(0.0, sample.value / self.points))
        return found


def coverage_queries(slos: Sequence[Slo], spans: Mapping[str, Span]) -> list[CoverageQuery]:
    """One query per shape of total series, window and time: ``count_over_time`` of the
    series' presence, sampled at :data:`COVERAGE_POINTS` points of the window."""
    groups: dict[tuple[Shape, int, datetime], dict[tuple[str, ...], list[str]]] = {}
    for slo in slos:
        span = spans[slo.key]
        total = slo.indicator.total
        shape, key = Shape.of(total, promql.shared_split_labels(total))
        time = query_time(slo, span.end)
        groups.setdefault((shape, span.measured_seconds, time), {}).setdefault(key, []).append(
            slo.key
        )
    queries = []
    for (shape, seconds, time), members in sorted(groups.items()):
        step = max(COVERAGE_MIN_STEP, seconds // COVERAGE_POINTS)
        present = f"group {promql.by_clause(shape.split)} ({shape.selector(members).render()})"
        queries.append(
            CoverageQuery(
                present,
                seconds,
                time,
                shape.split,
                {key: tuple(sorted(keys)) for key, keys in sorted(members.items())},
                step,
            )
        )
    return queries


def read_coverage(
    first: CoverageQuery, reader: InstantReader
) -> tuple[dict[str, float] | None, int]:
    """The share of each SLO's window that had data, from ``first`` or, refused as too large,
    a coarser form of it; None when it stays unknown. Also the queries sent."""
    query: CoverageQuery | None = first
    sent = 0
    while query is not None:
        sent += 1
        try:
            samples = reader.instant(query.expr, query.time, slos=query.slo_keys)
        except TooManySamplesError:
            # Fewer points of the window load fewer samples at the peak.
            query = query.coarser()
            continue
        except PrometheusError:
            # Coverage only qualifies a judgement: an API that refuses the subquery leaves
            # it unknown, never the budgets unread.
            return None, sent
        return query.shares(samples), sent
    return None, sent


@dataclass
class Counting:
    """The count queries of one evaluation, handed to a :class:`Parallel` queue: their
    answers are taken, in the order they were asked, by :meth:`collect`."""

    timeslices: Pending[int]
    families: list[tuple[Family, Pending[tuple[WindowCounts, int]]]]
    readings: SloCounts
    failed: dict[str, PrometheusError]
    """The SLOs of the timeslice batches that failed."""

    def collect(self, failed: dict[str, PrometheusError] | None) -> tuple[SloCounts, int]:
        """Every request's counts, and how many queries were sent (see :func:`read_counts`)."""
        queries = self.timeslices.result()
        if self.failed and failed is None:
            raise next(iter(self.failed.values()))
        if failed is not None:
            failed.update(self.failed)
        for family, pending in self.families:
            try:
                values, sent = pending.result()
            except PrometheusError as exc:
                if failed is None:
                    raise
                failed.update(dict.fromkeys(family.slo_keys, exc))
                queries += 1
                continue
            queries += sent
            hand_out(family, values, self.readings)
        return self.readings, queries


def start_counts(
    requests: Sequence[CountRequest],
    reader: InstantReader,
    budget: QueryBudget,
    slicing: Slicing | None,
    queue: Parallel,
) -> Counting:
    """Hand every count query of ``requests`` to ``queue``: the timeslice batches first,
    then one call per metric family."""
    found, rest = families(requests)
    readings: SloCounts = {}
    failed: dict[str, PrometheusError] = {}
    timeslices = queue.submit(partial(_read_timeslices, rest, reader, readings, failed=failed))
    pending = [
        (family, queue.submit(partial(count_family, family, reader, budget, slicing)))
        for family in found
    ]
    return Counting(timeslices, pending, readings, failed)


def read_counts(
    requests: Sequence[CountRequest],
    reader: InstantReader,
    budget: QueryBudget,
    slicing: Slicing | None = None,
    *,
    failed: dict[str, PrometheusError] | None = None,
) -> tuple[SloCounts, int]:
    """Every request's counts, and how many queries were sent (those refused as too large
    and asked again in pieces included; retries of unanswered requests not).

    A failed query raises, unless ``failed`` is given: then the SLOs it was for are put there
    with the error, and every other query is still asked.
    """
    with Parallel(1) as queue:
        return start_counts(requests, reader, budget, slicing, queue).collect(failed)


MAX_RUNS = 64
"""Timeslice windows refused as too large are counted in at most this many runs."""


def _read_timeslices(
    requests: Sequence[CountRequest],
    reader: InstantReader,
    readings: SloCounts,
    parts: int = 1,
    *,
    failed: dict[str, PrometheusError] | None = None,
) -> int:
    """Timeslice counts into ``readings``; a batch refused as too large is asked again with
    its windows in twice as many runs of slices. Returns the queries sent (see
    :func:`read_counts` for ``failed``)."""
    sent = 0
    for batch in plan(requests, parts=parts):
        sent += 1
        try:
            samples = reader.instant(batch.expr, batch.time, slos=batch.slo_keys)
        except TooManySamplesError as exc:
            if parts >= MAX_RUNS:
                if failed is None:
                    raise
                failed.update(dict.fromkeys(batch.slo_keys, exc))
                continue
            mine = set(batch.slo_keys)
            again = [r for r in requests if r.slo.key in mine]
            sent += _read_timeslices(again, reader, readings, parts * 2, failed=failed)
            continue
        except PrometheusError as exc:
            if failed is None:
                raise
            failed.update(dict.fromkeys(batch.slo_keys, exc))
            continue
        split_answer(batch, samples, into=readings)
    return sent


WindowCounts = dict[tuple[tuple[str, ...], int], float]
"""(split key, window seconds) -> count, for the keys that had any series in the window."""


def count_family(
    family: Family, reader: InstantReader, budget: QueryBudget, slicing: Slicing | None
) -> tuple[WindowCounts, int]:
    """Every window of ``family`` per split key, and the queries it took."""
    if slicing is None:
        return _windows_in_pieces(family, reader, budget)
    return _windows_from_slices(family, slicing, budget)


def hand_out(family: Family, values: WindowCounts, readings: SloCounts) -> None:
    """Each SLO side's share of ``values``, into ``readings``."""
    members, found = family.members, readings.get
    for (key, seconds), value in values.items():
        for slo_key, role in members.get(key, ()):
            where = (slo_key, seconds)
            reading = found(where)
            if reading is None:
                readings[where] = {role: value}
            else:
                reading[role] = value


def _add(
    family: Family,
    pieces: Mapping[int, Iterable[str]],
    counted: Mapping[tuple[tuple[str, ...], str], float],
    into: WindowCounts,
) -> None:
    """Each window's count per key: the sum of its pieces that had series."""
    for seconds, labels in pieces.items():
        wanted = list(labels)
        for key in family.members:
            present = [counted[(key, p)] for p in wanted if (key, p) in counted]
            if present:
                where = (key, seconds)
                into[where] = into.get(where, 0.0) + math.fsum(present)


def _windows_in_pieces(
    family: Family, reader: InstantReader, budget: QueryBudget
) -> tuple[WindowCounts, int]:
    """Every window of ``family`` in one query: whole when it fits the budget, else in pieces
    cut on a grid of the longest piece that fits; refused, the pieces are cut shorter."""
    at = millis(family.time)
    longest: int | None = budget.piece_millis(family.scrape_seconds)
    sent = 0
    while longest is not None:
        if all(seconds * 1000 <= longest for seconds in family.windows):
            pieces = {s: [Piece(at, s * 1000)] for s in family.windows}
            expr = piece_query(family, sorted({p[0] for p in pieces.values()}), exact=False)
        else:
            pieces = {s: cut(at - s * 1000, at, longest) for s in family.windows}
            unique = sorted({p for found in pieces.values() for p in found})
            expr = piece_query(family, unique, lookback_seconds=SLICE_SECONDS)
        sent += 1
        try:
            samples = reader.instant(expr, family.time, slos=family.slo_keys)
        except TooManySamplesError:
            longest = halve(min(longest, max(family.windows) * 1000))
            if longest is None:
                raise
            continue
        values: WindowCounts = {}
        labels = {s: [p.label for p in found] for s, found in pieces.items()}
        _add(family, labels, piece_values(family, samples), values)
        return values, sent
    raise AssertionError("unreachable")  # pragma: no cover


def _key_text(key: tuple[str, ...]) -> str:
    return json.dumps(list(key))


Counted = dict[tuple[tuple[str, ...], str], float]
"""(split key, piece label) -> count, where the key had series."""


def _windows_from_slices(
    family: Family, slicing: Slicing, budget: QueryBudget
) -> tuple[WindowCounts, int]:
    """Whole settled slices from the store (missing ones read again), the edges queried."""
    at = millis(family.time)
    slice_millis = slicing.slice_seconds * 1000
    settled = at - slicing.settle_seconds * 1000
    layouts = {
        s: layout(at - s * 1000, at, slice_millis=slice_millis, settled=settled)
        for s in family.windows
    }
    ends = sorted({end for found in layouts.values() for end in found.stored})
    stored, sent = _stored_slices(family, slicing, budget, ends)
    edges = sorted({p for found in layouts.values() for p in (*found.queried, *found.subtracted)})
    counted: Counted = {}
    if edges:
        sent += _edge_pieces(family, slicing, budget, edges, counted)
    values: WindowCounts = {}
    nothing: dict[int, float] = {}
    for seconds, window in layouts.items():
        for key in family.members:
            slices = stored.get(key, nothing)
            present = [slices[end] for end in window.stored if end in slices]
            present += [
                counted[(key, p.label)] for p in window.queried if (key, p.label) in counted
            ]
            taken = [counted.get((key, p.label), 0.0) for p in window.subtracted]
            if present:
                values[(key, seconds)] = max(0.0, math.fsum(present) - math.fsum(taken))
    return values, sent


def _stored_slices(
    family: Family, slicing: Slicing, budget: QueryBudget, ends: Sequence[int]
) -> tuple[dict[tuple[str, ...], dict[int, float]], int]:
    """The slices ending at ``ends`` per split key (slice end -> count, where the key had
    series): remembered, else from the store, else read again (and stored); slices older than
    the oldest wanted are forgotten."""
    found: dict[tuple[str, ...], dict[int, float]] = {}
    if not ends:
        return found, 0
    sent = 0
    at = millis(family.time)
    memory = slicing.remembered.setdefault(family.identity, Remembered())
    memory.reach = max(memory.reach, at - ends[0])
    rows = memory.rows
    keys = {key: _key_text(key) for key in family.members}

    wanted = [(text, end) for end in ends for text in keys.values()]

    def missing() -> list[int]:
        return sorted({end for text, end in wanted if (text, end) not in rows})

    if missing():
        rows.update(slicing.store.slice_counts(family.identity, ends[0], ends[-1]))
    if absent := missing():
        fresh, sent = _rebuild(family, slicing, budget, absent)
        rows.update(fresh)
        oldest = at - (max(family.windows) + slicing.slice_seconds) * 1000
        slicing.store.save_slice_counts(family.identity, fresh, older_than=oldest)
    forget = at - memory.reach
    for old in [where for where in rows if where[1] < forget]:
        del rows[old]
    for key, text in keys.items():
        slices = found[key] = {}
        for end in ends:
            value = rows.get((text, end))
            if value is not None:
                slices[end] = value
    return found, sent


def _edge_pieces(
    family: Family,
    slicing: Slicing,
    budget: QueryBudget,
    edges: Sequence[Piece],
    counted: Counted,
) -> int:
    """Count ``edges`` into ``counted`` in one query (pieces another family of this cycle has
    read already are not asked again); refused, the pieces are cut shorter. Returns the
    queries sent."""
    longest: int | None = min(
        slicing.slice_seconds * 1000, budget.piece_millis(family.scrape_seconds)
    )
    known = slicing.answered
    sent = 0
    while longest is not None:
        parts = {edge: cut(edge.start, edge.end, longest) for edge in edges}
        wanted = sorted(
            {
                p
                for found in parts.values()
                for p in found
                if any(
                    key not in known.get((family.identity, p.label), {}) for key in family.members
                )
            }
        )
        if wanted:
            sent += 1
            try:
                samples = slicing.reader.instant(
                    piece_query(family, wanted), family.time, slos=family.slo_keys
                )
            except TooManySamplesError:
                longest = halve(longest)
                if longest is None:
                    raise
                continue
            answers = piece_values(family, samples)
            for piece in wanted:
                mine = known.setdefault((family.identity, piece.label), {})
                for key in family.members:
                    mine[key] = answers.get((key, piece.label))
        for edge, found in parts.items():
            for key in family.members:
                present = [
                    value
                    for p in found
                    if (value := known[(family.identity, p.label)].get(key)) is not None
                ]
                if present:
                    counted[(key, edge.label)] = math.fsum(present)
        return sent
    raise AssertionError("unreachable")  # pragma: no cover


def _rebuild(
    family: Family, slicing: Slicing, budget: QueryBudget, missing: Sequence[int]
) -> tuple[SliceRows, int]:
    """Slices ending at ``missing`` (milliseconds) for every key, from range queries whose
    steps times series stay within the budget; a refused query is asked in halves."""
    reader, slice_millis = slicing.reader, slicing.slice_seconds * 1000
    sent = 1
    series = reader.instant(f"count({family.selector().render()})", family.time)
    raw_series = int(series[0].value) if series else 1
    steps = budget.range_steps(raw_series, slice_millis, family.scrape_seconds)
    rows: SliceRows = {}
    pending = sorted(set(missing))
    step = timedelta(milliseconds=slice_millis)
    while pending:
        first = pending[0]
        last = max(e for e in pending if e < first + steps * slice_millis)
        expr = promql.counted(
            family.selector(), family.split, slice_millis, lookback_seconds=slicing.slice_seconds
        )
        sent += 1
        try:
            answer = reader.range(
                expr,
                datetime.fromtimestamp(first / 1000, UTC),
                datetime.fromtimestamp(last / 1000, UTC),
                step,
                slos=family.slo_keys,
            )
        except TooManySamplesError:
            if steps == 1:
                raise
            steps = max(1, steps // 2)
            continue
        done = [e for e in pending if first <= e <= last]
        for end in done:
            for key in family.members:
                rows[(_key_text(key), end)] = None
        for found in answer:
            key = tuple(found.labels.get(label, "") for label in family.split)
            if key not in family.members:
                continue
            for stamp, value in found.points:
                end = round(stamp * 1000)
                if first <= end <= last and math.isfinite(value):
                    rows[(_key_text(key), end)] = value
        pending = [e for e in pending if e > last]
        slicing.rebuilt += len(done)
    return rows, sent


Judging = tuple[Counts | None, dict[str, Counts | None], str, Spending]
"""What an SLO is judged from: its counts over its measured window and over each burn
window, the note on them, and what they spent."""


def _counted(slo: Slo, key: str, span: Span, readings: SloCounts) -> Judging:
    found = readings.get
    measured = span.measured_seconds
    counts, note = counts_from(slo, found((key, measured)), measured)
    burn_counts: dict[str, Counts | None] = {}
    for name, seconds in BURN_SECONDS:
        burn_counts[name] = counts_from(slo, found((key, seconds)), seconds)[0]
    timeslices = slo.timeslices
    spent = spending(
        counts,
        burn_counts[CURRENT_BURN],
        span.measured,
        slice_length=None if timeslices is None else timeslices.length,
    )
    return counts, burn_counts, note, spent


def _judge(slo: Slo, span: Span, judging: Judging) -> SloResult:
    counts, burn_counts, note, spent = judging
    budget = assess_spending(
        spent,
        error_budget=slo.error_budget,
        window_length=span.length,
        time_left=span.left if span.kind is WindowKind.CALENDAR else None,
    )
    return SloResult(slo, span, counts, burn_counts, budget, note)


@dataclass(frozen=True)
class SpanImpact:
    """What one SLO's events were between two instants, and the budget that cost."""

    counts: Counts | None
    """Events (requests; slices for a timeslice SLO) and the bad ones; None: no traffic."""
    spent_percent: float | None
    """Share of the SLO's budget (over its own window) spent, in percent."""


def impact_between(
    slos: Sequence[Slo], reader: InstantReader, start: datetime, end: datetime
) -> dict[str, SpanImpact]:
    """Each SLO's events between ``start`` and ``end`` and the share of its budget they spent
    (minutes of full outage the interval cost, over the budget minutes of its window)."""
    seconds = max(1, int((end - start).total_seconds()))
    requests = [CountRequest(slo=slo, time=end, windows=(seconds,)) for slo in slos]
    readings, _ = read_counts(requests, reader, QueryBudget())
    found: dict[str, SpanImpact] = {}
    for slo in slos:
        counts, _ = counts_from(slo, readings.get((slo.key, seconds)), seconds)
        ratio = error_ratio(counts)
        spent = None
        if ratio is not None:
            budget = budget_minutes(slo.error_budget, slo.rolling_length())
            spent = ratio * float(minutes(end - start)) / float(budget) * 100
        found[slo.key] = SpanImpact(counts if ratio is not None else None, spent)
    return found


def budget_spent(
    slos: Sequence[Slo], reader: InstantReader, start: datetime, end: datetime
) -> dict[str, float | None]:
    """Share of each SLO's budget (over its own window) spent between ``start`` and ``end``.

    Minutes of full outage the interval cost, over the budget minutes of the SLO's window, in
    percent; None where there was no traffic to judge.
    """
    return {key: i.spent_percent for key, i in impact_between(slos, reader, start, end).items()}

"""Query planning: many SLOs' questions folded into few PromQL queries, and answers split back.

SLOs whose series differ only in split labels (``service`` in the conventional layout) share
one query per metric family, whatever their number: the query sums by the split labels and
the answer is split per SLO. Every window asked of a family travels in the same query, tagged
with a ``sloctl_window`` label. The planner is pure: it only writes and reads PromQL text and
sample labels.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from math import isfinite

from sloctl.core.budget import Counts
from sloctl.core.conventions import QUERY_PART_LABEL, QUERY_PIECE_LABEL, QUERY_WINDOW_LABEL
from sloctl.core.durations import format_duration
from sloctl.core.selector import Selector
from sloctl.core.series import Sample
from sloctl.core.slo import LatencyIndicator, Slo
from sloctl.promql import build as promql
from sloctl.promql.build import Shape
from sloctl.promql.slices import Piece

TOTAL = "total"
BAD = "bad"
GOOD = "good"
BAD_SLICES = "bad_slices"
SLICES = "slices"
GOOD_SERIES = "good_series"


@dataclass(frozen=True)
class CountRequest:
    """Event counts wanted for one SLO over windows (seconds) ending at ``time``."""

    slo: Slo
    time: datetime
    windows: tuple[int, ...]


@dataclass(frozen=True)
class Batch:
    """One query answering for several SLOs; ``members`` maps a split key to (SLO, role)."""

    expr: str
    time: datetime
    split: tuple[str, ...]
    members: Mapping[tuple[str, ...], tuple[tuple[str, str], ...]]

    @property
    def slo_keys(self) -> tuple[str, ...]:
        return tuple(sorted({key for pairs in self.members.values() for key, _ in pairs}))


SloCounts = dict[tuple[str, int], dict[str, float]]
"""What one answer counted: per SLO key and window (in seconds), each role's count."""


@dataclass
class _Group:
    split: tuple[str, ...]
    time: datetime
    windows: set[int] = field(default_factory=set)
    members: dict[tuple[str, ...], list[tuple[str, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    scrape: int = 0
    """The shortest scrape interval among the members (families only)."""


def _numerator(slo: Slo) -> tuple[str, Selector]:
    indicator = slo.indicator
    if indicator.bad is not None:
        return BAD, indicator.bad
    if indicator.good is not None:
        return GOOD, indicator.good
    raise ValueError(f"SLO {slo.key} counts neither bad nor good events")


@dataclass(frozen=True)
class _Layout:
    """How one SLO's selectors fold into shared queries."""

    split: tuple[str, ...]
    role: str
    total: tuple[Shape, tuple[str, ...]]
    numerator: tuple[Shape, tuple[str, ...]]


@functools.lru_cache(maxsize=65536)
def _layout(slo: Slo) -> _Layout:
    """Pure and asked for every SLO on every daemon cycle, so remembered per SLO value."""
    role, numerator = _numerator(slo)
    total = slo.indicator.total
    split = promql.shared_split_labels(total, numerator)
    return _Layout(split, role, Shape.of(total, split), Shape.of(numerator, split))


def plan(requests: Sequence[CountRequest], *, parts: int = 1) -> list[Batch]:
    """Fold ``requests`` into as few queries as the metric layouts allow; timeslice windows
    are counted in ``parts`` runs of whole slices (fewer steps per subquery)."""
    occurrences: dict[tuple[Shape, datetime], _Group] = {}
    slices: dict[tuple[Shape, str, Shape, int, Decimal, datetime], _Group] = {}
    for request in requests:
        slo = request.slo
        layout = _layout(slo)
        split, role = layout.split, layout.role
        if slo.timeslices is None:
            for side_role, (shape, key) in ((TOTAL, layout.total), (role, layout.numerator)):
                group = occurrences.setdefault((shape, request.time), _Group(split, request.time))
                group.windows.update(request.windows)
                group.members[key].append((slo.key, side_role))
        else:
            num_shape, key = layout.numerator
            total_shape, _ = layout.total
            group_key = (
                num_shape,
                role,
                total_shape,
                slo.timeslices.slice_seconds,
                slo.timeslices.target,
                request.time,
            )
            group = slices.setdefault(group_key, _Group(split, request.time))
            group.windows.update(request.windows)
            group.members[key].append((slo.key, role))
    batches = [_occurrence_batch(shape, g) for (shape, _), g in sorted(occurrences.items())]
    for (num_shape, role, total_shape, step, target, _), group in sorted(slices.items()):
        batches.append(
            _slice_batch(
                num_shape,
                numerator_is_good=role == GOOD,
                total_shape=total_shape,
                step=step,
                target=target,
                group=group,
                parts=parts,
            )
        )
    return batches


FAMILY_VERSION = "counted-1"
"""Part of every family's identity: a change to how slices are counted invalidates them."""


@dataclass(frozen=True)
class Family:
    """Event counts of one metric family at one time: every SLO side that reads it, and the
    windows they want, read piece by piece (see :mod:`sloctl.promql.slices`)."""

    shape: Shape
    time: datetime
    split: tuple[str, ...]
    windows: tuple[int, ...]
    members: Mapping[tuple[str, ...], tuple[tuple[str, str], ...]]
    scrape_seconds: int

    @functools.cached_property
    def slo_keys(self) -> tuple[str, ...]:
        return tuple(sorted({key for pairs in self.members.values() for key, _ in pairs}))

    def selector(self, keys: Sequence[tuple[str, ...]] | None = None) -> Selector:
        return self.shape.selector(self.members if keys is None else keys)

    def at(self, time: datetime) -> Family:
        """This family at ``time``. What is made from its members alone (:attr:`slo_keys`:
        10,000 keys sorted) comes along, as a daemon moves the same families every cycle."""
        moved = replace(self, time=time)
        moved.__dict__["slo_keys"] = self.slo_keys  # the cached property, made once
        return moved

    @property
    def identity(self) -> str:
        """What stored slices of this family are filed under: a hash of the query that counts
        them, so that a changed definition never reads slices counted for the old one."""
        text = "\x1f".join(
            (
                FAMILY_VERSION,
                self.shape.metric,
                *(m.render() for m in self.shape.fixed),
                "by",
                *self.split,
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def families(requests: Sequence[CountRequest]) -> tuple[list[Family], list[CountRequest]]:
    """The occurrence requests folded into families, and the timeslice requests left over.

    A daemon asks for the same SLOs and windows every cycle, at one new time for all of them:
    the folding is then remembered, and only the families' time changes.
    """
    times = {request.time for request in requests}
    if len(times) != 1:
        return _families(requests)
    [at] = times
    found, rest = _families_at_one_time(_Asked(tuple((r.slo, r.windows) for r in requests)))
    return [family.at(at) for family in found], [replace(r, time=at) for r in rest]


_EPOCH = datetime.fromtimestamp(0, UTC)


class _Asked:
    """The SLOs and windows of a set of requests, equal to another only for the very same SLO
    objects (as a daemon holds them between reloads): comparing 10,000 definitions by value
    costs as much as folding them. The remembered value holds them, so no id is reused."""

    def __init__(self, asked: tuple[tuple[Slo, tuple[int, ...]], ...]) -> None:
        self.asked = asked
        self._hash = hash(tuple((id(slo), windows) for slo, windows in asked))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _Asked)
            and len(other.asked) == len(self.asked)
            and all(
                mine is theirs and windows == other_windows
                for (mine, windows), (theirs, other_windows) in zip(
                    self.asked, other.asked, strict=True
                )
            )
        )


@functools.lru_cache(maxsize=8)
def _families_at_one_time(asked: _Asked) -> tuple[list[Family], list[CountRequest]]:
    return _families([CountRequest(slo, _EPOCH, windows) for slo, windows in asked.asked])


def _families(requests: Sequence[CountRequest]) -> tuple[list[Family], list[CountRequest]]:
    groups: dict[tuple[Shape, datetime], _Group] = {}
    rest: list[CountRequest] = []
    for request in requests:
        slo = request.slo
        if slo.timeslices is not None:
            rest.append(request)
            continue
        layout = _layout(slo)
        for side_role, (shape, key) in ((TOTAL, layout.total), (layout.role, layout.numerator)):
            group = groups.get((shape, request.time))
            if group is None:
                group = groups[(shape, request.time)] = _Group(layout.split, request.time)
                group.scrape = slo.scrape_seconds
            group.windows.update(request.windows)
            group.members[key].append((slo.key, side_role))
            group.scrape = min(group.scrape, slo.scrape_seconds)
    found = [
        Family(
            shape,
            time,
            group.split,
            tuple(sorted(group.windows)),
            _frozen_members(group),
            group.scrape,
        )
        for (shape, time), group in sorted(groups.items())
    ]
    return found, rest


def millis(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def piece_query(
    family: Family,
    pieces: Sequence[Piece],
    *,
    exact: bool = True,
    lookback_seconds: int | None = None,
    keys: Sequence[tuple[str, ...]] | None = None,
) -> str:
    """One query counting every piece for the family's split keys, each piece tagged.

    ``exact`` counts with :func:`sloctl.promql.build.counted` so that pieces add up; without it a
    piece ending at the family's time is a plain ``increase()``, as a single window is read.
    """
    selector = family.selector(keys)
    at = millis(family.time)
    parts = []
    for piece in pieces:
        offset = at - piece.end
        if exact:
            expr = promql.counted(
                selector,
                family.split,
                piece.length,
                offset_millis=offset,
                lookback_seconds=lookback_seconds,
            )
        else:
            if offset:
                raise ValueError("a plain increase is only read at the family's time")
            window = f"[{promql.millis_text(piece.length)}]"
            expr = f"sum {promql.by_clause(family.split)} (increase({selector.render()}{window}))"
        parts.append(promql.tagged(expr, **{QUERY_PIECE_LABEL: piece.label}))
    return promql.union(parts)


def key_of(family: Family, labels: Mapping[str, str]) -> tuple[str, ...] | None:
    """The split key of an answer's sample, or None for a combination nobody asked for."""
    key = tuple(labels.get(label, "") for label in family.split)
    return key if key in family.members else None


def piece_values(
    family: Family, samples: Sequence[Sample]
) -> dict[tuple[tuple[str, ...], str], float]:
    """(split key, piece label) -> count, from the answer to :func:`piece_query`."""
    found: dict[tuple[tuple[str, ...], str], float] = {}
    for sample in samples:
        key = key_of(family, sample.labels)
        piece = sample.labels.get(QUERY_PIECE_LABEL)
        if key is not None and piece is not None:
            found[(key, piece)] = sample.value
    return found


def _frozen_members(group: _Group) -> dict[tuple[str, ...], tuple[tuple[str, str], ...]]:
    return {key: tuple(sorted(set(pairs))) for key, pairs in sorted(group.members.items())}


def _occurrence_batch(shape: Shape, group: _Group) -> Batch:
    selector = shape.selector(group.members)
    expr = promql.union(
        promql.tagged(
            promql.summed_increase(selector, group.split, seconds),
            **{QUERY_WINDOW_LABEL: str(seconds)},
        )
        for seconds in sorted(group.windows)
    )
    return Batch(expr, group.time, group.split, _frozen_members(group))


def _slice_batch(
    num_shape: Shape,
    *,
    numerator_is_good: bool,
    total_shape: Shape,
    step: int,
    target: Decimal,
    group: _Group,
    parts: int = 1,
) -> Batch:
    numerator = num_shape.selector(group.members)
    total = total_shape.selector(group.members)
    split = group.split
    bad = promql.bad_slice(
        numerator, total, split, step, numerator_is_good=numerator_is_good, slice_target=target
    )
    with_data = f"{promql.summed_increase(total, split, step)} > 0"
    present = f"group {promql.by_clause(split)} ({numerator.render()})"
    exprs: list[str] = []
    for seconds in sorted(group.windows):
        if seconds < step:
            continue  # not one whole slice yet: no data
        window = {QUERY_WINDOW_LABEL: str(seconds)}
        if numerator_is_good:
            exprs.append(promql.tagged(present, **window, **{QUERY_PART_LABEL: GOOD_SERIES}))
        for offset, length in _runs(seconds // step, parts):
            at = f" offset {format_duration(offset * step)}" if offset else ""
            tags = {**window, **({QUERY_PIECE_LABEL: str(offset)} if parts > 1 else {})}
            bad_count = f"sum_over_time({promql.subquery(bad, length * step, step)}{at})"
            data_count = f"count_over_time({promql.subquery(with_data, length * step, step)}{at})"
            exprs.append(promql.tagged(bad_count, **tags, **{QUERY_PART_LABEL: BAD_SLICES}))
            exprs.append(promql.tagged(data_count, **tags, **{QUERY_PART_LABEL: SLICES}))
    return Batch(promql.union(exprs), group.time, split, _frozen_members(group))


def _runs(slices: int, parts: int) -> list[tuple[int, int]]:
    """(offset, length) in slices of ``parts`` consecutive runs covering ``slices``."""
    parts = max(1, min(parts, slices))
    size, extra = divmod(slices, parts)
    runs, offset = [], 0
    for index in range(parts):
        length = size + (1 if index < extra else 0)
        runs.append((offset, length))
        offset += length
    return runs


def targets(batch: Batch, labels: Mapping[str, str]) -> list[tuple[tuple[str, int], str]]:
    """Where a sample with ``labels`` goes: (SLO key, window) and the role it reads as."""
    key = tuple(labels.get(label, "") for label in batch.split)
    members = batch.members.get(key)
    window = labels.get(QUERY_WINDOW_LABEL)
    if members is None or window is None or not window.isdigit():
        return []  # a combination nobody asked for (the regex covers a cross product)
    part = labels.get(QUERY_PART_LABEL)
    seconds = int(window)
    return [((slo_key, seconds), part or role) for slo_key, role in members]


def split_answer(
    batch: Batch, samples: Sequence[Sample], *, into: SloCounts | None = None
) -> SloCounts:
    """Hand each sample of ``batch``'s answer to the SLOs it belongs to (adding to ``into``
    when given, so that several batches fill one set of readings)."""
    readings: SloCounts = {} if into is None else into
    for sample in samples:
        piece = QUERY_PIECE_LABEL in sample.labels  # one of several runs: they add up
        for where, role in targets(batch, sample.labels):
            found = readings.get(where)
            if found is None:
                found = readings[where] = {}
            found[role] = found.get(role, 0.0) + sample.value if piece else sample.value
    return readings


NON_FINITE = "Prometheus returned NaN or infinity for this window"
"""The note of a window whose reading holds NaN or an infinity."""


def counts_from(
    slo: Slo, reading: Mapping[str, float] | None, window_seconds: int
) -> tuple[Counts | None, str]:
    """Counts for one SLO over one window, with a note when the readings are unusable.

    For timeslices the total is every slice of the window, traffic or not, so that burn rate,
    consumed budget and time to exhaustion all count the same slices; a window without any
    slice of traffic is "no data". See :func:`sides` for the numbers alone.
    """
    found = sides(slo, reading, window_seconds)
    if isinstance(found, str):
        return None, found
    total, bad = found
    return Counts(total=total, bad=bad), ""


def sides(
    slo: Slo, reading: Mapping[str, float] | None, window_seconds: int
) -> tuple[float, float] | str:
    """What :func:`counts_from` counts, as ``(total, bad)``, or why there is nothing to
    count: the note (empty when nothing usable was read).

    Asked for every SLO and window on every daemon cycle (the signals judge from the pair
    alone): one pass over the reading, no object made but the pair.
    """
    if not reading:
        return ""
    for value in reading.values():
        if not isfinite(value):
            return NON_FINITE
    indicator, timeslices = slo.indicator, slo.timeslices
    if timeslices is None:
        total = reading.get(TOTAL)
        if total is None:
            return ""
        if isinstance(indicator, LatencyIndicator):
            good = reading.get(GOOD)
            if good is None:  # the histogram has events but not the threshold's bucket
                return _no_bucket(indicator)
            return total, max(total - good, 0.0)
        if indicator.bad is None:
            return total, max(total - reading.get(GOOD, 0.0), 0.0)
        return total, reading.get(BAD, 0.0)
    slices = reading.get(SLICES)
    if isinstance(indicator, LatencyIndicator) and slices and GOOD_SERIES not in reading:
        return _no_bucket(indicator)
    if not slices:
        return ""
    return float(window_seconds // timeslices.slice_seconds), reading.get(BAD_SLICES, 0.0)


def _no_bucket(indicator: LatencyIndicator) -> str:
    threshold = promql.decimal_text(indicator.threshold_seconds)
    return (
        f"no bucket le={threshold} in {indicator.histogram.metric}_bucket: "
        "the threshold must be one of the histogram's bucket bounds"
    )

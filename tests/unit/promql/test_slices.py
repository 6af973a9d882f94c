"""Cutting windows into pieces: boundaries on a fixed grid, stored slices, sample budgets."""

from __future__ import annotations

import itertools

import pytest

from sloctl.promql.slices import MIN_PIECE_MILLIS, Layout, Piece, QueryBudget, cut, halve, layout

HOUR = 3_600_000


def test_cut_on_the_grid_covers_the_span_once() -> None:
    pieces = cut(HOUR // 2, 3 * HOUR + 10, HOUR)
    assert pieces == [
        Piece(HOUR, HOUR // 2),
        Piece(2 * HOUR, HOUR),
        Piece(3 * HOUR, HOUR),
        Piece(3 * HOUR + 10, 10),
    ]
    assert sum(p.length for p in pieces) == 3 * HOUR + 10 - HOUR // 2
    assert all(a.end == b.start for a, b in itertools.pairwise(pieces))


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [(0, HOUR, 1), (0, 2 * HOUR, 2), (5, 6, 1), (HOUR, HOUR, 0), (10, 5, 0)],
)
def test_cut_edges(start: int, end: int, count: int) -> None:
    assert len(cut(start, end, HOUR)) == count


def test_layout_stores_settled_whole_slices_and_queries_the_edges() -> None:
    found = layout(HOUR // 4, 5 * HOUR + 60_000, slice_millis=HOUR, settled=4 * HOUR)
    # 0:15-1:00 is read as the stored slice 0:00-1:00 minus 0:00-0:15 (the shorter part);
    # 4:00-5:00 has not settled yet; 5:00-5:01 is in progress.
    assert found == Layout(
        stored=(HOUR, 2 * HOUR, 3 * HOUR, 4 * HOUR),
        queried=(Piece(5 * HOUR, HOUR), Piece(5 * HOUR + 60_000, 60_000)),
        subtracted=(Piece(HOUR // 4, HOUR // 4),),
    )


def test_a_window_starting_late_in_its_slice_queries_its_start() -> None:
    found = layout(HOUR - 60_000, 3 * HOUR, slice_millis=HOUR, settled=3 * HOUR)
    assert found.queried == (Piece(HOUR, 60_000),)
    assert found.subtracted == ()
    assert found.stored == (2 * HOUR, 3 * HOUR)


def test_budget_sizes_pieces_and_range_steps() -> None:
    budget = QueryBudget(10_000)
    assert budget.piece_millis(15) == 5_000 * 15_000
    assert budget.piece_millis(1) >= MIN_PIECE_MILLIS
    steps = budget.range_steps(series=30, slice_millis=HOUR, scrape_seconds=15)
    assert steps >= 1
    assert steps * 30 * 5 + 2 * 241 <= 5_000
    assert budget.range_steps(series=10**9, slice_millis=HOUR, scrape_seconds=15) == 1


def test_halving_stops_at_a_minute() -> None:
    assert halve(4 * MIN_PIECE_MILLIS) == 2 * MIN_PIECE_MILLIS
    assert halve(MIN_PIECE_MILLIS + 1) == MIN_PIECE_MILLIS
    assert halve(MIN_PIECE_MILLIS) is None

"""Cutting long windows into pieces that fit a sample budget and add up exactly.

Prometheus refuses a query whose peak of loaded samples passes ``--query.max-samples``. For an
instant query that peak is the samples of the one range being read (the largest series'
samples in it) plus the answer; for a range query it also holds every step of every raw series
before they are summed. A window is therefore cut at fixed boundaries (multiples of a grid
since the epoch, so the same boundaries come back every cycle) into pieces counted with
:func:`sloctl.promql.build.counted`, whose counts add up to the window's exactly.

The daemon keeps whole slices (an hour by default) in its store once they have settled, so a
cycle reads only the pieces at the edges of each window: what happened since the last whole
slice, and the part of the oldest slice still inside the window. Everything here is pure.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

SLICE_SECONDS = 3600
"""Length of the slices the daemon stores per metric family and split key."""
SETTLE_SECONDS = 300
"""A slice is stored only this long after its end, once late scrapes have arrived."""
MIN_PIECE_MILLIS = 60_000
"""Pieces are never cut shorter than a minute, however small the budget."""
DEFAULT_MAX_SAMPLES = 5_000_000
RANGE_NODES = 5
"""Selector and function results a range query of :func:`~sloctl.promql.build.counted` holds at
once, each one point per raw series and step."""


@dataclass(frozen=True, order=True)
class Piece:
    """The span (end - length, end], in milliseconds since the epoch."""

    end: int
    length: int

    @property
    def start(self) -> int:
        return self.end - self.length

    @property
    def label(self) -> str:
        return f"{self.end}:{self.length}"


def cut(start: int, end: int, grid: int) -> list[Piece]:
    """(start, end] cut at every multiple of ``grid`` (milliseconds) inside it."""
    if end <= start:
        return []
    if grid <= 0:
        raise ValueError("grid must be positive")
    bounds = [start, *range((start // grid + 1) * grid, end, grid), end]
    return [Piece(q, q - p) for p, q in itertools.pairwise(bounds) if q > p]


@dataclass(frozen=True)
class Layout:
    """How one window is read: whole stored slices, plus queried pieces, minus others."""

    stored: tuple[int, ...]
    """Ends (milliseconds) of whole slices the store is asked for."""
    queried: tuple[Piece, ...]
    subtracted: tuple[Piece, ...] = ()
    """Pieces of a stored slice that lie before the window's start."""


def layout(start: int, end: int, *, slice_millis: int, settled: int) -> Layout:
    """(start, end]: the whole slices that end by ``settled`` from the store, the rest queried
    in pieces no longer than one slice.

    The window's first, partial slice is read as the stored whole slice minus the part before
    the window when that part is the shorter one: a cycle then reads at most half a slice at
    the start of each window, whatever the time.
    """
    stored: list[int] = []
    queried: list[Piece] = []
    subtracted: list[Piece] = []
    for piece in cut(start, end, slice_millis):
        whole = piece.length == slice_millis and piece.end % slice_millis == 0
        aligned_end = piece.end % slice_millis == 0
        before = Piece(piece.start, slice_millis - piece.length)
        if whole and piece.end <= settled:
            stored.append(piece.end)
        elif aligned_end and piece.end <= settled and before.length < piece.length:
            stored.append(piece.end)
            subtracted.append(before)
        else:
            queried.append(piece)
    return Layout(tuple(stored), tuple(queried), tuple(subtracted))


@dataclass(frozen=True)
class QueryBudget:
    """The most samples one query may load at its peak (``query_max_samples``)."""

    max_samples: int = DEFAULT_MAX_SAMPLES

    def piece_millis(self, scrape_seconds: int) -> int:
        """The longest piece whose samples per series stay within half the budget (the other
        half is headroom for the answer and for scrapes more frequent than declared)."""
        samples = max(1, self.max_samples // 2)
        return max(MIN_PIECE_MILLIS, samples * scrape_seconds * 1000)

    def range_steps(self, series: int, slice_millis: int, scrape_seconds: int) -> int:
        """Steps one range query of slices may cover for ``series`` raw series."""
        per_slice = math.ceil(slice_millis / 1000 / scrape_seconds) + 1
        room = self.max_samples // 2 - 2 * per_slice
        return max(1, room // (RANGE_NODES * max(1, series)))


def halve(millis: int) -> int | None:
    """A shorter piece length after Prometheus refused a query, or None below the minimum."""
    if millis <= MIN_PIECE_MILLIS:
        return None
    return max(MIN_PIECE_MILLIS, millis // 2)

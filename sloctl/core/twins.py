"""SLOs that count the very same events: one of them is read and counted for all.

Two SLOs of one service with the same indicator, window, timeslices and scrape interval
read the same counts over the same windows; they differ at most in name, objective and
description. Many objectives over one indicator are common (a strict and a loose target,
one per team), and a daemon reads every SLO on every cycle, so each reading and each count
made from it is done once per set of twins and handed to the rest.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sloctl.core.slo import Slo

T = TypeVar("T")


def counted_alike(slo: Slo) -> Hashable:
    """What an SLO's event counts depend on: SLOs with equal values read equal counts."""
    return (slo.service, slo.indicator, slo.window, slo.timeslices, slo.scrape_seconds)


@dataclass(frozen=True)
class Twins:
    """Some SLOs grouped by what they count; the first of each group stands for it."""

    firsts: tuple[Slo, ...]
    """The first SLO of every group, in the order given."""
    first_of: Mapping[str, str]
    """Every SLO's key -> the key of its group's first."""
    keys_of: Mapping[str, tuple[str, ...]]
    """A first's key -> every key of its group (its own first)."""
    judged_as: Mapping[str, str]
    """Every SLO's key -> the key of the first of its group with the very same error budget
    (equal, and written alike: ``0.001`` and ``0.0010`` are judged apart, as each keeps its
    own exact budget), whose judgement it shares."""

    def spread(self, by_first: Mapping[str, T]) -> dict[str, T]:
        """``by_first`` (keyed by firsts) for every SLO of their groups."""
        keys_of = self.keys_of
        return {key: value for first, value in by_first.items() for key in keys_of[first]}


def twins(slos: Sequence[Slo]) -> Twins:
    """``slos`` grouped by :func:`counted_alike`.

    A daemon asks for the same tuple of SLOs every cycle, so the grouping of a tuple is
    remembered for the very tuple object (it holds frozen SLOs); any other sequence is
    grouped afresh.
    """
    if isinstance(slos, tuple):
        return _twins_of(_Same(slos))
    return _grouped(slos)


class _Same:
    """A tuple of SLOs, equal only to itself: comparing 10,000 definitions by value costs
    as much as grouping them. The remembered value holds it, so no id is reused."""

    def __init__(self, slos: tuple[Slo, ...]) -> None:
        self.slos = slos

    def __hash__(self) -> int:
        return id(self.slos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.slos is self.slos


@functools.lru_cache(maxsize=8)
def _twins_of(same: _Same) -> Twins:
    return _grouped(same.slos)


def _grouped(slos: Sequence[Slo]) -> Twins:
    groups: dict[Hashable, list[Slo]] = {}
    for slo in slos:
        groups.setdefault(counted_alike(slo), []).append(slo)
    firsts = tuple(group[0] for group in groups.values())
    keys_of = {group[0].key: tuple(slo.key for slo in group) for group in groups.values()}
    first_of = {key: first for first, keys in keys_of.items() for key in keys}
    judged: dict[tuple[str, str], str] = {}
    judged_as = {
        slo.key: judged.setdefault((first_of[slo.key], str(slo.error_budget)), slo.key)
        for slo in slos
    }
    return Twins(firsts, first_of, keys_of, judged_as)

"""SLOs that count the same events (sloctl/core/twins.py): grouped by what their counts depend
on, whatever their names and targets; the grouping of a tuple is remembered for that tuple."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from sloctl.core.selector import parse_selector
from sloctl.core.slo import CalendarWindow, RatioIndicator, RollingWindow, Slo, Timeslices
from sloctl.core.twins import counted_alike, twins

INDICATOR = RatioIndicator(
    total=parse_selector('http_requests_total{service="api"}'),
    bad=parse_selector('http_requests_total{service="api",code=~"5.."}'),
)
API = Slo("api", "availability", INDICATOR, Decimal("0.999"))


def test_name_target_and_description_leave_the_counts_alike() -> None:
    strict = replace(API, name="strict", target=Decimal("0.9999"), description="for the CEO")
    assert counted_alike(strict) == counted_alike(API)
    grouped = twins([API, strict])
    assert grouped.firsts == (API,)
    assert grouped.first_of == {"api/availability": "api/availability", "api/strict": API.key}
    assert grouped.keys_of == {API.key: ("api/availability", "api/strict")}


def test_what_the_counts_depend_on_parts_twins() -> None:
    others = [
        replace(API, service="auth", name="other-service"),
        replace(API, name="other-window", window=RollingWindow(7 * 86400)),
        replace(API, name="calendar", window=CalendarWindow()),
        replace(API, name="slices", timeslices=Timeslices(Decimal("0.99"), 60)),
        replace(API, name="scrape", scrape_seconds=15),
        replace(
            API,
            name="other-indicator",
            indicator=replace(
                INDICATOR, bad=parse_selector('http_requests_total{service="api",code="503"}')
            ),
        ),
    ]
    grouped = twins([API, *others])
    assert grouped.firsts == (API, *others)  # every one its own first, in the order given
    assert all(keys == (first,) for first, keys in grouped.keys_of.items())


def test_spread_hands_a_first_s_value_to_each_of_its_twins() -> None:
    twin = replace(API, name="twin")
    alone = replace(API, name="alone", window=RollingWindow(86400))
    grouped = twins([API, alone, twin])
    assert grouped.firsts == (API, alone)
    assert grouped.spread({API.key: "refused"}) == {API.key: "refused", twin.key: "refused"}


def test_a_tuple_is_grouped_once_and_any_other_sequence_afresh() -> None:
    slos = (API, replace(API, name="twin"))
    assert twins(slos) is twins(slos)  # a daemon's tuple, every cycle
    equal = tuple(slos)  # the same tuple object (tuple() of a tuple is itself)
    assert twins(equal) is twins(slos)
    copy = (*slos[:1], slos[1])
    assert copy == slos
    assert copy is not slos
    assert twins(copy) is not twins(slos)  # equal by value, not the same: grouped again
    assert twins(copy) == twins(slos)
    as_list = list(slos)
    assert twins(as_list) is not twins(as_list)  # a list may change between calls
    assert twins(as_list) == twins(slos)


def test_twins_are_judged_alike_only_with_the_very_same_error_budget() -> None:
    again = replace(API, name="again")
    strict = replace(API, name="strict", target=Decimal("0.9999"))
    written_long = replace(API, name="long", target=Decimal("0.9990"))  # equal, not alike
    grouped = twins([strict, API, again, written_long])
    assert grouped.firsts == (strict,)
    assert grouped.judged_as == {
        strict.key: strict.key,
        API.key: API.key,
        again.key: API.key,
        written_long.key: written_long.key,
    }

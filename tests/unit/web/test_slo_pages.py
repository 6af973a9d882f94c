"""The SLO pages through the real site on loopback: the list from the snapshot alone (sorted,
filtered and searched by its URL), the detail with its charts, pairs, definition and
incidents, and every hostile string shown as text."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from sloctl.core.severity import Severity
from sloctl.daemon.exporter import Snapshot
from sloctl.incidents.lifecycle import declare
from sloctl.incidents.policy import Cause, Finding
from sloctl.store.database import open_store
from sloctl.web.slo_list import slo_path
from sloctl.web.ui import sre_ui
from tests.fake_prometheus import FakePrometheus, fake_prometheus
from tests.slo_daemon import AT, IMAGE, SCRIPT, SloSite, judged, make_daemon
from tests.unit.web.prometheus_history import HistoryTraffic
from tests.web_site import serving

ROW = re.compile(r'<tr[^>]*>\s*<td>(?P<service>[^<]*)</td>\s*<td><a href="(?P<path>[^"]+)">')

SHARES = {
    "api/availability": 0.0005,  # half the budget spent
    "api/latency": 0.01,
    "auth/availability": 0.002,  # exhausted
    "auth/latency": 0.04,  # at risk (burning at 0.8x with 20 % left)
    "database/availability": None,  # no data
}


@pytest.fixture
def traffic() -> HistoryTraffic:
    return HistoryTraffic({"api": 0.01, "auth": 0.002, "database": 0.0, "ai-worker": 0.0})


@pytest.fixture
def prometheus(traffic: HistoryTraffic) -> Iterator[FakePrometheus]:
    with fake_prometheus(traffic) as fake:
        yield fake


@pytest.fixture
def site(tmp_path: Path, prometheus: FakePrometheus) -> SloSite:
    made = make_daemon(tmp_path, prometheus.url)
    made.daemon.snapshot = judged(made.daemon.loaded.slos, SHARES)
    return made


@pytest.fixture
def base(site: SloSite) -> Iterator[str]:
    with serving(sre_ui(site.daemon)) as url:
        yield url


def _rows(page: str) -> list[str]:
    """The SLO keys of the list's rows, in order."""
    return [
        f"{html.unescape(m['service'])}/{m['path'].rsplit('/', 1)[1]}" for m in ROW.finditer(page)
    ]


def _get(url: str) -> requests.Response:
    answer = requests.get(url, timeout=30)
    assert answer.status_code == 200, answer.text[:500]
    return answer


def test_the_list_shows_every_slo_from_the_snapshot_without_asking_prometheus(
    base: str, site: SloSite, prometheus: FakePrometheus
) -> None:
    page = _get(f"{base}/slos").text
    assert len(_rows(page)) == len(site.daemon.loaded.slos) == 9
    assert _rows(page)[0] == f"{SCRIPT}/availability"  # "<" sorts first
    api = page[page.index('href="/slos/api/availability"') :]
    assert "99.9%" in api
    assert "30d rolling" in api
    assert "50.0%" in api
    assert "0.50x" in api
    assert "30 days" in api  # time to exhaustion at 0.5x with half the budget left
    assert "exhausted" in page
    assert "at risk" in page
    assert "no data" in page
    assert prometheus.received == []


def test_sorting_by_budget_puts_the_slos_without_data_last_both_ways(base: str) -> None:
    ascending = _rows(_get(f"{base}/slos?sort=budget&dir=asc").text)
    descending = _rows(_get(f"{base}/slos?sort=budget&dir=desc").text)
    assert ascending[0] == "auth/availability"
    assert ascending[-1] == descending[-1] == "database/availability"
    assert descending[-2] == "auth/availability"  # the least left, last of those with data


def test_sort_links_flip_the_direction_and_say_which_is_sorted(base: str) -> None:
    page = _get(f"{base}/slos?sort=burn1h&dir=asc").text
    assert re.search(r'aria-sort="ascending"[^>]*><a href="/slos\?sort=burn1h&amp;dir=desc"', page)
    assert re.search(r'aria-sort="none"[^>]*><a href="/slos\?sort=budget&amp;dir=asc"', page)
    assert _rows(page)[-1] == "database/availability"


def test_filters_and_search_come_from_the_url(base: str) -> None:
    assert _rows(_get(f"{base}/slos?service=api").text) == ["api/availability", "api/latency"]
    assert _rows(_get(f"{base}/slos?status=exhausted").text) == ["auth/availability"]
    assert _rows(_get(f"{base}/slos?status=at-risk").text) == ["auth/latency"]
    found = _rows(_get(f"{base}/slos?q=LATENCY+api").text)
    assert found == ["api/latency"]
    assert _rows(_get(f"{base}/slos?service=api&q=nothing-like-this").text) == []


def test_unknown_values_are_ignored(base: str) -> None:
    everything = _rows(_get(f"{base}/slos").text)
    page = _get(f"{base}/slos?service=nope&status=bogus&sort=%3Cx%3E&dir=sideways&q=").text
    assert _rows(page) == everything
    assert "bogus" not in page
    assert "sideways" not in page


def test_stale_and_maintenance_are_marked(base: str, site: SloSite) -> None:
    snapshot = site.daemon.snapshot
    site.daemon.snapshot = replace(
        snapshot, stale=frozenset({"api/latency"}), maintenance={"auth": True}
    )
    page = _get(f"{base}/slos").text
    assert page.count('<tr class="stale">') == 1
    assert _rows(_get(f"{base}/slos?status=stale").text) == ["api/latency"]
    assert _rows(_get(f"{base}/slos?status=maintenance").text) == [
        "auth/availability",
        "auth/latency",
    ]


def test_a_daemon_that_has_not_evaluated_yet_says_so(base: str, site: SloSite) -> None:
    site.daemon.snapshot = Snapshot()
    page = _get(f"{base}/slos").text
    assert "No evaluation yet" in page
    assert page.count("not evaluated</span>") == 9


def test_hostile_strings_are_text_everywhere(base: str, site: SloSite) -> None:
    hostile = site.slo(f"{SCRIPT}/availability")
    for url in (f"{base}/slos", f"{base}/slos?q=script", f"{base}{slo_path(hostile)}"):
        page = _get(url).text
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    detail = _get(f"{base}{slo_path(hostile)}").text
    assert html.escape(IMAGE) in detail or "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in detail


def test_an_unknown_slo_is_a_404_page(base: str) -> None:
    for path in ("/slos/api/nothing", "/slos/nobody/availability", "/slos/%3Cb%3E/x"):
        answer = requests.get(base + path, timeout=10)
        assert answer.status_code == 404
        assert "No such SLO" in answer.text
        assert "<b>" not in answer.text


def test_the_detail_draws_its_charts_and_the_pairs_state(base: str, site: SloSite) -> None:
    page = _get(f"{base}/slos/api/latency?range=6h").text
    assert page.count('<svg class="chart"') == 3  # burn-down, slow share, p95
    longest = max(len(d) for d in re.findall(r'<path class="line[^"]*" d="([^"]+)"', page))
    assert longest > 2000
    assert 'aria-current="true">6h<' in page
    assert "From the raw counters." in page
    pairs = page[page.index('id="h-pairs"') : page.index('id="h-definition"')]
    # 1 % slow requests against a 5 % budget: nothing burns at 14.4x or 6x, nothing fires.
    assert "firing" not in pairs
    assert pairs.count(">below<") == 4
    definition = page[page.index('id="h-definition"') :]
    assert "threshold: 200ms" in definition
    assert "name: latency" in definition
    assert "name: availability" not in definition


def test_a_burning_slo_shows_its_pairs_firing(
    base: str, site: SloSite, traffic: HistoryTraffic
) -> None:
    page = _get(f"{base}/slos/auth/availability").text
    pairs = page[page.index('id="h-pairs"') : page.index('id="h-definition"')]
    # 0.2 % errors against a 0.05 % budget burn at 4x: above the tickets' 3x (1d/2h) and 1x
    # (3d/6h), below the pages' 14.4x and 6x.
    assert pairs.count(">firing<") == 2
    assert pairs.count(">below<") == 2
    assert re.findall(r"<td>(\S+)</td>\s*<td class=\"num\">[\d.]+x</td>", pairs) == [
        "1h/5m",
        "6h/30m",
        "1d/2h",
        "3d/6h",
    ]


def test_repeated_detail_views_ask_prometheus_nothing_new(
    base: str, prometheus: FakePrometheus
) -> None:
    _get(f"{base}/slos/api/availability")
    asked = len(prometheus.received)
    assert asked > 0
    for _ in range(3):
        _get(f"{base}/slos/api/availability")
    assert len(prometheus.received) == asked
    _get(f"{base}/slos/api/availability?range=7d")
    assert len(prometheus.received) > asked


def test_prometheus_trouble_leaves_the_page_with_notes(base: str, traffic: HistoryTraffic) -> None:
    traffic.down = True
    page = _get(f"{base}/slos/api/latency").text
    assert page.count("history unavailable: ") == 3
    assert "Current ratios unavailable" in page
    assert "503" in page


def test_the_incidents_of_the_service_are_listed_from_the_store(base: str, site: SloSite) -> None:
    store = open_store(site.root / "incidents.db")
    try:
        for number, service, cause in (
            (1, "api", Cause.DATA_LOSS),  # declared by a person
            (2, "auth", Cause.ERRORS),
            (3, "api", Cause.ERRORS),
        ):
            incident = declare(
                f"INC-{number:04d}",
                service,
                Finding(cause, Severity.P2, f"{IMAGE} errors"),
                AT + timedelta(minutes=number),
                manual=cause is Cause.DATA_LOSS,
            )
            with store.transaction() as connection:
                store.save(incident, connection=connection, now=AT)
    finally:
        store.close()
    page = _get(f"{base}/slos/api/availability").text
    incidents = page[page.index('id="h-incidents"') :]
    assert re.findall(r'href="/incidents/(INC-\d+)"', incidents) == ["INC-0003", "INC-0001"]
    assert "<img src=x" not in incidents


def test_an_unknown_range_is_the_default_and_an_unjudged_slo_still_has_its_page(
    base: str, site: SloSite
) -> None:
    site.daemon.snapshot = Snapshot()
    page = _get(f"{base}/slos/api/availability?range=%3Cscript%3E").text
    assert 'aria-current="true">24h<' in page
    assert "not evaluated yet" in page
    assert page.count('<svg class="chart"') == 2  # the history does not need the snapshot

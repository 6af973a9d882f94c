"""The SLO pages in headless Chromium, served in-process from a daemon whose snapshot is a
real evaluation against the backfilled Prometheus (``served``), with the charts read from it:
no console errors, charts drawn, sorting and filtering by URL, visible keyboard focus, and a
hostile service name and description that stay text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from sloctl.daemon.exporter import Snapshot
from sloctl.reading.evaluation import evaluate
from sloctl.web import slo_pages
from sloctl.web.site import WebSite, routes_of
from sloctl.web.ui import SreUi
from tests.integration.browser import chromium, console_errors, mark_page, wait_for_new_page
from tests.integration.conftest import Served
from tests.integration.fixture import END
from tests.slo_daemon import IMAGE, SCRIPT, make_daemon
from tests.web_site import serving

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Site:
    base: str
    slos: int


@pytest.fixture(scope="module")
def site(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    made = make_daemon(tmp_path_factory.mktemp("web-slos"), served.url)
    daemon = made.daemon
    slos = daemon.loaded.slos
    evaluation = evaluate(slos, daemon.reader(daemon.loaded.config), END, isolate=True)
    assert not evaluation.failed
    daemon.snapshot = Snapshot(results=evaluation.results, slos=slos, last_success=END)
    ui = SreUi(daemon, clock=lambda: END)
    web = WebSite(routes_of(slo_pages.routes(ui)), ui.assets, daemon.logger)
    with serving(web) as base:
        yield Site(base, len(slos))


def _load(driver: WebDriver, url: str) -> None:
    console_errors(driver)  # what earlier pages logged is theirs
    driver.get(url)
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _no_script_ran(driver: WebDriver) -> None:
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.accept()
    assert driver.execute_script("return typeof window.pwned") == "undefined"
    assert console_errors(driver) == []


def _rows(driver: WebDriver) -> list[str]:
    """The SLO keys of the list's rows, in order (service and SLO cells as the browser shows
    them)."""
    found = []
    for row in driver.find_elements(By.CSS_SELECTOR, "table.slos tbody tr"):
        service, name = (cell.text for cell in row.find_elements(By.TAG_NAME, "td")[:2])
        found.append(f"{service}/{name}")
    return found


def test_the_list_loads_cleanly_and_shows_hostile_names_as_text(
    browser: WebDriver, site: Site
) -> None:
    _load(browser, f"{site.base}/slos")
    rows = _rows(browser)
    assert len(rows) == site.slos
    assert f"{SCRIPT}/availability" in rows
    bars = browser.find_elements(By.CSS_SELECTOR, "table.slos .meter rect.fill")
    assert len(bars) >= site.slos - 1  # every SLO with data has its bar
    _no_script_ran(browser)


def test_sorting_and_filtering_come_from_the_url(browser: WebDriver, site: Site) -> None:
    _load(browser, f"{site.base}/slos?sort=budget&dir=asc")
    ascending = _rows(browser)
    header = browser.find_element(By.XPATH, "//th[.//a[contains(., 'Budget remaining')]]")
    assert header.get_attribute("aria-sort") == "ascending"
    _load(browser, f"{site.base}/slos?sort=budget&dir=desc")
    descending = _rows(browser)
    assert ascending[0] != descending[0]
    _load(browser, f"{site.base}/slos?service=api&q=latency")
    assert _rows(browser) == ["api/latency"]
    _load(browser, f"{site.base}/slos?status=no-data")
    assert f"{SCRIPT}/availability" in _rows(browser)
    assert console_errors(browser) == []


def test_choosing_a_service_filters_at_once(browser: WebDriver, site: Site) -> None:
    _load(browser, f"{site.base}/slos")
    mark_page(browser)
    Select(browser.find_element(By.ID, "f-service")).select_by_value("auth")
    wait_for_new_page(browser)
    assert "service=auth" in browser.current_url
    assert {row.split("/")[0] for row in _rows(browser)} == {"auth"}
    assert console_errors(browser) == []


def test_keyboard_focus_is_visible(browser: WebDriver, site: Site) -> None:
    _load(browser, f"{site.base}/slos")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    seen = []
    for _ in range(40):
        active = browser.switch_to.active_element
        if active.tag_name == "a" and active.find_elements(By.XPATH, "ancestor::th"):
            break
        seen.append(active.tag_name)
        active.send_keys(Keys.TAB)
    else:
        pytest.fail(f"no sort link reached by keyboard (focused: {seen})")
    style = browser.execute_script(
        "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth];",
        active,
    )
    assert style[0] != "none"
    assert float(style[1].removesuffix("px")) >= 2


def test_a_detail_page_draws_its_charts_from_prometheus(browser: WebDriver, site: Site) -> None:
    _load(browser, f"{site.base}/slos/api/latency?range=24h")
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 3  # the burn-down, the share of slow requests, the p95
    for chart in charts:
        [line] = chart.find_elements(By.CSS_SELECTOR, "path.line")
        assert (line.get_attribute("d") or "").count("L") > 100
        assert chart.get_attribute("role") == "img"
        assert chart.find_element(By.TAG_NAME, "title").get_attribute("textContent")
    assert "history unavailable" not in browser.page_source
    definition = browser.find_element(By.CSS_SELECTOR, "pre.definition").text
    assert "threshold: 200ms" in definition
    assert console_errors(browser) == []


def test_the_hostile_slo_page_runs_no_script(browser: WebDriver, site: Site) -> None:
    _load(browser, f"{site.base}/slos")
    mark_page(browser)
    browser.find_element(By.LINK_TEXT, "availability").click()  # the first row: the hostile SLO
    wait_for_new_page(browser)
    assert "/slos/%3Cscript%3E" in browser.current_url
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading.startswith(f"{SCRIPT} · availability")
    assert IMAGE in browser.find_element(By.CSS_SELECTOR, "p.description").text
    assert SCRIPT in browser.find_element(By.CSS_SELECTOR, "pre.definition").text
    _no_script_ran(browser)


def test_the_pages_follow_a_dark_system_theme(site: Site) -> None:
    with chromium() as light, chromium(dark=True) as dark:
        colours = []
        for driver in (light, dark):
            _load(driver, f"{site.base}/slos")
            colours.append(
                driver.execute_script(
                    "return getComputedStyle(document.body).backgroundColor + ' ' + "
                    "getComputedStyle(document.body).color"
                )
            )
            assert console_errors(driver) == []
    assert colours[0] == "rgb(255, 255, 255) rgb(27, 31, 36)"
    assert colours[1] == "rgb(13, 17, 23) rgb(230, 237, 243)"

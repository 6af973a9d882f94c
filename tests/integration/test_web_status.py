"""The status page in a real browser, on the live demo stack (the demo service, a Prometheus
scraping it every second, ``sloctl run`` evaluating every second with a ``status_page``): an
outage shows as a major outage within two cycles of its P1, the page loads with no console
errors and its uptime bars are drawn, and after the resolution every component is operational.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from sloctl.core.severity import Severity
from sloctl.demo.live import live_stack, wait_until
from sloctl.incidents.lifecycle import Incident
from tests.integration.browser import console_errors

pytestmark = pytest.mark.integration
INTERVAL = timedelta(seconds=1)
"""The live demo's cycle."""
CYCLE_HEADROOM = timedelta(seconds=1)
"""What a cycle itself may take on a loaded machine, beyond its interval."""


def summary(url: str) -> dict[str, Any]:
    answer = requests.get(f"{url}/api/v2/summary.json", timeout=5)
    answer.raise_for_status()
    document: dict[str, Any] = answer.json()
    return document


def api_status(document: dict[str, Any]) -> str:
    [api] = [c for c in document["components"] if c["name"] == "Demo API"]
    return str(api["status"])


def bars_drawn(browser: WebDriver) -> list[dict[str, Any]]:
    """Each bar's drawn width and fill, as the browser rendered them."""
    found: list[dict[str, Any]] = browser.execute_script(
        "return Array.from(document.querySelectorAll('svg.uptime rect.day')).map(r => ({"
        "width: r.getBoundingClientRect().width, fill: getComputedStyle(r).fill,"
        "title: r.querySelector('title').textContent}))"
    )
    return found


def test_an_outage_on_the_live_stack_is_a_major_outage_then_operational(
    tmp_path_factory: pytest.TempPathFactory, browser: WebDriver
) -> None:
    with live_stack(tmp_path_factory.mktemp("status-live")) as stack:
        url = stack.status_url
        assert summary(url)["status"] == {
            "indicator": "none",
            "description": "All Systems Operational",
        }
        stack.inject("api", error_ratio=1.0)
        p1: list[Incident] = []

        def declared() -> bool:
            p1[:] = [i for i in stack.incidents() if i.severity is Severity.P1]
            return bool(p1)

        wait_until("a P1", declared, 60, pause=0.1)
        wait_until("a major outage", lambda: api_status(summary(url)) == "major_outage", 10, 0.1)
        seen = datetime.now(UTC)
        # Declared at its cycle's pinned time; shown by the end of the second cycle after.
        assert seen - p1[0].detected_at <= 2 * INTERVAL + CYCLE_HEADROOM
        document = summary(url)
        assert document["status"] == {"indicator": "critical", "description": "Major System Outage"}
        [incident] = document["incidents"]
        assert (incident["name"], incident["impact"]) == (
            "Elevated error rates on Demo API",
            "critical",
        )
        assert p1[0].id not in str(document)

        console_errors(browser)  # forget what earlier pages logged
        browser.get(url + "/")
        assert (
            browser.find_element(By.CSS_SELECTOR, "p.overall.critical").text
            == "Major System Outage"
        )
        status = browser.find_element(By.CSS_SELECTOR, ".component-status.major_outage")
        assert status.text == "Major outage"
        bars = bars_drawn(browser)
        assert len(bars) == 90
        assert all(bar["width"] > 0 for bar in bars)
        assert bars[-1]["title"].endswith("Elevated error rates on Demo API")
        assert bars[0]["title"].endswith(": no data")  # before the store's first record
        assert bars[0]["fill"] != bars[-1]["fill"]  # the stylesheet coloured them
        assert console_errors(browser) == []

        stack.inject("api", error_ratio=0.0005)
        wait_until(
            "the resolution",
            lambda: bool(stack.incidents()) and all(not i.open for i in stack.incidents()),
            90,
        )
        wait_until("operational", lambda: summary(url)["incidents"] == [], 10, 0.1)
        document = summary(url)
        assert document["status"]["indicator"] == "none"
        assert {c["status"] for c in document["components"]} == {"operational"}
        browser.get(url + "/")
        assert browser.find_element(By.CSS_SELECTOR, "p.overall").text == "All Systems Operational"
        resolved = browser.find_element(By.CSS_SELECTOR, "section.incident.resolved").text
        assert "This incident has been resolved." in resolved
        assert console_errors(browser) == []

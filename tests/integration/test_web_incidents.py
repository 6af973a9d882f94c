"""The incident pages in a real browser against a real ``sloctl run``: a person logs in,
declares an incident and acknowledges it; the timeline shows the acknowledgement and the local
Slack receiver gets both messages from the daemon's own courier. Pages load without console
errors (the CSP refuses any inline script or style), and repeated wrong passwords get 429."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from sloctl.demo.local_prometheus import free_port
from sloctl.web.sessions import MAX_FAILURES
from tests.integration.browser import console_errors, mark_page, wait_for_new_page
from tests.integration.daemon_process import SloctlRun
from tests.integration.receivers import PAGERDUTY_OK, SLACK_OK, FaultReceiver, receiver

pytestmark = pytest.mark.integration

PASSWORD = "a long password for the browser test"
LOGINS = """\
ui:
  logins:
    - {name: alice, password_env: TEST_UI_ALICE}
  session: 1h
"""


@pytest.fixture
def slack() -> Iterator[FaultReceiver]:
    with receiver(SLACK_OK) as started:
        yield started


@pytest.fixture
def pagerduty() -> Iterator[FaultReceiver]:
    with receiver(PAGERDUTY_OK) as started:
        yield started


@pytest.fixture
def daemon(tmp_path: Path, slack: FaultReceiver, pagerduty: FaultReceiver) -> Iterator[SloctlRun]:
    # No Prometheus answers: the daemon's cycles fail and change nothing; people act.
    run = SloctlRun(
        tmp_path,
        f"http://127.0.0.1:{free_port()}",
        slack.url,
        pagerduty.url,
        extra=LOGINS,
        env={"TEST_UI_ALICE": PASSWORD},
    )
    run.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{run.url}/healthz", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, run.log.read_text(encoding="utf-8")[-2000:]
        time.sleep(0.1)
    try:
        yield run
    finally:
        run.stop()


def _load(driver: WebDriver, url: str) -> None:
    driver.get(url)
    assert console_errors(driver) == [], url


def _submit(driver: WebDriver, form: str) -> None:
    """Click ``form``'s button and wait for the page it leads to."""
    mark_page(driver)
    driver.find_element(By.CSS_SELECTOR, f"{form} button[type=submit]").click()
    wait_for_new_page(driver)


def test_log_in_declare_and_acknowledge_in_a_browser(
    browser: WebDriver, daemon: SloctlRun, slack: FaultReceiver
) -> None:
    browser.delete_all_cookies()
    _load(browser, f"{daemon.url}/incidents")
    assert "No incident is open" in browser.page_source
    browser.find_element(By.LINK_TEXT, "Log in").click()
    browser.find_element(By.ID, "login-name").send_keys("alice")
    browser.find_element(By.ID, "login-password").send_keys(PASSWORD)
    _submit(browser, 'main form[action="/login"]')
    assert browser.current_url == f"{daemon.url}/incidents"
    assert "Signed in as" in browser.find_element(By.CSS_SELECTOR, ".who").text
    assert console_errors(browser) == []

    browser.find_element(By.LINK_TEXT, "Declare an incident").click()
    Select(browser.find_element(By.ID, "declare-service")).select_by_visible_text("api")
    Select(browser.find_element(By.ID, "declare-severity")).select_by_visible_text("P2")
    Select(browser.find_element(By.ID, "declare-cause")).select_by_visible_text("other")
    browser.find_element(By.ID, "declare-summary").send_keys("orders stuck in the queue")
    mark_page(browser)
    browser.find_element(By.CSS_SELECTOR, 'form[action="/incidents/declare"] button').click()
    WebDriverWait(browser, 5).until(expected_conditions.alert_is_present())
    browser.switch_to.alert.accept()  # sloctl.js asks before paging anyone
    wait_for_new_page(browser)
    assert browser.current_url == f"{daemon.url}/incidents/INC-0001"
    assert console_errors(browser) == []
    slack.wait_for(
        "the declaration",
        lambda got: any("orders stuck in the queue" in r.text for r in got),
        timeout=20,
    )

    browser.find_element(By.ID, "acknowledge-note").send_keys("on it from the browser")
    _submit(browser, 'form[action="/incidents/INC-0001/acknowledge"]')
    assert browser.current_url == f"{daemon.url}/incidents/INC-0001"
    assert browser.find_element(By.ID, "incident-state").text == "acknowledged"
    timeline = browser.find_element(By.ID, "timeline").text
    assert "detected → acknowledged" in timeline
    assert "on it from the browser" in timeline
    assert "alice" in timeline
    assert console_errors(browser) == []
    got = slack.wait_for(
        "the acknowledgement",
        lambda got: any("on it from the browser" in r.text for r in got),
        timeout=20,
    )
    [update] = [r.text for r in got if "on it from the browser" in r.text]
    assert "Acknowledged by @alice" in update
    assert "#incident-inc-0001" in update
    _load(browser, f"{daemon.url}/incidents")
    assert "INC-0001" in browser.find_element(By.CSS_SELECTOR, "table.incidents").text

    # Last, since it locks this client out for a while: repeated wrong passwords get 429.
    for _ in range(MAX_FAILURES):
        wrong = requests.post(
            f"{daemon.url}/login",
            data={"name": "alice", "password": "not it"},
            allow_redirects=False,
            timeout=10,
        )
        assert wrong.status_code == 401
    throttled = requests.post(
        f"{daemon.url}/login",
        data={"name": "alice", "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    failed = daemon.events("ui_login_failed")
    assert len(failed) == MAX_FAILURES
    assert PASSWORD not in daemon.log.read_text(encoding="utf-8")

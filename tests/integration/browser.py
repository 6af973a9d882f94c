"""Headless Chromium from Debian (``/usr/bin/chromium``), driven by Selenium through Debian's
ChromeDriver: the real browser the web UI's tests look through. Nothing is downloaded, and the
browser's own background connections are switched off (this machine's network is closed)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
)


@contextmanager
def chromium(width: int = 1280, height: int = 900, dark: bool = False) -> Iterator[WebDriver]:
    """A fresh browser (empty profile) that records its console, closed afterwards."""
    with tempfile.TemporaryDirectory(prefix="sloctl-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={width},{height}")
        if dark:
            options.add_argument("--force-dark-mode")
            options.add_argument("--blink-settings=preferredColorScheme=0")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()


def console_errors(driver: WebDriver) -> list[dict[str, Any]]:
    """What the page logged at level SEVERE since the last call (CSP refusals included)."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [entry for entry in entries if entry.get("level") == "SEVERE"]


def mark_page(driver: WebDriver) -> None:
    """Mark the page now shown, so that :func:`wait_for_new_page` can tell when another one
    has replaced it."""
    driver.execute_script("window.sloctlTestOldPage = true")


def wait_for_new_page(driver: WebDriver, seconds: float = 10.0) -> None:
    """Wait for the page a click or a form led to: a new document (without the mark), loaded
    whole. (Waiting for the URL, or for a clicked element to go stale, races with Chromium's
    own navigation: the old document may still be read.)"""
    WebDriverWait(driver, seconds).until(
        lambda d: d.execute_script(
            "return window.sloctlTestOldPage === undefined && document.readyState === 'complete'"
        )
    )

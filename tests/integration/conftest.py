"""Real Prometheus servers serving the backfilled scenarios, each built once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from sloctl.demo.history import History
from sloctl.demo.local_prometheus import LocalPrometheus, backfill
from tests.integration.browser import chromium
from tests.integration.fixture import month, scenario
from tests.integration.wide_fixture import MAX_SAMPLES, wide_scenario


@dataclass(frozen=True)
class Served:
    url: str
    history: History
    data_dir: Path


def build_data(history: History, work: Path) -> Path:
    """TSDB blocks of ``history`` in ``work/data``, never shared with a running server."""
    openmetrics = work / "history.om"
    history.write_file(openmetrics)
    span = int((history.scenario.end - history.scenario.start).total_seconds())
    backfill(openmetrics, work / "data", span)
    openmetrics.unlink()
    return work / "data"


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    history = History.generate(scenario())
    data = build_data(history, tmp_path_factory.mktemp("prometheus"))
    with LocalPrometheus(data) as server:
        yield Served(server.url, history, data)


@pytest.fixture(scope="session")
def month_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The incident month (thirty days of one-minute samples)."""
    history = History.generate(month())
    data = build_data(history, tmp_path_factory.mktemp("prometheus-month"))
    with LocalPrometheus(data) as server:
        yield Served(server.url, history, data)


@pytest.fixture(scope="session")
def wide_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Many series at a 15 s scrape behind a low ``--query.max-samples``."""
    history = History.generate(wide_scenario())
    data = build_data(history, tmp_path_factory.mktemp("wide-prometheus"))
    with LocalPrometheus(data, extra_args=(f"--query.max-samples={MAX_SAMPLES}",)) as server:
        yield Served(server.url, history, data)


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    """One headless Chromium for the session's browser tests (each starts from its own page)."""
    with chromium() as driver:
        yield driver

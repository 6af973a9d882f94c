"""The demo service: conventional metrics, and errors or latency injected on request."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator

import pytest
import requests

from sloctl.demo.service import DemoService, serve


@pytest.fixture
def running() -> Iterator[tuple[str, DemoService]]:
    service = DemoService(["api", "auth"], rate=50)
    stop = threading.Event()
    server = serve(service, "127.0.0.1", 0, stop, traffic=False)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", service
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def value(page: str, series: str) -> float:
    for line in page.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[1])
    return 0.0


def test_errors_injected_and_taken_back(running: tuple[str, DemoService]) -> None:
    url, service = running
    answer = requests.post(f"{url}/control", json={"service": "api", "error_ratio": 1.0}, timeout=5)
    assert answer.status_code == 200
    service.tick(10)
    page = requests.get(f"{url}/metrics", timeout=5).text
    errors = value(page, 'http_requests_total{code="500",service="api"}')
    assert errors >= 400
    assert value(page, 'http_requests_total{code="500",service="auth"}') < 5
    requests.post(f"{url}/control", json={"service": "api", "error_ratio": 0}, timeout=5)
    service.tick(10)
    later = requests.get(f"{url}/metrics", timeout=5).text
    assert value(later, 'http_requests_total{code="500",service="api"}') == errors


def test_latency_injected(running: tuple[str, DemoService]) -> None:
    url, service = running
    requests.post(f"{url}/control", json={"service": "auth", "latency_seconds": 3.0}, timeout=5)
    service.tick(10)
    page = requests.get(f"{url}/metrics", timeout=5).text
    slow = value(page, 'http_request_duration_seconds_count{service="auth"}') - value(
        page, 'http_request_duration_seconds_bucket{le="2.0",service="auth"}'
    )
    assert slow >= 400


@pytest.mark.parametrize(
    "body",
    [
        {"service": "billing"},
        {"service": "api", "error_ratio": 2},
        {"service": "api", "latency_seconds": 0},
    ],
)
def test_bad_control_requests_are_refused(running: tuple[str, DemoService], body: object) -> None:
    url, _ = running
    assert requests.post(f"{url}/control", json=body, timeout=5).status_code == 400


def test_metrics_page_passes_promtool(running: tuple[str, DemoService]) -> None:
    url, service = running
    service.tick(5)
    page = requests.get(f"{url}/metrics", timeout=5).text
    done = subprocess.run(
        ["promtool", "check", "metrics"],
        input=page,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_traffic_flows_in_real_time() -> None:
    service = DemoService(["api"], rate=200)
    stop = threading.Event()
    server = serve(service, "127.0.0.1", 0, stop)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        first = value(
            requests.get(url, timeout=5).text, 'http_requests_total{code="200",service="api"}'
        )
        stop.wait(0.6)
        later = value(
            requests.get(url, timeout=5).text, 'http_requests_total{code="200",service="api"}'
        )
        assert later > first
    finally:
        stop.set()
        server.shutdown()
        server.server_close()

"""`sloctl run` as a real process: endpoints, metrics lint, reload, stale Prometheus, SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sloctl.demo.local_prometheus import free_port
from tests.integration.conftest import Served

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def write_config(path: Path, prometheus: str, port: int, interval: str = "1s") -> None:
    path.write_text(
        f"prometheus: {{url: {prometheus}, timeout: 2s}}\n"
        f"interval: {interval}\n"
        f"definitions: {ROOT / 'slo-definitions'}\n"
        f"policy: {ROOT / 'deploy' / 'policy.yaml'}\n"
        f"store: {path.parent / 'incidents.db'}\n"
        f"listen: 127.0.0.1:{port}\n"
    )


def wait_for(url: str, status: int, timeout: float = 20) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = requests.get(url, timeout=2)
            if answer.status_code == status:
                return answer
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer {status} within {timeout} s")
        time.sleep(0.2)


def metrics_with(base: str, needle: str, timeout: float = 20) -> str:
    """``base``'s /metrics page once it holds ``needle`` (failing after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while True:
        page = requests.get(f"{base}/metrics", timeout=2).text
        if needle in page:
            return page
        assert time.monotonic() < deadline, f"{needle!r} not exported: {page[-2000:]}"
        time.sleep(0.2)


@pytest.fixture
def daemon(served: Served, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    port = free_port()
    config = tmp_path / "sloctl.yaml"
    write_config(config, served.url, port)
    process = subprocess.Popen(
        [sys.executable, "-m", "sloctl", "--log-level", "info", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SLOCTL_SLACK_WEBHOOK_URL": ""},
    )
    try:
        yield process, f"http://127.0.0.1:{port}", config
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_endpoints_metrics_reload_and_graceful_stop(
    daemon: tuple[subprocess.Popen[str], str, Path], served: Served
) -> None:
    process, url, config = daemon
    assert wait_for(f"{url}/healthz", 200).text == "ok\n"
    wait_for(f"{url}/readyz", 200)
    page = wait_for(f"{url}/metrics", 200).text
    assert 'sloctl_slo_error_budget_seconds{service="api",slo="availability"} 2592.0' in page
    assert "sloctl_config_last_reload_successful 1.0" in page
    lint = subprocess.run(
        ["promtool", "check", "metrics"],
        input=page,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert lint.returncode == 0, lint.stderr

    good = config.read_text()
    config.write_text("interval: soon\nunknown: 1\n")
    process.send_signal(signal.SIGHUP)
    metrics_with(url, "sloctl_config_last_reload_successful 0.0")
    assert requests.get(f"{url}/healthz", timeout=2).status_code == 200  # still running
    config.write_text(good)
    process.send_signal(signal.SIGHUP)
    metrics_with(url, "sloctl_config_last_reload_successful 1.0")

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    _, logs = process.communicate()
    assert '"event": "cycle"' in logs
    assert '"event": "final_flush"' in logs
    assert '"event": "stopped"' in logs


def test_prometheus_gone_marks_slos_stale_and_not_ready(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "sloctl.yaml"
    write_config(config, f"http://127.0.0.1:{free_port()}", port)
    process = subprocess.Popen(
        [sys.executable, "-m", "sloctl", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", 200)
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 503
        deadline = time.monotonic() + 30
        while True:
            page = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            if 'sloctl_query_errors_total{reason="unreachable"}' in page:
                break
            assert time.monotonic() < deadline, page[-2000:]
            time.sleep(0.3)
        assert "sloctl_incident_open{" not in page
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_check_validates_and_reports_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "sloctl.yaml"
    config.write_text("interval: soon\nlisten: nowhere\ncolour: blue\n")
    done = subprocess.run(
        [sys.executable, "-m", "sloctl", "run", "--config", str(config), "--check"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert "3 problems in the configuration" in done.stderr
    for where in ("sloctl.yaml:1: interval:", "sloctl.yaml:2: listen:", "sloctl.yaml:3: colour:"):
        assert where in done.stderr
    assert "Traceback" not in done.stderr


def test_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "sloctl.yaml"
        write_config(config, f"http://127.0.0.1:{free_port()}", port)
        done = subprocess.run(
            [sys.executable, "-m", "sloctl", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert f"sloctl.yaml: listen: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr

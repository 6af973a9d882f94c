"""`sloctl run` as a real process with the fault proxy between it and a real Prometheus:
SIGTERM within its bound whatever Prometheus does, one bad batch stale and still ready,
every reload problem logged with its line, and a corrupt store refused at start."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sloctl.daemon.loop import STOP_GRACE_SECONDS, cycle_seconds
from sloctl.demo.local_prometheus import free_port
from tests.integration.conftest import Served
from tests.integration.fault_proxy import Fault, FaultProxy
from tests.integration.test_daemon import metrics_with, wait_for
from tests.integration.test_prometheus_faults import AI_WORKER_LATENCY

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
EXIT_HEADROOM = 3.0
"""Seconds beyond the grace for the interpreter to exit on a loaded machine."""


def write_config(
    path: Path,
    prometheus: str,
    port: int,
    *,
    interval: str = "1s",
    timeout: str = "2s",
    definitions: Path = ROOT / "slo-definitions",
) -> None:
    path.write_text(
        f"prometheus: {{url: '{prometheus}', timeout: {timeout}}}\n"
        f"interval: {interval}\n"
        f"definitions: {definitions}\n"
        f"policy: {ROOT / 'deploy' / 'policy.yaml'}\n"
        f"store: {path.parent / 'incidents.db'}\n"
        f"listen: 127.0.0.1:{port}\n"
    )


def start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sloctl", "--log-level", "info", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SLOCTL_SLACK_WEBHOOK_URL": ""},
    )


@pytest.fixture
def proxy(served: Served) -> Iterator[FaultProxy]:
    with FaultProxy(served.url) as running:
        yield running


def terminate(process: subprocess.Popen[str]) -> float:
    """SIGTERM ``process``; the seconds until it exited, with status 0."""
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    return time.monotonic() - sent


def events(logs: str) -> list[dict[str, object]]:
    found = []
    for line in logs.splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


@pytest.mark.parametrize("kind", ["hang", "trickle", "trickle_headers"])
def test_sigterm_ends_the_daemon_in_bound_while_prometheus_holds_a_query(
    proxy: FaultProxy, tmp_path: Path, kind: str
) -> None:
    """Timeout and interval of 30 s: without the bound, the cycle would hold the process
    for up to 30 s after SIGTERM."""
    port = free_port()
    config = tmp_path / "sloctl.yaml"
    write_config(config, proxy.url, port, interval="30s", timeout="30s")
    proxy.fault = Fault(kind)
    process = start(config)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", 200)
        deadline = time.monotonic() + 20
        while proxy.faults_served == 0:
            assert time.monotonic() < deadline, "the daemon never queried"
            time.sleep(0.1)
        time.sleep(1.0)  # well inside the held query
        took = terminate(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    _, logs = process.communicate()
    assert took < STOP_GRACE_SECONDS + EXIT_HEADROOM, took
    names = [e.get("event") for e in events(logs)]
    assert "stopped" in names
    assert "Traceback" not in logs


def test_one_refused_batch_leaves_the_daemon_ready_and_the_rest_fresh(
    proxy: FaultProxy, tmp_path: Path
) -> None:
    port = free_port()
    config = tmp_path / "sloctl.yaml"
    write_config(config, proxy.url, port)
    proxy.fault = Fault("status", pattern=AI_WORKER_LATENCY, status=422)
    process = start(config)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/readyz", 200)
        page = metrics_with(url, 'sloctl_query_errors_total{reason="rejected"}')
        stale = {
            line.split("{")[1].split("}")[0]: line.split()[1]
            for line in page.splitlines()
            if line.startswith("sloctl_slo_stale{")
        }
        assert stale.pop('service="ai-worker",slo="latency"') == "1.0"
        assert set(stale.values()) == {"0.0"}, stale
        assert len(stale) == 7
        assert requests.get(f"{url}/readyz", timeout=2).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_prometheus_unreachable_makes_the_daemon_unready(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "sloctl.yaml"
    write_config(config, f"http://127.0.0.1:{free_port()}", port)
    process = start(config)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", 200)
        metrics_with(f"http://127.0.0.1:{port}", 'sloctl_query_errors_total{reason="unreachable"}')
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 503
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_a_refused_reload_logs_every_problem_with_its_line(served: Served, tmp_path: Path) -> None:
    definitions = tmp_path / "definitions"
    shutil.copytree(ROOT / "slo-definitions", definitions)
    port = free_port()
    config = tmp_path / "sloctl.yaml"
    write_config(config, served.url, port, definitions=definitions)
    process = start(config)
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", 200)
        api = definitions / "api.yaml"
        api.write_text(api.read_text().replace("target: 99.9%", "target: 150%"))
        auth = definitions / "auth.yaml"
        auth.write_text(auth.read_text().replace("rolling: 30d", "rolling: often"))
        check = subprocess.run(
            [sys.executable, "-m", "sloctl", "run", "--config", str(config), "--check"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert check.returncode == 2
        printed = [line.strip() for line in check.stderr.splitlines() if line.startswith("  ")]
        *problems, format_line = printed
        assert len(problems) == 3, check.stderr  # auth.yaml has two SLOs with that window
        assert all(".yaml:" in line for line in problems), check.stderr
        assert format_line == "(the format: slo-definitions/README.md)", check.stderr
        process.send_signal(signal.SIGHUP)
        metrics_with(f"http://127.0.0.1:{port}", "sloctl_config_last_reload_successful 0.0")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    _, logs = process.communicate()
    [refused] = [e for e in events(logs) if e.get("event") == "config_reload_failed"]
    assert refused["error"] == "3 problems in SLO definitions"
    assert refused["problems"] == problems  # as --check prints them: file:line, location, what


@pytest.mark.parametrize("check", [True, False], ids=["check", "run"])
def test_a_corrupt_store_is_refused_at_start(tmp_path: Path, check: bool) -> None:
    config = tmp_path / "sloctl.yaml"
    write_config(config, f"http://127.0.0.1:{free_port()}", free_port())
    (tmp_path / "incidents.db").write_bytes(b"SQLite format 3\x00" + b"\x13" * 4000)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sloctl",
            "run",
            "--config",
            str(config),
            *(["--check"] if check else []),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith(f"sloctl: incident store {tmp_path / 'incidents.db'}")
    assert "Traceback" not in done.stderr


def test_echoed_credentials_never_reach_the_daemon_logs(proxy: FaultProxy, tmp_path: Path) -> None:
    token = "daemon-t0ken-secret"
    port = free_port()
    config = tmp_path / "sloctl.yaml"
    write_config(config, proxy.url, port)
    config.write_text(
        config.read_text().replace("timeout: 2s}", "timeout: 2s, bearer_token_env: PROM_TOKEN}")
    )
    proxy.fault = Fault("echo")
    process = subprocess.Popen(
        [sys.executable, "-m", "sloctl", "--log-level", "info", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SLOCTL_SLACK_WEBHOOK_URL": "", "PROM_TOKEN": token},
    )
    try:
        deadline = time.monotonic() + 20
        while proxy.faults_served < 12:  # more than one cycle's queries
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the daemon never queried"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    out, logs = process.communicate()
    assert "Authorization: Bearer ***" in logs  # the echo reached the log, masked
    assert token not in logs + out


def test_a_hung_prometheus_costs_each_cycle_its_deadline_not_more(
    proxy: FaultProxy, tmp_path: Path
) -> None:
    """One-second interval, 30-second timeout, Prometheus hangs: each cycle ends at its
    deadline (``cycle_seconds``: 5 s here) with every SLO stale, and the next one starts."""
    port = free_port()
    config = tmp_path / "sloctl.yaml"
    write_config(config, proxy.url, port, interval="1s", timeout="30s")
    proxy.fault = Fault("hang")
    process = start(config)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", 200)
        time.sleep(3 * cycle_seconds(1) + 2)
        page = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    _, logs = process.communicate()
    cycles = [e for e in events(logs) if e.get("event") == "cycle"]
    assert len(cycles) >= 2, logs[-2000:]
    for cycle in cycles:
        assert float(str(cycle["seconds"])) < cycle_seconds(1) + 1.0, cycle
        assert cycle["stale"] == 8
    assert 'sloctl_query_errors_total{reason="deadline"}' in page


def test_trickled_headers_cost_each_cycle_its_deadline_and_sigterm_its_bound(
    proxy: FaultProxy, tmp_path: Path
) -> None:
    """One-second interval, 30-second timeout, every answer's status line and headers
    trickled a byte every 0.3 s: each cycle is cut at its deadline (``cycle_seconds``: 5 s),
    never overruns, the next one starts; SIGTERM mid-cycle cuts the held read at once."""
    port = free_port()
    config = tmp_path / "sloctl.yaml"
    write_config(config, proxy.url, port, interval="1s", timeout="30s")
    proxy.fault = Fault("trickle_headers")
    process = start(config)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", 200)
        time.sleep(3 * cycle_seconds(1) + 2)
        page = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        took = terminate(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    _, logs = process.communicate()
    names = [e.get("event") for e in events(logs)]
    cycles = [e for e in events(logs) if e.get("event") == "cycle"]
    assert len(cycles) >= 2, logs[-2000:]
    for cycle in cycles:
        assert float(str(cycle["seconds"])) < cycle_seconds(1) + 1.0, cycle
        assert cycle["stale"] == 8
    assert "cycle_overran" not in names
    assert "cycle_abandoned" not in names  # the stop cut the held read; nothing left behind
    assert 'sloctl_query_errors_total{reason="timeout"}' in page
    assert took < STOP_GRACE_SECONDS + EXIT_HEADROOM, took
    assert "stopped" in names
    assert "Traceback" not in logs

"""Benchmark: `sloctl run` against a Prometheus that misbehaves: memory and SIGTERM.

Run from the repository root:

    .venv/bin/python -m bench.bounded_io_bench [--stops 3]

A real Prometheus (empty TSDB) on loopback, the fault proxy of the integration tests in
front of it, and a real `sloctl run` process (the shipped definitions and policy) behind it.

- **Memory**: the daemon runs at a one-second interval with pass-through answers for ten
  seconds (its idle RSS, and its peak so far), then every answer becomes a 200 MB JSON
  body for twenty seconds. Printed: the idle RSS (median of the samples), the peak RSS
  (VmHWM) before and after, and how many huge answers the daemon was sent (each is cut
  off at the configured ``max_response_size``, 8 MiB by default).
- **SIGTERM**: with a 30-second interval and timeout, Prometheus hangs (accepts, never
  answers), trickles (headers, then a byte a second) or trickles the status line and headers
  (a byte every 0.3 s). Once a query is held, SIGTERM is sent; printed is the time until the
  process has exited, worst of ``--stops`` runs each.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from sloctl.demo.local_prometheus import LocalPrometheus, free_port
from tests.integration.fault_proxy import Fault, FaultProxy

ROOT = Path(__file__).resolve().parents[1]


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for process {pid}")


def start_daemon(
    work: Path, url: str, *, interval: str, timeout: str
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = work / "sloctl.yaml"
    config.write_text(
        f"prometheus: {{url: '{url}', timeout: {timeout}}}\n"
        f"interval: {interval}\n"
        f"definitions: {ROOT / 'slo-definitions'}\n"
        f"policy: {ROOT / 'deploy' / 'policy.yaml'}\n"
        f"store: {work / 'incidents.db'}\n"
        f"listen: 127.0.0.1:{port}\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "sloctl", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("SLOCTL_")},
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process, port
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the daemon did not start")
        time.sleep(0.2)


def memory(prometheus: str, work: Path) -> None:
    with FaultProxy(prometheus) as proxy:
        process, _ = start_daemon(work, proxy.url, interval="1s", timeout="10s")
        try:
            time.sleep(3)  # imports done, first cycles run
            idle = []
            for _ in range(14):
                idle.append(status_kib(process.pid, "VmRSS"))
                time.sleep(0.5)
            peak_before = status_kib(process.pid, "VmHWM")
            proxy.fault = Fault("huge", size=200 * 2**20)
            served_before = proxy.faults_served
            time.sleep(20)
            peak_after = status_kib(process.pid, "VmHWM")
            huge = proxy.faults_served - served_before
            alive = process.poll() is None
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    idle_mib = statistics.median(idle) / 1024
    print(
        "| idle RSS MiB (median) | peak RSS MiB before | peak RSS MiB during 200 MB answers "
        "| peak / idle | 200 MB answers sent | daemon still running |"
    )
    print("|---:|---:|---:|---:|---:|---|")
    ratio = peak_after / 1024 / idle_mib
    print(
        f"| {idle_mib:.1f} | {peak_before / 1024:.1f} | {peak_after / 1024:.1f} | "
        f"{ratio:.2f}x | {huge} | {'yes' if alive else 'no'} |"
    )


def stop_times(prometheus: str, work: Path, runs: int) -> None:
    print("\n| Prometheus | SIGTERM to exit, s (each run) | worst s |")
    print("|---|---|---:|")
    for kind in ("hang", "trickle", "trickle_headers"):
        times = []
        for run in range(runs):
            here = work / f"{kind}-{run}"
            here.mkdir()
            with FaultProxy(prometheus) as proxy:
                proxy.fault = Fault(kind)
                process, _ = start_daemon(here, proxy.url, interval="30s", timeout="30s")
                deadline = time.monotonic() + 30
                while proxy.faults_served == 0 and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(1.0)
                sent = time.monotonic()
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=120)
                times.append(time.monotonic() - sent)
        shown = ", ".join(f"{t:.2f}" for t in times)
        print(f"| {kind} | {shown} | {max(times):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stops", type=int, default=3, help="SIGTERM runs per fault")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sloctl-bench-") as tmp:
        work = Path(tmp)
        with LocalPrometheus(work / "prometheus") as prometheus:
            (work / "memory").mkdir()
            memory(prometheus.url, work / "memory")
            stop_times(prometheus.url, work, args.stops)


if __name__ == "__main__":
    main()

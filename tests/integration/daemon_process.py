"""``sloctl run`` as a real child process, configured to notify the fault receivers."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sloctl.demo.local_prometheus import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class SloctlRun:
    """One configuration and store, run (and killed, and run again) as ``sloctl run``."""

    workdir: Path
    prometheus: str
    slack: str
    pagerduty: str
    interval: str = "1s"
    timeout: str = "10s"
    max_delay: str = "2s"
    coalesce: str = "2m"
    port: int = field(default_factory=free_port)
    extra: str = ""
    """More configuration, appended as written (a ``ui`` or ``status_page`` section, say)."""
    env: dict[str, str] = field(default_factory=dict)
    """More environment variables for the daemon (the secrets ``extra`` names)."""
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            f"prometheus: {{url: {self.prometheus}, timeout: 2s}}\n"
            f"interval: {self.interval}\n"
            f"definitions: {ROOT / 'slo-definitions'}\n"
            f"policy: {ROOT / 'deploy' / 'policy.yaml'}\n"
            f"store: {self.store}\n"
            f"listen: 127.0.0.1:{self.port}\n"
            "notifications:\n"
            "  slack: {webhook_url_env: TEST_SLACK_HOOK}\n"
            "  pagerduty:\n"
            "    routing_key_env: TEST_PAGERDUTY_KEY\n"
            f"    events_url: {self.pagerduty}/v2/enqueue\n"
            f"  timeout: {self.timeout}\n"
            f"  max_delay: {self.max_delay}\n"
            f"  coalesce: {self.coalesce}\n" + self.extra,
            encoding="utf-8",
        )

    @property
    def config(self) -> Path:
        return self.workdir / "sloctl.yaml"

    @property
    def store(self) -> Path:
        return self.workdir / "incidents.db"

    @property
    def url(self) -> str:
        """The daemon's own address: /metrics, the API and the web UI."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"sloctl-{self.runs}.log"

    def start(self) -> SloctlRun:
        self.runs += 1
        env = {key: value for key, value in os.environ.items() if not key.startswith("SLOCTL_")}
        env |= {
            "TEST_SLACK_HOOK": f"{self.slack}/services/T0/B0/secret",
            "TEST_PAGERDUTY_KEY": "R0UTINGKEY",
        } | self.env
        with self.log.open("wb") as log:  # a file, not a pipe: a full pipe would stall it
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sloctl",
                    "--log-level",
                    "info",
                    "run",
                    "--config",
                    str(self.config),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.workdir,
            )
        return self

    def kill(self) -> None:
        """SIGKILL, no goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self, timeout: float = 60.0) -> tuple[int, float]:
        """SIGTERM; returns the exit code and the seconds it took to exit."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def events(self, name: str, run: int | None = None) -> list[dict[str, Any]]:
        """The structured log lines named ``name`` of one run (the latest by default)."""
        path = self.workdir / f"sloctl-{run or self.runs}.log"
        found = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == name:
                found.append(record)
        return found


def cycle_gaps(cycles: list[dict[str, Any]]) -> list[float]:
    """Seconds between the log lines of consecutive cycles."""
    times = [datetime.fromisoformat(c["timestamp"].replace("Z", "+00:00")) for c in cycles]
    return [(b - a).total_seconds() for a, b in itertools.pairwise(times)]

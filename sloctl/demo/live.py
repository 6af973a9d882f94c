"""``sloctl demo --live``: a real outage, declared and resolved while you watch.

:class:`LiveStack` starts three processes on loopback (``sloctl demo-service``, a Prometheus
scraping it every second, and ``sloctl run`` evaluating every second) plus a webhook
receiver standing in for Slack. :func:`run_live_demo` injects an outage and a slowdown
through the demo service's control endpoint and prints each incident transition and each
message as it happens. The end-to-end test drives the same stack.

The demo's clocks are short (a 10-second signal window, 15 seconds of stable verification)
so that an incident runs its course in about a minute; the runbook's thresholds are kept.
Its objectives are loose enough that no paging burn-rate pair can fire (factor x budget is
at least 1): what it shows comes from the runbook's direct indicators.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import requests

from sloctl.demo.local_prometheus import LocalPrometheus, free_port, stop_process
from sloctl.errors import SloctlError
from sloctl.incidents.lifecycle import Incident
from sloctl.runtime.http_server import QuietHandler, start_server
from sloctl.store.database import open_store

POLICY = """\
# The runbook's thresholds with short clocks, so that a demo incident lasts about a minute.
defaults:
  signal_window: 10s
  severe_for: 5s
  degraded_for: 5s
  major_for: 30s
  long_degradation: 1m
  stable_for: 15s
  healthy_error_ratio: 0.01
"""


def service_definition(service: str) -> str:
    return f"""\
# Loose objectives: no paging burn-rate pair can fire; the runbook's indicators decide.
service: {service}
scrapeInterval: 1s
slos:
  - name: availability
    indicator:
      ratio:
        total: http_requests_total{{service="{service}"}}
        bad: http_requests_total{{service="{service}",code=~"5.."}}
    objective: {{target: 80%}}
    window: {{rolling: 30d}}
  - name: latency
    indicator:
      latency:
        histogram: http_request_duration_seconds{{service="{service}"}}
        threshold: 200ms
    objective: {{target: 50%}}
    window: {{rolling: 30d}}
"""


def prometheus_config(*targets: str) -> str:
    listed = ", ".join(f'"{t}"' for t in targets)
    return f"""\
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: live
    static_configs:
      - targets: [{listed}]
"""


class WebhookReceiver:
    """Records every JSON body POSTed to it and answers ``status`` (200 unless a test makes
    it refuse); refused bodies are counted in ``refused``, not kept."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.refused = 0
        self.status = 200
        self.lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                with receiver.lock:
                    status = receiver.status
                    if status == 200:
                        receiver.received.append((self.path, body))
                    else:
                        receiver.refused += 1
                self.reply(status, b"ok")

        self.server = start_server(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def texts(self) -> list[str]:
        with self.lock:
            return [str(body.get("text", "")) for _, body in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(what: str, check: Callable[[], bool], timeout: float, pause: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SloctlError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(pause)


def _answers(url: str, status: int = 200) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == status
    except requests.RequestException:
        return False


@dataclass
class LiveStack:
    """The demo service, Prometheus and ``sloctl run``, wired together under ``workdir``."""

    workdir: Path
    services: tuple[str, ...] = ("api",)
    rate: float = 50.0
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    receiver: WebhookReceiver = field(default_factory=WebhookReceiver)
    demo_port: int = field(default_factory=free_port)
    sloctl_port: int = field(default_factory=free_port)
    status_port: int = field(default_factory=free_port)
    prometheus: LocalPrometheus | None = None
    demo: subprocess.Popen[bytes] | None = None
    sloctl: subprocess.Popen[bytes] | None = None

    @property
    def store_path(self) -> Path:
        return self.workdir / "incidents.db"

    @property
    def sloctl_url(self) -> str:
        return f"http://127.0.0.1:{self.sloctl_port}"

    @property
    def ui_url(self) -> str:
        """The SRE web UI's SLO list."""
        return f"{self.sloctl_url}/slos"

    @property
    def status_url(self) -> str:
        """The public status page, on its own address."""
        return f"http://127.0.0.1:{self.status_port}"

    @property
    def config_path(self) -> Path:
        return self.workdir / "sloctl.yaml"

    def write_files(self) -> None:
        definitions = self.workdir / "slo-definitions"
        definitions.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            (definitions / f"{service}.yaml").write_text(service_definition(service))
        (self.workdir / "policy.yaml").write_text(POLICY)

    def write_config(self, prometheus_url: str) -> None:
        self.config_path.write_text(
            f"prometheus: {{url: '{prometheus_url}', timeout: 2s}}\n"
            "interval: 1s\n"
            "definitions: slo-definitions\n"
            "policy: policy.yaml\n"
            "store: incidents.db\n"
            f"listen: 127.0.0.1:{self.sloctl_port}\n"
            "status_page:\n"
            f"  listen: 127.0.0.1:{self.status_port}\n"
            "  title: sloctl demo status\n"
            "  components: {api: Demo API}\n"
        )

    def start(self) -> LiveStack:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.write_files()
        command = [sys.executable, "-m", "sloctl", "demo-service", "--rate", str(self.rate)]
        for service in self.services:
            command += ["--service", service]
        self.demo = self.spawn([*command, "--listen", f"127.0.0.1:{self.demo_port}"], "demo")
        wait_until(
            "the demo service", lambda: _answers(f"http://127.0.0.1:{self.demo_port}/metrics"), 30
        )
        self.prometheus = LocalPrometheus(
            self.workdir / "prometheus",
            config=prometheus_config(
                f"127.0.0.1:{self.demo_port}", f"127.0.0.1:{self.sloctl_port}"
            ),
        ).start()
        self.write_config(self.prometheus.url)
        self.start_sloctl()
        return self

    def spawn(self, command: list[str], name: str) -> subprocess.Popen[bytes]:
        # The local receiver only: a demo must never page anyone through the caller's own
        # SLOCTL_* notification settings.
        env = {k: v for k, v in self.env.items() if not k.startswith("SLOCTL_")}
        env["SLOCTL_SLACK_WEBHOOK_URL"] = f"{self.receiver.url}/slack"
        with (self.workdir / f"{name}.log").open("ab") as log:
            return subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )

    def start_sloctl(self) -> None:
        self.sloctl = self.spawn(
            [
                sys.executable,
                "-m",
                "sloctl",
                "--log-level",
                "info",
                "run",
                "--config",
                str(self.config_path),
            ],
            "sloctl",
        )
        wait_until("sloctl run to be ready", lambda: _answers(f"{self.sloctl_url}/readyz"), 60)
        wait_until("the status page", lambda: _answers(f"{self.status_url}/api/v2/status.json"), 30)

    def kill_sloctl(self) -> None:
        """SIGKILL: no clean-up, no flush, as when a node dies."""
        if self.sloctl is None:
            raise RuntimeError("sloctl run was not started: nothing to kill")
        self.sloctl.send_signal(signal.SIGKILL)
        self.sloctl.wait()

    def inject(self, service: str, **behaviour: float) -> None:
        answer = requests.post(
            f"http://127.0.0.1:{self.demo_port}/control",
            json={"service": service, **behaviour},
            timeout=5,
        )
        answer.raise_for_status()

    def incidents(self) -> list[Incident]:
        if not self.store_path.exists():
            return []
        store = open_store(self.store_path)
        try:
            return store.incidents()
        finally:
            store.close()

    def stop(self) -> None:
        for process in (self.sloctl, self.demo):
            if process is not None:
                stop_process(process)
        if self.prometheus is not None:
            self.prometheus.stop()
        self.receiver.close()


@contextmanager
def live_stack(workdir: Path, **options: Any) -> Iterator[LiveStack]:
    stack = LiveStack(workdir, **options)
    try:
        yield stack.start()
    finally:
        stack.stop()


class Narrator:
    """Prints incident transitions and messages as they appear."""

    def __init__(self, stack: LiveStack, out: TextIO) -> None:
        self.stack = stack
        self.out = out
        self.started = time.monotonic()
        self.seen_lines = 0
        self.seen_messages = 0

    def say(self, text: str) -> None:
        self.out.write(f"[{time.monotonic() - self.started:6.1f}s] {text}\n")
        self.out.flush()

    def poll(self) -> None:
        lines = [
            (incident, line) for incident in self.stack.incidents() for line in incident.timeline
        ]
        lines.sort(key=lambda pair: pair[1].at)
        for incident, line in lines[self.seen_lines :]:
            self.say(
                f"{incident.id} {incident.service} {incident.cause.value}: "
                f"{line.to_state.value} {line.severity.value} ({line.note or line.actor})"
            )
        self.seen_lines = max(self.seen_lines, len(lines))
        texts = self.stack.receiver.texts()
        for text in texts[self.seen_messages :]:
            self.say("slack: " + text.splitlines()[0])
        self.seen_messages = len(texts)

    def until(self, what: str, check: Callable[[list[Incident]], bool], timeout: float) -> None:
        def watched() -> bool:
            self.poll()
            return check(self.stack.incidents())

        wait_until(what, watched, timeout, pause=0.5)


def run_live_demo(workdir: Path, out: TextIO) -> None:
    """An outage and a slowdown of ``api``, each declared, followed and resolved."""
    with live_stack(workdir) as stack:
        tell = Narrator(stack, out)
        tell.say(
            f"demo service, Prometheus ({stack.prometheus.url if stack.prometheus else '?'}) "
            f"and sloctl run ({stack.sloctl_url}/metrics) are up; 20 s of healthy traffic"
        )
        out.write(
            f"  the web UI:      {stack.ui_url}\n"
            f"  the status page: {stack.status_url}/ (and {stack.status_url}/api/v2/summary.json)\n"
        )
        out.flush()
        time.sleep(20)
        tell.say("injecting 100% errors into api")
        stack.inject("api", error_ratio=1.0)
        tell.until("a P1", lambda found: any(i.severity.value == "P1" for i in found), 60)
        time.sleep(5)
        tell.say("taking the errors back")
        stack.inject("api", error_ratio=0.0005)
        tell.until("the outage to resolve", lambda found: all(not i.open for i in found), 90)
        tell.say("injecting 800 ms answers into api")
        stack.inject("api", latency_seconds=0.8)
        tell.until("a latency P2", lambda found: sum(i.open for i in found) == 1, 60)
        time.sleep(5)
        tell.say("back to 80 ms")
        stack.inject("api", latency_seconds=0.08)
        tell.until("the slowdown to resolve", lambda found: all(not i.open for i in found), 90)
        tell.poll()
        tell.say(
            f"done: {len(stack.incidents())} incidents, {len(stack.receiver.texts())} messages"
        )
        command = (
            f"{shlex.quote(sys.argv[0])} incidents --store {shlex.quote(str(stack.store_path))}"
        )
        out.write(
            f"Their timelines: {command} list --all\n"
            f"A post-mortem draft: {command} postmortem INC-0001\n"
        )

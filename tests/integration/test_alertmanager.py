"""A real Alertmanager on loopback: one incident fires, escalates and resolves as one alert.

Alertmanager routes to a webhook receiver served by this test, so what is asserted is what a
real receiver would get: a "firing" notification with the incident's labels, then a
"resolved" one once RESOLVED carries ``endsAt``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from sloctl.cli.main import main
from sloctl.core.severity import Severity
from sloctl.demo.local_prometheus import free_port, stop_process
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import Incident, State, declare, escalate, move, observe
from sloctl.incidents.policy import Cause, Finding
from sloctl.notify.alertmanager import AlertmanagerSink
from sloctl.notify.outbox import Courier, DeliveryPolicy, messages
from sloctl.store.database import Store, open_store
from tests.integration.receivers import ALERTMANAGER_OK, FaultReceiver, receiver

pytestmark = pytest.mark.integration

BINARIES = ("prometheus-alertmanager", "alertmanager")
CONFIG = """\
route:
  receiver: hook
  group_by: [alertname, incident]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: {url}
        send_resolved: true
"""


@dataclass(frozen=True)
class Inbox:
    """Webhook notifications received from Alertmanager, in order."""

    receiver: FaultReceiver

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.receiver.bodies()

    def wait_for(self, wanted: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        got = self.receiver.wait_for(
            "a matching notification", lambda got: any(wanted(r.body) for r in got), timeout
        )
        return next(r.body for r in got if wanted(r.body))


@pytest.fixture
def inbox() -> Iterator[tuple[str, Inbox]]:
    with receiver(ALERTMANAGER_OK) as started:
        yield f"{started.url}/hook", Inbox(started)


def alertmanager_binary() -> str:
    for name in BINARIES:
        found = shutil.which(name)
        if found is not None:
            return found
    pytest.fail("Alertmanager is not installed: apt-get install -y prometheus-alertmanager")


@pytest.fixture
def alertmanager(tmp_path: Path, inbox: tuple[str, Inbox]) -> Iterator[str]:
    hook_url, _ = inbox
    config = tmp_path / "alertmanager.yml"
    config.write_text(CONFIG.format(url=hook_url), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "alertmanager.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                alertmanager_binary(),
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                pytest.fail(f"alertmanager exited: {log_path.read_text(errors='replace')[-500:]}")
            try:
                if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail("alertmanager did not become ready within 15 s")
            time.sleep(0.1)
        yield url
    finally:
        stop_process(process, timeout=10)


def announce(store: Store, courier: Courier, incident: Incident, event: Event) -> None:
    """Store ``incident`` with its message, as the CLI and the daemon do, and deliver it."""
    with store.transaction() as connection:
        store.save(
            incident, connection=connection, events=messages([event], courier.sinks), now=event.at
        )
    counts = courier.flush(store, event.at)
    assert counts["delivered"] == 1, (counts, store.outbox()[-1].last_error)


def alerts_of(message: dict[str, Any], incident: str) -> list[dict[str, Any]]:
    return [a for a in message.get("alerts", []) if a["labels"].get("incident") == incident]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_incident_fires_escalates_and_resolves_as_one_alert(
    alertmanager: str, inbox: tuple[str, Inbox], tmp_path: Path
) -> None:
    _, box = inbox
    store = open_store(tmp_path / "store.db")
    courier = Courier({"alertmanager": AlertmanagerSink(alertmanager)}, DeliveryPolicy())
    now = datetime.now(UTC).replace(microsecond=0)
    started = now - timedelta(minutes=2)
    finding = Finding(Cause.ERRORS, Severity.P2, "error ratio above 10% for more than 30 minutes")
    declared = observe(declare("INC-0042", "api", finding, started), 0.125, None)
    labels = {
        "alertname": "SloctlIncident",
        "incident": "INC-0042",
        "service": "api",
        "cause": "errors",
        "installation": store.installation,
    }

    announce(store, courier, declared, Event(EventKind.DECLARED, declared, now))
    firing = box.wait_for(
        lambda m: m["status"] == "firing" and bool(alerts_of(m, "INC-0042")), timeout=20
    )
    [alert] = alerts_of(firing, "INC-0042")
    assert alert["labels"] == labels
    assert alert["annotations"]["severity"] == "P2"
    assert alert["annotations"]["impact"] == "12.5% of requests failing at worst"
    assert when(alert["startsAt"]) == started

    # An escalation changes the severity: still the same single alert in Alertmanager.
    worse = Finding(Cause.ERRORS, Severity.P1, "error ratio above 50%")
    escalated = escalate(declared, worse, now + timedelta(seconds=1))
    announce(
        store,
        courier,
        escalated,
        Event(
            EventKind.ESCALATED, escalated, now + timedelta(seconds=1), ("everyone", "leadership")
        ),
    )
    held = requests.get(
        f"{alertmanager}/api/v2/alerts", params={"filter": 'incident="INC-0042"'}, timeout=5
    ).json()
    assert len(held) == 1
    assert held[0]["annotations"]["severity"] == "P1"
    assert held[0]["status"]["state"] == "active"

    resolved_at = datetime.now(UTC)
    ended = move(escalated, State.RESOLVED, resolved_at, actor="alice", note="rolled back")
    announce(store, courier, ended, Event(EventKind.RESOLVED, ended, resolved_at))
    store.close()
    resolved = box.wait_for(
        lambda m: m["status"] == "resolved" and bool(alerts_of(m, "INC-0042")), timeout=20
    )
    [alert] = alerts_of(resolved, "INC-0042")
    assert alert["labels"] == labels
    assert alert["status"] == "resolved"
    assert abs(when(alert["endsAt"]) - resolved_at) < timedelta(milliseconds=1)
    assert alert["annotations"]["severity"] == "P1"
    firing_count = sum(1 for m in box.messages if m["status"] == "firing")
    assert firing_count == 1  # the escalation updated the alert, it did not page twice


def test_cli_incident_reaches_alertmanager_and_resolves(
    alertmanager: str, inbox: tuple[str, Inbox], tmp_path: Path
) -> None:
    """`sloctl incidents` end to end: declared, kept alive by notify, resolved."""
    _, box = inbox
    env = {"SLOCTL_ALERTMANAGER_URL": alertmanager}
    store = str(tmp_path / "incidents.db")

    def sloctl(*args: str) -> str:
        result = CliRunner().invoke(main, ["incidents", "--store", store, *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    sloctl(
        "declare",
        "--service",
        "auth",
        "--severity",
        "P1",
        "--cause",
        "security",
        "--summary",
        "tokens leaked",
        "--by",
        "alice",
    )
    box.wait_for(lambda m: m["status"] == "firing" and bool(alerts_of(m, "INC-0001")), 20)
    assert "1 re-sent to Alertmanager" in sloctl("notify")
    held = requests.get(
        f"{alertmanager}/api/v2/alerts", params={"filter": 'incident="INC-0001"'}, timeout=5
    ).json()
    assert [a["status"]["state"] for a in held] == ["active"]
    sloctl("resolve", "INC-0001", "--by", "alice", "--note", "keys rotated")
    resolved = box.wait_for(
        lambda m: m["status"] == "resolved" and bool(alerts_of(m, "INC-0001")), 20
    )
    [alert] = alerts_of(resolved, "INC-0001")
    assert alert["labels"]["service"] == "auth"
    shown = json.loads(sloctl("show", "INC-0001", "--output", "json"))
    assert {n["status"] for n in shown["notifications"]} == {"delivered"}


def installation_of(path: Path) -> str:
    store = open_store(path)
    try:
        return store.installation
    finally:
        store.close()


def test_two_installations_never_share_an_alert(
    alertmanager: str, inbox: tuple[str, Inbox], tmp_path: Path
) -> None:
    """Both stores start at INC-0001; the second must not re-fire the first's resolved alert."""
    _, box = inbox
    env = {"SLOCTL_ALERTMANAGER_URL": alertmanager}

    def sloctl(store: str, *args: str) -> str:
        result = CliRunner().invoke(main, ["incidents", "--store", store, *args], env=env)
        assert result.exit_code == 0, result.output
        return result.output

    first, second = str(tmp_path / "first.db"), str(tmp_path / "second.db")
    sloctl(
        first,
        "declare",
        "--service",
        "auth",
        "--severity",
        "P2",
        "--cause",
        "security",
        "--summary",
        "keys leaked",
        "--by",
        "alice",
    )
    first_id, second_id = (installation_of(Path(p)) for p in (first, second))

    def about(message: dict[str, Any], installation: str) -> bool:
        return any(
            a["labels"].get("installation") == installation for a in alerts_of(message, "INC-0001")
        )

    box.wait_for(lambda m: m["status"] == "firing" and about(m, first_id), 20)
    sloctl(first, "resolve", "INC-0001", "--by", "alice", "--note", "rotated")
    box.wait_for(lambda m: m["status"] == "resolved" and about(m, first_id), 20)
    seen = len(box.messages)
    sloctl(
        second,
        "declare",
        "--service",
        "auth",
        "--severity",
        "P2",
        "--cause",
        "security",
        "--summary",
        "another leak",
        "--by",
        "bob",
    )
    assert "1 re-sent to Alertmanager" in sloctl(second, "notify")
    box.wait_for(lambda m: m["status"] == "firing" and about(m, second_id), 20)
    active = requests.get(
        f"{alertmanager}/api/v2/alerts",
        params={
            "filter": 'incident="INC-0001"',
            "active": "true",
            "silenced": "false",
            "inhibited": "false",
            "unprocessed": "false",
        },
        timeout=5,
    ).json()
    assert [a["labels"]["installation"] for a in active] == [second_id]
    time.sleep(3)  # a few group intervals: the first installation's alert stays resolved
    assert not any(m["status"] == "firing" and about(m, first_id) for m in box.messages[seen:])

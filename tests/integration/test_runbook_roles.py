"""Roles and cadence on loopback: the commander the schedule names at a real declaration, the
missed-update reminder a real ``sloctl run`` sends (once, kill -9 and restart included), the
assignee told through the daemon's configuration, and the drafts of a real P1."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sloctl.cli.main import main
from sloctl.core.severity import Severity
from sloctl.demo.local_prometheus import free_port
from sloctl.incidents.lifecycle import declare
from sloctl.incidents.policy import Cause, Finding
from sloctl.incidents.roles import Role, assign
from sloctl.store.database import open_store
from tests.integration.conftest import Served
from tests.integration.daemon_process import SloctlRun
from tests.integration.definitions import service_yaml
from tests.integration.fixture import API_OUTAGE
from tests.integration.receivers import PAGERDUTY_OK, SLACK_OK, FaultReceiver, receiver

pytestmark = pytest.mark.integration

SCHEDULE = """\
time_zone: Europe/Berlin
rotations:
  - name: primary
    start: 2026-10-01T09:00
    every: 1d
    people: ["@ann", "@ben"]
"""


@pytest.fixture
def slack() -> Iterator[FaultReceiver]:
    with receiver(SLACK_OK) as started:
        yield started


@pytest.fixture
def pagerduty() -> Iterator[FaultReceiver]:
    with receiver(PAGERDUTY_OK) as started:
        yield started


def overdue(slack: FaultReceiver) -> list[str]:
    return [r.text for r in slack.received if "INCIDENT UPDATE OVERDUE" in r.text]


def delivered_reminders(path: Path) -> int:
    store = open_store(path, check=False)
    try:
        return len([m for m in store.outbox(status="delivered") if m.kind == "reminder"])
    finally:
        store.close()


def test_a_missed_update_is_reminded_once_across_kill_9_and_restart(
    tmp_path: Path, slack: FaultReceiver, pagerduty: FaultReceiver
) -> None:
    run = SloctlRun(tmp_path, f"http://127.0.0.1:{free_port()}", slack.url, pagerduty.url)
    store = open_store(run.store)
    declared_at = datetime.now(UTC) - timedelta(minutes=20)  # P1: an update was due at +15
    incident = declare(
        "INC-0001", "api", Finding(Cause.OTHER, Severity.P1, "checkout broken"), declared_at
    )
    incident, commander = assign(incident, (), Role.COMMANDER, "@ann", declared_at, by="@ann")
    with store.transaction() as connection:
        store.save(incident, connection=connection, now=declared_at)
        store.save_assignment(commander, connection=connection)
    store.close()
    try:
        run.start()
        slack.wait_for("the reminder", lambda got: len(overdue(slack)) == 1, timeout=60)
        # Killed once its delivery is recorded (a kill mid-send is retried, at least once, as
        # every message is: docs/reliability.md); what is asserted is that it is not made again.
        deadline = time.monotonic() + 30
        while delivered_reminders(run.store) != 1:
            assert time.monotonic() < deadline, "the reminder's delivery was not recorded"
            time.sleep(0.1)
        run.kill()
        run.start()
        # Several cycles of the restarted daemon: the stored reminder is not sent again.
        deadline = time.monotonic() + 60
        while len(run.events("cycle")) < 4:
            assert time.monotonic() < deadline, "the restarted daemon ran no cycles"
            time.sleep(0.2)
        assert len(overdue(slack)) == 1
        [text] = overdue(slack)
        assert "@ann: the status update of INC-0001 was due at" in text
        # PagerDuty hears of the missed response target, never of the reminder.
        paged = {r.body["payload"]["custom_details"]["event"] for r in pagerduty.received}
        assert paged == {"escalated"}
        # The assignee of a role given from the command line, with the daemon's config.
        env = {
            **os.environ,
            "TEST_SLACK_HOOK": f"{slack.url}/services/T0/B0/secret",
            "TEST_PAGERDUTY_KEY": "R0UTINGKEY",
        }
        result = CliRunner().invoke(
            main,
            [
                "incidents",
                "--config",
                str(run.config),
                "assign",
                "INC-0001",
                "--role",
                "scribe",
                "--who",
                "@cat",
                "--by",
                "@ann",
            ],
            env=env,
        )
        assert result.exit_code == 0, result.output
        slack.wait_for(
            "the assignment",
            lambda got: any("Scribe: @cat (assigned by @ann)" in r.text for r in got),
            timeout=30,
        )
        # An update starts a new clock: no reminder until it is missed again.
        result = CliRunner().invoke(
            main,
            [
                "incidents",
                "--config",
                str(run.config),
                "update",
                "INC-0001",
                "--status",
                "mitigating",
                "--text",
                "rolled back",
                "--by",
                "@ann",
            ],
            env=env,
        )
        assert result.exit_code == 0, result.output
        time.sleep(3)
        assert len(overdue(slack)) == 1
    finally:
        run.stop()
    store = open_store(run.store)
    try:
        reminded = store.reminders("INC-0001")
        assert [kind for kind, _, _ in reminded] == ["update"]
        sent = [m for m in store.outbox() if m.kind == "reminder"]
        assert [(m.sink, m.status) for m in sent] == [("slack", "delivered")]
    finally:
        store.close()


def sloctl(store: Path, *args: str, env: dict[str, str]) -> Result:
    result = CliRunner().invoke(main, ["incidents", "--store", str(store), *args], env=env)
    assert result.exit_code == 0, result.output
    return result


def test_a_real_outage_names_the_scheduled_commander_and_drafts_for_customers(
    served: Served, tmp_path: Path, slack: FaultReceiver
) -> None:
    definitions = tmp_path / "defs"
    definitions.mkdir()
    (definitions / "api.yaml").write_text(service_yaml("api", "rolling: 30d"))
    schedule = tmp_path / "oncall.yaml"
    schedule.write_text(SCHEDULE, encoding="utf-8")
    store = tmp_path / "incidents.db"
    env = {"SLOCTL_SLACK_WEBHOOK_URL": f"{slack.url}/services/T0/B0/secret"}
    begin, _ = API_OUTAGE
    moment = begin - timedelta(minutes=10)
    while moment <= begin + timedelta(hours=1, minutes=30):
        sloctl(
            store,
            "--schedule",
            str(schedule),
            "evaluate",
            "--prometheus-url",
            served.url,
            "--definitions",
            str(definitions),
            "--at",
            moment.isoformat(),
            env=env,
        )
        moment += timedelta(minutes=5)
    shown = json.loads(sloctl(store, "show", "INC-0001", "--output", "json", env=env).output)
    assert shown["severity"] == "P1"
    assert shown["state"] == "resolved"
    # 2026-10-31 is a Saturday; daily hand-offs from 1 October at 09:00: day 30 is @ann's.
    assert shown["roles"]["commander"]["who"] == "@ann"
    assert shown["roles"]["commander"]["by"] == "schedule:primary"
    declared = next(r.text for r in slack.received if "INCIDENT DECLARED" in r.text)
    assert "Incident Commander: @ann" in declared
    assert "Next update in 15 minutes." in declared
    draft = tmp_path / "drafts" / "INC-0001-customer.md"
    assert shown["customer_communication"]["path"] == str(draft)
    text = draft.read_text(encoding="utf-8")
    start = datetime.fromisoformat(shown["impact_started_at"]).strftime("%Y-%m-%d %H:%M")
    assert f"affecting api\nfrom {start} to " in text
    postmortem = sloctl(
        store,
        "postmortem",
        "INC-0001",
        "--prometheus-url",
        served.url,
        "--definitions",
        str(definitions),
        env=env,
    ).output
    users = next(line for line in postmortem.splitlines() if line.startswith("- Users affected:"))
    assert "requests failed" in users
    assert "these are requests, not users" in users
    assert "- Incident Commander: @ann" in postmortem
    assert "| slack | declared | delivered | 1 |" in postmortem
    assert "| slack | resolved | delivered | 1 |" in postmortem

"""``sloctl incidents`` end to end: store, timeline, SLA dates and notifications to receivers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from freezegun import freeze_time

from sloctl.cli.main import main
from sloctl.core.severity import Severity
from sloctl.incidents.lifecycle import Reading, State, Symptom, declare, impacted, join, move
from sloctl.incidents.policy import Cause, Finding
from sloctl.store.database import open_store
from tests.integration.receivers import SLACK_OK, Answer, FaultReceiver, receiver
from tests.paths import ROOT

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


HOOK_PATH = "/services/T000/B000/secret-token"


@pytest.fixture
def slack() -> Iterator[FaultReceiver]:
    with receiver(SLACK_OK) as started:
        yield started


def run(store: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["incidents", "--store", str(store), *args], env=env or {})


def test_manual_incident_lifecycle_with_sla_dates(tmp_path: Path) -> None:
    store = tmp_path / "incidents.db"
    with freeze_time("2026-11-02T10:00:00Z"):
        result = run(
            store,
            "declare",
            "--service",
            "api",
            "--severity",
            "P1",
            "--cause",
            "data-loss",
            "--summary",
            "orders table truncated",
            "--by",
            "alice",
        )
    assert result.exit_code == 0, result.output
    assert "INC-0001 declared" in result.output
    with freeze_time("2026-11-02T10:04:00Z"):
        assert run(store, "ack", "INC-0001", "--by", "bob", "--note", "restoring").exit_code == 0
    with freeze_time("2026-11-02T10:30:00Z"):
        assert run(store, "mitigate", "INC-0001", "--by", "bob").exit_code == 0
    with freeze_time("2026-11-02T11:12:00Z"):
        assert run(store, "resolve", "INC-0001", "--by", "bob", "--note", "restored").exit_code == 0
    shown = json.loads(run(store, "show", "INC-0001", "--output", "json").output)
    assert shown["state"] == "resolved"
    assert shown["ack_due"] == "2026-11-02T10:05:00Z"  # P1: acknowledge within 5 minutes
    assert shown["resolution_due"] == "2026-11-02T11:00:00Z"  # P1: resolve within 1 hour
    assert shown["postmortem_due"] == "2026-11-05T11:12:00Z"  # within 72 hours
    assert [(t["to"], t["actor"]) for t in shown["timeline"]] == [
        ("detected", "alice"),
        ("detected", "alice"),  # "Incident Commander: @alice": who declares commands at first
        ("acknowledged", "bob"),
        ("mitigating", "bob"),
        ("resolved", "bob"),
    ]
    draft = run(
        store,
        "postmortem",
        "INC-0001",
        "--prometheus-url",
        "http://127.0.0.1:9",
        "--definitions",
        str(tmp_path / "none"),
    ).output
    assert "# Incident Post-Mortem: INC-0001" in draft
    assert "- Duration: 1 hour 12 minutes" in draft
    assert "| 2026-11-02 10:04 | Engineer acknowledged: restoring by bob |" in draft


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["ack", "INC-0099", "--by", "x"], "no incident 'INC-0099'", id="unknown-id"),
        pytest.param(
            ["resolve", "INC-0001", "--by", "x"], "cannot become resolved", id="resolve-twice"
        ),
        pytest.param(
            ["evaluate", "--prometheus-url", "ftp://h"], "must look like http", id="evaluate-url"
        ),
        pytest.param(
            ["postmortem", "INC-0001", "--prometheus-url", "http://h:99999"],
            "Port out of range",
            id="postmortem-url",
        ),
    ],
)
def test_mistakes_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    store = tmp_path / "incidents.db"
    run(
        store,
        "declare",
        "--service",
        "api",
        "--severity",
        "P3",
        "--cause",
        "other",
        "--summary",
        "x",
        "--by",
        "alice",
    )
    run(store, "resolve", "INC-0001", "--by", "alice")
    result = run(store, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_one_open_incident_per_service_and_cause(tmp_path: Path) -> None:
    store = tmp_path / "incidents.db"
    first = [
        "declare",
        "--service",
        "api",
        "--severity",
        "P2",
        "--cause",
        "security",
        "--summary",
        "x",
        "--by",
        "alice",
    ]
    assert run(store, *first).exit_code == 0
    again = run(store, *first)
    assert again.exit_code == 2
    assert "INC-0001 is already open" in again.output


def test_notifications_are_retried_and_never_lost(tmp_path: Path, slack: FaultReceiver) -> None:
    store = tmp_path / "incidents.db"
    slack.play([Answer(500), Answer(429), SLACK_OK])
    env = {"SLOCTL_SLACK_WEBHOOK_URL": slack.url + HOOK_PATH}
    with freeze_time("2026-11-02T10:00:00Z"):
        result = run(
            store,
            "declare",
            "--service",
            "api",
            "--severity",
            "P1",
            "--cause",
            "other",
            "--summary",
            "checkout broken",
            "--by",
            "alice",
            env=env,
        )
    assert result.exit_code == 0
    assert "1 still queued" in result.output
    assert "secret-token" not in result.output
    waiting = json.loads(run(store, "show", "INC-0001", "--output", "json").output)
    [queued] = waiting["notifications"]
    assert queued["status"] == "pending"
    assert queued["next_attempt_at"].startswith("2026-11-02T10:0")
    with freeze_time("2026-11-02T10:02:00Z"):  # the retry is due (backoff under a minute)
        run(store, "notify", env=env)
    with freeze_time("2026-11-02T10:04:00Z"):  # before the 5-minute response target
        assert "1 delivered" in run(store, "notify", env=env).output
    assert len(slack.bodies()) == 3
    assert ":rotating_light: INCIDENT DECLARED" in str(slack.bodies()[-1]["text"])
    shown = json.loads(run(store, "show", "INC-0001", "--output", "json", env=env).output)
    assert shown["notifications"][0]["status"] == "delivered"
    assert shown["notifications"][0]["attempts"] == 3


def test_a_rejected_notification_is_not_retried_and_stays_visible(
    tmp_path: Path, slack: FaultReceiver
) -> None:
    store = tmp_path / "incidents.db"
    slack.set(Answer(400))
    env = {"SLOCTL_SLACK_WEBHOOK_URL": slack.url + HOOK_PATH}
    with freeze_time("2026-11-02T10:00:00Z"):
        run(
            store,
            "declare",
            "--service",
            "api",
            "--severity",
            "P2",
            "--cause",
            "other",
            "--summary",
            "x",
            "--by",
            "alice",
            env=env,
        )
    with freeze_time("2026-11-02T10:05:00Z"):
        run(store, "notify", env=env)
    assert len(slack.bodies()) == 1
    shown = json.loads(run(store, "show", "INC-0001", "--output", "json", env=env).output)
    [notification] = shown["notifications"]
    assert notification["status"] == "failed"
    assert "HTTP 400" in notification["last_error"]
    assert "secret-token" not in notification["last_error"]


def test_a_corrupt_store_fails_loudly(tmp_path: Path) -> None:
    store = tmp_path / "incidents.db"
    store.write_bytes(b"garbage" * 1000)
    result = run(store, "list")
    assert result.exit_code == 4
    assert "cannot be opened" in result.output
    assert store.read_bytes() == b"garbage" * 1000


def test_a_missed_response_target_is_escalated_once(tmp_path: Path, slack: FaultReceiver) -> None:
    store = tmp_path / "incidents.db"
    env = {"SLOCTL_SLACK_WEBHOOK_URL": slack.url + HOOK_PATH}
    with freeze_time("2026-11-02T10:00:00Z"):
        run(
            store,
            "declare",
            "--service",
            "api",
            "--severity",
            "P1",
            "--cause",
            "other",
            "--summary",
            "checkout broken",
            "--by",
            "alice",
            env=env,
        )
    with freeze_time("2026-11-02T10:04:00Z"):
        assert "target" not in run(store, "notify", env=env).output
    with freeze_time("2026-11-02T10:06:00Z"):
        assert (
            "INC-0001: not acknowledged within the P1 response target"
            in run(store, "notify", env=env).output
        )
    with freeze_time("2026-11-02T10:07:00Z"):
        assert "target" not in run(store, "notify", env=env).output
    texts = [str(body["text"]) for body in slack.bodies()]
    assert len(texts) == 2
    assert "everyone" in texts[1]
    assert "not acknowledged within the P1 response target" in texts[1]


def test_postmortem_to_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    store = tmp_path / "incidents.db"
    run(
        store,
        "declare",
        "--service",
        "api",
        "--severity",
        "P3",
        "--cause",
        "other",
        "--summary",
        "x",
        "--by",
        "alice",
    )
    result = run(
        store,
        "postmortem",
        "INC-0001",
        "--out",
        str(tmp_path / "no" / "such.md"),
        "--definitions",
        str(tmp_path),
    )
    assert result.exit_code == 2
    assert "cannot write" in result.output
    assert "Traceback" not in result.output


def test_config_names_the_sinks_and_store_as_for_the_daemon(
    tmp_path: Path, slack: FaultReceiver
) -> None:
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        "store: incidents.db\nnotifications:\n  slack: {webhook_url_env: TEAM_HOOK}\n",
        encoding="utf-8",
    )
    env = {"TEAM_HOOK": slack.url + HOOK_PATH}  # no SLOCTL_* variable at all
    declared = CliRunner().invoke(
        main,
        [
            "incidents",
            "--config",
            str(config),
            "declare",
            "--service",
            "api",
            "--severity",
            "P2",
            "--cause",
            "other",
            "--summary",
            "x",
            "--by",
            "alice",
        ],
        env=env,
    )
    assert declared.exit_code == 0, declared.output
    assert "warning" not in declared.output
    acked = CliRunner().invoke(
        main, ["incidents", "--config", str(config), "ack", "INC-0001", "--by", "bob"], env=env
    )
    assert acked.exit_code == 0, acked.output
    assert (tmp_path / "incidents.db").exists()  # the config's store, relative to the file
    texts = [str(body["text"]) for body in slack.bodies()]
    assert [t.splitlines()[0] for t in texts] == [
        ":rotating_light: INCIDENT DECLARED",
        ":yellow_circle: INCIDENT UPDATE",
    ]
    assert "Acknowledged by @bob" in texts[1]


def test_a_change_announced_nowhere_says_so(tmp_path: Path) -> None:
    store = tmp_path / "incidents.db"
    result = run(
        store,
        "declare",
        "--service",
        "api",
        "--severity",
        "P2",
        "--cause",
        "other",
        "--summary",
        "x",
        "--by",
        "alice",
    )
    assert result.exit_code == 0
    assert "this change of INC-0001 is announced nowhere: no notification sink" in result.output
    assert "SLOCTL_SLACK_WEBHOOK_URL" in result.output
    config = tmp_path / "sloctl.yaml"
    config.write_text(f"store: {store}\nnotifications: {{timeout: 5s}}\n", encoding="utf-8")
    acked = CliRunner().invoke(
        main, ["incidents", "--config", str(config), "ack", "INC-0001", "--by", "bob"], env={}
    )
    assert acked.exit_code == 0
    assert f"{config} names no sink under notifications" in acked.output


@pytest.mark.parametrize("command", [["list"], ["show", "INC-0001"], ["postmortem", "INC-0001"]])
def test_reading_a_store_that_does_not_exist_creates_none(
    tmp_path: Path, command: list[str]
) -> None:
    typo = tmp_path / "typo.db"
    result = run(typo, *command)
    assert result.exit_code == 4, result.output
    assert f"no incident store at {typo}" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_reading_command_writes_nothing_to_the_store(tmp_path: Path) -> None:
    store = tmp_path / "incidents.db"
    declared = run(
        store,
        "declare",
        "--service",
        "api",
        "--severity",
        "P3",
        "--cause",
        "data-loss",
        "--summary",
        "lost rows",
        "--by",
        "ana",
    )
    assert declared.exit_code == 0, declared.output
    before = store.read_bytes()
    listed = run(store, "list", "--output", "json")
    assert listed.exit_code == 0, listed.output
    assert store.read_bytes() == before
    assert [i["id"] for i in json.loads(listed.stdout)] == ["INC-0001"]


def test_incidents_help_opens_no_store(tmp_path: Path) -> None:
    result = run(tmp_path / "none.db", "list", "--help")
    assert result.exit_code == 0
    assert list(tmp_path.iterdir()) == []


def test_show_gives_services_causes_and_times(tmp_path: Path) -> None:
    path = tmp_path / "incidents.db"
    outage = Finding(Cause.ERRORS, Severity.P1, "error ratio above 50%")
    incident = declare(
        "INC-0001",
        "database",
        outage,
        T0 + timedelta(minutes=2),
        impact_started_at=T0,
        readings=(Reading("database", 1.0, 0.01, 0.2),),
    )
    incident = join(incident, Symptom("api", Cause.ERRORS), outage, T0 + timedelta(minutes=3))
    incident = move(incident, State.ACKNOWLEDGED, T0 + timedelta(minutes=4), actor="alice")
    incident = impacted(incident, T0 + timedelta(minutes=20))
    incident = move(incident, State.MONITORING, T0 + timedelta(minutes=21), actor="sloctl")
    store = open_store(path)
    with store.transaction() as connection:
        store.save(incident, connection=connection, now=T0)
    store.close()
    shown = json.loads(run(path, "show", "INC-0001", "--output", "json").output)
    assert shown["services"] == ["database", "api"]
    assert shown["causes"] == ["errors"]
    assert (shown["impact_started_at"], shown["impact_ended_at"]) == (
        "2026-11-02T10:00:00Z",
        "2026-11-02T10:20:00Z",
    )
    assert shown["time_to_detect_seconds"] == 120
    assert shown["time_to_acknowledge_seconds"] == 120
    assert shown["time_to_restore_seconds"] == 21 * 60
    assert shown["resolution_met"] is True
    assert shown["timeline"][0]["signals"][0]["error_ratio"] == 1.0
    table = run(path, "show", "INC-0001").output
    assert "impact 2026-11-02T10:00:00Z to 2026-11-02T10:20:00Z (20m)" in table
    assert "time to detect 2m, to acknowledge 2m, to restore 21m" in table
    assert "database: errors 100.00%, p95 10 ms" in table


def test_backtest_options_that_do_not_go_together(tmp_path: Path) -> None:
    shipped = str(ROOT / "slo-definitions")
    base = [
        "backtest",
        "--prometheus-url",
        "http://127.0.0.1:9",
        "--definitions",
        shipped,
        "--from",
        "2026-10-01T00:00:00Z",
    ]
    for extra, message in (
        ([], "--to is required"),
        (["--explain", "api"], "--explain SERVICE and --at TIME go together"),
        (["--explain", "billing", "--at", "2026-10-02T00:00:00Z"], "no SLO of service 'billing'"),
    ):
        result = CliRunner().invoke(main, [*base, *extra])
        assert result.exit_code == 2, result.output
        assert message in result.output

"""``sloctl incidents`` with roles, updates, reminders, the public summary, the customer draft
and the post-mortem's due date, against a Slack-compatible receiver on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from freezegun import freeze_time

from sloctl.cli.main import main
from tests.integration.receivers import SLACK_OK, FaultReceiver, receiver

SCHEDULE = """\
time_zone: Europe/Berlin
rotations:
  - name: primary
    start: 2026-11-02T09:00
    every: 1d
    people: ["@ann", "@ben"]
"""


@pytest.fixture
def slack() -> Iterator[FaultReceiver]:
    with receiver(SLACK_OK) as started:
        yield started


@pytest.fixture
def schedule(tmp_path: Path) -> Path:
    path = tmp_path / "oncall.yaml"
    path.write_text(SCHEDULE, encoding="utf-8")
    return path


def run(store: Path, *args: str, env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, ["incidents", "--store", str(store), *args], env=env)


def declare(store: Path, env: dict[str, str], *extra: str) -> Result:
    return run(
        store,
        *extra,
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
        "carl",
        env=env,
    )


def texts(slack: FaultReceiver) -> list[str]:
    return [r.text for r in slack.received]


def test_an_incident_with_roles_updates_and_a_missed_update(
    tmp_path: Path, slack: FaultReceiver, schedule: Path
) -> None:
    store = tmp_path / "incidents.db"
    env = {"SLOCTL_SLACK_WEBHOOK_URL": f"{slack.url}/services/T0/B0/secret"}
    with freeze_time("2026-11-02T10:00:00Z"):  # 11:00 in Berlin: @ann since 09:00
        result = declare(store, env, "--schedule", str(schedule))
    assert result.exit_code == 0, result.output
    assert "INC-0001 declared: P1 api (other), commander @ann" in result.output
    assert "Incident Commander: @ann" in texts(slack)[0]
    with freeze_time("2026-11-02T10:03:00Z"):
        result = run(
            store,
            "assign",
            "INC-0001",
            "--role",
            "communications-lead",
            "--who",
            "lee",
            "--by",
            "@ann",
            env=env,
        )
    assert result.output == "INC-0001: @lee is Communications Lead (assigned by @ann)\n"
    assert "Communications Lead: @lee (assigned by @ann)" in texts(slack)[1]
    with freeze_time("2026-11-02T10:10:00Z"):
        result = run(
            store,
            "update",
            "INC-0001",
            "--status",
            "mitigating",
            "--text",
            "rolled back",
            "--action",
            "watching errors",
            "--action",
            "paging db team",
            "--by",
            "@ann",
            env=env,
        )
    assert result.output.splitlines()[-1] == (
        "INC-0001 update sent (mitigating); next update due 2026-11-02T10:25:00Z"
    )
    update = texts(slack)[2].splitlines()
    assert update[0] == ":yellow_circle: INCIDENT UPDATE"
    assert "Status: Mitigating" in update
    assert update[10:12] == ["- watching errors", "- paging db team"]
    assert update[-1] == "Next update in 15 minutes."
    # Before it is due, nothing; when it is missed, one reminder; then no other.
    with freeze_time("2026-11-02T10:24:00Z"):
        assert "reminder" not in run(store, "notify", env=env).output
    with freeze_time("2026-11-02T10:26:00Z"):
        assert "INC-0001: update reminder to @ann" in run(store, "notify", env=env).output
    with freeze_time("2026-11-02T10:40:00Z"):
        assert "reminder" not in run(store, "notify", env=env).output
    reminders = [t for t in texts(slack) if "UPDATE OVERDUE" in t]
    assert len(reminders) == 1
    assert "@ann: the status update of INC-0001 was due at 2026-11-02 10:25 UTC" in reminders[0]
    mine = json.loads(
        run(store, "list", "--mine", "--who", "@lee", "--output", "json", env=env).output
    )
    assert [i["id"] for i in mine] == ["INC-0001"]
    assert (
        json.loads(
            run(store, "list", "--mine", "--who", "@zoe", "--output", "json", env=env).output
        )
        == []
    )
    shown = json.loads(run(store, "show", "INC-0001", "--output", "json", env=env).output)
    assert shown["roles"]["commander"] == {
        "who": "@ann",
        "since": "2026-11-02T10:00:00Z",
        "by": "schedule:primary",
    }
    assert shown["roles"]["communications-lead"]["who"] == "@lee"
    assert [u["status"] for u in shown["updates"]] == ["mitigating"]
    assert shown["next_update_due"] == "2026-11-02T10:25:00Z"
    assert shown["reminders"] == [
        {"kind": "update", "due_at": "2026-11-02T10:25:00Z", "sent_at": "2026-11-02T10:26:00Z"}
    ]
    assert [t["note"] for t in shown["timeline"]][1:4] == [
        "Incident Commander: @ann",
        "Communications Lead: @lee",
        "update (mitigating): rolled back",
    ]


def test_the_public_summary_is_set_by_the_communications_lead(
    tmp_path: Path, slack: FaultReceiver
) -> None:
    store = tmp_path / "incidents.db"
    env = {"SLOCTL_SLACK_WEBHOOK_URL": slack.url}
    declare(store, env)
    run(store, "assign", "INC-0001", "--role", "communications-lead", "--who", "@lee", env=env)
    refused = run(
        store, "summary", "INC-0001", "--text", "x", "--services", "api", "--by", "@carl", env=env
    )
    assert refused.exit_code == 2
    assert "communications lead is @lee" in refused.output
    result = run(
        store,
        "summary",
        "INC-0001",
        "--text",
        "Checkout is failing for some customers",
        "--services",
        "api,checkout",
        "--by",
        "lee",
        env=env,
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(run(store, "show", "INC-0001", "--output", "json", env=env).output)
    assert shown["public_summary"]["text"] == "Checkout is failing for some customers"
    assert shown["public_summary"]["services"] == ["api", "checkout"]
    assert shown["public_summary"]["set_by"] == "@lee"
    table = run(store, "show", "INC-0001", env=env).output
    assert "public summary (api, checkout; @lee," in table


def test_resolution_drafts_the_customer_communication_and_a_post_mortem_comes_due(
    tmp_path: Path, slack: FaultReceiver
) -> None:
    store = tmp_path / "incidents.db"
    env = {"SLOCTL_SLACK_WEBHOOK_URL": slack.url}
    with freeze_time("2026-11-02T10:00:00Z"):
        declare(store, env)
    with freeze_time("2026-11-02T10:40:00Z"):
        result = run(store, "resolve", "INC-0001", "--by", "carl", "--note", "rolled back", env=env)
    draft = tmp_path / "drafts" / "INC-0001-customer.md"
    assert f"customer communication draft written to {draft}" in result.output
    text = draft.read_text(encoding="utf-8")
    assert "affecting api\nfrom 2026-11-02 10:00 to 2026-11-02 10:40 UTC." in text
    draft.write_text(text + "edited\n", encoding="utf-8")
    shown = json.loads(run(store, "show", "INC-0001", "--output", "json", env=env).output)
    assert shown["customer_communication"]["path"] == str(draft)
    assert shown["customer_communication"]["text"].endswith("edited\n")
    assert shown["postmortem"] == {
        "due": "2026-11-05T10:40:00Z",
        "done_at": None,
        "done_by": None,
        "link": None,
    }
    with freeze_time("2026-11-04T10:39:00Z"):
        assert run(store, "list", "--postmortem-due", env=env).output == (
            "INC-0001 P1 api: post-mortem due 2026-11-05T10:40:00Z\n"
        )
        assert "reminder" not in run(store, "notify", env=env).output
    with freeze_time("2026-11-04T10:40:00Z"):  # a day before it is due: one reminder
        assert "INC-0001: postmortem reminder to @carl" in run(store, "notify", env=env).output
        assert "reminder" not in run(store, "notify", env=env).output
    assert len([t for t in texts(slack) if "POST-MORTEM DUE" in t]) == 1
    with freeze_time("2026-11-06T09:00:00Z"):
        assert "(overdue)" in run(store, "list", "--postmortem-due", env=env).output
        done = run(
            store,
            "postmortem-done",
            "INC-0001",
            "--by",
            "@carl",
            "--link",
            "https://wiki/pm-1",
            env=env,
        )
    assert done.output == "INC-0001 post-mortem done (after its due date)\n"
    assert run(store, "list", "--postmortem-due", env=env).output == "no post-mortem is due\n"
    again = run(store, "postmortem-done", "INC-0001", "--by", "@carl", env=env)
    assert again.exit_code == 2
    assert "already marked done" in again.output
    draft_pm = run(
        store,
        "postmortem",
        "INC-0001",
        "--prometheus-url",
        "http://127.0.0.1:9",
        "--definitions",
        str(tmp_path / "none"),
        env=env,
    ).output
    assert "- Incident Commander: @carl (from 2026-11-02 10:00 UTC)" in draft_pm
    assert "| 2026-11-04 10:40 | slack | reminder | delivered | 1 |" in draft_pm


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--mine"], "--mine and --who @name go together"),
        (["assign", "INC-0001", "--role", "scribe", "--who", "two words"], "is not a handle"),
        (["assign", "INC-0001", "--role", "commander", "--who", "@carl"], "already the incident"),
        (["update", "INC-0001", "--status", "mitigating", "--text", " ", "--by", "a"], "--text"),
        (["postmortem-done", "INC-0001", "--by", "a"], "owes no post-mortem (not resolved yet)"),
        (["summary", "INC-0001", "--text", "x", "--services", ",", "--by", "a"], "--services"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(
    tmp_path: Path, slack: FaultReceiver, args: list[str], message: str
) -> None:
    store = tmp_path / "incidents.db"
    env = {"SLOCTL_SLACK_WEBHOOK_URL": slack.url}
    declare(store, env)
    result = run(store, *args, env=env)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_bad_schedule_is_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "oncall.yaml"
    path.write_text(SCHEDULE.replace("every: 1d", "every: 2h"), encoding="utf-8")
    result = declare(tmp_path / "incidents.db", {}, "--schedule", str(path))
    assert result.exit_code == 2
    assert f"{path}:5: rotations[0].every: hand-offs happen at a time of day" in result.output
    assert not (tmp_path / "incidents.db").exists()


def test_the_shipped_schedule_names_every_scheduled_role_at_declaration(
    tmp_path: Path, slack: FaultReceiver
) -> None:
    shipped = Path(__file__).resolve().parents[3] / "deploy" / "oncall.yaml"
    store = tmp_path / "incidents.db"
    env = {"SLOCTL_SLACK_WEBHOOK_URL": slack.url, "SLOCTL_SCHEDULE": str(shipped)}
    with freeze_time("2026-11-10T08:00:00Z"):  # the second week: @ben commands, @mia talks
        result = declare(store, env)
    assert "commander @ben" in result.output
    first_lines = [t.splitlines()[0] for t in texts(slack)]
    assert first_lines == [
        ":rotating_light: INCIDENT DECLARED",
        ":busts_in_silhouette: INCIDENT ROLE ASSIGNED",
    ]
    assert "Incident Commander: @ben" in texts(slack)[0]
    assert "Communications Lead: @mia (assigned by schedule:comms)" in texts(slack)[1]
    with freeze_time("2026-12-25T08:00:00Z"):  # the override
        run(store, "resolve", "INC-0001", "--by", "@ben", env=env)
        declare(store, env)
    shown = json.loads(run(store, "show", "INC-0002", "--output", "json", env=env).output)
    assert shown["roles"]["commander"]["who"] == "@ben"
    assert shown["roles"]["commander"]["by"] == "schedule:override"


def test_a_bad_schedule_does_not_stop_reading_commands(
    tmp_path: Path, slack: FaultReceiver
) -> None:
    store = tmp_path / "incidents.db"
    env = {"SLOCTL_SLACK_WEBHOOK_URL": slack.url}
    declare(store, env)
    broken = tmp_path / "oncall.yaml"
    broken.write_text("time_zone: Nowhere/Else\n", encoding="utf-8")
    env["SLOCTL_SCHEDULE"] = str(broken)
    assert run(store, "list", "--output", "json", env=env).exit_code == 0
    assert run(store, "show", "INC-0001", env=env).exit_code == 0

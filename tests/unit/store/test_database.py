"""The incident store: round trips, one open automatic incident per service, the migration
from schema 1, refusing bad files, kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sloctl.core.changes import Change
from sloctl.core.severity import Severity
from sloctl.errors import StoreConflictError, StoreError
from sloctl.incidents.cadence import Status, StatusUpdate
from sloctl.incidents.lifecycle import Reading, State, Symptom, declare, join, move
from sloctl.incidents.policy import Cause, Finding
from sloctl.incidents.public_summary import PublicSummary
from sloctl.incidents.roles import Assignment, Role
from sloctl.store.database import SCHEMA, SCHEMA_VERSION, open_store

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
FINDING = Finding(Cause.ERRORS, Severity.P1, "error ratio above 50%")


def test_incident_round_trip_with_timeline_and_outbox(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    incident = declare("INC-0001", "api", FINDING, T0, error_ratio=0.7)
    incident = move(
        incident, State.ACKNOWLEDGED, T0 + timedelta(minutes=3), actor="alice", note="on it"
    )
    with store.transaction() as connection:
        store.save(
            incident, connection=connection, events=[("slack", {"kind": "declared"})], now=T0
        )
    store.close()
    reopened = open_store(tmp_path / "store.db")
    assert reopened.get("INC-0001") == incident
    [message] = reopened.outbox()
    assert (message.sink, message.event, message.status) == (
        "slack",
        {"kind": "declared"},
        "pending",
    )


def test_only_new_timeline_lines_are_appended(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    incident = declare("INC-0001", "api", FINDING, T0)
    for step, to in enumerate((State.ACKNOWLEDGED, State.MITIGATING, State.RESOLVED), start=1):
        incident = move(incident, to, T0 + timedelta(minutes=step), actor="bob")
        with store.transaction() as connection:
            store.save(incident, connection=connection, now=T0)
    stored = store.get("INC-0001")
    assert stored is not None
    assert [line.to_state for line in stored.timeline] == [
        State.DETECTED,
        State.ACKNOWLEDGED,
        State.MITIGATING,
        State.RESOLVED,
    ]


def test_one_open_automatic_incident_per_service(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    with store.transaction() as connection:
        store.save(declare("INC-0001", "api", FINDING, T0), connection=connection, now=T0)
    latency = Finding(Cause.LATENCY, Severity.P2, "p95 above 500 ms")
    for other in (FINDING, latency):  # a symptom joins the open one; it is no second incident
        with pytest.raises(StoreConflictError), store.transaction() as connection:
            store.save(declare("INC-0002", "api", other, T0), connection=connection, now=T0)
    with store.transaction() as connection:  # another service, and a person's declaration
        store.save(declare("INC-0002", "auth", latency, T0), connection=connection, now=T0)
        breach = Finding(Cause.SECURITY, Severity.P1, "leaked token")
        store.save(
            declare("INC-0003", "api", breach, T0, actor="bob", manual=True),
            connection=connection,
            now=T0,
        )
    with pytest.raises(StoreConflictError), store.transaction() as connection:
        store.save(
            declare("INC-0004", "api", breach, T0, actor="eve", manual=True),
            connection=connection,
            now=T0,
        )
    assert [i.id for i in store.incidents(open_only=True)] == ["INC-0001", "INC-0002", "INC-0003"]


def test_symptoms_times_and_readings_round_trip(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    reading = Reading("database", 1.0, 0.05, 0.2, burning=True)
    incident = declare(
        "INC-0001",
        "database",
        FINDING,
        T0,
        impact_started_at=T0 - timedelta(minutes=1),
        readings=(reading,),
    )
    incident = join(
        incident,
        Symptom("api", Cause.ERRORS),
        FINDING,
        T0 + timedelta(minutes=1),
        impact_started_at=T0 - timedelta(minutes=2),
        readings=(Reading("api", 0.6),),
    )
    incident = move(incident, State.MONITORING, T0 + timedelta(minutes=20), actor="sloctl")
    with store.transaction() as connection:
        store.save(incident, connection=connection, now=T0)
    loaded = store.get("INC-0001")
    assert loaded == incident
    assert loaded.services == ("database", "api")
    assert loaded.impact_started_at == T0 - timedelta(minutes=2)
    assert loaded.restored_at == T0 + timedelta(minutes=20)
    assert loaded.timeline[0].readings == (reading,)


def test_a_services_incidents_and_an_incidents_messages_are_read_alone(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    odd = 'a_%"\\b'  # LIKE's wildcards, a quote and a backslash: all taken literally
    with store.transaction() as connection:
        for number, service in enumerate(("api", "auth", odd, "axb", "api"), start=1):
            incident = declare(f"INC-000{number}", service, FINDING, T0)
            if number == 4:  # a database incident that api's trouble joined
                incident = join(incident, Symptom("api", Cause.ERRORS), FINDING, T0)
            if number == 1:
                incident = move(incident, State.RESOLVED, T0, actor="bob")
            events = [("slack", {"n": number}), ("pagerduty", {"n": number})]
            store.save(incident, connection=connection, events=events, now=T0)
    assert [i.id for i in store.incidents_of("api", 10)] == ["INC-0005", "INC-0004", "INC-0001"]
    assert [i.id for i in store.incidents_of("api", 2)] == ["INC-0005", "INC-0004"]
    assert [i.id for i in store.incidents_of(odd, 10)] == ["INC-0003"]
    assert store.incidents_of("a%", 10) == []
    messages = store.outbox(incident_id="INC-0002")
    assert [(m.sink, m.event) for m in messages] == [("slack", {"n": 2}), ("pagerduty", {"n": 2})]
    assert store.outbox(incident_id="INC-0002", status="sent") == []


# Schema 1 as the first sloctl wrote it: the tables, its per-cause index and two rows.
SCHEMA_1_INDEX = """CREATE UNIQUE INDEX one_open_per_cause
    ON incidents (service, cause) WHERE state != 'resolved'"""
SCHEMA_1_ROW = (
    "INSERT INTO incidents VALUES (?, ?, 'api', ?, ?, 'detected', ?, NULL, NULL, "
    "NULL, ?, 0.6, NULL, 0, 0, 0)"
)


def test_a_schema_1_store_migrates_and_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA)
    old.execute(SCHEMA_1_INDEX)
    old.execute("INSERT INTO meta VALUES ('schema', '1')")
    old.execute("INSERT INTO meta VALUES ('held:api', '{}')")
    for number, cause, severity in ((1, "errors", "P1"), (2, "latency", "P2")):
        old.execute(
            SCHEMA_1_ROW, (f"INC-000{number}", number, cause, severity, T0.isoformat(), cause)
        )
        old.execute(
            "INSERT INTO timeline VALUES (?, 0, ?, NULL, 'detected', 'sloctl', ?, ?)",
            (f"INC-000{number}", T0.isoformat(), cause, severity),
        )
    old.commit()
    old.close()
    store = open_store(path)
    errors, latency = store.incidents(open_only=True)  # both open ones live on
    assert (errors.cause, errors.symptoms) == (Cause.ERRORS, (Symptom("api", Cause.ERRORS),))
    assert latency.causes == (Cause.LATENCY,)
    assert errors.timeline[0].note == "errors"
    assert errors.impact_started_at is None
    assert errors.restored_at is None
    assert store.tracked("api").held == {}
    with store.transaction() as connection:  # they still change, and are saved
        store.save(move(errors, State.RESOLVED, T0, actor="alice"), connection=connection, now=T0)
    with pytest.raises(StoreConflictError), store.transaction() as connection:
        store.save(declare("INC-0003", "api", FINDING, T0), connection=connection, now=T0)
    store.close()
    again = open_store(path)  # migrating is done once
    version = again._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
    assert version == str(SCHEMA_VERSION)
    assert [i.id for i in again.incidents(open_only=True)] == ["INC-0002"]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"this is not a database at all" * 100, id="not-sqlite"),
        pytest.param(b"SQLite format 3\x00" + b"\xff" * 4000, id="mangled-header"),
    ],
)
def test_a_damaged_store_is_refused_loudly(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "store.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=r"store\.db"):
        open_store(path)
    assert path.read_bytes() == content  # nothing was replaced by an empty store


def test_a_store_with_another_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    open_store(path).close()
    connection = sqlite3.connect(path)
    connection.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    connection.commit()
    connection.close()
    with pytest.raises(StoreError, match="schema 99"):
        open_store(path)


WRITER = textwrap.dedent(
    """
    import sys, os, signal
    from datetime import UTC, datetime
    from pathlib import Path
    from sloctl.incidents.lifecycle import declare
    from sloctl.incidents.policy import Cause, Finding
    from sloctl.core.severity import Severity
    from sloctl.store.database import open_store

    store = open_store(Path(sys.argv[1]))
    finding = Finding(Cause.ERRORS, Severity.P1, "outage")
    now = datetime(2026, 11, 2, tzinfo=UTC)
    with store.transaction() as connection:
        store.save(declare("INC-0001", "api", finding, now), connection=connection,
                   events=[("slack", {"kind": "declared"})], now=now)
    with store.transaction() as connection:
        store.save(declare("INC-0002", "auth", finding, now), connection=connection,
                   events=[("slack", {"kind": "declared"})], now=now)
        print("half-written", flush=True)
        sys.stdin.readline()  # killed here, inside the second transaction
    """
)


def test_kill_9_loses_no_committed_change_and_keeps_no_partial_one(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "half-written"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    store = open_store(path)
    assert [i.id for i in store.incidents()] == ["INC-0001"]
    assert [m.incident_id for m in store.outbox()] == ["INC-0001"]


def test_ids_are_never_handed_out_twice(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    with store.transaction() as connection:
        first, second = store.allocate_id(connection), store.allocate_id(connection)
        store.save(declare(second, "api", FINDING, T0), connection=connection, now=T0)
    assert (first, second) == ("INC-0001", "INC-0002")
    with store.transaction() as connection:
        assert store.allocate_id(connection) == "INC-0003"


def as_schema_1(path: Path) -> None:
    """Turn a store into what sloctl wrote before schema 2: no installation id, no claims."""
    connection = sqlite3.connect(path)
    for column in ("claimed_by", "claimed_until", "sent_at"):
        connection.execute(f"ALTER TABLE outbox DROP COLUMN {column}")
    connection.execute("DELETE FROM meta WHERE key IN ('installation', 'installation_from')")
    connection.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    connection.commit()
    connection.close()


def test_each_store_has_its_own_installation_id(tmp_path: Path) -> None:
    first, second = open_store(tmp_path / "a.db"), open_store(tmp_path / "b.db")
    assert len(first.installation) == 12
    assert first.installation != second.installation
    assert first.installation_for("INC-0001") == first.installation
    made = first.installation
    first.close()
    assert open_store(tmp_path / "a.db").installation == made  # kept, not made again


def test_a_schema_1_store_is_migrated_and_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = open_store(path)
    with store.transaction() as connection:
        for number, service in ((1, "api"), (2, "auth")):
            incident = declare(store.allocate_id(connection), service, FINDING, T0)
            assert incident.id == f"INC-000{number}"
            store.save(
                incident, connection=connection, now=T0, events=[("slack", {"kind": "declared"})]
            )
    store.close()
    as_schema_1(path)
    migrated = open_store(path)
    assert [i.id for i in migrated.incidents()] == ["INC-0001", "INC-0002"]
    assert [(m.incident_id, m.status, m.claimed_by) for m in migrated.outbox()] == [
        ("INC-0001", "pending", None),
        ("INC-0002", "pending", None),
    ]
    # Incidents announced before keep their keys; new ones carry the installation id.
    assert migrated.installation_for("INC-0002") == ""
    with migrated.transaction() as connection:
        assert migrated.allocate_id(connection) == "INC-0003"
    assert migrated.installation_for("INC-0003") == migrated.installation != ""
    made = migrated.installation
    migrated.close()
    assert open_store(path).installation == made  # made once
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    connection.close()


def test_a_claim_is_taken_once(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    with store.transaction() as connection:
        store.save(
            declare("INC-0001", "api", FINDING, T0),
            connection=connection,
            now=T0,
            events=[("slack", {"kind": "declared"})],
        )
    [seen] = store.outbox()
    assert store.claim(seen, "1:first", T0 + timedelta(minutes=2))
    assert not store.claim(seen, "2:second", T0 + timedelta(minutes=2))  # it changed since
    [claimed] = store.outbox()
    assert claimed.claimed_by == "1:first"
    assert store.claim(claimed, "2:second", T0 + timedelta(minutes=2))  # knowingly taken over


def test_read_only_opening_never_creates_nor_writes(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    with pytest.raises(StoreError, match="no incident store at"):
        open_store(missing, read_only=True)
    assert not missing.exists()
    path = tmp_path / "store.db"
    open_store(path).close()
    store = open_store(path, read_only=True)
    try:
        assert store.incidents() == []
        with pytest.raises(sqlite3.OperationalError, match="readonly"), store.transaction() as db:
            db.execute("INSERT INTO meta VALUES ('x', 'y')")
    finally:
        store.close()


def test_read_only_opening_refuses_what_is_not_a_store(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE unrelated (x)")
    connection.commit()
    connection.close()
    with pytest.raises(StoreError, match="is not an incident store"):
        open_store(path, read_only=True)


def test_a_schema_3_store_gains_slice_counts_and_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = open_store(path)
    with store.transaction() as connection:
        store.save(declare("INC-0001", "api", FINDING, T0), connection=connection, now=T0)
        connection.execute("DROP TABLE slice_counts")
        connection.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
    store.close()
    migrated = open_store(path)
    assert migrated.get("INC-0001") is not None
    rows = {('["api"]', 3_600_000): 12.0, ('["auth"]', 3_600_000): None}
    migrated.save_slice_counts("family", rows, older_than=0)
    assert migrated.slice_counts("family", 0, 7_200_000) == rows
    version = migrated._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
    assert version == str(SCHEMA_VERSION)
    migrated.close()


def test_slice_counts_are_per_family_and_old_ones_are_forgotten(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    hour = 3_600_000
    store.save_slice_counts("a", {("k", hour): 1.0, ("k", 2 * hour): 2.0}, older_than=0)
    store.save_slice_counts("b", {("k", hour): 5.0}, older_than=0)
    store.save_slice_counts("a", {("k", 3 * hour): 3.0, ("k", 2 * hour): 4.0}, older_than=2 * hour)
    assert store.slice_counts("a", 0, 10 * hour) == {("k", 2 * hour): 4.0, ("k", 3 * hour): 3.0}
    assert store.slice_counts("b", 0, 10 * hour) == {("k", hour): 5.0}
    assert store.slice_counts("a", 3 * hour, 3 * hour) == {("k", 3 * hour): 3.0}


def test_the_integrity_check_is_skipped_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    open_store(path).close()
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE extra (x, y)")
    connection.execute("CREATE INDEX extra_x ON extra (x)")
    connection.executemany("INSERT INTO extra VALUES (?, ?)", [(i, -i) for i in range(50)])
    connection.commit()
    # The index now claims another column than the one it holds: SQLite still opens the file,
    # only its integrity check tells.
    connection.execute("PRAGMA writable_schema=ON")
    connection.execute(
        "UPDATE sqlite_master SET sql = 'CREATE INDEX extra_x ON extra (y)' WHERE name = 'extra_x'"
    )
    connection.commit()
    connection.close()
    with pytest.raises(StoreError, match="is corrupt"):
        open_store(path)
    open_store(path, check=False).close()  # the daemon's cycles, after its start-up check


def test_a_schema_4_store_gains_the_runbook_tables_and_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = open_store(path)
    incident = move(declare("INC-0001", "api", FINDING, T0), State.ACKNOWLEDGED, T0, actor="a")
    with store.transaction() as connection:
        store.save(incident, connection=connection, events=[("slack", {"kind": "x"})], now=T0)
        for table in ("roles", "updates", "reminders", "summaries", "postmortems"):
            connection.execute(f"DROP TABLE {table}")
        connection.execute("UPDATE meta SET value = '4' WHERE key = 'schema'")
    store.close()
    # Opened for reading first, as `sloctl incidents show` does: migrated, then read.
    reading = open_store(path, read_only=True)
    assert reading.get("INC-0001") == incident
    assert [m.event for m in reading.outbox()] == [{"kind": "x"}]
    assert reading.assignments("INC-0001") == []
    reading.close()
    migrated = open_store(path)
    with migrated.transaction() as connection:
        migrated.save_assignment(
            Assignment("INC-0001", Role.COMMANDER, "@ann", T0, "@ann"), connection=connection
        )
        migrated.save_update(
            StatusUpdate("INC-0001", T0, Status.MITIGATING, "rolled back", ("watch",), "@ann"),
            connection=connection,
        )
        migrated.save_summary(
            PublicSummary("INC-0001", T0, "Logins fail", ("api", "auth"), "@lee"),
            connection=connection,
        )
        assert migrated.mark_postmortem_done(
            "INC-0001", at=T0, by="@ann", link="https://wiki/pm", connection=connection
        )
        assert not migrated.mark_postmortem_done(
            "INC-0001", at=T0, by="@ben", link="", connection=connection
        )
    migrated.close()
    again = open_store(path)
    assert again.get("INC-0001") == incident
    assert again.commanders() == {"INC-0001": "@ann"}
    [update] = again.updates("INC-0001")
    assert (update.status, update.actions) == (Status.MITIGATING, ("watch",))
    assert again.summaries("INC-0001")[0].services == ("api", "auth")
    assert again.postmortems_done() == {"INC-0001": (T0, "@ann", "https://wiki/pm")}
    version = again._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
    assert version == str(SCHEMA_VERSION)
    again.close()


def test_a_reminder_is_claimed_once_even_across_opens(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = open_store(path)
    with store.transaction() as connection:
        store.save(declare("INC-0001", "api", FINDING, T0), connection=connection, now=T0)
        assert store.claim_reminder("INC-0001", "update", T0, connection=connection, now=T0)
    store.close()
    reopened = open_store(path)
    later = T0 + timedelta(minutes=5)
    with reopened.transaction() as connection:
        assert not reopened.claim_reminder(
            "INC-0001", "update", T0, connection=connection, now=later
        )
        assert reopened.claim_reminder(
            "INC-0001", "update", later, connection=connection, now=later
        )
    assert [kind for kind, _, _ in reopened.reminders("INC-0001")] == ["update", "update"]
    reopened.close()


def test_reminder_candidates_are_open_incidents_and_post_mortems_owed(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    cases = {  # id: (severity, resolved hours ago, done, reminded)
        "INC-0001": (Severity.P1, None, False, False),  # open
        "INC-0002": (Severity.P1, 10, False, False),  # owed
        "INC-0003": (Severity.P2, 10, True, False),  # done
        "INC-0004": (Severity.P2, 10, False, True),  # reminded
        "INC-0005": (Severity.P3, 10, False, False),  # none owed
        "INC-0006": (Severity.P1, 24 * 40, False, False),  # past the horizon
    }
    now = T0 + timedelta(days=60)
    with store.transaction() as connection:
        for number, (incident_id, (severity, ago, done, reminded)) in enumerate(cases.items()):
            finding = Finding(Cause.OTHER, severity, "x")
            incident = declare(incident_id, f"svc-{number}", finding, T0, manual=True)
            if ago is not None:
                incident = move(incident, State.RESOLVED, now - timedelta(hours=ago), actor="a")
            store.save(incident, connection=connection, now=T0)
            if done:
                store.mark_postmortem_done(
                    incident_id, at=now, by="a", link="", connection=connection
                )
            if reminded:
                store.claim_reminder(incident_id, "postmortem", now, connection=connection, now=now)
    found = store.reminder_candidates(now - timedelta(days=30))
    assert [i.id for i in found] == ["INC-0001", "INC-0002"]
    assert store.reminded("INC-0004", "postmortem", now)
    assert not store.reminded("INC-0002", "postmortem", now)
    store.close()


def test_a_schema_4_store_gains_changes_and_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = open_store(path)
    with store.transaction() as connection:
        store.save(declare("INC-0001", "api", FINDING, T0), connection=connection, now=T0)
        connection.execute("DROP TABLE changes")
        connection.execute("UPDATE meta SET value = '4' WHERE key = 'schema'")
    store.save_slice_counts("family", {("k", 3_600_000): 2.0}, older_than=0)
    store.close()
    migrated = open_store(path)
    assert migrated.get("INC-0001") is not None
    assert migrated.slice_counts("family", 0, 3_600_000) == {("k", 3_600_000): 2.0}
    deploy = Change("api", "deploy", "v1.4.2", T0, by="ci")
    rollback = Change("database", "rollback", "v9", T0 + timedelta(minutes=5))
    migrated.record_change(deploy, recorded_at=T0, source="cli")
    migrated.record_change(rollback, recorded_at=T0, source="api")
    assert migrated.changes() == [deploy, rollback]
    assert migrated.changes(services=["database"]) == [rollback]
    assert migrated.changes(since=T0) == [rollback]
    assert migrated.changes(until=T0) == [deploy]
    version = migrated._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
    assert version == str(SCHEMA_VERSION) == "6"
    migrated.close()

"""The incident store: round trips, one open incident per cause, refusing bad files, kill -9."""

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

from sloctl.incidents import State, declare, move
from sloctl.policy import Cause, Finding
from sloctl.severity import Severity
from sloctl.store import StoreError, open_store

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
        State.DETECTED, State.ACKNOWLEDGED, State.MITIGATING, State.RESOLVED,
    ]  # fmt: skip


def test_at_most_one_open_incident_per_service_and_cause(tmp_path: Path) -> None:
    store = open_store(tmp_path / "store.db")
    with store.transaction() as connection:
        store.save(declare("INC-0001", "api", FINDING, T0), connection=connection, now=T0)
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as connection:
        store.save(declare("INC-0002", "api", FINDING, T0), connection=connection, now=T0)
    latency = Finding(Cause.LATENCY, Severity.P2, "p95 above 500 ms")
    with store.transaction() as connection:
        store.save(declare("INC-0002", "api", latency, T0), connection=connection, now=T0)
    assert [i.id for i in store.incidents(open_only=True)] == ["INC-0001", "INC-0002"]


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
    from sloctl.incidents import declare
    from sloctl.policy import Cause, Finding
    from sloctl.severity import Severity
    from sloctl.store import open_store

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
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
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


def test_a_schema_1_store_is_migrated_and_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = open_store(path)
    with store.transaction() as connection:
        store.save(declare("INC-0001", "api", FINDING, T0), connection=connection, now=T0)
        connection.execute("DROP TABLE slice_counts")
        connection.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    store.close()
    migrated = open_store(path)
    assert migrated.get("INC-0001") is not None
    rows = {('["api"]', 3_600_000): 12.0, ('["auth"]', 3_600_000): None}
    migrated.save_slice_counts("family", rows, older_than=0)
    assert migrated.slice_counts("family", 0, 7_200_000) == rows
    version = migrated._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
    assert version == "2"
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

"""Incident store: SQLite in WAL mode, the only code that touches the database.

Every change is one transaction: the incident row, its new timeline lines and the outbox
messages announcing it are committed together, before anything is sent. A crash at any moment
(kill -9 included) leaves either the whole change or none of it. A store that fails SQLite's
integrity check, or was written by another schema, is refused at open instead of being
replaced by an empty one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sloctl.errors import SloctlError
from sloctl.incidents import Incident, State, Transition
from sloctl.policy import Cause, Condition
from sloctl.severity import Severity

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    service TEXT NOT NULL,
    cause TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    detected_at TEXT NOT NULL,
    acknowledged_at TEXT,
    resolved_at TEXT,
    healthy_since TEXT,
    summary TEXT NOT NULL,
    peak_error_ratio REAL,
    peak_p95_seconds REAL,
    ack_breached INTEGER NOT NULL,
    resolution_breached INTEGER NOT NULL,
    manual INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_open_per_cause
    ON incidents (service, cause) WHERE state != 'resolved';
CREATE TABLE IF NOT EXISTS timeline (
    incident_id TEXT NOT NULL REFERENCES incidents(id),
    seq INTEGER NOT NULL,
    at TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL,
    severity TEXT NOT NULL,
    PRIMARY KEY (incident_id, seq)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    sink TEXT NOT NULL,
    event TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (status, next_attempt_at);
"""

# ---- Migrations: MIGRATIONS[n] turns a store of schema n - 1 into schema n. -------------------
# Every step is additive (new tables or columns), so a store written by an older sloctl opens
# with everything it holds. A new store is created at schema 1 and migrated like an old one.
MIGRATIONS: dict[int, str] = {
    2: """
    CREATE TABLE IF NOT EXISTS slice_counts (
        family TEXT NOT NULL,
        key TEXT NOT NULL,
        slice_end INTEGER NOT NULL,
        value REAL,
        PRIMARY KEY (family, slice_end, key)
    ) WITHOUT ROWID;
    """,
}
"""2: per-slice event counts of each metric family and split key (``family`` is a hash of the
query that counts them; ``slice_end`` in milliseconds; ``value`` NULL when nothing was there),
so that the daemon reads only the newest edge of each window."""
# ---- end of migrations ------------------------------------------------------------------------


class StoreError(SloctlError):
    """The store cannot be used: corrupt, from another schema, or not a database at all."""

    exit_code = 4


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _parse(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    incident_id: str
    sink: str
    event: dict[str, Any]
    attempts: int
    status: str
    last_error: str


class Store:
    """One SQLite file; open it with :func:`open_store`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def allocate_id(self, connection: sqlite3.Connection) -> str:
        """A new incident id, never handed out before, even if its incident is not saved yet.

        Call it inside :meth:`transaction` (which holds the write lock), so that two processes
        never get the same number.
        """
        row = connection.execute("SELECT value FROM meta WHERE key = 'next_incident'").fetchone()
        if row is None:
            row = connection.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM incidents"
            ).fetchone()
        number = int(row[0])
        connection.execute(
            "INSERT INTO meta VALUES ('next_incident', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(number + 1),),
        )
        return f"INC-{number:04d}"

    def claim_due(self, now: datetime, lease: timedelta, *, sinks: set[str]) -> list[OutboxMessage]:
        """Due pending messages for ``sinks``, each pushed ``lease`` into the future as it is
        taken, so that two processes flushing at once do not both send it."""
        with self.transaction() as connection:
            due = [m for m in self.due(now) if m.sink in sinks]
            for message in due:
                connection.execute(
                    "UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
                    (_time(now + lease), message.id),
                )
        return due

    def release(self, ids: Sequence[int], now: datetime) -> None:
        """Hand claimed messages that were not tried back at once, for the next flush."""
        with self.transaction() as connection:
            connection.executemany(
                "UPDATE outbox SET next_attempt_at = ? WHERE id = ? AND status = 'pending'",
                [(_time(now), message_id) for message_id in ids],
            )

    def save(
        self,
        incident: Incident,
        *,
        connection: sqlite3.Connection,
        events: Sequence[tuple[str, dict[str, Any]]] = (),
        now: datetime,
    ) -> None:
        """Write ``incident`` and queue ``events`` (sink, event) inside the open transaction."""
        number = int(incident.id.split("-")[-1])
        connection.execute(
            """
            INSERT INTO incidents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET severity=excluded.severity, state=excluded.state,
                acknowledged_at=excluded.acknowledged_at, resolved_at=excluded.resolved_at,
                healthy_since=excluded.healthy_since, summary=excluded.summary,
                peak_error_ratio=excluded.peak_error_ratio,
                peak_p95_seconds=excluded.peak_p95_seconds, ack_breached=excluded.ack_breached,
                resolution_breached=excluded.resolution_breached
            """,
            (
                incident.id, number, incident.service, incident.cause.value,
                incident.severity.value, incident.state.value, _time(incident.detected_at),
                _time(incident.acknowledged_at), _time(incident.resolved_at),
                _time(incident.healthy_since), incident.summary, incident.peak_error_ratio,
                incident.peak_p95_seconds, int(incident.ack_breached),
                int(incident.resolution_breached), int(incident.manual),
            ),
        )  # fmt: skip
        stored = connection.execute(
            "SELECT COUNT(*) FROM timeline WHERE incident_id = ?", (incident.id,)
        ).fetchone()[0]
        for seq, line in enumerate(incident.timeline[stored:], start=stored):
            connection.execute(
                "INSERT INTO timeline VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    incident.id, seq, _time(line.at),
                    None if line.from_state is None else line.from_state.value,
                    line.to_state.value, line.actor, line.note, line.severity.value,
                ),
            )  # fmt: skip
        for sink, event in events:
            connection.execute(
                "INSERT INTO outbox (incident_id, sink, event, created_at, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (incident.id, sink, json.dumps(event, sort_keys=True), _time(now), _time(now)),
            )

    def get(self, incident_id: str) -> Incident | None:
        row = self._db.execute("SELECT * FROM incidents WHERE id = ?", (incident_id,)).fetchone()
        return None if row is None else self._incident(row)

    def incidents(
        self, *, open_only: bool = False, resolved_after: datetime | None = None
    ) -> list[Incident]:
        """Incidents by number: all, the open ones, or the open ones and those resolved after
        ``resolved_after``."""
        query = "SELECT * FROM incidents"
        params: tuple[str, ...] = ()
        if resolved_after is not None:
            query += " WHERE state != 'resolved' OR resolved_at > ?"
            params = (_time(resolved_after) or "",)
        elif open_only:
            query += " WHERE state != 'resolved'"
        rows = self._db.execute(query + " ORDER BY number", params).fetchall()
        return [self._incident(row) for row in rows]

    def _incident(self, row: sqlite3.Row) -> Incident:
        lines = self._db.execute(
            "SELECT * FROM timeline WHERE incident_id = ? ORDER BY seq", (row["id"],)
        ).fetchall()
        timeline = tuple(
            Transition(
                at=datetime.fromisoformat(line["at"]),
                from_state=None if line["from_state"] is None else State(line["from_state"]),
                to_state=State(line["to_state"]),
                actor=line["actor"],
                note=line["note"],
                severity=Severity(line["severity"]),
            )
            for line in lines
        )
        return Incident(
            id=row["id"],
            service=row["service"],
            cause=Cause(row["cause"]),
            severity=Severity(row["severity"]),
            state=State(row["state"]),
            detected_at=datetime.fromisoformat(row["detected_at"]),
            summary=row["summary"],
            timeline=timeline,
            acknowledged_at=_parse(row["acknowledged_at"]),
            resolved_at=_parse(row["resolved_at"]),
            healthy_since=_parse(row["healthy_since"]),
            peak_error_ratio=row["peak_error_ratio"],
            peak_p95_seconds=row["peak_p95_seconds"],
            ack_breached=bool(row["ack_breached"]),
            resolution_breached=bool(row["resolution_breached"]),
            manual=bool(row["manual"]),
        )

    def outbox(self, *, status: str | None = None) -> list[OutboxMessage]:
        query = "SELECT * FROM outbox"
        params: tuple[str, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            params = (status,)
        rows = self._db.execute(query + " ORDER BY id", params).fetchall()
        return [
            OutboxMessage(
                id=row["id"], incident_id=row["incident_id"], sink=row["sink"],
                event=json.loads(row["event"]), attempts=row["attempts"], status=row["status"],
                last_error=row["last_error"],
            )
            for row in rows
        ]  # fmt: skip

    def held(self, service: str) -> dict[Condition, datetime]:
        """Since when each severity condition of ``service`` has held (kept between runs)."""
        row = self._db.execute(
            "SELECT value FROM meta WHERE key = ?", (f"held:{service}",)
        ).fetchone()
        if row is None:
            return {}
        return {Condition(k): datetime.fromisoformat(v) for k, v in json.loads(row[0]).items()}

    def save_held(
        self, service: str, held: Mapping[Condition, datetime], *, connection: sqlite3.Connection
    ) -> None:
        value = json.dumps({c.value: _time(since) for c, since in held.items()}, sort_keys=True)
        connection.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (f"held:{service}", value),
        )

    def slice_counts(
        self, family: str, first: int, last: int
    ) -> dict[tuple[str, int], float | None]:
        """Stored slice counts of ``family`` ending from ``first`` to ``last`` (milliseconds),
        by (split key, slice end)."""
        rows = self._db.execute(
            "SELECT key, slice_end, value FROM slice_counts "
            "WHERE family = ? AND slice_end BETWEEN ? AND ?",
            (family, first, last),
        ).fetchall()
        return {(row["key"], row["slice_end"]): row["value"] for row in rows}

    def save_slice_counts(
        self, family: str, rows: Mapping[tuple[str, int], float | None], *, older_than: int
    ) -> None:
        """Keep ``rows`` for ``family`` and forget its slices ending before ``older_than``."""
        with self.transaction() as connection:
            connection.executemany(
                "INSERT INTO slice_counts VALUES (?, ?, ?, ?) ON CONFLICT(family, slice_end, key) "
                "DO UPDATE SET value = excluded.value",
                [(family, key, end, value) for (key, end), value in rows.items()],
            )
            connection.execute(
                "DELETE FROM slice_counts WHERE family = ? AND slice_end < ?", (family, older_than)
            )

    def due(self, now: datetime) -> list[OutboxMessage]:
        """Pending messages whose next attempt is due, oldest first."""
        rows = self._db.execute(
            "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id",
            (_time(now),),
        ).fetchall()
        wanted = {row["id"] for row in rows}
        return [m for m in self.outbox(status="pending") if m.id in wanted]

    def record_attempt(
        self, message_id: int, *, status: str, error: str, retry_at: datetime
    ) -> None:
        """The result of one delivery attempt, committed at once."""
        with self.transaction() as connection:
            connection.execute(
                "UPDATE outbox SET attempts = attempts + 1, status = ?, last_error = ?, "
                "next_attempt_at = ? WHERE id = ?",
                (status, error, _time(retry_at), message_id),
            )


def _migrate(connection: sqlite3.Connection, version: int) -> None:
    """Bring a store of schema ``version`` up to :data:`SCHEMA_VERSION`, one step per
    transaction."""
    for target in range(version + 1, SCHEMA_VERSION + 1):
        connection.execute("BEGIN IMMEDIATE")
        try:
            current = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if int(current[0]) < target:  # another process may have migrated meanwhile
                for statement in MIGRATIONS[target].split(";"):
                    if statement.strip():
                        connection.execute(statement)
                connection.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(target),))
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


def open_store(path: Path) -> Store:
    """Open (or create) the store at ``path``; refuse a corrupt or foreign file loudly."""
    existed = path.exists() and path.stat().st_size > 0
    try:
        connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        if existed:
            check = connection.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise StoreError(f"incident store {path} is corrupt ({check}); restore a backup")
        connection.executescript(SCHEMA)
        version = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if version is None:
            if existed and connection.execute("SELECT COUNT(*) FROM incidents").fetchone()[0]:
                raise StoreError(f"incident store {path} has no schema version")
            connection.execute("INSERT INTO meta VALUES ('schema', '1')")
            version = ("1",)
        if not 1 <= int(version[0]) <= SCHEMA_VERSION:
            raise StoreError(
                f"incident store {path} has schema {version[0]}, this sloctl reads {SCHEMA_VERSION}"
            )
        _migrate(connection, int(version[0]))
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"incident store {path} cannot be opened: {exc}") from exc
    return Store(connection, path)

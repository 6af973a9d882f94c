"""Incident store: SQLite in WAL mode, the only code that touches the database.

Every change is one transaction: the incident row, its new timeline lines and the outbox
messages announcing it are committed together, before anything is sent. A crash at any moment
(kill -9 included) leaves either the whole change or none of it. A store that fails SQLite's
integrity check, or was written by another schema, is refused at open instead of being
replaced by an empty one.

Each store has a random installation id, made when it is created (or when an older store is
first opened by this version): it goes into PagerDuty dedup keys and Alertmanager labels so that
two installations' INC-0001 never share an alert. The outbox keeps each message's state
(pending, delivered, failed, superseded, expired), its retry schedule and, while one process
sends it, that process's claim.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sloctl.core.changes import Change
from sloctl.core.severity import Severity
from sloctl.errors import StoreConflictError, StoreError
from sloctl.incidents.cadence import Status, StatusUpdate
from sloctl.incidents.engine import Tracked
from sloctl.incidents.lifecycle import (
    POSTMORTEM_SEVERITIES,
    Incident,
    Reading,
    State,
    Symptom,
    Transition,
)
from sloctl.incidents.policy import Cause, Condition
from sloctl.incidents.postmortem import POSTMORTEM_REMINDER
from sloctl.incidents.public_summary import PublicSummary
from sloctl.incidents.roles import Assignment, Role

SCHEMA_VERSION = 6
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
"""Schema 1, as every store starts (the first sloctl also had an index ``one_open_per_cause``,
one open incident per service and cause, which the step to schema 3 drops where it exists);
:data:`MIGRATIONS` bring it to :data:`SCHEMA_VERSION`."""

# --- Migrations: the one place where the schema changes ---------------------------------------
# Each step takes a store from the schema before it to its own, additively (nothing stored is
# rewritten or lost); :func:`_migrate` runs every step a store lacks in one transaction.


def _to_2_delivery(connection: sqlite3.Connection) -> None:
    """Schema 1 -> 2 (delivery): an installation id, and outbox claims tied to one process.

    - ``meta.installation``: random, made once; ``meta.installation_from``: the first incident
      number whose keys carry it (incidents already in the store keep the keys they were
      announced with, so an open one is still resolved under its old PagerDuty dedup key).
    - ``outbox.claimed_by`` / ``claimed_until``: which running process is sending a message
      (``pid:run``), so that another process leaves it alone, and a restarted one does not.
    - ``outbox.sent_at``: when a message was delivered (the update coalescing window).
    """
    for column in ("claimed_by TEXT", "claimed_until TEXT", "sent_at TEXT"):
        connection.execute(f"ALTER TABLE outbox ADD COLUMN {column}")
    row = connection.execute("SELECT value FROM meta WHERE key = 'next_incident'").fetchone()
    first = int(row[0]) if row is not None else 1
    highest = connection.execute("SELECT COALESCE(MAX(number), 0) FROM incidents").fetchone()[0]
    connection.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [
            ("installation", secrets.token_hex(6)),
            ("installation_from", str(max(first, highest + 1))),
        ],
    )


INCIDENT_COLUMNS_3 = {
    "symptoms": "TEXT",  # JSON [[service, cause], ...]; NULL: the row's own service and cause
    "impact_started_at": "TEXT",
    "impact_ended_at": "TEXT",
    "restored_at": "TEXT",
}
TIMELINE_COLUMNS_3 = {"readings": "TEXT"}  # JSON list of the signals read at that step
ONE_AUTOMATIC_PER_SERVICE = (
    "DROP INDEX IF EXISTS one_open_per_cause",
    """CREATE UNIQUE INDEX IF NOT EXISTS one_open_manual_per_cause
        ON incidents (service, cause) WHERE state != 'resolved' AND manual = 1""",
    """CREATE TRIGGER IF NOT EXISTS one_open_automatic_per_service
        BEFORE INSERT ON incidents
        WHEN NEW.manual = 0 AND NEW.state != 'resolved'
            AND NOT EXISTS (SELECT 1 FROM incidents WHERE id = NEW.id)
            AND EXISTS (SELECT 1 FROM incidents WHERE service = NEW.service AND manual = 0
                        AND state != 'resolved')
    BEGIN
        SELECT RAISE(ABORT, 'an automatic incident is already open for this service');
    END""",
)
"""One open automatic incident per service (its symptoms join it), one open incident per
service and cause for those declared by hand. A trigger rather than a unique index, so that a
store written by schema 1 with an errors and a latency incident open for one service still
opens; both finish their lives, and no new one is added beside them."""


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def _to_3_incidents(connection: sqlite3.Connection) -> None:
    """Schema 2 -> 3 (incidents): incidents with symptoms, impact window and restoration;
    timeline readings."""
    for table, wanted in (("incidents", INCIDENT_COLUMNS_3), ("timeline", TIMELINE_COLUMNS_3)):
        present = _columns(connection, table)
        for name, kind in wanted.items():
            if name not in present:
                connection.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    for statement in ONE_AUTOMATIC_PER_SERVICE:
        connection.execute(statement)


def _to_4_slices(connection: sqlite3.Connection) -> None:
    """Schema 3 -> 4 (budgets): per-slice event counts of each metric family and split key
    (``family`` is a hash of the query that counts them; ``slice_end`` in milliseconds;
    ``value`` NULL when nothing was there), so that the daemon reads only the newest edge of
    each window. ``WITHOUT ROWID``: half the pages, so the integrity check on open is cheaper."""
    connection.execute(
        """CREATE TABLE IF NOT EXISTS slice_counts (
            family TEXT NOT NULL,
            key TEXT NOT NULL,
            slice_end INTEGER NOT NULL,
            value REAL,
            PRIMARY KEY (family, slice_end, key)
        ) WITHOUT ROWID"""
    )


RUNBOOK_TABLES_5 = (
    """CREATE TABLE IF NOT EXISTS roles (
        incident_id TEXT NOT NULL REFERENCES incidents(id),
        seq INTEGER NOT NULL,
        role TEXT NOT NULL,
        who TEXT NOT NULL,
        at TEXT NOT NULL,
        assigned_by TEXT NOT NULL,
        PRIMARY KEY (incident_id, seq)
    )""",
    """CREATE TABLE IF NOT EXISTS updates (
        incident_id TEXT NOT NULL REFERENCES incidents(id),
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        status TEXT NOT NULL,
        text TEXT NOT NULL,
        actions TEXT NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (incident_id, seq)
    )""",
    """CREATE TABLE IF NOT EXISTS reminders (
        incident_id TEXT NOT NULL REFERENCES incidents(id),
        kind TEXT NOT NULL,
        due_at TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        PRIMARY KEY (incident_id, kind, due_at)
    )""",
    """CREATE TABLE IF NOT EXISTS summaries (
        incident_id TEXT NOT NULL REFERENCES incidents(id),
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        text TEXT NOT NULL,
        services TEXT NOT NULL,
        set_by TEXT NOT NULL,
        PRIMARY KEY (incident_id, seq)
    )""",
    """CREATE TABLE IF NOT EXISTS postmortems (
        incident_id TEXT PRIMARY KEY REFERENCES incidents(id),
        done_at TEXT NOT NULL,
        done_by TEXT NOT NULL,
        link TEXT NOT NULL
    )""",
)


SEQUENCED_TABLES = frozenset({"roles", "updates", "summaries"})
"""The schema 5 tables numbering each incident's lines (``seq``), in the order written."""


def _to_5_runbook(connection: sqlite3.Connection) -> None:
    """Schema 4 -> 5 (runbook roles and communication): new tables only, nothing rewritten.

    - ``roles``: every role assignment (runbook 4), in order; the latest per role holds it.
    - ``updates``: every 3.2 status update; the latest restarts the update clock.
    - ``reminders``: each reminder sent (a missed update, a post-mortem coming due), keyed by
      what it is about, so that no reminder is sent twice, restarts included.
    - ``summaries``: the public summary (text, affected services), every version kept.
    - ``postmortems``: post-mortems marked done (runbook 2.5), by whom, and where it is.
    """
    for statement in RUNBOOK_TABLES_5:
        connection.execute(statement)


INCIDENT_COLUMNS_6 = {
    "suppressed_by": "TEXT",  # the maintenance window it was declared in (nothing paged)
    "unsuppressed_at": "TEXT",  # when it was announced after the window, still open
}


def _to_6_changes(connection: sqlite3.Connection) -> None:
    """Schema 5 -> 6 (changes and maintenance): change events (runbook 2.2 "What changed
    recently?"), one row per change to one service, recorded from the command line or the
    daemon's endpoint (``source``); ``at`` when it was made, ``recorded_at`` when sloctl
    learnt of it. Incidents gain the maintenance window that suppressed them
    (:data:`INCIDENT_COLUMNS_6`). Nothing older is touched."""
    connection.execute(
        """CREATE TABLE IF NOT EXISTS changes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            service TEXT NOT NULL,
            kind TEXT NOT NULL,
            ref TEXT NOT NULL,
            by TEXT NOT NULL,
            at TEXT NOT NULL,
            recorded_at TEXT NOT NULL,
            source TEXT NOT NULL
        )"""
    )
    connection.execute("CREATE INDEX IF NOT EXISTS changes_by_time ON changes (at, service)")
    present = _columns(connection, "incidents")
    for name, kind in INCIDENT_COLUMNS_6.items():
        if name not in present:
            connection.execute(f"ALTER TABLE incidents ADD COLUMN {name} {kind}")


MIGRATIONS = {
    2: _to_2_delivery,
    3: _to_3_incidents,
    4: _to_4_slices,
    5: _to_5_runbook,
    6: _to_6_changes,
}
"""Version -> the step that makes it from the previous version, run in order in one transaction."""

OUTBOX_STATUSES = ("pending", "delivered", "failed", "superseded", "expired")


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
    created_at: datetime
    next_attempt_at: datetime
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    sent_at: datetime | None = None

    @property
    def kind(self) -> str:
        return str(self.event.get("kind", ""))


_LIKE_ESCAPES = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})
"""What makes a text literal inside a LIKE pattern with ``ESCAPE '\\'``."""


class Store:
    """One SQLite file; open it with :func:`open_store`."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self._db = connection
        self.path = path

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT; rolled back on any error. A change that breaks one of
        the store's rules raises :class:`~sloctl.errors.StoreConflictError`."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except sqlite3.IntegrityError as exc:
            self._db.execute("ROLLBACK")
            raise StoreConflictError(str(exc)) from exc
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

    @property
    def installation(self) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'installation'").fetchone()
        return str(row[0])

    def installation_for(self, incident_id: str) -> str:
        """The installation id in ``incident_id``'s keys: empty for an incident that was in the
        store before it had an installation id (its keys stay what they were)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'installation_from'").fetchone()
        number = incident_id.rpartition("-")[2]
        if row is not None and number.isdigit() and int(number) < int(row[0]):
            return ""
        return self.installation

    def claim(self, message: OutboxMessage, owner: str, until: datetime) -> bool:
        """Take ``message`` for ``owner`` until ``until``, if nobody took it since it was read
        (compare and set on its claim): True when it is now ``owner``'s to send."""
        with self.transaction() as connection:
            changed = connection.execute(
                "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id = ? "
                "AND status = 'pending' AND claimed_by IS ?",
                (owner, _time(until), message.id, message.claimed_by),
            ).rowcount
        return changed == 1

    def settle(
        self, message_ids: Sequence[int], *, status: Literal["superseded", "expired"], error: str
    ) -> None:
        """Close messages that will not be sent: superseded by a later one, or too old."""
        with self.transaction() as connection:
            connection.executemany(
                "UPDATE outbox SET status = ?, last_error = ?, claimed_by = NULL, "
                "claimed_until = NULL WHERE id = ? AND status = 'pending'",
                [(status, error, message_id) for message_id in message_ids],
            )

    def last_sent(self, incident_ids: Sequence[str], kind: str) -> dict[tuple[str, str], datetime]:
        """When each (incident, sink) queue of ``incident_ids`` last had a message of ``kind``
        delivered."""
        found: dict[tuple[str, str], datetime] = {}
        for incident_id in sorted(set(incident_ids)):
            rows = self._db.execute(
                "SELECT sink, MAX(sent_at) FROM outbox WHERE incident_id = ? "
                "AND sent_at IS NOT NULL AND json_extract(event, '$.kind') = ? GROUP BY sink",
                (incident_id, kind),
            ).fetchall()
            found.update({(incident_id, row[0]): datetime.fromisoformat(row[1]) for row in rows})
        return found

    def backlog(self) -> dict[str, tuple[int, datetime]]:
        """Per sink: how many messages are pending, and when the oldest was queued."""
        rows = self._db.execute(
            "SELECT sink, COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending' "
            "GROUP BY sink"
        ).fetchall()
        return {row[0]: (int(row[1]), datetime.fromisoformat(row[2])) for row in rows}

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
        symptoms = json.dumps([[s.service, s.cause.value] for s in incident.symptoms])
        connection.execute(
            """
            INSERT INTO incidents (id, number, service, cause, severity, state, detected_at,
                acknowledged_at, resolved_at, healthy_since, summary, peak_error_ratio,
                peak_p95_seconds, ack_breached, resolution_breached, manual, symptoms,
                impact_started_at, impact_ended_at, restored_at, suppressed_by, unsuppressed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET severity=excluded.severity, state=excluded.state,
                acknowledged_at=excluded.acknowledged_at, resolved_at=excluded.resolved_at,
                healthy_since=excluded.healthy_since, summary=excluded.summary,
                peak_error_ratio=excluded.peak_error_ratio,
                peak_p95_seconds=excluded.peak_p95_seconds, ack_breached=excluded.ack_breached,
                resolution_breached=excluded.resolution_breached, symptoms=excluded.symptoms,
                impact_started_at=excluded.impact_started_at,
                impact_ended_at=excluded.impact_ended_at, restored_at=excluded.restored_at,
                suppressed_by=excluded.suppressed_by, unsuppressed_at=excluded.unsuppressed_at
            """,
            (
                incident.id,
                number,
                incident.service,
                incident.cause.value,
                incident.severity.value,
                incident.state.value,
                _time(incident.detected_at),
                _time(incident.acknowledged_at),
                _time(incident.resolved_at),
                _time(incident.healthy_since),
                incident.summary,
                incident.peak_error_ratio,
                incident.peak_p95_seconds,
                int(incident.ack_breached),
                int(incident.resolution_breached),
                int(incident.manual),
                symptoms,
                _time(incident.impact_started_at),
                _time(incident.impact_ended_at),
                _time(incident.restored_at),
                incident.suppressed_by or None,
                _time(incident.unsuppressed_at),
            ),
        )
        stored = connection.execute(
            "SELECT COUNT(*) FROM timeline WHERE incident_id = ?", (incident.id,)
        ).fetchone()[0]
        for seq, line in enumerate(incident.timeline[stored:], start=stored):
            connection.execute(
                "INSERT INTO timeline (incident_id, seq, at, from_state, to_state, actor, note, "
                "severity, readings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    incident.id,
                    seq,
                    _time(line.at),
                    None if line.from_state is None else line.from_state.value,
                    line.to_state.value,
                    line.actor,
                    line.note,
                    line.severity.value,
                    json.dumps([vars(r) for r in line.readings]) if line.readings else None,
                ),
            )
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

    def incidents_of(self, service: str, limit: int) -> list[Incident]:
        """At most ``limit`` incidents of ``service`` (its own, or with a symptom of it): the
        open ones first, then the latest."""
        pattern = "%" + json.dumps(service).translate(_LIKE_ESCAPES) + "%"
        rows = self._db.execute(
            "SELECT * FROM incidents WHERE service = ? OR symptoms LIKE ? ESCAPE '\\'"
            " ORDER BY state = 'resolved', number DESC",
            (service, pattern),
        )
        found: list[Incident] = []
        for row in rows:  # LIKE only narrows: each is checked whole
            incident = self._incident(row)
            if incident.service == service or any(
                symptom.service == service for symptom in incident.symptoms
            ):
                found.append(incident)
                if len(found) >= limit:
                    break
        return found

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
                readings=tuple(Reading(**r) for r in json.loads(line["readings"] or "[]")),
            )
            for line in lines
        )
        symptoms = tuple(
            Symptom(service, Cause(cause)) for service, cause in json.loads(row["symptoms"] or "[]")
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
            symptoms=symptoms,
            impact_started_at=_parse(row["impact_started_at"]),
            impact_ended_at=_parse(row["impact_ended_at"]),
            restored_at=_parse(row["restored_at"]),
            suppressed_by=row["suppressed_by"] or "",
            unsuppressed_at=_parse(row["unsuppressed_at"]),
        )

    def outbox(
        self, *, status: str | None = None, incident_id: str | None = None
    ) -> list[OutboxMessage]:
        """The outbox's messages in order: all, those in one ``status``, those of one
        incident."""
        rows = self._db.execute(
            "SELECT * FROM outbox WHERE (? IS NULL OR status = ?)"
            " AND (? IS NULL OR incident_id = ?) ORDER BY id",
            (status, status, incident_id, incident_id),
        ).fetchall()
        return [
            OutboxMessage(
                id=row["id"],
                incident_id=row["incident_id"],
                sink=row["sink"],
                event=json.loads(row["event"]),
                attempts=row["attempts"],
                status=row["status"],
                last_error=row["last_error"],
                created_at=datetime.fromisoformat(row["created_at"]),
                next_attempt_at=datetime.fromisoformat(row["next_attempt_at"]),
                claimed_by=row["claimed_by"],
                claimed_until=_parse(row["claimed_until"]),
                sent_at=_parse(row["sent_at"]),
            )
            for row in rows
        ]

    # --- Roles, updates, reminders, summaries, post-mortems (schema 5) -------------------------

    def _next_seq(self, connection: sqlite3.Connection, table: str, incident_id: str) -> int:
        """The next line number of ``incident_id`` in one of the schema's own tables."""
        if table not in SEQUENCED_TABLES:
            raise ValueError(
                f"{table!r} is not one of the numbered tables {sorted(SEQUENCED_TABLES)}"
            )
        row = connection.execute(
            f"SELECT COALESCE(MAX(seq), -1) + 1 FROM {table} WHERE incident_id = ?",  # noqa: S608
            (incident_id,),
        ).fetchone()
        return int(row[0])

    def save_assignment(self, assignment: Assignment, *, connection: sqlite3.Connection) -> None:
        connection.execute(
            "INSERT INTO roles VALUES (?, ?, ?, ?, ?, ?)",
            (
                assignment.incident_id,
                self._next_seq(connection, "roles", assignment.incident_id),
                assignment.role.value,
                assignment.who,
                _time(assignment.at),
                assignment.by,
            ),
        )

    def assignments(self, incident_id: str | None = None) -> list[Assignment]:
        """Role assignments, oldest first: of one incident, or of all."""
        query = "SELECT * FROM roles"
        params: tuple[str, ...] = ()
        if incident_id is not None:
            query += " WHERE incident_id = ?"
            params = (incident_id,)
        rows = self._db.execute(query + " ORDER BY incident_id, seq", params).fetchall()
        return [
            Assignment(
                row["incident_id"],
                Role(row["role"]),
                row["who"],
                datetime.fromisoformat(row["at"]),
                row["assigned_by"],
            )
            for row in rows
        ]

    def commanders(self) -> dict[str, str]:
        """Each incident's commander now, by incident id."""
        found: dict[str, str] = {}
        for assignment in self.assignments():
            if assignment.role is Role.COMMANDER:
                found[assignment.incident_id] = assignment.who
        return found

    def save_update(self, update: StatusUpdate, *, connection: sqlite3.Connection) -> None:
        connection.execute(
            "INSERT INTO updates VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                update.incident_id,
                self._next_seq(connection, "updates", update.incident_id),
                _time(update.at),
                update.status.value,
                update.text,
                json.dumps(list(update.actions)),
                update.by,
            ),
        )

    def updates(self, incident_id: str) -> list[StatusUpdate]:
        rows = self._db.execute(
            "SELECT * FROM updates WHERE incident_id = ? ORDER BY seq", (incident_id,)
        ).fetchall()
        return [
            StatusUpdate(
                row["incident_id"],
                datetime.fromisoformat(row["at"]),
                Status(row["status"]),
                row["text"],
                tuple(json.loads(row["actions"])),
                row["updated_by"],
            )
            for row in rows
        ]

    def claim_reminder(
        self,
        incident_id: str,
        kind: str,
        due_at: datetime,
        *,
        connection: sqlite3.Connection,
        now: datetime,
    ) -> bool:
        """Record that the reminder about (``kind``, ``due_at``) is sent now: False when it was
        already (commit it with the message, so it is queued exactly once)."""
        changed = connection.execute(
            "INSERT OR IGNORE INTO reminders VALUES (?, ?, ?, ?)",
            (incident_id, kind, _time(due_at), _time(now)),
        ).rowcount
        return changed == 1

    def reminded(self, incident_id: str, kind: str, due_at: datetime) -> bool:
        """Whether the reminder about (``kind``, ``due_at``) was sent."""
        row = self._db.execute(
            "SELECT 1 FROM reminders WHERE incident_id = ? AND kind = ? AND due_at = ?",
            (incident_id, kind, _time(due_at)),
        ).fetchone()
        return row is not None

    def reminder_candidates(self, resolved_after: datetime) -> list[Incident]:
        """What may have something to remind: the open incidents, and those resolved after
        ``resolved_after`` that owe a post-mortem (runbook 2.5) not marked done nor reminded
        yet; by number. (The rest of the store is not read: a cycle stays cheap however many
        incidents it holds.)"""
        severities = json.dumps(sorted(s.value for s in POSTMORTEM_SEVERITIES))
        rows = self._db.execute(
            "SELECT * FROM incidents WHERE state != 'resolved' OR (resolved_at > ? "
            "AND severity IN (SELECT value FROM json_each(?)) "
            "AND id NOT IN (SELECT incident_id FROM postmortems) "
            "AND id NOT IN (SELECT incident_id FROM reminders WHERE kind = ?)) ORDER BY number",
            (_time(resolved_after), severities, POSTMORTEM_REMINDER),
        ).fetchall()
        return [self._incident(row) for row in rows]

    def reminders(self, incident_id: str) -> list[tuple[str, datetime, datetime]]:
        """(kind, due at, sent at) of every reminder about ``incident_id``."""
        rows = self._db.execute(
            "SELECT kind, due_at, sent_at FROM reminders WHERE incident_id = ? ORDER BY sent_at",
            (incident_id,),
        ).fetchall()
        return [
            (row[0], datetime.fromisoformat(row[1]), datetime.fromisoformat(row[2])) for row in rows
        ]

    def save_summary(self, summary: PublicSummary, *, connection: sqlite3.Connection) -> None:
        connection.execute(
            "INSERT INTO summaries VALUES (?, ?, ?, ?, ?, ?)",
            (
                summary.incident_id,
                self._next_seq(connection, "summaries", summary.incident_id),
                _time(summary.at),
                summary.text,
                json.dumps(list(summary.services)),
                summary.by,
            ),
        )

    def summaries(self, incident_id: str) -> list[PublicSummary]:
        """Every public summary of ``incident_id``, oldest first (the last one is in force)."""
        rows = self._db.execute(
            "SELECT * FROM summaries WHERE incident_id = ? ORDER BY seq", (incident_id,)
        ).fetchall()
        return [
            PublicSummary(
                row["incident_id"],
                datetime.fromisoformat(row["at"]),
                row["text"],
                tuple(json.loads(row["services"])),
                row["set_by"],
            )
            for row in rows
        ]

    def mark_postmortem_done(
        self,
        incident_id: str,
        *,
        at: datetime,
        by: str,
        link: str,
        connection: sqlite3.Connection,
    ) -> bool:
        """False when it was marked done already (the first mark stays)."""
        changed = connection.execute(
            "INSERT OR IGNORE INTO postmortems VALUES (?, ?, ?, ?)",
            (incident_id, _time(at), by, link),
        ).rowcount
        return changed == 1

    def postmortems_done(self) -> dict[str, tuple[datetime, str, str]]:
        """(done at, by, link) of every post-mortem marked done, by incident id."""
        rows = self._db.execute("SELECT * FROM postmortems").fetchall()
        return {
            row["incident_id"]: (
                datetime.fromisoformat(row["done_at"]),
                row["done_by"],
                row["link"],
            )
            for row in rows
        }

    def tracked(self, service: str) -> Tracked:
        """What the engine remembers about ``service`` between runs."""
        row = self._db.execute(
            "SELECT value FROM meta WHERE key = ?", (f"bad_since:{service}",)
        ).fetchone()
        stored = {} if row is None else json.loads(row[0])
        bad_since = {Cause(k): datetime.fromisoformat(v) for k, v in stored.items()}
        return Tracked(self.held(service), bad_since)

    def save_tracked(
        self, service: str, tracked: Tracked, *, connection: sqlite3.Connection
    ) -> None:
        self.save_held(service, tracked.held, connection=connection)
        connection.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (
                f"bad_since:{service}",
                json.dumps(
                    {c.value: _time(t) for c, t in tracked.bad_since.items()}, sort_keys=True
                ),
            ),
        )

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

    def record_change(self, change: Change, *, recorded_at: datetime, source: str) -> int:
        """Keep ``change`` (from ``source``: ``cli`` or ``api``); its id."""
        with self.transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO changes (service, kind, ref, by, at, recorded_at, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    change.service,
                    change.kind,
                    change.ref,
                    change.by,
                    _time(change.at),
                    _time(recorded_at),
                    source,
                ),
            )
        return int(cursor.lastrowid or 0)

    def changes(
        self,
        *,
        services: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Change]:
        """Recorded changes, oldest first: of ``services`` (all without), made after
        ``since`` and at or before ``until``."""
        query = "SELECT * FROM changes WHERE at > ? AND at <= ?"
        low = _time(since) if since is not None else ""
        high = _time(until) if until is not None else "9999"
        rows = self._db.execute(query + " ORDER BY at, id", (low, high)).fetchall()
        wanted = None if services is None else set(services)
        return [
            Change(
                service=row["service"],
                kind=row["kind"],
                ref=row["ref"],
                at=datetime.fromisoformat(row["at"]),
                by=row["by"],
            )
            for row in rows
            if wanted is None or row["service"] in wanted
        ]

    # --- The status page's reads (and the one mark they need) ---------------------------------

    def note_watching(self, at: datetime) -> None:
        """Remember when the daemon first evaluated with this store (kept once, in ``meta``:
        no schema change), the start of the history the status page's uptime shows."""
        row = self._db.execute("SELECT 1 FROM meta WHERE key = 'watching_since'").fetchone()
        if row is None:
            with self.transaction() as connection:
                connection.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('watching_since', ?)", (_time(at),)
                )

    def first_record(self) -> datetime | None:
        """The earliest moment the store knows of: the daemon's first cycle with it, or an
        incident's impact start or declaration, or a change, if earlier; None when empty."""
        rows = self._db.execute(
            "SELECT value FROM meta WHERE key = 'watching_since' "
            "UNION ALL SELECT MIN(detected_at) FROM incidents "
            "UNION ALL SELECT MIN(impact_started_at) FROM incidents "
            "UNION ALL SELECT MIN(at) FROM changes"
        ).fetchall()
        found = [datetime.fromisoformat(row[0]) for row in rows if row[0] is not None]
        return min(found, default=None)

    def due(self, now: datetime) -> list[OutboxMessage]:
        """Pending messages whose next attempt is due, oldest first."""
        rows = self._db.execute(
            "SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id",
            (_time(now),),
        ).fetchall()
        wanted = {row["id"] for row in rows}
        return [m for m in self.outbox(status="pending") if m.id in wanted]

    def record_attempt(
        self,
        message_id: int,
        *,
        status: str,
        error: str,
        retry_at: datetime,
        at: datetime,
        keep_claim: bool = False,
    ) -> None:
        """The result of one delivery attempt made at ``at``, committed at once. The claim ends
        with it, unless ``keep_claim`` (the attempt was abandoned unanswered: other processes
        should still leave the message alone while its claim lasts)."""
        with self.transaction() as connection:
            connection.execute(
                "UPDATE outbox SET attempts = attempts + 1, status = ?, last_error = ?, "
                "next_attempt_at = ?, sent_at = ?, "
                "claimed_by = CASE WHEN ? THEN claimed_by END, "
                "claimed_until = CASE WHEN ? THEN claimed_until END WHERE id = ?",
                (
                    status,
                    error,
                    _time(retry_at),
                    _time(at) if status == "delivered" else None,
                    keep_claim,
                    keep_claim,
                    message_id,
                ),
            )

    def release(self, message_id: int) -> None:
        """Give a claimed message back untried (its sink is not answering this round)."""
        with self.transaction() as connection:
            connection.execute(
                "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE id = ?",
                (message_id,),
            )


def _migrate(connection: sqlite3.Connection, version: int) -> None:
    """Bring a store from ``version`` to :data:`SCHEMA_VERSION`, all steps in one transaction:
    a crash leaves the old schema whole, and the next open tries again."""
    if version >= SCHEMA_VERSION:
        return
    connection.execute("BEGIN IMMEDIATE")
    try:
        current = int(
            connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
        )
        for step in range(current + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[step](connection)
        connection.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def open_store(path: Path, *, read_only: bool = False, check: bool = True) -> Store:
    """Open (or create) the store at ``path``; refuse a corrupt or foreign file loudly.

    ``check`` runs SQLite's integrity check, which reads every page: a process that opens the
    store again and again (the daemon, every cycle) checks it once, when it starts, and passes
    False afterwards.

    ``read_only`` is for commands that only read (``incidents list``, ``show``, a check): the
    store must exist already (a mistyped path is an error, not a new empty store), and it is
    opened so that nothing can be written to it. A store of an older schema is migrated first
    (nothing in it is lost), then opened for reading.
    """
    existed = path.exists() and path.stat().st_size > 0
    if read_only and not path.is_file():
        raise StoreError(
            f"no incident store at {path} (nothing has been recorded there; check --store)"
        )
    try:
        if read_only:
            connection = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, timeout=30
            )
        else:
            connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        connection.row_factory = sqlite3.Row
        if not read_only:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        if existed and check:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise StoreError(f"incident store {path} is corrupt ({verdict}); restore a backup")
        if read_only:
            if _older_schema(connection):
                connection.close()
                open_store(path).close()
                return open_store(path, read_only=True)
            _check_readable(connection, path)
            return Store(connection, path)
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


def _older_schema(connection: sqlite3.Connection) -> bool:
    """Whether the store holds a schema this sloctl migrates from (read-only opening)."""
    try:
        version = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.OperationalError:
        return False  # not a store at all: :func:`_check_readable` says so
    return version is not None and int(version[0]) < SCHEMA_VERSION


def _check_readable(connection: sqlite3.Connection, path: Path) -> None:
    """A store opened read-only must already be one of this schema (nothing is created)."""
    try:
        version = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.OperationalError as exc:
        raise StoreError(f"{path} is not an incident store ({exc})") from exc
    if version is None or int(version[0]) != SCHEMA_VERSION:
        found = "no schema version" if version is None else f"schema {version[0]}"
        raise StoreError(f"incident store {path} has {found}, this sloctl reads {SCHEMA_VERSION}")

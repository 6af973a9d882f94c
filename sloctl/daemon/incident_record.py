"""Everything the store holds about one incident, gathered once: what ``sloctl incidents show``
prints and the web UI's incident page shows (its notifications and their delivery, roles,
status updates, reminders, public summary, post-mortem and customer draft), and the
post-mortem draft's context from it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sloctl.core.changes import Change
from sloctl.daemon.incident_pass import customer_draft_path
from sloctl.errors import InvalidRequestError
from sloctl.incidents.cadence import StatusUpdate, update_due
from sloctl.incidents.changes import LOOKBACK, services_to_look_at
from sloctl.incidents.customer import needs_customer_draft, render_customer
from sloctl.incidents.lifecycle import Incident
from sloctl.incidents.postmortem import DraftContext, Sent, SloImpact, change_line
from sloctl.incidents.public_summary import PublicSummary
from sloctl.incidents.roles import Assignment, Role, holders
from sloctl.store.database import OutboxMessage, Store


def paged_text(incident: Incident) -> str:
    """Whether anyone was paged: ``yes``; ``no (maintenance window W)``; ``after maintenance
    window W`` when it outlived the window."""
    if not incident.suppressed_by:
        return "yes"
    if incident.unsuppressed_at is None:
        return f"no (maintenance window {incident.suppressed_by})"
    return f"after maintenance window {incident.suppressed_by}"


def require(store: Store, incident_id: str) -> Incident:
    """The incident ``incident_id``; an InvalidRequestError naming the store when there is none."""
    incident = store.get(incident_id)
    if incident is None:
        raise InvalidRequestError(f"no incident {incident_id!r} in {store.path}")
    return incident


@dataclass(frozen=True)
class CustomerDraft:
    """The P1 customer communication (runbook 3.4): the file written at resolution, or the
    text it will have."""

    path: Path | None
    """None: not written yet."""
    text: str


@dataclass(frozen=True)
class PostmortemDone:
    at: datetime
    by: str
    link: str


@dataclass(frozen=True)
class IncidentRecord:
    incident: Incident
    deliveries: tuple[OutboxMessage, ...]
    """Every notification queued about the incident, with its delivery state."""
    assignments: tuple[Assignment, ...]
    """Every role given, oldest first."""
    updates: tuple[StatusUpdate, ...]
    reminders: tuple[tuple[str, datetime, datetime], ...]
    """(kind, due at, sent at) of each reminder sent."""
    summaries: tuple[PublicSummary, ...]
    postmortem_done: PostmortemDone | None
    customer: CustomerDraft | None
    """For an incident that needs one (a resolved P1)."""

    @property
    def roles(self) -> dict[Role, Assignment]:
        """Who holds each role now."""
        return holders(self.assignments)

    @property
    def summary(self) -> PublicSummary | None:
        """The public summary in force (the latest)."""
        return self.summaries[-1] if self.summaries else None

    @property
    def next_update_due(self) -> datetime | None:
        return update_due(self.incident, self.updates)

    @property
    def sent(self) -> tuple[Sent, ...]:
        """The notifications as the post-mortem lists them."""
        return tuple(
            Sent(m.sent_at or m.created_at, m.sink, m.kind, m.status, m.attempts)
            for m in self.deliveries
        )


def gather(store: Store, incident_id: str, drafts: Path) -> IncidentRecord:
    """What ``store`` holds about ``incident_id`` (customer drafts are in ``drafts``); raises
    InvalidRequestError when there is no such incident."""
    incident = require(store, incident_id)
    done = store.postmortems_done().get(incident.id)
    customer = None
    if needs_customer_draft(incident):
        path = customer_draft_path(drafts, incident.id)
        if path.is_file():
            customer = CustomerDraft(path, path.read_text(encoding="utf-8"))
        else:
            customer = CustomerDraft(None, render_customer(incident))
    return IncidentRecord(
        incident=incident,
        deliveries=tuple(store.outbox(incident_id=incident.id)),
        assignments=tuple(store.assignments(incident.id)),
        updates=tuple(store.updates(incident.id)),
        reminders=tuple(store.reminders(incident.id)),
        summaries=tuple(store.summaries(incident.id)),
        postmortem_done=None if done is None else PostmortemDone(*done),
        customer=customer,
    )


def changes_around(
    store: Store, incident: Incident, depends_on: Mapping[str, Sequence[str]], now: datetime
) -> list[Change]:
    """The changes of the incident's services and their dependencies (``depends_on``) from the
    hours before its impact to its end (or ``now``)."""
    start = min(incident.detected_at, incident.impact_started_at or incident.detected_at)
    return store.changes(
        services=services_to_look_at(incident, depends_on),
        since=start - LOOKBACK,
        until=incident.resolved_at or now,
    )


def draft_context(
    store: Store,
    record: IncidentRecord,
    depends_on: Mapping[str, Sequence[str]],
    now: datetime,
    impacts: tuple[SloImpact, ...] = (),
) -> DraftContext:
    """The post-mortem draft's context: roles, notifications and changes from the store, and
    the SLOs' ``impacts`` (budgets come from Prometheus: empty when not read)."""
    changes = changes_around(store, record.incident, depends_on, now)
    return DraftContext(
        slos=impacts,
        assignments=record.assignments,
        sent=record.sent,
        changes=tuple(change_line(c) for c in changes),
        changes_known=True,
    )

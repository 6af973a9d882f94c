"""``sloctl incidents ...`` and ``sloctl backtest``: incidents from the command line.

Like every command module, this one imports what a command needs when the command runs, not
with the module: ``sloctl --help`` and ``sloctl incidents --help`` read the declarations only.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sloctl.cli.options import (
    DEFAULT_STORE,
    config_option,
    definitions_option,
    load_slos,
    past_time,
    policy_option,
    prometheus_reader,
    prometheus_url_option,
)
from sloctl.cli.state import cli_state, find
from sloctl.core.durations import format_elapsed
from sloctl.core.severity import Severity
from sloctl.errors import InvalidRequestError, SloctlError
from sloctl.incidents.cadence import Status
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import (
    Incident,
    Reading,
    State,
)
from sloctl.incidents.policy import Cause
from sloctl.incidents.postmortem import (
    SloImpact,
    postmortem_pending,
)
from sloctl.incidents.postmortem import render as render_postmortem
from sloctl.incidents.public_summary import services_from, set_summary
from sloctl.incidents.roles import Role, assign, handle, holders, roles_of

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from sloctl.core.maintenance import MaintenanceWindow
    from sloctl.daemon.actions import Drafts
    from sloctl.daemon.incident_record import IncidentRecord
    from sloctl.incidents.backtest import Explanation, Replayed
    from sloctl.incidents.schedule import Schedule
    from sloctl.notify.message import Sink
    from sloctl.notify.outbox import Courier
    from sloctl.prometheus.client import PrometheusReader
    from sloctl.store.database import Store

OUTPUTS = ("table", "json")
READ_ONLY = frozenset({"list", "show", "postmortem"})
"""Subcommands that only read the store: they open it read-only and never create one."""


def _timestamp(moment: datetime | None) -> str | None:
    from sloctl.report.render import timestamp

    return None if moment is None else timestamp(moment)


def _seconds(span: timedelta | None) -> int | None:
    return None if span is None else int(span.total_seconds())


def _span(span: timedelta | None) -> str:
    """``4m``, ``1h5m``, ``0s``; ``-`` when unknown."""
    return "-" if span is None else format_elapsed(span)


def reading_json(reading: Reading) -> dict[str, Any]:
    return {
        "service": reading.service,
        "error_ratio": reading.error_ratio,
        "p95_seconds": reading.p95_seconds,
        "latency_threshold_seconds": reading.latency_threshold,
        "burning": reading.burning,
        "latency_burning": reading.latency_burning,
    }


def incident_json(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "service": incident.service,
        "services": list(incident.services),
        "cause": incident.cause.value,
        "causes": [c.value for c in incident.causes],
        "symptoms": [{"service": s.service, "cause": s.cause.value} for s in incident.symptoms],
        "severity": incident.severity.value,
        "state": incident.state.value,
        "summary": incident.summary,
        "impact_started_at": _timestamp(incident.impact_started_at),
        "impact_ended_at": _timestamp(incident.impact_ended_at),
        "detected_at": _timestamp(incident.detected_at),
        "declared_at": _timestamp(incident.declared_at),
        "acknowledged_at": _timestamp(incident.acknowledged_at),
        "restored_at": _timestamp(incident.restored_at),
        "resolved_at": _timestamp(incident.resolved_at),
        "time_to_detect_seconds": _seconds(incident.time_to_detect),
        "time_to_acknowledge_seconds": _seconds(incident.time_to_acknowledge),
        "time_to_restore_seconds": _seconds(incident.time_to_restore),
        "impact_seconds": _seconds(incident.impact),
        "ack_due": _timestamp(incident.ack_due),
        "resolution_due": _timestamp(incident.resolution_due),
        "resolution_met": incident.resolution_met,
        "ack_breached": incident.ack_breached,
        "resolution_breached": incident.resolution_breached,
        "postmortem_due": _timestamp(incident.postmortem_due),
        "peak_error_ratio": incident.peak_error_ratio,
        "peak_p95_seconds": incident.peak_p95_seconds,
        "manual": incident.manual,
        "suppressed_by": incident.suppressed_by or None,
        "unsuppressed_at": _timestamp(incident.unsuppressed_at),
        "paged": paged_text(incident),
        "timeline": [
            {
                "at": _timestamp(line.at),
                "from": None if line.from_state is None else line.from_state.value,
                "to": line.to_state.value,
                "actor": line.actor,
                "note": line.note,
                "severity": line.severity.value,
                "signals": [reading_json(r) for r in line.readings],
            }
            for line in incident.timeline
        ],
    }


def times_text(incident: Incident) -> str:
    """Impact window and the times an SRE asks for, on one line."""
    impact = (
        f"impact {_timestamp(incident.impact_started_at)} to "
        f"{_timestamp(incident.impact_ended_at)} ({_span(incident.impact)})"
        if incident.impact_started_at is not None
        else "impact not measured"
    )
    return (
        f"{impact}; time to detect {_span(incident.time_to_detect)}, to acknowledge "
        f"{_span(incident.time_to_acknowledge)}, to restore {_span(incident.time_to_restore)}"
    )


def _console() -> Console:
    from rich.console import Console

    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160, soft_wrap=False)


def paged_text(incident: Incident) -> str:
    """Whether anyone was paged (see :func:`sloctl.daemon.incident_record.paged_text`)."""
    from sloctl.daemon.incident_record import paged_text as paged

    return paged(incident)


def _incident_table(incidents: list[Incident]) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table()
    for header in ("ID", "Services", "Causes", "Severity", "State", "Detected", "Summary"):
        table.add_column(header)
    for incident in incidents:
        table.add_row(
            incident.id,
            escape(", ".join(incident.services)),
            ", ".join(c.value for c in incident.causes),
            incident.severity.value,
            incident.state.value
            + ("" if not incident.suppressed_by else f", paged {escape(paged_text(incident))}"),
            _timestamp(incident.detected_at) or "",
            escape(incident.summary),
        )
    return table


@dataclass(frozen=True)
class IncidentSettings:
    """What the ``incidents`` group makes of its options, for its subcommands: where the
    store is, where notifications go and the courier that delivers them."""

    store_path: Path
    read_only: bool
    config_path: Path | None
    sinks: dict[str, Sink]
    sinks_from: str
    """Why no sink is configured, when none is (for the warning that says so)."""
    courier: Courier
    schedule_path: Path | None
    """The on-call schedule file, read when a command declares."""
    drafts: Path
    """Where customer communication drafts are written."""

    @cached_property
    def store(self) -> Store:
        """The store, opened when a command first needs it (so ``--help`` opens nothing) and
        closed when sloctl exits."""
        from sloctl.store.database import open_store

        store = open_store(self.store_path, read_only=self.read_only)
        click.get_current_context().find_root().call_on_close(store.close)
        return store


def _settings(ctx: click.Context) -> IncidentSettings:
    return find(ctx, IncidentSettings)


def _store(ctx: click.Context) -> Store:
    return _settings(ctx).store


def _sinks(ctx: click.Context) -> dict[str, Sink]:
    return _settings(ctx).sinks


def _schedule(ctx: click.Context) -> Schedule | None:
    """The on-call schedule, read when a command declares (so that reading commands never
    fail on it)."""
    from sloctl.loading.schedule_file import load_schedule

    path = _settings(ctx).schedule_path
    return None if path is None else load_schedule(path)


def _now() -> datetime:
    return datetime.now(UTC)


def _require(store: Store, incident_id: str) -> Incident:
    from sloctl.daemon.incident_record import require

    return require(store, incident_id)


FLUSH_GRACE_SECONDS = 5.0
"""How much longer than one send a command waits for delivery before leaving it queued."""


def _courier(ctx: click.Context) -> Courier:
    return _settings(ctx).courier


def _flush(ctx: click.Context, now: datetime) -> dict[str, int]:
    """Deliver what is due, for a bounded time: what is left stays queued for the daemon or
    the next `sloctl incidents notify`."""
    courier = _courier(ctx)
    deadline = courier.clock() + courier.policy.send_timeout + FLUSH_GRACE_SECONDS
    return courier.flush(_store(ctx), now, deadline=deadline)


def _announced_nowhere(ctx: click.Context, what: str) -> None:
    if not _sinks(ctx):
        click.echo(
            f"sloctl: warning: {what} announced nowhere: no notification sink is "
            f"configured ({_settings(ctx).sinks_from})",
            err=True,
        )


def _deliver(ctx: click.Context, incident_id: str, now: datetime) -> None:
    """Try to deliver what the committed change queued; say so when some is left to retry."""
    if not _sinks(ctx):
        _announced_nowhere(ctx, f"this change of {incident_id} is")
        return
    counts = _flush(ctx, now)
    left = counts["retry"] + counts["deferred"]
    if left or counts["failed"]:
        click.echo(
            f"sloctl: warning: notifications: {counts['delivered']} delivered, "
            f"{left} still queued (retried by `sloctl run` or `sloctl incidents notify`), "
            f"{counts['failed']} refused for good (see `sloctl incidents show {incident_id}`)",
            err=True,
        )


@click.group()
@click.option(
    "--store",
    "store_path",
    type=click.Path(path_type=Path),
    envvar="SLOCTL_STORE",
    default=DEFAULT_STORE,
    show_default=True,
    help="Incident store (SQLite; env SLOCTL_STORE; default: the --config file's store).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="SLOCTL_CONFIG",
    help="The daemon's configuration: its notifications section and store (env SLOCTL_CONFIG).",
)
@click.option(
    "--schedule",
    "schedule_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="SLOCTL_SCHEDULE",
    help="On-call schedule naming the commander at declaration (env SLOCTL_SCHEDULE; "
    "default: the --config file's schedule).",
)
@click.pass_context
def incidents(
    ctx: click.Context, store_path: Path, config_path: Path | None, schedule_path: Path | None
) -> None:
    """Declare, follow and close incidents; draft post-mortems.

    Notifications go where the daemon sends them when --config names its configuration (the
    sinks of its notifications section); otherwise, and when that section names no sink, to
    the sinks whose secrets are set: SLOCTL_SLACK_WEBHOOK_URL, SLOCTL_PAGERDUTY_ROUTING_KEY,
    SLOCTL_ALERTMANAGER_URL (or the same names ending in _FILE). A change that would be
    announced nowhere says so.
    """
    from sloctl.daemon.notifications import (
        ALERTMANAGER,
        PAGERDUTY,
        SLACK,
        delivery_policy,
        sinks_from_env,
        webhook_verify,
    )
    from sloctl.daemon.notifications import sinks as configured_sinks
    from sloctl.loading.config import load_config
    from sloctl.notify.outbox import Courier

    config = None if config_path is None else load_config(config_path)
    names = f"{SLACK}, {PAGERDUTY} and {ALERTMANAGER} are not set"
    if config is not None:
        if ctx.get_parameter_source("store_path") is click.core.ParameterSource.DEFAULT:
            store_path = config.relative(config.spec.store)
        found = configured_sinks(config, os.environ)
        sinks_from = f"{config_path} names no sink under notifications, and {names}"
    else:
        found = sinks_from_env(os.environ)
        sinks_from = f"no --config, and {names}"
    if schedule_path is None and config is not None and config.spec.schedule is not None:
        schedule_path = config.relative(config.spec.schedule)
    ctx.obj = IncidentSettings(
        store_path=store_path,
        read_only=ctx.invoked_subcommand in READ_ONLY,
        config_path=config_path,
        sinks=found,
        sinks_from=sinks_from,
        courier=Courier(
            found, delivery_policy(config), webhook_verify(config), logger=cli_state(ctx).logger
        ),
        schedule_path=schedule_path,
        drafts=store_path.parent / "drafts" if config is None else config.drafts,
    )


output_option = click.option(
    "--output", type=click.Choice(OUTPUTS), default="table", show_default=True
)


@incidents.command("list")
@click.option("--all", "everything", is_flag=True, help="Resolved incidents too.")
@click.option("--mine", is_flag=True, help="Only those where --who holds a role now.")
@click.option("--who", help="The person for --mine, as @name.")
@click.option(
    "--postmortem-due",
    "postmortem_due",
    is_flag=True,
    help="Resolved P1/P2 incidents whose post-mortem is not marked done (runbook 2.5).",
)
@output_option
@click.pass_context
def list_incidents(
    ctx: click.Context,
    everything: bool,
    mine: bool,
    who: str | None,
    postmortem_due: bool,
    output: str,
) -> None:
    """Open incidents (or all of them, or those of one person, or those owing a post-mortem)."""
    store = _store(ctx)
    if mine != (who is not None):
        raise InvalidRequestError("--mine and --who @name go together")
    found = store.incidents(open_only=not (everything or postmortem_due))
    if who is not None:
        person = handle(who)
        found = [i for i in found if roles_of(person, store.assignments(i.id))]
    if postmortem_due:
        done = store.postmortems_done()
        found = sorted(
            (i for i in found if postmortem_pending(i, done)),
            key=lambda i: i.postmortem_due or i.detected_at,
        )
        if output != "json":
            now = _now()
            for incident in found:
                due = incident.postmortem_due
                if due is None:
                    continue  # never: postmortem_pending kept only the incidents with one
                late = " (overdue)" if now > due else ""
                click.echo(
                    f"{incident.id} {incident.severity.value} {', '.join(incident.services)}: "
                    f"post-mortem due {_timestamp(due)}{late}"
                )
            if not found:
                click.echo("no post-mortem is due")
            return
    if output == "json":
        click.echo(json.dumps([incident_json(i) for i in found], indent=2))
    else:
        _console().print(_incident_table(found))


@incidents.command()
@click.argument("incident_id")
@output_option
@click.pass_context
def show(ctx: click.Context, incident_id: str, output: str) -> None:
    """One incident with its timeline and the notifications sent about it."""
    from rich.markup import escape
    from rich.table import Table

    from sloctl.daemon.incident_record import gather

    record = gather(_store(ctx), incident_id, _settings(ctx).drafts)
    incident = record.incident
    document = incident_json(incident)
    document["notifications"] = [
        {
            "sink": m.sink,
            "kind": m.event.get("kind"),
            "status": m.status,
            "attempts": m.attempts,
            "last_error": m.last_error,
            "next_attempt_at": _timestamp(m.next_attempt_at) if m.status == "pending" else None,
        }
        for m in record.deliveries
    ]
    document |= _runbook_json(record)
    if output == "json":
        click.echo(json.dumps(document, indent=2))
        return
    console = _console()
    console.print(_incident_table([incident]))
    console.print(
        f"ack due {document['ack_due']}{' (missed)' if incident.ack_breached else ''}, "
        f"resolution due {document['resolution_due']}"
        f"{' (missed)' if incident.resolution_breached else ''}"
        f"{'' if incident.restored_at is None else ', restored ' + str(document['restored_at'])}",
        markup=False,
    )
    console.print(times_text(incident), markup=False)
    timeline = Table(title="Timeline")
    for header in ("Time (UTC)", "From", "To", "Actor", "Severity", "Note", "Signals"):
        timeline.add_column(header)
    for line, kept in zip(document["timeline"], incident.timeline, strict=True):
        timeline.add_row(
            line["at"],
            line["from"] or "",
            line["to"],
            escape(line["actor"]),
            line["severity"],
            escape(line["note"]),
            escape(signals_text(kept.readings)),
        )
    console.print(timeline)
    for item in document["notifications"]:
        retry = f", next attempt {item['next_attempt_at']}" if item["next_attempt_at"] else ""
        console.print(
            f"notification {item['sink']} {item['kind']}: {item['status']} after "
            f"{item['attempts']} attempts{retry} {item['last_error']}",
            markup=False,
        )
    for line in _runbook_text(document):
        console.print(line, markup=False)


def _runbook_json(record: IncidentRecord) -> dict[str, Any]:
    """Roles, updates, the public summary, the post-mortem and the customer draft."""
    incident = record.incident
    assignments = record.assignments
    updates = record.updates
    done = record.postmortem_done
    customer = (
        None
        if record.customer is None
        else {
            "path": None if record.customer.path is None else str(record.customer.path),
            "text": record.customer.text,
        }
    )
    summary = record.summary
    return {
        "roles": {
            role.value: {"who": a.who, "since": _timestamp(a.at), "by": a.by}
            for role, a in holders(assignments).items()
        },
        "role_history": [
            {"role": a.role.value, "who": a.who, "at": _timestamp(a.at), "by": a.by}
            for a in assignments
        ],
        "updates": [
            {
                "at": _timestamp(u.at),
                "status": u.status.value,
                "text": u.text,
                "actions": list(u.actions),
                "by": u.by,
            }
            for u in updates
        ],
        "next_update_due": _timestamp(record.next_update_due),
        "reminders": [
            {"kind": kind, "due_at": _timestamp(due), "sent_at": _timestamp(sent)}
            for kind, due, sent in record.reminders
        ],
        "public_summary": None
        if summary is None
        else {
            "text": summary.text,
            "services": list(summary.services),
            "set_at": _timestamp(summary.at),
            "set_by": summary.by,
        },
        "postmortem": None
        if incident.postmortem_due is None
        else {
            "due": _timestamp(incident.postmortem_due),
            "done_at": None if done is None else _timestamp(done.at),
            "done_by": None if done is None else done.by,
            "link": None if done is None else done.link,
        },
        "customer_communication": customer,
    }


def _runbook_text(document: dict[str, Any]) -> list[str]:
    lines = []
    for role in Role:
        held = document["roles"].get(role.value)
        if held is not None:
            lines.append(f"{role.runbook_name}: {held['who']} (since {held['since']})")
    for update in document["updates"]:
        lines.append(
            f"update {update['at']} ({update['status']}) by {update['by']}: {update['text']}"
        )
    if document["next_update_due"] is not None:
        lines.append(f"next update due {document['next_update_due']}")
    for reminder in document["reminders"]:
        lines.append(f"reminded: {reminder['kind']} due {reminder['due_at']}")
    summary = document["public_summary"]
    if summary is not None:
        lines.append(
            f"public summary ({', '.join(summary['services'])}; {summary['set_by']}, "
            f"{summary['set_at']}): {summary['text']}"
        )
    postmortem = document["postmortem"]
    if postmortem is not None:
        state = (
            f"done {postmortem['done_at']} by {postmortem['done_by']} {postmortem['link']}".rstrip()
            if postmortem["done_at"]
            else "not done yet"
        )
        lines.append(f"post-mortem due {postmortem['due']}: {state}")
    customer = document["customer_communication"]
    if customer is not None:
        where = customer["path"] or "not written yet"
        lines += [f"customer communication draft ({where}):", customer["text"].rstrip()]
    return lines


def _transition(ctx: click.Context, incident_id: str, to: State, person: str, note: str) -> None:
    from sloctl.daemon.actions import transition

    now = _now()
    acted = transition(
        _store(ctx),
        _sinks(ctx),
        incident_id,
        to,
        person=person,
        note=note,
        now=now,
        drafts=_settings(ctx).drafts,
    )
    changed = acted.incident
    _deliver(ctx, changed.id, now)
    click.echo(f"{changed.id} is {changed.state.value}")
    if acted.drafts is not None:
        _echo_drafts(acted.drafts)


def _write_drafts(ctx: click.Context, resolved: list[Incident]) -> None:
    """The P1 customer communication (runbook 3.4) of incidents just resolved."""
    from sloctl.daemon.actions import Drafts
    from sloctl.daemon.incident_pass import write_customer_drafts

    directory = _settings(ctx).drafts
    try:
        written = Drafts(directory, tuple(write_customer_drafts(directory, resolved)))
    except OSError as exc:
        written = Drafts(directory, error=exc.strerror)
    _echo_drafts(written)


def _echo_drafts(drafts: Drafts) -> None:
    if drafts.error is not None:
        click.echo(
            f"sloctl: warning: customer communication draft not written to "
            f"{drafts.directory}: {drafts.error}",
            err=True,
        )
        return
    for path in drafts.written:
        click.echo(f"customer communication draft written to {path}")


by_option = click.option("--by", "person", required=True, help="Who does it (for the timeline).")
note_option = click.option("--note", default="", help="What was done or decided.")


@incidents.command()
@click.argument("incident_id")
@by_option
@note_option
@click.pass_context
def ack(ctx: click.Context, incident_id: str, person: str, note: str) -> None:
    """Acknowledge an incident (runbook 2.1, within the response target)."""
    _transition(ctx, incident_id, State.ACKNOWLEDGED, person, note)


@incidents.command()
@click.argument("incident_id")
@by_option
@note_option
@click.pass_context
def mitigate(ctx: click.Context, incident_id: str, person: str, note: str) -> None:
    """Mark that mitigation is under way (runbook 2.3)."""
    _transition(ctx, incident_id, State.MITIGATING, person, note)


@incidents.command()
@click.argument("incident_id")
@by_option
@note_option
@click.pass_context
def resolve(ctx: click.Context, incident_id: str, person: str, note: str) -> None:
    """Resolve an incident (runbook 2.4)."""
    _transition(ctx, incident_id, State.RESOLVED, person, note)


@incidents.command("declare")
@click.option("--service", required=True)
@click.option("--severity", type=click.Choice([s.value for s in Severity]), required=True)
@click.option("--cause", type=click.Choice([c.value for c in Cause]), required=True)
@click.option("--summary", required=True, help="What is happening, in one line.")
@by_option
@click.pass_context
def declare_incident(
    ctx: click.Context, service: str, severity: str, cause: str, summary: str, person: str
) -> None:
    """Declare an incident metrics cannot see (data loss, security breach, ...)."""
    from sloctl.daemon.actions import declare_incident as declared

    schedule = _schedule(ctx)
    now = _now()
    done = declared(
        _store(ctx),
        _sinks(ctx),
        schedule,
        service=service,
        severity=Severity(severity),
        cause=Cause(cause),
        summary=summary,
        person=person,
        now=now,
    )
    _deliver(ctx, done.incident.id, now)
    click.echo(
        f"{done.incident.id} declared: {severity} {service} ({cause}), commander {done.commander}"
    )


@incidents.command("assign")
@click.argument("incident_id")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--who", required=True, help="Who takes the role, as @name.")
@click.option("--by", "person", help="Who assigns it (default: --who, taking it).")
@click.pass_context
def assign_role(
    ctx: click.Context, incident_id: str, role: str, who: str, person: str | None
) -> None:
    """Give a role of the incident to someone (runbook 4); they are notified."""
    from sloctl.notify.outbox import messages

    store = _store(ctx)
    now = _now()
    assignee = handle(who)
    by = assignee if person is None else handle(person)
    with store.transaction() as connection:
        incident = _require(store, incident_id)
        changed, assignment = assign(
            incident, store.assignments(incident.id), Role(role), assignee, now, by=by
        )
        store.save_assignment(assignment, connection=connection)
        event = Event(EventKind.ASSIGNED, changed, now, role=role, who=assignee)
        events = messages([event], _sinks(ctx), store.commanders())
        store.save(changed, connection=connection, events=events, now=now)
    _deliver(ctx, changed.id, now)
    click.echo(f"{changed.id}: {assignee} is {Role(role).runbook_name} (assigned by {by})")


@incidents.command()
@click.argument("incident_id")
@click.option("--status", type=click.Choice([s.value for s in Status]), required=True)
@click.option("--text", required=True, help="What has changed (the update's text).")
@click.option("--action", "actions", multiple=True, help="A current action (repeat for several).")
@by_option
@click.pass_context
def update(
    ctx: click.Context,
    incident_id: str,
    status: str,
    text: str,
    actions: tuple[str, ...],
    person: str,
) -> None:
    """Send the runbook's 3.2 status update; the next one is due a period later."""
    from sloctl.daemon.actions import send_update

    now = _now()
    sent = send_update(
        _store(ctx),
        _sinks(ctx),
        incident_id,
        status=Status(status),
        text=text,
        actions=tuple(actions),
        person=person,
        now=now,
    )
    _deliver(ctx, sent.incident.id, now)
    due = sent.next_due
    then = "no update cadence" if due is None else f"next update due {_timestamp(due)}"
    click.echo(f"{sent.incident.id} update sent ({status}); {then}")


@incidents.command()
@click.argument("incident_id")
@click.option("--text", required=True, help="What the status page says (at most 280 chars).")
@click.option("--services", required=True, help="The services affected: api,auth.")
@by_option
@click.pass_context
def summary(ctx: click.Context, incident_id: str, text: str, services: str, person: str) -> None:
    """Set the public summary the status page shows (the communications lead's)."""
    store = _store(ctx)
    now = _now()
    with store.transaction() as connection:
        incident = _require(store, incident_id)
        written = set_summary(
            incident,
            store.assignments(incident.id),
            text,
            services_from(services),
            now,
            by=handle(person),
        )
        store.save_summary(written, connection=connection)
    click.echo(f"{incident.id} public summary set ({', '.join(written.services)}): {written.text}")


@incidents.command("postmortem-done")
@click.argument("incident_id")
@by_option
@click.option("--link", default="", help="Where the post-mortem is (a URL or a path).")
@click.pass_context
def postmortem_done(ctx: click.Context, incident_id: str, person: str, link: str) -> None:
    """Mark the post-mortem of a resolved P1/P2 incident done (runbook 2.5)."""
    store = _store(ctx)
    now = _now()
    with store.transaction() as connection:
        incident = _require(store, incident_id)
        if incident.postmortem_due is None:
            raise InvalidRequestError(
                f"{incident.id} owes no post-mortem "
                f"({'not resolved yet' if incident.open else incident.severity.value})"
            )
        if not store.mark_postmortem_done(
            incident.id, at=now, by=handle(person), link=link, connection=connection
        ):
            raise InvalidRequestError(f"{incident.id}'s post-mortem is already marked done")
    late = " (after its due date)" if now > incident.postmortem_due else ""
    click.echo(f"{incident.id} post-mortem done{late}")


@incidents.command()
@prometheus_url_option
@config_option
@definitions_option
@policy_option
@click.option("--at", "at_text", metavar="TIME", help="Evaluate as of this RFC 3339 time.")
@click.pass_context
def evaluate(
    ctx: click.Context,
    prometheus_url: str,
    config_path: Path | None,
    definitions: Path,
    policy_path: Path | None,
    at_text: str | None,
) -> None:
    """One evaluation: read the signals, apply the policy, store and announce what changed.

    The daemon runs this every cycle; from cron it does the same job once a minute. A service
    whose signals cannot be read is skipped: Prometheus trouble never opens or closes an
    incident.
    """
    schedule = _schedule(ctx)
    from sloctl.daemon.incident_pass import evaluate_incidents
    from sloctl.incidents.signals import signal_plan
    from sloctl.loading.policy_file import policy_in_force

    store = _store(ctx)
    sinks = _sinks(ctx)
    at = past_time(at_text, _now(), "--at").replace(second=0, microsecond=0)
    policy = policy_in_force(policy_path)
    if config_path is None and (
        ctx.get_parameter_source("prometheus_url") is not click.core.ParameterSource.COMMANDLINE
    ):
        config_path = _settings(ctx).config_path  # `sloctl incidents --config FILE evaluate`
    reader = prometheus_reader(
        ctx, config_path, prometheus_url, env=os.environ, logger=cli_state(ctx).logger
    )
    planned = signal_plan(load_slos(definitions), policy)
    result = evaluate_incidents(store, sinks, policy, planned, reader, at, schedule=schedule)
    for service, reason in result.skipped.items():
        click.echo(f"sloctl: warning: {service} skipped: {reason}", err=True)
    for event in result.events:
        click.echo(
            f"{event.incident.id} {event.kind.value}: {event.incident.service} "
            f"{event.incident.severity.value} {event.incident.state.value}"
        )
    if result.events:
        _announced_nowhere(ctx, "what changed is")
    _write_drafts(ctx, [e.incident for e in result.events if e.kind is EventKind.RESOLVED])
    courier = _courier(ctx)
    _flush(ctx, at)
    courier.refresh_alertmanager(store, at, deadline=courier.clock() + FLUSH_GRACE_SECONDS)


@incidents.command()
@click.pass_context
def notify(ctx: click.Context) -> None:
    """Escalate missed targets, remind overdue updates and post-mortems, deliver what is due.

    Run it every minute (cron, or the daemon's loop) so that a target missed is escalated
    (runbook 2.2: P2 to the team lead, P1 to everyone) even with nobody at a terminal.
    """
    from sloctl.daemon.incident_pass import escalate_missed_targets, remind_overdue

    store = _store(ctx)
    sinks = _sinks(ctx)
    now = _now()
    for event in escalate_missed_targets(store, sinks, now):
        click.echo(f"{event.incident.id}: {event.note}")
    for event in remind_overdue(store, sinks, now):
        click.echo(f"{event.incident.id}: {event.role} reminder to {event.who or 'nobody'}")
    courier = _courier(ctx)
    _announced_nowhere(ctx, "escalations and updates are")
    counts = _flush(ctx, now)
    refreshed = courier.refresh_alertmanager(
        store, now, deadline=courier.clock() + FLUSH_GRACE_SECONDS
    )
    summary = ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
    click.echo(summary + (f", {refreshed} re-sent to Alertmanager" if refreshed else ""))


@incidents.command()
@click.argument("incident_id")
@click.option("--out", type=click.Path(path_type=Path), help="Write to this file, not stdout.")
@prometheus_url_option
@definitions_option
@click.pass_context
def postmortem(
    ctx: click.Context, incident_id: str, out: Path | None, prometheus_url: str, definitions: Path
) -> None:
    """Draft the runbook's 2.5 post-mortem for an incident: with the budget and requests of
    each SLO over the incident (from Prometheus), its roles and every notification sent."""
    from sloctl.core.slo import dependencies
    from sloctl.daemon.incident_record import draft_context, gather

    store = _store(ctx)
    record = gather(store, incident_id, _settings(ctx).drafts)
    incident = record.incident
    now = _now()
    impacts = _impacts(incident, prometheus_url, definitions, now)
    spent = [i.budget_percent for i in impacts if i.budget_percent is not None]
    try:
        depends = dependencies(load_slos(definitions))
    except SloctlError:
        depends = {}
    context = draft_context(store, record, depends, now, impacts)
    text = render_postmortem(incident, max(spent) if spent else None, now, context)
    if out is None:
        click.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidRequestError(f"cannot write {out}: {exc.strerror}") from exc
        click.echo(f"post-mortem draft written to {out}")


def _impacts(
    incident: Incident, url: str, definitions: Path, now: datetime
) -> tuple[SloImpact, ...]:
    """Each SLO of the incident's services and causes, from the first bad reading (or the
    declaration) to the resolution (or now): its events and the budget they spent."""
    from sloctl.core.slo import LatencyIndicator
    from sloctl.prometheus.client import PrometheusReader
    from sloctl.reading.evaluation import impact_between

    try:
        slos = [
            s
            for s in load_slos(definitions)
            if (Cause.LATENCY if isinstance(s.indicator, LatencyIndicator) else Cause.ERRORS)
            in incident.causes_of(s.service)
        ]
        if not slos:
            return ()
        start = min(incident.detected_at, incident.impact_started_at or incident.detected_at)
        found = impact_between(slos, PrometheusReader(url), start, incident.resolved_at or now)
    except SloctlError as exc:
        click.echo(f"sloctl: warning: error budget consumed unknown: {exc}", err=True)
        return ()
    impacts = []
    for slo in slos:
        counts = found[slo.key].counts
        impacts.append(
            SloImpact(
                slo.key,
                None if counts is None else counts.total,
                None if counts is None else counts.bad,
                found[slo.key].spent_percent,
                slices=slo.timeslices is not None,
            )
        )
    return tuple(impacts)


def signals_text(readings: tuple[Reading, ...]) -> str:
    """``api: errors 60.0%, p95 120 ms`` per service read."""
    parts = []
    for one in readings:
        values = [
            "errors -" if one.error_ratio is None else f"errors {one.error_ratio:.2%}",
            "p95 -" if one.p95_seconds is None else f"p95 {one.p95_seconds * 1000:.0f} ms",
        ]
        if one.burning:
            values.append("burning")
        if one.latency_burning:
            values.append("latency burning")
        parts.append(f"{one.service}: {', '.join(values)}")
    return "; ".join(parts)


def backtest_row(replayed: Replayed) -> dict[str, Any]:
    """One incident of a backtest, as JSON: the incident, its timeline and its times."""
    incident = replayed.incident
    return {
        **incident_json(incident),
        "severity": replayed.peak_severity,
        "start": _timestamp(incident.detected_at),
        "end": _timestamp(replayed.end),
    }


def backtest_command(
    reader: PrometheusReader,
    definitions: Path,
    policy_path: Path | None,
    start: datetime,
    end: datetime | None,
    step: timedelta,
    output: str,
    explain_service: str | None = None,
    explain_at: datetime | None = None,
    maintenance: Path | None = None,
) -> None:
    """Run the backtest and print what it would have declared (or explain one instant)."""
    from rich.markup import escape
    from rich.table import Table

    from sloctl.incidents.backtest import backtest as run_backtest
    from sloctl.incidents.backtest import explain as run_explain
    from sloctl.loading.policy_file import policy_in_force

    policy = policy_in_force(policy_path)
    slos = load_slos(definitions)
    services = sorted({slo.service for slo in slos})
    if maintenance is None:
        windows: tuple[MaintenanceWindow, ...] = ()
    else:
        from sloctl.loading.maintenance_file import load_maintenance

        windows = tuple(load_maintenance(maintenance, services))
    if explain_service is not None or explain_at is not None:
        if explain_service is None or explain_at is None:
            raise InvalidRequestError("--explain SERVICE and --at TIME go together")
        found = run_explain(slos, reader, policy, start, explain_at, explain_service, step)
        if output == "json":
            click.echo(json.dumps(explanation_json(found), indent=2))
        else:
            click.echo(explanation_text(found))
        return
    if end is None:
        raise InvalidRequestError("--to is required (unless --explain SERVICE --at TIME is given)")
    if end <= start:
        raise InvalidRequestError("--to must be after --from")
    replayed = run_backtest(slos, reader, policy, start, end, step, windows)
    rows = [backtest_row(r) for r in replayed]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(
        title=f"Incidents the policy would have declared, {_timestamp(start)} to {_timestamp(end)}"
    )
    headers = (
        "ID",
        "Services",
        "Causes",
        "Severity",
        "Impact start",
        "Detect",
        "Duration",
        "Resolved",
        "Peak errors",
        "Peak p95",
        "Paged",
    )
    for header in headers:
        table.add_column(header)
    for row in rows:
        ratio = row["peak_error_ratio"]
        p95 = row["peak_p95_seconds"]
        detect = row["time_to_detect_seconds"]
        impact = row["impact_seconds"]
        table.add_row(
            row["id"],
            escape(", ".join(row["services"])),
            ", ".join(row["causes"]),
            str(row["severity"]),
            str(row["impact_started_at"] or row["start"]),
            _span(None if detect is None else timedelta(seconds=detect)),
            _span(None if impact is None else timedelta(seconds=impact)),
            str(row["end"] or "open"),
            "-" if ratio is None else f"{float(ratio) * 100:.1f}%",
            "-" if p95 is None else f"{float(p95) * 1000:.0f} ms",
            escape(row["paged"]),
        )
    _console().print(table)


def explanation_json(found: Explanation) -> dict[str, Any]:
    from sloctl.incidents.engine import reading

    assessment = found.assessment
    return {
        "service": assessment.service,
        "at": _timestamp(found.at),
        "signals": reading_json(reading(assessment.service, assessment.signals)),
        "conditions": {
            c.value: _timestamp(since) for c, since in sorted(assessment.tracked.held.items())
        },
        "bad_since": {c.value: _timestamp(t) for c, t in assessment.tracked.bad_since.items()},
        "verified": {c.value: check for c, check in assessment.checks.items()},
        "findings": [
            {"cause": f.cause.value, "severity": f.severity.value, "reason": f.reason}
            for f in assessment.findings.values()
        ],
        "incident": None if found.incident is None else incident_json(found.incident),
    }


def explanation_text(found: Explanation) -> str:
    """The signals and the verdict at one instant, for a person."""
    assessment = found.assessment
    signals = assessment.signals
    threshold = signals.latency_threshold
    lines = [
        f"{assessment.service} at {_timestamp(found.at)}",
        "  error ratio   "
        + ("not measured" if signals.error_ratio is None else f"{signals.error_ratio:.3%}"),
        "  p95 latency   "
        + (
            "not measured"
            if signals.p95_seconds is None
            else f"{signals.p95_seconds * 1000:.0f} ms"
        )
        + ("" if threshold is None else f" (SLO {float(threshold) * 1000:.0f} ms)"),
        f"  burn rate     {'paging' if signals.burning else 'below the paging pairs'}"
        f"{'; latency budget paging' if signals.latency_burning else ''}",
    ]
    held = sorted(assessment.tracked.held.items(), key=lambda item: item[1])
    if held:
        lines.append(
            "  conditions    "
            + ", ".join(f"{c.value} for {_span(found.at - since)}" for c, since in held)
        )
    else:
        lines.append("  conditions    none")
    verdict = {True: "normal", False: "failing", None: "not measured"}
    lines.append(
        "  verification  "
        + ", ".join(f"{c.value} {verdict[check]}" for c, check in assessment.checks.items())
        + " (runbook 2.4)"
    )
    for cause, since in assessment.tracked.bad_since.items():
        lines.append(f"  bad since     {_timestamp(since)} ({cause.value})")
    worst = assessment.worst
    lines.append(
        "  verdict       "
        + ("no incident condition" if worst is None else f"{worst.severity.value}: {worst.reason}")
    )
    incident = found.incident
    if incident is not None:
        lines.append(
            f"  incident      {incident.id} {incident.severity.value} {incident.state.value} "
            f"({', '.join(incident.services)}: {', '.join(c.value for c in incident.causes)})"
        )
        lines.append(f"                {times_text(incident)}")
    return "\n".join(lines)

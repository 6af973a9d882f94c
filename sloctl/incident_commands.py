"""``sloctl incidents ...`` and ``sloctl backtest``: incidents from the command line."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sloctl.backtest import backtest as run_backtest
from sloctl.cycle import escalate_missed_targets, evaluate_incidents
from sloctl.definitions import load_definitions
from sloctl.durations import parse_duration
from sloctl.engine import Event
from sloctl.error_reporting import friendly_errors
from sloctl.errors import SloctlError, UsageError
from sloctl.evaluation import budget_spent
from sloctl.incidents import (
    Incident,
    State,
    acknowledge,
    declare,
    escalation_targets,
    move,
)
from sloctl.notifications import EventKind, Sink
from sloctl.options import definitions_option, policy_option, prometheus_url_option
from sloctl.outbox import Courier, messages, sinks_from_env
from sloctl.policy import Cause, Finding, policy_in_force
from sloctl.postmortem import render as render_postmortem
from sloctl.prometheus import PrometheusReader
from sloctl.report import timestamp
from sloctl.severity import Severity
from sloctl.signals import signal_plan
from sloctl.slo import LatencyIndicator
from sloctl.store import Store, open_store
from sloctl.times import parse_time

DEFAULT_STORE = Path("sloctl-incidents.db")
OUTPUTS = ("table", "json")


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else timestamp(moment)


def incident_json(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "service": incident.service,
        "cause": incident.cause.value,
        "severity": incident.severity.value,
        "state": incident.state.value,
        "summary": incident.summary,
        "detected_at": _timestamp(incident.detected_at),
        "acknowledged_at": _timestamp(incident.acknowledged_at),
        "resolved_at": _timestamp(incident.resolved_at),
        "ack_due": _timestamp(incident.ack_due),
        "resolution_due": _timestamp(incident.resolution_due),
        "ack_breached": incident.ack_breached,
        "resolution_breached": incident.resolution_breached,
        "postmortem_due": _timestamp(incident.postmortem_due),
        "peak_error_ratio": incident.peak_error_ratio,
        "peak_p95_seconds": incident.peak_p95_seconds,
        "manual": incident.manual,
        "timeline": [
            {
                "at": _timestamp(line.at),
                "from": None if line.from_state is None else line.from_state.value,
                "to": line.to_state.value,
                "actor": line.actor,
                "note": line.note,
                "severity": line.severity.value,
            }
            for line in incident.timeline
        ],
    }


def _console() -> Console:
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160, soft_wrap=False)


def _incident_table(incidents: list[Incident]) -> Table:
    table = Table()
    for header in ("ID", "Service", "Cause", "Severity", "State", "Detected", "Summary"):
        table.add_column(header)
    for incident in incidents:
        table.add_row(
            incident.id, escape(incident.service), incident.cause.value,
            incident.severity.value, incident.state.value,
            _timestamp(incident.detected_at) or "", escape(incident.summary),
        )  # fmt: skip
    return table


def _store(ctx: click.Context) -> Store:
    store: Store = ctx.obj["store"]
    return store


def _now() -> datetime:
    return datetime.now(UTC)


def _require(store: Store, incident_id: str) -> Incident:
    incident = store.get(incident_id)
    if incident is None:
        raise UsageError(f"no incident {incident_id!r} in {store.path}")
    return incident


KIND_OF = {
    State.ACKNOWLEDGED: EventKind.ACKNOWLEDGED,
    State.MITIGATING: EventKind.UPDATED,
    State.MONITORING: EventKind.UPDATED,
    State.RESOLVED: EventKind.RESOLVED,
}


def _deliver(ctx: click.Context, incident_id: str, now: datetime) -> None:
    """Try to deliver what the committed change queued; say so when some is left to retry."""
    sinks: dict[str, Sink] = ctx.obj["sinks"]
    if not sinks:
        return
    counts = Courier(sinks, logger=ctx.obj["logger"]).flush(_store(ctx), now)
    if counts["retry"] or counts["failed"]:
        click.echo(
            f"sloctl: warning: notifications: {counts['delivered']} delivered, "
            f"{counts['retry']} to retry, {counts['failed']} failed "
            f"(see `sloctl incidents show {incident_id}`)",
            err=True,
        )


@click.group()
@click.option(
    "--store", "store_path", type=click.Path(path_type=Path), envvar="SLOCTL_STORE",
    default=DEFAULT_STORE, show_default=True, help="Incident store (SQLite; env SLOCTL_STORE).",
)  # fmt: skip
@click.pass_context
@friendly_errors
def incidents(ctx: click.Context, store_path: Path) -> None:
    """Declare, follow and close incidents; draft post-mortems.

    Notifications go to the sinks whose secrets are set: SLOCTL_SLACK_WEBHOOK_URL,
    SLOCTL_PAGERDUTY_ROUTING_KEY, SLOCTL_ALERTMANAGER_URL (or the same names ending in _FILE).
    """
    ctx.obj["store"] = open_store(store_path)
    ctx.obj["sinks"] = sinks_from_env(os.environ)
    ctx.call_on_close(ctx.obj["store"].close)


output_option = click.option(
    "--output", type=click.Choice(OUTPUTS), default="table", show_default=True
)


@incidents.command("list")
@click.option("--all", "everything", is_flag=True, help="Resolved incidents too.")
@output_option
@click.pass_context
def list_incidents(ctx: click.Context, everything: bool, output: str) -> None:
    """Open incidents (or all of them)."""
    found = _store(ctx).incidents(open_only=not everything)
    if output == "json":
        click.echo(json.dumps([incident_json(i) for i in found], indent=2))
    else:
        _console().print(_incident_table(found))


@incidents.command()
@click.argument("incident_id")
@output_option
@click.pass_context
@friendly_errors
def show(ctx: click.Context, incident_id: str, output: str) -> None:
    """One incident with its timeline and the notifications sent about it."""
    store = _store(ctx)
    incident = _require(store, incident_id)
    deliveries = [m for m in store.outbox() if m.incident_id == incident.id]
    document = incident_json(incident)
    document["notifications"] = [
        {"sink": m.sink, "kind": m.event.get("kind"), "status": m.status,
         "attempts": m.attempts, "last_error": m.last_error}
        for m in deliveries
    ]  # fmt: skip
    if output == "json":
        click.echo(json.dumps(document, indent=2))
        return
    console = _console()
    console.print(_incident_table([incident]))
    console.print(
        f"ack due {document['ack_due']}{' (missed)' if incident.ack_breached else ''}, "
        f"resolution due {document['resolution_due']}"
        f"{' (missed)' if incident.resolution_breached else ''}",
        markup=False,
    )
    timeline = Table(title="Timeline")
    for header in ("Time (UTC)", "From", "To", "Actor", "Severity", "Note"):
        timeline.add_column(header)
    for line in document["timeline"]:
        timeline.add_row(
            line["at"], line["from"] or "", line["to"], escape(line["actor"]), line["severity"],
            escape(line["note"]),
        )  # fmt: skip
    console.print(timeline)
    for item in document["notifications"]:
        console.print(
            f"notification {item['sink']} {item['kind']}: {item['status']} after "
            f"{item['attempts']} attempts {item['last_error']}",
            markup=False,
        )


@friendly_errors
def _transition(ctx: click.Context, incident_id: str, to: State, person: str, note: str) -> None:
    store = _store(ctx)
    now = _now()
    with store.transaction() as connection:  # read and write under one lock: no lost update
        incident = _require(store, incident_id)
        if to is State.ACKNOWLEDGED:
            changed = acknowledge(incident, now, actor=person, note=note)
        else:
            changed = move(incident, to, now, actor=person, note=note)
        event = Event(KIND_OF[to], changed, now, note=note)
        store.save(
            changed, connection=connection, events=messages([event], ctx.obj["sinks"]), now=now
        )
    _deliver(ctx, changed.id, now)
    click.echo(f"{changed.id} is {changed.state.value}")


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
@friendly_errors
def declare_incident(
    ctx: click.Context, service: str, severity: str, cause: str, summary: str, person: str
) -> None:
    """Declare an incident metrics cannot see (data loss, security breach, ...)."""
    store = _store(ctx)
    now = _now()
    finding = Finding(Cause(cause), Severity(severity), summary)
    with store.transaction() as connection:
        open_one = [
            i for i in store.incidents(open_only=True)
            if i.service == service and i.cause is Cause(cause)
        ]  # fmt: skip
        if open_one:
            raise UsageError(
                f"{open_one[0].id} is already open for {service} ({cause}); update that one"
            )
        incident = declare(
            store.allocate_id(connection), service, finding, now, actor=person, manual=True
        )
        event = Event(EventKind.DECLARED, incident, now, escalation_targets(incident.severity))
        store.save(
            incident, connection=connection, events=messages([event], ctx.obj["sinks"]), now=now
        )
    _deliver(ctx, incident.id, now)
    click.echo(f"{incident.id} declared: {severity} {service} ({cause})")


@incidents.command()
@prometheus_url_option
@definitions_option
@policy_option
@click.option("--at", "at_text", metavar="TIME", help="Evaluate as of this RFC 3339 time.")
@click.pass_context
@friendly_errors
def evaluate(
    ctx: click.Context, prometheus_url: str, definitions: Path, policy_path: Path | None,
    at_text: str | None,
) -> None:  # fmt: skip
    """One evaluation: read the signals, apply the policy, store and announce what changed.

    The daemon runs this every cycle; from cron it does the same job once a minute. A service
    whose signals cannot be read is skipped: Prometheus trouble never opens or closes an
    incident.
    """
    store = _store(ctx)
    sinks: dict[str, Sink] = ctx.obj["sinks"]
    at = (parse_time(at_text) if at_text else _now()).replace(second=0, microsecond=0)
    policy = policy_in_force(policy_path)
    reader = PrometheusReader(prometheus_url, logger=ctx.obj["logger"])
    planned = signal_plan(load_definitions(definitions), policy)
    result = evaluate_incidents(store, sinks, policy, planned, reader, at)
    for service, reason in result.skipped.items():
        click.echo(f"sloctl: warning: {service} skipped: {reason}", err=True)
    for event in result.events:
        click.echo(f"{event.incident.id} {event.kind.value}: {event.incident.service} "
                   f"{event.incident.severity.value} {event.incident.state.value}")  # fmt: skip
    courier = Courier(sinks, logger=ctx.obj["logger"])
    courier.flush(store, at)
    courier.refresh_alertmanager(store, at)


@incidents.command()
@click.pass_context
@friendly_errors
def notify(ctx: click.Context) -> None:
    """Escalate missed response and resolution targets, then deliver what is due.

    Run it every minute (cron, or the daemon's loop) so that a target missed is escalated
    (runbook 2.2: P2 to the team lead, P1 to everyone) even with nobody at a terminal.
    """
    store = _store(ctx)
    sinks: dict[str, Sink] = ctx.obj["sinks"]
    now = _now()
    for event in escalate_missed_targets(store, sinks, now):
        click.echo(f"{event.incident.id}: {event.note}")
    courier = Courier(sinks, logger=ctx.obj["logger"])
    counts = courier.flush(store, now)
    refreshed = courier.refresh_alertmanager(store, now)
    summary = ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
    click.echo(summary + (f", {refreshed} re-sent to Alertmanager" if refreshed else ""))


@incidents.command()
@click.argument("incident_id")
@click.option("--out", type=click.Path(path_type=Path), help="Write to this file, not stdout.")
@prometheus_url_option
@definitions_option
@click.pass_context
@friendly_errors
def postmortem(
    ctx: click.Context, incident_id: str, out: Path | None, prometheus_url: str, definitions: Path
) -> None:
    """Draft the runbook's 2.5 post-mortem for an incident."""
    incident = _require(_store(ctx), incident_id)
    now = _now()
    consumed = _consumed(incident, prometheus_url, definitions, now)
    text = render_postmortem(incident, consumed, now)
    if out is None:
        click.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {out}: {exc.strerror}") from exc
        click.echo(f"post-mortem draft written to {out}")


def _consumed(incident: Incident, url: str, definitions: Path, now: datetime) -> float | None:
    """Budget spent during the incident by the SLOs of its service and cause, at worst."""
    try:
        slos = [
            s for s in load_definitions(definitions)
            if s.service == incident.service
            and isinstance(s.indicator, LatencyIndicator) == (incident.cause is Cause.LATENCY)
        ]  # fmt: skip
        if not slos:
            return None
        spent = budget_spent(
            slos, PrometheusReader(url), incident.detected_at, incident.resolved_at or now
        )
    except SloctlError as exc:
        click.echo(f"sloctl: warning: error budget consumed unknown: {exc}", err=True)
        return None
    values = [v for v in spent.values() if v is not None]
    return max(values) if values else None


def backtest_command(
    prometheus_url: str, definitions: Path, policy_path: Path | None, start: datetime,
    end: datetime, step: str, output: str,
) -> None:  # fmt: skip
    """Run the backtest and print what it would have declared."""
    if end <= start:
        raise UsageError("--to must be after --from")
    step_delta = timedelta(seconds=parse_duration(step))
    policy = policy_in_force(policy_path)
    slos = load_definitions(definitions)
    found = run_backtest(slos, PrometheusReader(prometheus_url), policy, start, end, step_delta)
    rows = [
        {
            "id": r.incident.id,
            "service": r.incident.service,
            "cause": r.incident.cause.value,
            "severity": r.peak_severity,
            "start": _timestamp(r.incident.detected_at),
            "end": _timestamp(r.end),
            "peak_error_ratio": r.incident.peak_error_ratio,
            "peak_p95_seconds": r.incident.peak_p95_seconds,
            "summary": r.incident.summary,
        }
        for r in found
    ]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(
        title=f"Incidents the policy would have declared, {_timestamp(start)} to {_timestamp(end)}"
    )
    for header in ("Service", "Cause", "Severity", "Start", "End", "Peak errors", "Peak p95"):
        table.add_column(header)
    for row in rows:
        ratio = row["peak_error_ratio"]
        p95 = row["peak_p95_seconds"]
        table.add_row(
            escape(str(row["service"])), str(row["cause"]), str(row["severity"]),
            str(row["start"]), str(row["end"] or "open"),
            "-" if ratio is None else f"{float(ratio) * 100:.1f}%",
            "-" if p95 is None else f"{float(p95) * 1000:.0f} ms",
        )  # fmt: skip
    _console().print(table)

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

from sloctl.cli.error_reporting import friendly_errors
from sloctl.cli.options import (
    config_option,
    definitions_option,
    past_time,
    policy_option,
    prometheus_reader,
    prometheus_url_option,
)
from sloctl.core.changes import Change
from sloctl.core.durations import format_duration, parse_duration
from sloctl.core.severity import Severity
from sloctl.core.slo import LatencyIndicator, dependencies
from sloctl.daemon.cycle import escalate_missed_targets, evaluate_incidents
from sloctl.errors import SloctlError, UsageError
from sloctl.incidents.backtest import Explanation, Replayed
from sloctl.incidents.backtest import backtest as run_backtest
from sloctl.incidents.backtest import explain as run_explain
from sloctl.incidents.changes import LOOKBACK, services_to_look_at, with_changes
from sloctl.incidents.engine import reading
from sloctl.incidents.events import Event, EventKind
from sloctl.incidents.lifecycle import (
    Incident,
    Reading,
    State,
    acknowledge,
    declare,
    escalation_targets,
    move,
)
from sloctl.incidents.policy import Cause, Finding
from sloctl.incidents.postmortem import render as render_postmortem
from sloctl.incidents.signals import signal_plan
from sloctl.loading.config import delivery_policy, load_config, webhook_verify
from sloctl.loading.config import sinks as configured_sinks
from sloctl.loading.definitions import load_definitions
from sloctl.loading.maintenance_file import load_maintenance
from sloctl.loading.policy_file import policy_in_force
from sloctl.notify.outbox import ALERTMANAGER, PAGERDUTY, SLACK, Courier, messages, sinks_from_env
from sloctl.notify.sinks import Sink
from sloctl.prometheus.client import PrometheusReader
from sloctl.reading.evaluation import budget_spent
from sloctl.report.render import timestamp
from sloctl.store.database import Store, open_store

DEFAULT_STORE = Path("sloctl-incidents.db")
OUTPUTS = ("table", "json")
READ_ONLY = frozenset({"list", "show", "postmortem"})
"""Subcommands that only read the store: they open it read-only and never create one."""


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else timestamp(moment)


def _seconds(span: timedelta | None) -> int | None:
    return None if span is None else int(span.total_seconds())


def _span(span: timedelta | None) -> str:
    """``4m``, ``1h5m``, ``0s``; ``-`` when unknown."""
    if span is None:
        return "-"
    seconds = int(span.total_seconds())
    return format_duration(seconds) if seconds > 0 else "0s"


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
    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else 160, soft_wrap=False)


def paged_text(incident: Incident) -> str:
    """Whether anyone was paged: ``yes``; ``no (maintenance window W)``; ``after maintenance
    window W`` when it outlived the window."""
    if not incident.suppressed_by:
        return "yes"
    if incident.unsuppressed_at is None:
        return f"no (maintenance window {incident.suppressed_by})"
    return f"after maintenance window {incident.suppressed_by}"


def _incident_table(incidents: list[Incident]) -> Table:
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


def _store(ctx: click.Context) -> Store:
    """The store, opened when a command first needs it (so ``--help`` opens nothing)."""
    store: Store | None = ctx.obj.get("store")
    if store is None:
        store = open_store(ctx.obj["store_path"], read_only=ctx.obj["read_only"])
        ctx.obj["store"] = store
        ctx.find_root().call_on_close(store.close)
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


FLUSH_GRACE_SECONDS = 5.0
"""How much longer than one send a command waits for delivery before leaving it queued."""


def _courier(ctx: click.Context) -> Courier:
    courier: Courier = ctx.obj["courier"]
    return courier


def _flush(ctx: click.Context, now: datetime) -> dict[str, int]:
    """Deliver what is due, for a bounded time: what is left stays queued for the daemon or
    the next `sloctl incidents notify`."""
    courier = _courier(ctx)
    deadline = courier.clock() + courier.policy.send_timeout + FLUSH_GRACE_SECONDS
    return courier.flush(_store(ctx), now, deadline=deadline)


def _announced_nowhere(ctx: click.Context, what: str) -> None:
    if not ctx.obj["sinks"]:
        click.echo(
            f"sloctl: warning: {what} announced nowhere: no notification sink is "
            f"configured ({ctx.obj['sinks_from']})",
            err=True,
        )


def _deliver(ctx: click.Context, incident_id: str, now: datetime) -> None:
    """Try to deliver what the committed change queued; say so when some is left to retry."""
    if not ctx.obj["sinks"]:
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
@click.pass_context
@friendly_errors
def incidents(ctx: click.Context, store_path: Path, config_path: Path | None) -> None:
    """Declare, follow and close incidents; draft post-mortems.

    Notifications go where the daemon sends them when --config names its configuration (the
    sinks of its notifications section); otherwise, and when that section names no sink, to
    the sinks whose secrets are set: SLOCTL_SLACK_WEBHOOK_URL, SLOCTL_PAGERDUTY_ROUTING_KEY,
    SLOCTL_ALERTMANAGER_URL (or the same names ending in _FILE). A change that would be
    announced nowhere says so.
    """
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
    ctx.obj["config_path"] = config_path
    ctx.obj["sinks"] = found
    ctx.obj["sinks_from"] = sinks_from
    ctx.obj["courier"] = Courier(
        found, delivery_policy(config), webhook_verify(config), logger=ctx.obj["logger"]
    )
    ctx.obj["store_path"] = store_path
    ctx.obj["read_only"] = ctx.invoked_subcommand in READ_ONLY


output_option = click.option(
    "--output", type=click.Choice(OUTPUTS), default="table", show_default=True
)


@incidents.command("list")
@click.option("--all", "everything", is_flag=True, help="Resolved incidents too.")
@output_option
@click.pass_context
@friendly_errors
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
        {
            "sink": m.sink,
            "kind": m.event.get("kind"),
            "status": m.status,
            "attempts": m.attempts,
            "last_error": m.last_error,
            "next_attempt_at": _timestamp(m.next_attempt_at) if m.status == "pending" else None,
        }
        for m in deliveries
    ]
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
            i
            for i in store.incidents(open_only=True)
            if i.service == service and i.cause is Cause(cause)
        ]
        if open_one:
            raise UsageError(
                f"{open_one[0].id} is already open for {service} ({cause}); update that one"
            )
        incident = declare(
            store.allocate_id(connection), service, finding, now, actor=person, manual=True
        )
        event = Event(EventKind.DECLARED, incident, now, escalation_targets(incident.severity))
        recent = store.changes(since=now - LOOKBACK, until=now)
        [event] = with_changes([event], recent, {})  # this service's own changes
        store.save(
            incident, connection=connection, events=messages([event], ctx.obj["sinks"]), now=now
        )
    _deliver(ctx, incident.id, now)
    click.echo(f"{incident.id} declared: {severity} {service} ({cause})")


@incidents.command()
@prometheus_url_option
@config_option
@definitions_option
@policy_option
@click.option("--at", "at_text", metavar="TIME", help="Evaluate as of this RFC 3339 time.")
@click.pass_context
@friendly_errors
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
    store = _store(ctx)
    sinks: dict[str, Sink] = ctx.obj["sinks"]
    at = past_time(at_text, _now(), "--at").replace(second=0, microsecond=0)
    policy = policy_in_force(policy_path)
    if config_path is None and (
        ctx.get_parameter_source("prometheus_url") is not click.core.ParameterSource.COMMANDLINE
    ):
        config_path = ctx.obj["config_path"]  # `sloctl incidents --config FILE evaluate`
    reader = prometheus_reader(
        ctx, config_path, prometheus_url, env=os.environ, logger=ctx.obj["logger"]
    )
    planned = signal_plan(load_definitions(definitions), policy)
    result = evaluate_incidents(store, sinks, policy, planned, reader, at)
    for service, reason in result.skipped.items():
        click.echo(f"sloctl: warning: {service} skipped: {reason}", err=True)
    for event in result.events:
        click.echo(
            f"{event.incident.id} {event.kind.value}: {event.incident.service} "
            f"{event.incident.severity.value} {event.incident.state.value}"
        )
    if result.events:
        _announced_nowhere(ctx, "what changed is")
    courier = _courier(ctx)
    _flush(ctx, at)
    courier.refresh_alertmanager(store, at, deadline=courier.clock() + FLUSH_GRACE_SECONDS)


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
@friendly_errors
def postmortem(
    ctx: click.Context, incident_id: str, out: Path | None, prometheus_url: str, definitions: Path
) -> None:
    """Draft the runbook's 2.5 post-mortem for an incident."""
    incident = _require(_store(ctx), incident_id)
    now = _now()
    consumed = _consumed(incident, prometheus_url, definitions, now)
    text = render_postmortem(incident, consumed, now, _changes(ctx, incident, definitions, now))
    if out is None:
        click.echo(text, nl=False)
    else:
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write {out}: {exc.strerror}") from exc
        click.echo(f"post-mortem draft written to {out}")


def _changes(
    ctx: click.Context, incident: Incident, definitions: Path, now: datetime
) -> list[Change]:
    """The changes of the incident's services and their dependencies (the definitions'
    ``dependsOn``, when they can be read) from the hours before its impact to its end."""
    try:
        depends = dependencies(load_definitions(definitions))
    except SloctlError:
        depends = {}
    start = min(incident.detected_at, incident.impact_started_at or incident.detected_at)
    return _store(ctx).changes(
        services=services_to_look_at(incident, depends),
        since=start - LOOKBACK,
        until=incident.resolved_at or now,
    )


def _consumed(incident: Incident, url: str, definitions: Path, now: datetime) -> float | None:
    """Budget spent during the incident by the SLOs of its service and cause, at worst."""
    try:
        slos = [
            s
            for s in load_definitions(definitions)
            if (Cause.LATENCY if isinstance(s.indicator, LatencyIndicator) else Cause.ERRORS)
            in incident.causes_of(s.service)
        ]
        if not slos:
            return None
        start = min(incident.detected_at, incident.impact_started_at or incident.detected_at)
        spent = budget_spent(slos, PrometheusReader(url), start, incident.resolved_at or now)
    except SloctlError as exc:
        click.echo(f"sloctl: warning: error budget consumed unknown: {exc}", err=True)
        return None
    values = [v for v in spent.values() if v is not None]
    return max(values) if values else None


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
    step: str,
    output: str,
    explain_service: str | None = None,
    explain_at: datetime | None = None,
    maintenance: Path | None = None,
) -> None:
    """Run the backtest and print what it would have declared (or explain one instant)."""
    step_delta = timedelta(seconds=parse_duration(step))
    policy = policy_in_force(policy_path)
    slos = load_definitions(definitions)
    services = sorted({slo.service for slo in slos})
    windows = () if maintenance is None else load_maintenance(maintenance, services)
    if explain_service is not None or explain_at is not None:
        if explain_service is None or explain_at is None:
            raise UsageError("--explain SERVICE and --at TIME go together")
        found = run_explain(slos, reader, policy, start, explain_at, explain_service, step_delta)
        if output == "json":
            click.echo(json.dumps(explanation_json(found), indent=2))
        else:
            click.echo(explanation_text(found))
        return
    if end is None:
        raise UsageError("--to is required (unless --explain SERVICE --at TIME is given)")
    if end <= start:
        raise UsageError("--to must be after --from")
    replayed = run_backtest(slos, reader, policy, start, end, step_delta, windows)
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

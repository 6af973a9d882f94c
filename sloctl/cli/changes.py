"""``sloctl changes ...``: change events (runbook 2.2 "What changed recently?") recorded and
listed from the command line. CI pipelines may post them to the daemon instead
(:mod:`sloctl.daemon.changes_endpoint`); both land in the same store."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click

from sloctl.cli.options import DEFAULT_STORE, definitions_option, load_slos, past_time
from sloctl.cli.state import find
from sloctl.core.changes import CHANGE_KINDS, validate_change
from sloctl.errors import InvalidRequestError


@dataclass(frozen=True)
class ChangesSettings:
    """What the ``changes`` group hands its subcommands: where the store is."""

    store_path: Path


def timestamp(moment: datetime) -> str:
    from sloctl.report.render import timestamp as rfc3339

    return rfc3339(moment)


@click.group()
@click.option(
    "--store",
    "store_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="SLOCTL_STORE",
    default=DEFAULT_STORE,
    show_default=True,
    help="Incident store (SQLite; env SLOCTL_STORE), the daemon's.",
)
@click.pass_context
def changes(ctx: click.Context, store_path: Path) -> None:
    """Record and list changes (deployments, config, flags, dependencies) per service.

    An incident's declaration lists the changes of its service and of the services it
    depends on made in the hours before; its post-mortem draft has them on its timeline.
    """
    ctx.obj = ChangesSettings(store_path)


@changes.command("record")
@click.option("--service", required=True, help="The service changed (as in its definition).")
@click.option("--kind", required=True, type=click.Choice(CHANGE_KINDS), help="What changed.")
@click.option("--ref", required=True, help="What identifies it: a version, commit, flag name.")
@click.option("--by", "by", default="", help="Who or what made it (a person, a pipeline).")
@click.option("--at", "at_text", help="When it was made (RFC 3339; default now).")
@definitions_option
@click.pass_context
def record(
    ctx: click.Context,
    service: str,
    kind: str,
    ref: str,
    by: str,
    at_text: str | None,
    definitions: Path,
) -> None:
    """Record one change; prints what was recorded."""
    from sloctl.store.database import open_store

    now = datetime.now(UTC)
    at = past_time(at_text, now, "--at")
    known = sorted({slo.service for slo in load_slos(definitions)})
    fields: dict[str, object] = {"service": service, "kind": kind, "ref": ref, "at": at}
    if by:
        fields["by"] = by
    found = validate_change(fields, now=now, services=known)
    if isinstance(found, list):
        raise InvalidRequestError("; ".join(str(problem) for problem in found))
    store = open_store(find(ctx, ChangesSettings).store_path)
    try:
        store.record_change(found, recorded_at=now, source="cli")
    finally:
        store.close()
    click.echo(f"recorded: {found.line()}")


@changes.command("list")
@click.option("--service", "services", multiple=True, help="Only these services (repeatable).")
@click.option("--since", "since_text", help="Only changes made after this time (RFC 3339).")
@click.option("--output", type=click.Choice(("table", "json")), default="table", show_default=True)
@click.pass_context
def list_changes(
    ctx: click.Context, services: tuple[str, ...], since_text: str | None, output: str
) -> None:
    """Recorded changes, oldest first."""
    from sloctl.store.database import open_store

    since = None if since_text is None else past_time(since_text, datetime.now(UTC), "--since")
    store = open_store(find(ctx, ChangesSettings).store_path, read_only=True)
    try:
        found = store.changes(services=services or None, since=since)
    finally:
        store.close()
    if output == "json":
        click.echo(json.dumps([c.document() for c in found], indent=2))
        return
    if not found:
        click.echo("no changes recorded")
    for change in found:
        click.echo(
            f"{timestamp(change.at)}  {change.service:<12} {change.kind:<14} {change.ref}"
            + (f"  by {change.by}" if change.by else "")
        )

"""``sloctl run``: the daemon."""

from __future__ import annotations

import os
from pathlib import Path

import click

from sloctl.cli.state import cli_state


@click.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--check", is_flag=True, help="Validate the configuration (and what it names), then exit."
)
@click.pass_context
def run(ctx: click.Context, config_path: Path, check: bool) -> None:
    """The daemon: evaluate every interval, follow incidents, serve /metrics, /healthz, /readyz
    and the web UI (and the status page, when the configuration has one)."""
    from sloctl.daemon.loop import Daemon, loaded_from
    from sloctl.web.status_site import status_site
    from sloctl.web.ui import sre_ui

    env, logger = dict(os.environ), cli_state(ctx).logger
    daemon = Daemon(loaded_from(config_path, env, logger), env, logger)
    daemon.site = sre_ui(daemon)
    daemon.public_site = status_site(daemon)
    if check:
        daemon.check_store(create=False)
        click.echo(f"{config_path} is valid")
        return
    daemon.run()

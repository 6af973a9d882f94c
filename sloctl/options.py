"""Command-line options several commands share, declared once with their checks."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click

from sloctl.prometheus import redact

DEFAULT_DEFINITIONS = Path("slo-definitions")


def check_url(ctx: click.Context, param: click.Parameter, url: str) -> str:
    """An http(s) URL with a host and a valid port, checked before anything connects."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it validates it
    except ValueError as exc:
        raise click.BadParameter(f"{redact(url)!r} is not a usable URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{redact(url)!r} must look like http://host:9090")
    return url


prometheus_url_option = click.option(
    "--prometheus-url",
    envvar="SLOCTL_PROMETHEUS_URL",
    default="http://127.0.0.1:9090",
    show_default=True,
    callback=check_url,
    help="Prometheus-compatible API (env SLOCTL_PROMETHEUS_URL).",
)

definitions_option = click.option(
    "--definitions",
    "definitions",
    type=click.Path(path_type=Path),
    default=DEFAULT_DEFINITIONS,
    show_default=True,
    help="Directory (or one file) of SLO definitions.",
)

policy_option = click.option(
    "--policy",
    "policy_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Severity policy file (default: the shipped policy, the same as deploy/policy.yaml).",
)

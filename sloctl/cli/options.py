"""Command-line options several commands share, declared once with their checks.

Declaring them loads nothing but click: what a check or the reader needs is imported when it
runs (``sloctl --help`` reads these declarations).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from sloctl.cli.times import parse_time
from sloctl.core.durations import parse_duration
from sloctl.errors import InvalidRequestError
from sloctl.report.formats import OutputFormat

if TYPE_CHECKING:
    from sloctl.core.slo import Slo
    from sloctl.prometheus.client import PrometheusReader
    from sloctl.runtime.logs import Logger

DEFAULT_DEFINITIONS = Path("slo-definitions")
CLOCK_SKEW = timedelta(minutes=1)
"""How far in the future a time given on the command line may be: clocks disagree a little,
but budgets at a time that has not happened yet are made up."""


def check_url(ctx: click.Context, param: click.Parameter, url: str) -> str:
    """An http(s) URL with a host and a valid port, checked before anything connects."""
    from sloctl.prometheus.client import redact

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it validates it
    except ValueError as exc:
        raise click.BadParameter(f"{redact(url)!r} is not a usable URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{redact(url)!r} must look like http://host:9090")
    return url


def duration(ctx: click.Context, param: click.Parameter, text: str) -> timedelta:
    """A whole-second duration such as ``1m`` or ``1h30m``, parsed once, into a timedelta."""
    try:
        return timedelta(seconds=parse_duration(text))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


DEFAULT_STORE = Path("sloctl-incidents.db")
"""The incident store the ``incidents`` and ``changes`` commands use unless told otherwise."""

report_output_option = click.option(
    "--output",
    "output",
    type=click.Choice([f.value for f in OutputFormat]),
    default="table",
    show_default=True,
    help="How the error-budget table is written.",
)

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


def load_slos(definitions: Path) -> tuple[Slo, ...]:
    """The SLOs of ``definitions``, validated again only when the files (or sloctl) changed
    since the last validation: see :mod:`sloctl.loading.definition_cache`."""
    from sloctl.loading.definition_cache import cache_directory, load_validated

    return load_validated(definitions, cache_directory(os.environ))


policy_option = click.option(
    "--policy",
    "policy_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Severity policy file (default: the shipped policy, the same as deploy/policy.yaml).",
)

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Read Prometheus's URL, timeout, credentials, CA file and limits from this daemon "
    "configuration (the file `sloctl run --config` reads); instead of --prometheus-url.",
)


def prometheus_reader(
    ctx: click.Context,
    config_path: Path | None,
    url: str,
    *,
    env: Mapping[str, str],
    logger: Logger,
    timeout: float | None = None,
) -> PrometheusReader:
    """The reader a command asks for: from ``--config`` like the daemon's (a ``--timeout``
    given on the command line still wins), else from ``--prometheus-url``."""
    from sloctl.prometheus.client import PrometheusReader

    if config_path is None:
        if timeout is None:
            return PrometheusReader(url, logger=logger)
        return PrometheusReader(url, timeout=timeout, logger=logger)
    from sloctl.loading.config import load_config  # and so the notification code: only here

    if ctx.get_parameter_source("prometheus_url") is ParameterSource.COMMANDLINE:
        raise InvalidRequestError("give --config or --prometheus-url, not both")
    config = load_config(config_path)
    if ctx.get_parameter_source("timeout") is not ParameterSource.COMMANDLINE:
        timeout = float(config.timeout_seconds)
    return PrometheusReader(
        config.spec.prometheus.url,
        credentials=config.credentials(env),
        limits=config.limits,
        timeout=float(config.timeout_seconds) if timeout is None else timeout,
        logger=logger,
    )


def past_time(text: str | None, now: datetime, option: str) -> datetime:
    """The time ``text`` names (``now`` without one), refused beyond :data:`CLOCK_SKEW` in the
    future."""
    if text is None:
        return now
    try:
        moment = parse_time(text)
    except click.BadParameter as exc:
        exc.param_hint = option
        raise
    if moment > now + CLOCK_SKEW:
        raise click.BadParameter(
            f"{text!r} is in the future (it is now {now:%Y-%m-%dT%H:%M:%SZ}): there is no "
            "data yet to judge it by",
            param_hint=option,
        )
    return moment

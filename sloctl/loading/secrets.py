"""Secrets (tokens, passwords, webhook URLs, routing keys): read from a variable or a file.

One reader, :func:`read_secret`, serves both ways sloctl is told where a secret is: the daemon's
configuration names a variable or a file (:mod:`sloctl.loading.config`), and without one the
``SLOCTL_*`` variables, or ``<NAME>_FILE`` files, set up the notification sinks
(:func:`sinks_from_env`). No message here ever holds a secret: only variable and file names.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sloctl.errors import InvalidRequestError, SecretFileError
from sloctl.notify.alertmanager import AlertmanagerSink
from sloctl.notify.message import Sink
from sloctl.notify.pagerduty import PAGERDUTY_URL, PagerDutySink
from sloctl.notify.slack import SlackSink

SLACK = "SLOCTL_SLACK_WEBHOOK_URL"
PAGERDUTY = "SLOCTL_PAGERDUTY_ROUTING_KEY"
PAGERDUTY_EVENTS_URL = "SLOCTL_PAGERDUTY_EVENTS_URL"
ALERTMANAGER = "SLOCTL_ALERTMANAGER_URL"


def read_secret(env: Mapping[str, str], variable: str | None, file: Path | None) -> str | None:
    """The value of ``variable`` when it is set and not empty, else the stripped content of
    ``file`` (``""`` when it is empty); None when neither gives one.

    Raises :class:`SecretFileError` when the file cannot be read.
    """
    if variable is not None and (value := env.get(variable)):
        return value
    if file is None:
        return None
    try:
        return file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise SecretFileError(problem) from exc


def secret_from_env(env: Mapping[str, str], name: str) -> str | None:
    """``env[name]``, else the stripped content of the file named by ``env[name + "_FILE"]``.

    None when neither is set (or both are empty). A ``_FILE`` that cannot be read is a
    :class:`~sloctl.errors.InvalidRequestError` naming the variable and the file, never the secret.
    """
    path = env.get(f"{name}_FILE")
    try:
        return read_secret(env, name, Path(path) if path else None) or None
    except SecretFileError as exc:
        raise InvalidRequestError(f"{name}_FILE: cannot read {path}: {exc}") from exc


def sinks_from_env(env: Mapping[str, str]) -> dict[str, Sink]:
    """The sinks whose secrets are set, from variables or ``<NAME>_FILE`` files."""
    sinks: dict[str, Sink] = {}
    if (url := secret_from_env(env, SLACK)) is not None:
        sinks["slack"] = SlackSink(url)
    if (key := secret_from_env(env, PAGERDUTY)) is not None:
        sinks["pagerduty"] = PagerDutySink(key, env.get(PAGERDUTY_EVENTS_URL) or PAGERDUTY_URL)
    if (base := secret_from_env(env, ALERTMANAGER)) is not None:
        sinks["alertmanager"] = AlertmanagerSink(base)
    return sinks

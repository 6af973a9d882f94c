"""Secrets (tokens, passwords, webhook URLs, routing keys): read from a variable or a file.

One reader, :func:`read_secret`, serves both ways sloctl is told where a secret is: the daemon's
configuration names a variable or a file (:mod:`sloctl.loading.config`), and without one the
``SLOCTL_*`` variables, or ``<NAME>_FILE`` files, set up the notification sinks
(:func:`sloctl.daemon.notifications.sinks_from_env`). No message here ever holds a secret:
only variable and file names.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sloctl.errors import InvalidRequestError, SecretFileError


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

"""Secrets of the sinks (webhook URLs, routing keys): from a variable or a file it names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sloctl.errors import InvalidRequestError


def secret_from(env: Mapping[str, str], name: str) -> str | None:
    """``env[name]``, else the stripped content of the file named by ``env[name + "_FILE"]``.

    None when neither is set (or both are empty). A ``_FILE`` that cannot be read is a
    :class:`~sloctl.errors.InvalidRequestError` naming the variable and the file, never the secret.
    """
    value = env.get(name)
    if value:
        return value
    path = env.get(f"{name}_FILE")
    if not path:
        return None
    try:
        content = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise InvalidRequestError(f"{name}_FILE: cannot read {path}: {problem}") from exc
    return content or None

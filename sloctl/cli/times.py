"""Times given on the command line."""

from __future__ import annotations

from datetime import UTC, datetime

import click

EARLIEST = datetime(1971, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def parse_time(text: str) -> datetime:
    """An RFC 3339 time; a time without a zone is refused rather than guessed."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(
            f"{text!r} is not an RFC 3339 time such as 2026-11-27T10:00:00Z"
        ) from exc
    if moment.tzinfo is None:
        raise click.BadParameter(f"{text!r} has no time zone; add Z or an offset such as +01:00")
    if not EARLIEST <= moment <= LATEST:
        raise click.BadParameter(f"{text!r} is outside {EARLIEST:%Y} to {LATEST:%Y}")
    return moment.astimezone(UTC)

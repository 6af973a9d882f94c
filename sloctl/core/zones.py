"""Time zones by name, with :mod:`zoneinfo` imported only once one is needed.

Most evaluations never need one (rolling windows count in UTC); importing zoneinfo, with its
search of the system's time zone paths, costs a few milliseconds of every ``sloctl report``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


def time_zone(name: str) -> ZoneInfo:
    """The time zone ``name`` (``zoneinfo`` keeps one object per name)."""
    from zoneinfo import ZoneInfo  # noqa: PLC0415 - only when a zone is needed

    return ZoneInfo(name)

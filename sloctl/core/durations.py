"""Durations as Prometheus writes them (``30d``, ``1h30m``), budget amounts (``43.2m``), and
spans as people say them (``1 hour 12 minutes``)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

_UNIT_SECONDS: dict[str, int] = {
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
}
MAX_NUMBER_TEXT = 30
MAX_SECONDS = 3650 * 86400
"""Ten years: far beyond any SLO window, short enough for dates and timedeltas."""
_PART = re.compile(r"(\d+)(w|d|h|m|s)")
_WHOLE = re.compile(r"(?=\d)(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?")
"""Units from the largest down, each at most once, as Prometheus requires."""
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)(s|m|h|d)")


def parse_duration(text: str) -> int:
    """Parse a whole-second Prometheus duration such as ``30d`` or ``1h30m`` into seconds.

    Raises ValueError with a message fit for a user.
    """
    cleaned = text.strip()
    if not _WHOLE.fullmatch(cleaned):
        raise ValueError(
            f"{text!r} is not a duration; write whole numbers with units w, d, h, m or s, "
            "such as 30d or 1h30m"
        )
    seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(cleaned))
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{text!r} is longer than {MAX_SECONDS // 86400} days")
    return seconds


def format_duration(seconds: int) -> str:
    """Write seconds the way Prometheus reads them, using the largest units that fit exactly."""
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    parts = []
    rest = seconds
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if unit == "w" and rest % size:
            continue  # 10d reads better than 1w3d
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def spoken_duration(span: timedelta, units: int = 3) -> str:
    """``1 hour 12 minutes``, ``2 days 3 hours``, ``45 minutes``: whole minutes, rounded down,
    in at most ``units`` units, the largest first (days, hours, minutes)."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{count} {unit}{'' if count == 1 else 's'}"
        for count, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if count
    ]
    return " ".join(parts[:units]) or "less than a minute"


def format_elapsed(span: timedelta) -> str:
    """A span in whole seconds the way Prometheus writes it (``4m``, ``1h5m``), ``0s`` when it
    is shorter than a second (or negative)."""
    seconds = int(span.total_seconds())
    return format_duration(seconds) if seconds > 0 else "0s"


def parse_amount_minutes(text: str) -> Decimal:
    """Parse an amount of time with one unit (``43.2m``, ``3.6h``, ``2592s``) into exact minutes."""
    cleaned = text.strip()
    match = _AMOUNT.fullmatch(cleaned) if len(cleaned) <= MAX_NUMBER_TEXT else None
    if match is None:
        raise ValueError(
            f"{text[:MAX_NUMBER_TEXT]!r} is not an amount of time; write a number and one "
            "unit s, m, h or d, such as 43.2m or 3.6h"
        )
    try:
        number = Decimal(match.group(1))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"{text!r} is not a number") from exc
    minutes = number * _UNIT_SECONDS[match.group(2)] / 60
    if minutes <= 0:
        raise ValueError(f"{text!r} must be more than zero")
    return minutes


def amount_resolution_minutes(text: str) -> Decimal:
    """Half a unit of the last digit written in an amount: ``4.3m`` is precise to 0.05 min."""
    match = _AMOUNT.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an amount of time")
    number = match.group(1)
    decimals = len(number.split(".")[1]) if "." in number else 0
    half_unit = Decimal(5) * Decimal(10) ** -(decimals + 1)
    return half_unit * _UNIT_SECONDS[match.group(2)] / 60


def parse_seconds(text: str) -> Decimal:
    """Parse a latency threshold such as ``200ms``, ``2.5s`` or ``0.2`` into exact seconds."""
    cleaned = text.strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?(?:[eE][-+]?\d{1,2})?)(ms|s)?", cleaned)
    if match is None or len(cleaned) > MAX_NUMBER_TEXT:
        raise ValueError(f"{text[:MAX_NUMBER_TEXT]!r} is not a latency; write 200ms, 2.5s or 0.2")
    value = Decimal(match.group(1))
    if match.group(2) == "ms":
        value = value / 1000
    if value <= 0:
        raise ValueError(f"{text!r} must be more than zero")
    return value.normalize()

"""``sloctl policy show``: the thresholds in force per service, as a table or as JSON.

Every row is a condition of :mod:`sloctl.incidents.conditions` made concrete for one SLO: the same
values the daemon judges with and the generated alerts fire on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import timedelta
from decimal import Decimal
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sloctl.core.durations import format_duration, format_elapsed
from sloctl.core.slo import Slo, by_service
from sloctl.incidents.conditions import Bound, Measure, Row, bounds, percent, seconds_text
from sloctl.incidents.conditions import service_conditions as conditions_of
from sloctl.incidents.policy import Policy, Thresholds

HEADERS = ("SLO", "Condition", "Severity", "Measure", "Window", "Above", "For")


@dataclass(frozen=True)
class ServicePolicy:
    """One service's thresholds in force: which keys override the defaults, and its
    conditions for each of its SLOs."""

    service: str
    limits: Thresholds
    overrides: tuple[str, ...]
    bounds: tuple[Bound, ...]


def in_force(slos: Sequence[Slo], policy: Policy) -> list[ServicePolicy]:
    """Every service of ``slos``, with the policy's thresholds for it."""
    found = []
    for service, members in by_service(slos).items():
        limits = policy.for_service(service)
        overrides = tuple(
            f.name
            for f in fields(Thresholds)
            if getattr(limits, f.name) != getattr(policy.defaults, f.name)
        )
        specs = conditions_of(limits)
        found.append(
            ServicePolicy(
                service, limits, overrides, tuple(b for s in members for b in bounds(s, specs))
            )
        )
    return found


def _window(row: Row) -> str:
    text = format_duration(row.window_seconds)
    return f"{text}/{format_duration(row.short_seconds)}" if row.short_seconds else text


def _limit(bound: Bound, row: Row) -> str:
    if bound.on_p95:
        return seconds_text(row.limit)
    if bound.spec.measure in (Measure.BURN_RATE, Measure.BURN_PAIRS):
        return f"{percent(row.limit)} ({format(bound.factor(row), 'f')}x)"
    return percent(row.limit)


def _severity(bound: Bound) -> str:
    return bound.spec.severity.value if bound.spec.severity else "ticket"


def render_table(services: Sequence[ServicePolicy], out: TextIO, width: int = 110) -> None:
    """One table per service; ``width`` fits every column of the longest condition names."""
    console = Console(file=out, width=width, soft_wrap=False)
    for entry in services:
        overridden = ", ".join(entry.overrides) if entry.overrides else "none"
        table = Table(
            title=escape(f"{entry.service} (overrides of the defaults: {overridden})"),
            title_justify="left",
            box=box.SIMPLE,
        )
        for header in HEADERS:
            table.add_column(header, no_wrap=True)
        for bound in entry.bounds:
            for index, row in enumerate(bound.rows):
                first = index == 0
                cells = (
                    bound.slo.name if first else "",
                    bound.spec.condition.value if first else "",
                    _severity(bound) if first else "",
                    bound.spec.measure.value if first else "",
                    _window(row),
                    _limit(bound, row),
                    format_elapsed(bound.spec.duration) if first else "",
                )
                table.add_row(*(escape(c) for c in cells))
        console.print(table)
        limits = entry.limits
        console.print(
            f"verification (runbook 2.4): error ratio below {percent(limits.healthy_error_ratio)}"
            f" and p95 within the SLO over {format_elapsed(limits.signal_window)}, held for "
            f"{format_elapsed(limits.stable_for)}",
            markup=False,
        )
        console.print("")


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def as_json(entry: ServicePolicy) -> dict[str, Any]:
    limits = entry.limits
    return {
        "service": entry.service,
        "overrides": list(entry.overrides),
        "thresholds": {
            f.name: (
                format_elapsed(value)
                if isinstance(value := getattr(limits, f.name), timedelta)
                else _number(value)
            )
            for f in fields(Thresholds)
        },
        "conditions": [
            {
                "slo": bound.slo.name,
                "condition": bound.spec.condition.value,
                "severity": _severity(bound),
                "measure": bound.spec.measure.value,
                "for": format_elapsed(bound.spec.duration),
                "alert": bound.spec.alert,
                "summary": bound.summary(),
                "rows": [
                    {
                        "window": format_duration(row.window_seconds),
                        "short_window": (
                            format_duration(row.short_seconds) if row.short_seconds else None
                        ),
                        "above": _number(row.limit),
                    }
                    for row in bound.rows
                ],
            }
            for bound in entry.bounds
        ],
    }


def render_json(services: Sequence[ServicePolicy], out: TextIO) -> None:
    json.dump([as_json(entry) for entry in services], out, indent=2)
    out.write("\n")

"""The maintenance file: planned windows per service, validated like the definitions (every
problem at once, with file, line and location).

```yaml
windows:
  - service: api
    name: weekly-restart
    every: [sunday]            # weekdays
    from: "02:00"              # local time in `timezone`
    to: "03:00"                # at or before `from`: the next day
    timezone: Europe/Berlin    # default UTC
  - service: database
    name: migration
    start: 2026-11-02T10:00:00Z
    end: 2026-11-02T11:00:00Z
    correction: true           # excluded from the error budget too
```
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from sloctl.core.maintenance import WEEKDAYS, MaintenanceWindow, Weekly
from sloctl.core.slo import Slo
from sloctl.errors import MaintenanceFileError, Problem
from sloctl.loading.config import Config
from sloctl.loading.definitions import read_validated


def _clock(value: Any) -> time:
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 02:00 as a sexagesimal number (120)
        raise ValueError("quote the time: '02:00' (unquoted, YAML reads it as a number)")
    if not isinstance(value, str):
        raise ValueError("expected a local time such as '02:00'")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time such as '02:00'") from None


Clock = Annotated[time, BeforeValidator(_clock)]


class _WindowSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    service: str = Field(min_length=1)
    name: str = Field(min_length=1, max_length=100)
    start: datetime | None = None
    end: datetime | None = None
    every: list[str] | None = None
    starts: Clock | None = Field(None, alias="from")
    ends: Clock | None = Field(None, alias="to")
    timezone: str = "UTC"
    correction: bool = False

    @field_validator("start", "end")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the time zone (Z or +01:00)")
        return value

    @field_validator("every")
    @classmethod
    def _days(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if not value:
                raise ValueError("name at least one weekday")
            wrong = [d for d in value if d.lower() not in WEEKDAYS]
            if wrong:
                raise ValueError(f"{', '.join(wrong)}: expected weekdays ({', '.join(WEEKDAYS)})")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/Berlin)") from None
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> _WindowSpec:
        once = self.start is not None or self.end is not None
        weekly = self.every is not None or self.starts is not None or self.ends is not None
        if once == weekly:
            raise ValueError("give either start and end, or every with from and to")
        if once:
            if self.start is None or self.end is None:
                raise ValueError("give both start and end")
            if self.end <= self.start:
                raise ValueError("end must be after start")
        elif self.every is None or self.starts is None or self.ends is None:
            raise ValueError("a recurring window needs every, from and to")
        elif self.starts == self.ends:
            raise ValueError("from and to must differ")
        return self

    def window(self) -> MaintenanceWindow:
        if self.every is None or self.starts is None or self.ends is None:
            return MaintenanceWindow(
                self.service, self.name, self.start, self.end, None, self.correction
            )
        weekly = Weekly(
            frozenset(WEEKDAYS.index(d.lower()) for d in self.every),
            self.starts,
            self.ends,
            self.timezone,
        )
        return MaintenanceWindow(self.service, self.name, weekly=weekly, correction=self.correction)


class _FileSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    windows: list[_WindowSpec] = []


def load_maintenance(
    path: Path, services: list[str] | None = None
) -> tuple[MaintenanceWindow, ...]:
    """The windows in ``path``; every problem (and every unknown service, when ``services``
    are given) at once, as a :class:`~sloctl.errors.MaintenanceFileError`."""
    spec, document = read_validated(path, _FileSpec, MaintenanceFileError)
    problems = []
    names: dict[tuple[str, str], int] = {}
    for index, window in enumerate(spec.windows):
        where = ("windows", index)
        if services is not None and window.service not in services:
            problems.append(
                Problem(
                    str(path),
                    f"windows[{index}].service",
                    f"unknown service {window.service!r} (known: {', '.join(sorted(services))})",
                    document.line_of((*where, "service")),
                )
            )
        key = (window.service, window.name)
        if key in names:
            problems.append(
                Problem(
                    str(path),
                    f"windows[{index}].name",
                    f"{window.service} already has a window named {window.name!r} "
                    f"(windows[{names[key]}])",
                    document.line_of((*where, "name")),
                )
            )
        names.setdefault(key, index)
    if problems:
        raise MaintenanceFileError(problems)
    return tuple(window.window() for window in spec.windows)


def maintenance_in_force(config: Config, slos: Sequence[Slo]) -> tuple[MaintenanceWindow, ...]:
    """The windows of the configuration's ``maintenance`` file (none without one), checked
    against the services of ``slos``."""
    if config.spec.maintenance is None:
        return ()
    return load_maintenance(
        config.relative(config.spec.maintenance), sorted({slo.service for slo in slos})
    )

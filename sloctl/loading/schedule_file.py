"""The on-call schedule file: rotations with hand-off times in a time zone, and overrides.

```yaml
time_zone: Europe/Berlin            # every time below is a wall-clock time of this zone
rotations:
  - name: primary
    role: commander                 # commander (default), technical-lead,
                                    # communications-lead or scribe
    start: 2026-11-02T09:00         # the first hand-off, to the first person
    every: 7d                       # a hand-off every 7 days at 09:00 local time (whole days)
    people: ["@alice", "@bob", "@carol"]
    services: [api, auth]           # optional: only these services (default: all)
overrides:
  - who: "@dave"
    from: 2026-12-24T09:00
    to: 2026-12-27T09:00
    role: commander                 # optional, commander by default
```

Read like the definitions: safe YAML, unknown keys refused, and every problem reported at once
with the file, line and location. The result is a :class:`~sloctl.incidents.schedule.Schedule`;
:func:`sloctl.incidents.schedule.on_call` says who is on call at an instant.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from sloctl.core.durations import parse_duration
from sloctl.errors import InvalidRequestError, ScheduleError
from sloctl.incidents.roles import Role, handle
from sloctl.incidents.schedule import Override, Rotation, Schedule
from sloctl.loading.definitions import read_validated

DAY_SECONDS = 86400


def _zone(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a time zone name such as Europe/Berlin")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


def _local(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError("expected a local time such as 2026-11-02T09:00") from exc
    else:
        raise ValueError("expected a local time such as 2026-11-02T09:00")
    if moment.tzinfo is not None:
        raise ValueError("give a local time without an offset: time_zone says where it is")
    return moment


def _days(value: Any) -> int:
    if not isinstance(value, str):
        raise ValueError("expected a whole number of days such as 1d or 7d")
    seconds = parse_duration(value)
    if seconds < DAY_SECONDS or seconds % DAY_SECONDS:
        raise ValueError("hand-offs happen at a time of day: use whole days such as 1d or 7d")
    return seconds // DAY_SECONDS


def _handle(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a handle such as @alice")
    try:
        return handle(value)
    except InvalidRequestError as exc:
        raise ValueError(str(exc)) from exc


Zone = Annotated[str, BeforeValidator(_zone)]
Local = Annotated[datetime, BeforeValidator(_local)]
Days = Annotated[int, BeforeValidator(_days)]
Handle = Annotated[str, BeforeValidator(_handle)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RotationSpec(_Spec):
    name: str = Field(min_length=1)
    role: Role = Role.COMMANDER
    start: Local
    every: Days
    people: list[Handle] = Field(min_length=1)
    services: list[str] = []


class _OverrideSpec(_Spec):
    who: Handle
    start: Local = Field(alias="from")
    end: Local = Field(alias="to")
    role: Role = Role.COMMANDER
    services: list[str] = []

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self


class _ScheduleSpec(_Spec):
    time_zone: Zone
    rotations: list[_RotationSpec] = Field(min_length=1)
    overrides: list[_OverrideSpec] = []

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [r.name for r in self.rotations]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rotation names must be unique: {', '.join(twice)}")
        return self


def load_schedule(path: Path) -> Schedule:
    """Read and validate ``path``; raises ScheduleError listing every problem."""
    spec, _ = read_validated(path, _ScheduleSpec, ScheduleError)
    return Schedule(
        ZoneInfo(spec.time_zone),
        tuple(
            Rotation(r.name, r.role, r.start, r.every, tuple(r.people), tuple(r.services))
            for r in spec.rotations
        ),
        tuple(Override(o.role, o.who, o.start, o.end, tuple(o.services)) for o in spec.overrides),
    )

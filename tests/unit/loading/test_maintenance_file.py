"""The maintenance file: windows read, every problem reported with its file and line."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from sloctl.core.maintenance import MaintenanceWindow, Weekly
from sloctl.errors import DefinitionError
from sloctl.loading.maintenance_file import load_maintenance

GOOD = """\
windows:
  - service: api
    name: weekly-restart
    every: [sunday, Wednesday]
    from: "22:00"
    to: "02:00"
    timezone: Europe/Berlin
  - service: database
    name: migration
    start: 2026-11-02T10:00:00Z
    end: 2026-11-02T11:00:00+00:00
    correction: true
"""

BAD = """\
windows:
  - service: api
    name: weekly
    every: [sunday, funday]
    from: "2am"
    to: "03:00"
    timezone: Mars/Base
  - service: web
    name: x
    start: 2026-11-02T10:00:00Z
  - service: database
    name: migration
    start: 2026-11-02T10:00:00Z
    end: 2026-11-02T09:00:00Z
  - service: database
    name: twice
    start: 2026-11-02T10:00:00
    end: 2026-11-02T11:00:00Z
    colour: red
  - service: auth
    name: twice
    every: [monday]
    from: "01:00"
    to: "02:00"
  - service: auth
    name: twice
    start: 2026-11-02T10:00:00Z
    end: 2026-11-02T11:00:00Z
"""


def test_windows_are_read(tmp_path: Path) -> None:
    path = tmp_path / "maintenance.yaml"
    path.write_text(GOOD)
    assert load_maintenance(path, ["api", "database"]) == (
        MaintenanceWindow(
            "api",
            "weekly-restart",
            weekly=Weekly(frozenset({6, 2}), time(22), time(2), "Europe/Berlin"),
        ),
        MaintenanceWindow(
            "database",
            "migration",
            datetime(2026, 11, 2, 10, tzinfo=UTC),
            datetime(2026, 11, 2, 11, tzinfo=UTC),
            correction=True,
        ),
    )


def test_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "maintenance.yaml"
    path.write_text(BAD)
    with pytest.raises(DefinitionError) as caught:
        load_maintenance(path, ["api", "auth", "database"])
    assert [str(p).replace(str(path), "F") for p in caught.value.problems] == [
        "F:4: windows[0].every: funday: expected weekdays (monday, tuesday, wednesday, "
        "thursday, friday, saturday, sunday)",
        "F:5: windows[0].from: '2am' is not a time such as '02:00'",
        "F:7: windows[0].timezone: unknown time zone 'Mars/Base' (e.g. Europe/Berlin)",
        "F:8: windows[1]: give both start and end",
        "F:11: windows[2]: end must be after start",
        "F:17: windows[3].start: give the time zone (Z or +01:00)",
        "F:19: windows[3].colour: unknown key (check the spelling)",
    ]


REPEATED = """\
windows:
  - service: api
    name: weekly
    every: [monday]
    from: "01:00"
    to: "02:00"
  - service: auth
    name: twice
    every: [monday]
    from: "01:00"
    to: "02:00"
  - service: auth
    name: twice
    start: 2026-11-02T10:00:00Z
    end: 2026-11-02T11:00:00Z
"""


def test_unknown_services_and_repeated_names(tmp_path: Path) -> None:
    path = tmp_path / "maintenance.yaml"
    path.write_text(REPEATED)
    with pytest.raises(DefinitionError) as caught:
        load_maintenance(path, ["auth", "database"])
    assert [str(p).replace(str(path), "F") for p in caught.value.problems] == [
        "F:2: windows[0].service: unknown service 'api' (known: auth, database)",
        "F:13: windows[2].name: auth already has a window named 'twice' (windows[1])",
    ]

"""The on-call schedule file: a valid one read whole, every problem with its file and line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sloctl.errors import DefinitionError
from sloctl.incidents.roles import Role
from sloctl.incidents.schedule import on_call
from sloctl.loading.schedule_file import load_schedule

VALID = """\
time_zone: America/New_York
rotations:
  - name: primary
    start: 2026-11-02T09:00
    every: 7d
    people: ["@alice", bob]
  - name: comms
    role: communications-lead
    start: 2026-11-02T09:00:00
    every: 1d
    people: ["@lee"]
    services: [api]
overrides:
  - who: "@dave"
    from: 2026-11-03T12:00
    to: 2026-11-03T18:00
"""


def test_a_valid_schedule(tmp_path: Path) -> None:
    path = tmp_path / "oncall.yaml"
    path.write_text(VALID, encoding="utf-8")
    schedule = load_schedule(path)
    assert [r.people for r in schedule.rotations] == [("@alice", "@bob"), ("@lee",)]
    # New York is UTC-5 after 1 November: 09:00 local is 14:00 UTC.
    first = on_call(schedule, datetime(2026, 11, 2, 14, 0, tzinfo=UTC))
    assert first is not None
    assert first.who == "@alice"
    swap = on_call(schedule, datetime(2026, 11, 3, 17, 0, tzinfo=UTC))
    assert swap is not None
    assert swap.who == "@dave"
    lead = on_call(
        schedule,
        datetime(2026, 11, 3, 17, 0, tzinfo=UTC),
        role=Role.COMMUNICATIONS_LEAD,
        service="api",
    )
    assert lead is not None
    assert lead.who == "@lee"


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        pytest.param(
            "time_zone: Mars/Olympus\nrotations: []\n",
            ["1: time_zone: unknown time zone 'Mars/Olympus'", "2: rotations: List should"],
            id="zone-and-empty",
        ),
        pytest.param(
            VALID.replace("every: 7d", "every: 12h").replace('"@alice"', '"al ice"'),
            [
                "5: rotations[0].every: hand-offs happen at a time of day",
                "6: rotations[0].people[0]",
            ],
            id="period-and-handle",
        ),
        pytest.param(
            VALID.replace("start: 2026-11-02T09:00\n", "start: 2026-11-02T09:00+01:00\n", 1),
            ["4: rotations[0].start: give a local time without an offset"],
            id="offset",
        ),
        pytest.param(
            VALID.replace("to: 2026-11-03T18:00", "to: 2026-11-03T11:00"),
            ["14: overrides[0]: 'to' must be after 'from'"],
            id="override-backwards",
        ),
        pytest.param(
            VALID.replace("name: comms", "name: primary"),
            ["1: rotation names must be unique: primary"],
            id="names-twice",
        ),
        pytest.param(
            VALID + "colour: red\n",
            ["17: colour: unknown key"],
            id="unknown-key",
        ),
        pytest.param("time_zone: [\n", ["invalid YAML"], id="not-yaml"),
    ],
)
def test_every_problem_with_its_line(tmp_path: Path, text: str, problems: list[str]) -> None:
    path = tmp_path / "oncall.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_schedule(path)
    rendered = caught.value.render()
    assert rendered.startswith(f"{len(caught.value.problems)} problem")
    assert "in the on-call schedule" in rendered.splitlines()[0]
    for problem in problems:
        assert f"{path}:{problem}" in rendered or (
            ":" not in problem.split()[0] and problem in rendered
        ), rendered


def test_a_missing_file_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="1 problem in the on-call schedule"):
        load_schedule(tmp_path / "absent.yaml")

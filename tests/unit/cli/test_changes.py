"""``sloctl changes record`` and ``list`` on a real store."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sloctl.cli.main import main

DEFINITIONS = str(Path(__file__).parents[3] / "slo-definitions")


def test_record_then_list(tmp_path: Path) -> None:
    store = str(tmp_path / "store.db")
    runner = CliRunner()
    recorded = runner.invoke(
        main,
        [
            *("changes", "--store", store, "record", "--service", "api", "--kind", "deploy"),
            *("--ref", "v1.4.2", "--by", "ci", "--at", "2026-11-02T09:58:00Z"),
            *("--definitions", DEFINITIONS),
        ],
    )
    assert recorded.exit_code == 0, recorded.output
    assert recorded.output == "recorded: 2026-11-02 09:58 UTC deploy v1.4.2 of api by ci\n"
    listed = runner.invoke(main, ["changes", "--store", store, "list", "--output", "json"])
    assert json.loads(listed.output) == [
        {
            "service": "api",
            "kind": "deploy",
            "ref": "v1.4.2",
            "by": "ci",
            "at": "2026-11-02T09:58:00Z",
        }
    ]
    table = runner.invoke(main, ["changes", "--store", store, "list", "--service", "auth"])
    assert table.output == "no changes recorded\n"


def test_an_unknown_service_is_refused_and_nothing_is_stored(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    result = CliRunner().invoke(
        main,
        [
            *("changes", "--store", str(store), "record", "--service", "web", "--kind", "deploy"),
            *("--ref", "v1", "--definitions", DEFINITIONS),
        ],
    )
    assert result.exit_code == 2
    assert "unknown service 'web'" in result.output
    assert not store.exists()

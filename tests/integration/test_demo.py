"""`sloctl demo`, the README's first command after setup, end to end with real binaries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_demo_prints_the_four_runbook_budgets(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sloctl",
            "demo",
            "--workdir",
            str(tmp_path / "demo"),
            "--definitions",
            str(ROOT / "slo-definitions"),
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report, _, trailer = done.stdout.partition("\nPrometheus with the demo history:")
    rows = json.loads(report)
    budgets = {r["service"]: r["budget_minutes"] for r in rows if r["slo"] == "availability"}
    assert budgets == {"api": 43.2, "auth": 21.6, "ai-worker": 216.0, "database": 4.32}
    assert all(r["status"] != "no data" for r in rows)
    statuses = {(r["service"], r["slo"]): r["status"] for r in rows}
    assert statuses[("ai-worker", "availability")] == "at risk"  # errors in the last hour
    assert "queries answered this report" in trailer
    assert not (tmp_path / "demo" / "history.om").exists()  # the big text file is cleaned up

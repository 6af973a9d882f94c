"""Time zones by name (sloctl/core/zones.py)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sloctl.core.zones import time_zone


def test_a_zone_by_name_is_the_same_object_each_time() -> None:
    berlin = time_zone("Europe/Berlin")
    assert berlin is time_zone("Europe/Berlin")
    assert datetime(2026, 7, 1, tzinfo=UTC).astimezone(berlin).utcoffset() == timedelta(hours=2)


def test_judging_rolling_windows_needs_no_time_zone_module() -> None:
    probe = (
        "import sys\nimport sloctl.core.window, sloctl.core.maintenance\n"
        "print('zoneinfo' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"

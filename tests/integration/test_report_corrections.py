"""Budget corrections on a real Prometheus: a window marked ``correction`` over the api
outage takes its events out of the report exactly (the generator's truth with the window
removed); a window without the mark changes nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sloctl.core.budget import Status
from sloctl.core.maintenance import MaintenanceWindow
from sloctl.loading.definitions import load_definitions
from sloctl.prometheus.client import PrometheusReader
from sloctl.reading.evaluation import Evaluation, evaluate
from tests.integration.conftest import Served
from tests.integration.definitions import write_definitions
from tests.integration.fixture import API_OUTAGE, END, truth_without
from tests.integration.test_report_truth import TOLERANCE, relative_error

pytestmark = pytest.mark.integration
START = END - timedelta(days=2)
SPAN = (API_OUTAGE[0] - timedelta(minutes=5), API_OUTAGE[1] + timedelta(minutes=5))


def run(served: Served, tmp_path: Path, correction: bool) -> Evaluation:
    window = MaintenanceWindow("api", "outage-fix", *SPAN, correction=correction)
    reader = PrometheusReader(served.url, timeout=60)
    slos = load_definitions(write_definitions(tmp_path))
    return evaluate(slos, reader, END, corrections=[window])


def test_a_correction_equals_the_truth_without_its_window(served: Served, tmp_path: Path) -> None:
    results = {r.slo.key: r for r in run(served, tmp_path, True).results}
    api = results["api/availability"]
    truth = truth_without(lambda a, b: served.history.availability("api", a, b), START, END, [SPAN])
    assert api.counts is not None
    assert relative_error(api.counts.total, truth.total) <= TOLERANCE, (api.counts, truth)
    assert relative_error(api.counts.bad, truth.bad) <= TOLERANCE, (api.counts, truth)
    assert api.budget.status is not Status.EXHAUSTED  # the outage no longer counts
    assert api.note == "corrected: 30 min excluded (outage-fix)"
    auth = results["auth/availability"]
    assert auth.note == ""
    whole = served.history.availability("auth", START, END)
    assert auth.counts is not None
    assert relative_error(auth.counts.total, whole.total) <= TOLERANCE


def test_a_window_that_is_no_correction_leaves_the_budget_alone(
    served: Served, tmp_path: Path
) -> None:
    api = {r.slo.key: r for r in run(served, tmp_path, False).results}["api/availability"]
    whole = served.history.availability("api", START, END)
    assert api.counts is not None
    assert relative_error(api.counts.bad, whole.bad) <= TOLERANCE
    assert api.budget.status is Status.EXHAUSTED
    assert api.note == ""

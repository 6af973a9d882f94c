"""A fixture where today's raw-window queries are too large: many series at a 15 s scrape.

Three and a half days of the integration scenario's trouble, every counter written by three
pods (a few hundred series in all), served by a Prometheus whose ``--query.max-samples`` is
far below one series' samples over the SLOs' three-day window.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sloctl.demo.history import Scenario
from tests.integration.fixture import END, scenario

STEP = 15
PODS = 3
START = END - timedelta(days=3, hours=12)
WINDOW = "rolling: 3d"
MAX_SAMPLES = 10_000
"""Prometheus's limit: one series holds 17,281 samples over the window, 241 over an hour."""


def wide_scenario() -> Scenario:
    return dataclasses.replace(scenario(), start=START, step=STEP, pods=PODS)

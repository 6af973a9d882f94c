"""SLO definitions for the integration scenario, written as a user would write them."""

from __future__ import annotations

from pathlib import Path

THRESHOLDS = {"api": "0.2", "auth": "0.2", "ai-worker": "2.5", "database": "0.2"}
TARGETS = {"api": "99.9%", "auth": "99.95%", "ai-worker": "99.5%", "database": "99.99%"}
DEPENDS = {"api": "[database]", "auth": "[database]", "ai-worker": "[database]", "database": "[]"}


def service_yaml(service: str, window: str = "rolling: 2d", depends: bool = False) -> str:
    selector = f'{{service="{service}"}}'
    bad = f'{{service="{service}",code=~"5.."}}'
    depends_on = f"dependsOn: {DEPENDS[service]}\n" if depends else ""
    return f"""\
service: {service}
{depends_on}slos:
  - name: availability
    indicator:
      ratio:
        total: http_requests_total{selector}
        bad: http_requests_total{bad}
    objective: {{target: "{TARGETS[service]}"}}
    window: {{{window}}}
  - name: latency
    indicator:
      latency:
        histogram: http_request_duration_seconds{selector}
        threshold: {THRESHOLDS[service]}s
    objective: {{target: 95%}}
    window: {{{window}}}
"""


TIMESLICES_YAML = """\
service: api-slices
slos:
  - name: availability
    indicator:
      ratio:
        total: http_requests_total{service="api"}
        bad: http_requests_total{service="api",code=~"5.."}
    objective: {target: 99%}
    window: {rolling: 2d}
    budgetingMethod: Timeslices
    timeSliceTarget: 99%
    timeSliceWindow: 1m
"""

UNKNOWN_YAML = """\
service: billing
slos:
  - name: availability
    indicator:
      ratio:
        total: http_requests_total{service="billing"}
        bad: http_requests_total{service="billing",code=~"5.."}
    objective: {target: 99.9%}
"""


def write_definitions(directory: Path, window: str = "rolling: 2d", depends: bool = False) -> Path:
    """The four services' definitions; with ``depends``, api, auth and ai-worker depend on the
    database, as the shipped definitions say."""
    directory.mkdir(parents=True, exist_ok=True)
    for service in THRESHOLDS:
        (directory / f"{service}.yaml").write_text(service_yaml(service, window, depends))
    return directory

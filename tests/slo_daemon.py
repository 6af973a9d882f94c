"""A daemon for the SLO pages' tests: real definition files (the shipped ones, and one whose
service name and description are hostile), a real configuration, and a snapshot of real
:class:`~sloctl.reading.evaluation.SloResult` values judged from chosen counts."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

from sloctl.core.slo import Slo
from sloctl.core.window import span_for
from sloctl.daemon.exporter import Snapshot
from sloctl.daemon.loop import Daemon, loaded_from
from sloctl.promql.plan import BAD, GOOD, TOTAL, SloCounts
from sloctl.reading.evaluation import BURN_SECONDS, judge
from sloctl.runtime.logs import make_logger
from tests.paths import ROOT

AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
FLAG = "<img src=x onerror=window.pwned=1><script>window.pwned=2</script>"
"""Would set ``window.pwned`` if it ever ran."""
HOSTILE = f"""service: '{SCRIPT}'
description: '{IMAGE}'
slos:
  - name: availability
    description: '{IMAGE} {SCRIPT} {FLAG}'
    indicator:
      ratio:
        total: http_requests_total{{service="evil"}}
        bad: http_requests_total{{service="evil",code=~"5.."}}
    objective: {{target: 99%}}
"""


@dataclass
class SloSite:
    daemon: Daemon
    log: StringIO
    root: Path

    def slo(self, key: str) -> Slo:
        return next(s for s in self.daemon.loaded.slos if s.key == key)


def make_daemon(
    tmp_path: Path, prometheus: str = "http://127.0.0.1:9", interval: str = "30s"
) -> SloSite:
    definitions = tmp_path / "definitions"
    shutil.copytree(ROOT / "slo-definitions", definitions)
    (definitions / "README.md").unlink(missing_ok=True)
    (definitions / "evil.yaml").write_text(HOSTILE, encoding="utf-8")
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        f"prometheus: {{url: '{prometheus}', timeout: 2s}}\n"
        f"interval: {interval}\n"
        "definitions: definitions\n"
        f"store: {tmp_path / 'incidents.db'}\n"
        "listen: 127.0.0.1:0\n",
        encoding="utf-8",
    )
    log = StringIO()
    logger = make_logger("info", stream=log)
    return SloSite(Daemon(loaded_from(config, {}, logger), {}, logger), log, tmp_path)


def judged(
    slos: tuple[Slo, ...], bad_shares: Mapping[str, float | None], at: datetime = AT
) -> Snapshot:
    """A snapshot whose SLOs saw 1,000,000 events over their window and 10,000 in each burn
    window, ``bad_shares[key]`` of them bad (None: no traffic at all)."""
    spans = {slo.key: span_for(slo, at) for slo in slos}
    readings: SloCounts = {}
    for slo in slos:
        share = bad_shares.get(slo.key, 0.0)
        if share is None:
            continue
        windows = [(spans[slo.key].measured_seconds, 1_000_000.0)] + [
            (seconds, 10_000.0) for _, seconds in BURN_SECONDS
        ]
        for seconds, total in windows:
            reading = {TOTAL: total}
            if slo.indicator.bad is not None:
                reading[BAD] = total * share
            else:
                reading[GOOD] = total * (1 - share)
            readings[(slo.key, seconds)] = reading
    return Snapshot(
        results=judge(list(slos), spans, readings),
        slos=slos,
        last_success=at,
        maintenance={slo.service: False for slo in slos},
    )

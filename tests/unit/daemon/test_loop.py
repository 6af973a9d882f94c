"""The daemon's configuration: loaded whole at construction, swapped whole on reload, and an
invalid reload keeps what runs and logs every problem with its file and line."""

from __future__ import annotations

import dataclasses
import gc
import json
import shutil
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

import pytest

from sloctl.daemon.loop import GC_YOUNG_THRESHOLD, Daemon, loaded_from
from sloctl.errors import DefinitionError, ScheduleError
from sloctl.incidents.signals import signal_plan
from sloctl.runtime.logs import make_logger
from tests.fake_prometheus import fake_prometheus
from tests.paths import ROOT


def _setup(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "slo-definitions", tmp_path / "definitions")
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        "prometheus: {url: 'http://127.0.0.1:9'}\n"
        "definitions: definitions\n"
        f"store: {tmp_path / 'incidents.db'}\n"
        "listen: 127.0.0.1:0\n"
    )
    return config


def _events(stream: StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_bad_reload_keeps_the_old_configuration_and_logs_every_problem(
    tmp_path: Path,
) -> None:
    config = _setup(tmp_path)
    stream = StringIO()
    logger = make_logger("info", stream=stream)
    daemon = Daemon(loaded_from(config, {}, logger), {}, logger)
    before = daemon.loaded
    assert {slo.service for slo in before.slos} == {"api", "auth", "database", "ai-worker"}
    api = tmp_path / "definitions" / "api.yaml"
    auth = tmp_path / "definitions" / "auth.yaml"
    good_auth = auth.read_text()
    api.write_text(api.read_text().replace("target: 99.9%", "target: 150%"))
    auth.write_text(good_auth.replace("rolling: 30d", "rolling: often"))

    daemon.reload()
    assert daemon.loaded is before
    assert not daemon.snapshot.reload_successful
    [refused] = [e for e in _events(stream) if e["event"] == "config_reload_failed"]
    assert refused["error"] == "3 problems in SLO definitions"
    assert sorted({p.split(":")[0] for p in refused["problems"]}) == [str(api), str(auth)]
    assert all(p.split(":")[1].isdigit() for p in refused["problems"])  # file:line

    api.unlink()  # a valid configuration again, with one service fewer
    auth.write_text(good_auth)
    daemon.reload()
    after = daemon.loaded
    assert daemon.snapshot.reload_successful
    assert after is not before
    assert {slo.service for slo in after.slos} == {"auth", "database", "ai-worker"}
    assert after.plan == signal_plan(after.slos, after.policy)  # one value, all of a piece
    with pytest.raises(dataclasses.FrozenInstanceError):
        after.slos = before.slos


def test_an_invalid_first_configuration_is_logged_and_raised(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    config.write_text("interval: soon\nunknown: 1\n")
    stream = StringIO()
    with pytest.raises(DefinitionError) as caught:
        loaded_from(config, {}, make_logger("info", stream=stream))
    [refused] = [e for e in _events(stream) if e["event"] == "config_reload_failed"]
    assert refused["problems"] == [str(problem) for problem in caught.value.problems]
    assert all(p.startswith(f"{config}:") for p in refused["problems"])


def test_a_broken_schedule_on_reload_keeps_the_one_in_force(tmp_path: Path) -> None:
    schedule = tmp_path / "oncall.yaml"
    schedule.write_text((ROOT / "deploy" / "oncall.yaml").read_text(), encoding="utf-8")
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        f"definitions: {ROOT / 'slo-definitions'}\nstore: {tmp_path / 'store.db'}\n"
        "schedule: oncall.yaml\n",
        encoding="utf-8",
    )
    stream = StringIO()
    logger = make_logger("info", stream=stream)
    daemon = Daemon(loaded_from(config, {}, logger), {}, logger)
    kept = daemon.loaded.schedule
    assert kept is not None
    schedule.write_text("time_zone: Nowhere/Else\nrotations: []\n", encoding="utf-8")
    daemon.reload()
    assert daemon.loaded.schedule is kept
    assert not daemon.snapshot.reload_successful
    [failed] = [e for e in _events(stream) if e["event"] == "config_reload_failed"]
    assert f"{schedule}:1: time_zone: unknown time zone 'Nowhere/Else'" in failed["problems"]


def test_a_broken_schedule_at_start_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "oncall.yaml").write_text("rotations: 3\n", encoding="utf-8")
    config = tmp_path / "sloctl.yaml"
    config.write_text(
        f"definitions: {ROOT / 'slo-definitions'}\nschedule: oncall.yaml\n", encoding="utf-8"
    )
    with pytest.raises(ScheduleError, match="in the on-call schedule"):
        loaded_from(config, {}, make_logger(stream=StringIO()))


def test_each_configuration_is_frozen_after_its_first_cycle_and_unfrozen_before_a_reload(
    tmp_path: Path,
) -> None:
    """The collector skips what lives from cycle to cycle, once per configuration: a reload
    hands the old configuration's objects back to it, so what is frozen never piles up."""
    config = _setup(tmp_path)  # Prometheus is unreachable there: every cycle ends stale
    logger = make_logger("info", stream=StringIO())
    daemon = Daemon(loaded_from(config, {}, logger), {}, logger)
    assert gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    try:
        daemon.freeze_long_lived()
        assert not daemon.frozen  # no cycle has completed with this configuration yet
        assert gc.get_freeze_count() == 0
        frozen: list[int] = []
        for _ in range(3):
            daemon.cycle(datetime.now(UTC).replace(microsecond=0))
            daemon.freeze_long_lived()
            assert daemon.frozen
            frozen.append(gc.get_freeze_count())
            daemon.freeze_long_lived()  # once per configuration
            assert gc.get_freeze_count() == frozen[-1]
            before = daemon.loaded
            daemon.reload()
            assert daemon.loaded is not before
            assert not daemon.frozen
            assert gc.get_freeze_count() == 0  # unfrozen before the swap
            daemon.freeze_long_lived()  # the snapshot is still the old configuration's
            assert gc.get_freeze_count() == 0
        assert frozen[0] > 0
        assert max(frozen) < frozen[0] * 1.05  # each reload freezes about as much, not more
        assert gc.get_threshold()[0] >= GC_YOUNG_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_every_cycle_reads_through_the_same_kept_alive_connection(tmp_path: Path) -> None:
    """The daemon's transport outlives its cycles: Prometheus sees one connection, not one
    more every interval."""
    with fake_prometheus(keep_alive=True) as prometheus:
        config = _setup(tmp_path)
        config.write_text(config.read_text().replace("http://127.0.0.1:9", prometheus.url))
        logger = make_logger("warning", stream=StringIO())
        daemon = Daemon(loaded_from(config, {}, logger), {}, logger)
        for _ in range(3):
            daemon.cycle(datetime.now(UTC).replace(microsecond=0))
        assert len(prometheus.received) >= 3 * 5
        assert {query.peer for query in prometheus.received} == {prometheus.received[0].peer}
        daemon.transport.close()

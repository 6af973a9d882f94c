"""The state the root group hands its commands, and its logger made only when needed."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from sloctl.cli.state import CliState, DeferredLogger, cli_state


def test_events_below_the_level_write_nothing_and_load_no_structlog() -> None:
    probe = (
        "import sys\n"
        "from sloctl.cli.state import DeferredLogger\n"
        "logger = DeferredLogger('warning')\n"
        "logger.info('report_evaluated', slos=8)\n"
        "logger.debug('detail')\n"
        "print('structlog' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout == "False\n"
    assert done.stderr == ""


def test_events_at_the_level_are_the_structured_logger_s(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logger = DeferredLogger("info")
    logger.debug("hidden")
    logger.info("report_evaluated", slos=8, token="s3cret")
    logger.error("failed", reason="timeout")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["event"], line["level"]) for line in lines] == [
        ("report_evaluated", "info"),
        ("failed", "error"),
    ]
    assert lines[0]["slos"] == 8
    assert lines[0]["token"] == "[redacted]"


def test_a_command_outside_the_root_group_is_a_programming_error() -> None:
    ctx = click.Context(click.Command("alone"))
    with pytest.raises(RuntimeError, match="runs without a CliState"):
        cli_state(ctx)
    ctx.obj = CliState("info")
    assert cli_state(ctx).logger.level == "info"
    assert cli_state(ctx).logger is cli_state(ctx).logger

"""The command line as a user meets it: exit codes and one clear message, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sloctl.cli.main import COMMANDS, main
from sloctl.cli.options import past_time
from sloctl.cli.times import parse_time
from sloctl.demo.local_prometheus import free_port
from tests.paths import ROOT

SHIPPED = ROOT / "slo-definitions"


def sloctl(*args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point in a child process, so exit codes and stderr are the user's."""
    return subprocess.run(
        [sys.executable, "-m", "sloctl", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_validate_accepts_the_shipped_definitions() -> None:
    result = CliRunner().invoke(main, ["validate", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    assert "8 SLOs for 4 services are valid" in result.output


def test_validate_lists_every_problem_in_every_file(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(
        "service: api\n"
        "slos:\n"
        "  - name: availability\n"
        "    indicator:\n"
        "      ratio: {total: 'http_requests_total{service=\"api\"', bad: 'x'}\n"
        "    objective: {target: 99.9}\n"
        "    colour: blue\n"
    )
    (tmp_path / "two.yaml").write_text("service: auth\nslos: []\n")
    (tmp_path / "three.yaml").write_text("service: [unclosed\n")
    done = sloctl("validate", str(tmp_path))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "sloctl: 5 problems in SLO definitions"
    text = done.stderr
    assert f"{tmp_path / 'one.yaml'}:5: slos[0].indicator.ratio.total:" in text
    assert "missing closing }" in text
    assert f"{tmp_path / 'one.yaml'}:6: slos[0].objective.target:" in text
    assert "99.9 is above 1" in text
    assert f"{tmp_path / 'one.yaml'}:7: slos[0].colour: unknown key" in text
    assert f"{tmp_path / 'two.yaml'}:2: slos:" in text
    assert f"{tmp_path / 'three.yaml'}:2: invalid YAML" in text


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(
            "service: !!python/object/apply:os.system ['true']\n",
            "unsupported YAML",
            id="python-tag",
        ),
        pytest.param(
            "a: &a ['x','x','x','x','x','x','x','x','x']\n"
            + "".join(
                f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n"
                for i in range(8)
            ),
            "expands to more than",
            id="alias-bomb",
        ),
        pytest.param("service: x\n" + "#" * (1024 * 1024) + "\n", "larger than", id="huge"),
    ],
)
def test_hostile_yaml_is_refused_clearly(tmp_path: Path, content: str, reason: str) -> None:
    (tmp_path / "evil.yaml").write_text(content)
    done = sloctl("validate", str(tmp_path))
    assert done.returncode == 2
    assert reason in done.stderr
    assert "Traceback" not in done.stderr


def test_report_with_invalid_definitions_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("service: api\n")
    done = sloctl("report", "--definitions", str(tmp_path))
    assert done.returncode == 2
    assert "slos: Field required" in done.stderr
    assert "Traceback" not in done.stderr


def test_report_with_unreachable_prometheus_is_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = sloctl("report", "--definitions", str(SHIPPED), "--prometheus-url", url)
    assert done.returncode == 3
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"sloctl: Prometheus at {url} is unavailable")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--at", "yesterday"], "not an RFC 3339 time", id="bad-time"),
        pytest.param(["--at", "2026-11-02T00:00:00"], "has no time zone", id="naive-time"),
        pytest.param(["--month", "2026-13"], "expected YYYY-MM", id="bad-month"),
        pytest.param(
            ["--month", "2026-10", "--window", "rolling"],
            "cannot be --window rolling",
            id="month-and-rolling",
        ),
        pytest.param(["--output", "yaml"], "Invalid value for '--output'", id="bad-output"),
    ],
)
def test_report_option_mistakes(args: list[str], message: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = sloctl("report", "--definitions", str(SHIPPED), "--prometheus-url", url, *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-11-02T00:00:00Z", "2026-11-02T00:00:00+00:00"),
        ("2026-11-02T01:30:00+01:00", "2026-11-02T00:30:00+00:00"),
        ("2026-11-02T00:00:00.250z", "2026-11-02T00:00:00.250000+00:00"),
    ],
)
def test_parse_time(text: str, iso: str) -> None:
    assert parse_time(text).isoformat() == iso


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--timeout", "0"], "above 0", id="zero-timeout"),
        pytest.param(["--timeout", "nan"], "above 0", id="nan-timeout"),
        pytest.param(["--month", "9999-12"], "year must be from 1971", id="far-month"),
        pytest.param(["--at", "0001-01-01T00:00:00Z"], "outside 1971 to 9000", id="ancient"),
        pytest.param(["--prometheus-url", "http://h:99999"], "Port out of range", id="bad-port"),
        pytest.param(["--prometheus-url", "ftp://h"], "must look like http", id="not-http"),
        pytest.param(
            ["--prometheus-url", "http://u:se/cret@h:1:2"], "not a usable URL", id="secret-url"
        ),
    ],
)
def test_report_refuses_unusable_values_without_traceback(args: list[str], message: str) -> None:
    done = sloctl("report", "--definitions", str(SHIPPED), *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert "se/cret" not in done.stderr


def test_a_future_time_is_refused_beyond_the_clock_skew_allowance() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    later = datetime.now(UTC) + timedelta(hours=1)
    done = sloctl(
        "report",
        "--definitions",
        str(SHIPPED),
        "--prometheus-url",
        url,
        "--at",
        later.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    assert done.returncode == 2
    assert "Invalid value for --at" in done.stderr
    assert "is in the future" in done.stderr
    assert "Traceback" not in done.stderr
    backtest = sloctl(
        "backtest",
        "--definitions",
        str(SHIPPED),
        "--prometheus-url",
        url,
        "--from",
        "2026-11-01T00:00:00Z",
        "--to",
        later.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    assert backtest.returncode == 2
    assert "Invalid value for --to" in backtest.stderr


def test_past_time_allows_a_little_clock_skew() -> None:
    now = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    assert past_time(None, now, "--at") == now
    assert past_time("2026-11-02T12:00:59Z", now, "--at") == now + timedelta(seconds=59)
    with pytest.raises(click.BadParameter, match="in the future"):
        past_time("2026-11-02T12:01:01Z", now, "--at")


HEAVY = (
    "grafana_foundation_sdk",
    "prometheus_client",
    "pydantic",
    "requests",
    "rich",
    "sqlite3",
    "structlog",
    "urllib3",
    "yaml",
    "sloctl.daemon",
    "sloctl.demo",
    "sloctl.generate",
    "sloctl.loading",
    "sloctl.notify",
    "sloctl.prometheus",
    "sloctl.reading",
    "sloctl.store",
)
"""What no command line that only shows help may load: what made `sloctl --help` take 0.4 s."""


def loaded_after(code: str, heavy: tuple[str, ...] = HEAVY) -> set[str]:
    """The modules of ``heavy`` (or inside them) loaded by ``code`` in a fresh interpreter."""
    quiet = "".join(f"\n    {line}" for line in code.splitlines())
    probe = (
        "import contextlib, io, sys\n"
        f"with contextlib.redirect_stdout(io.StringIO()):{quiet}\n"
        f"heavy = {heavy!r}\n"
        "print('\\n'.join(sorted({h for h in heavy for m in sys.modules "
        "if m == h or m.startswith(h + '.')})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(done.stdout.split())


def test_importing_the_command_line_loads_no_command_dependencies() -> None:
    assert loaded_after("import sloctl.cli.main") == set()


@pytest.mark.parametrize(
    "args",
    [["--help"], *([name, "--help"] for name in COMMANDS), ["generate", "rules", "--help"]],
    ids=" ".join,
)
def test_help_loads_no_command_dependencies(args: list[str]) -> None:
    shown = f"from sloctl.cli.main import main\nmain({args!r}, standalone_mode=False)"
    assert loaded_after(shown) == set()


def test_the_commands_listed_are_the_commands_declared() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    lines = result.output.split("Commands:")[1].splitlines()
    assert [line.split()[0] for line in lines if line.startswith("  ")] == sorted(COMMANDS)
    for name in COMMANDS:
        command = main.get_command(click.Context(main), name)
        assert command is not None
        assert command.name == name


def test_a_report_loads_what_it_needs_and_no_more() -> None:
    """Not the daemon, the store, the notifications, the generators; structlog only when
    something is logged; no requests (Prometheus is read on the standard library)."""
    needless = (
        "certifi",
        "charset_normalizer",
        "grafana_foundation_sdk",
        "idna",
        "prometheus_client",
        "requests",
        "sqlite3",
        "structlog",
        "urllib3",
        "sloctl.daemon",
        "sloctl.demo",
        "sloctl.generate",
        "sloctl.incidents",
        "sloctl.loading.config",
        "sloctl.notify",
        "sloctl.store",
    )
    url = f"http://127.0.0.1:{free_port()}"
    args = ["report", "--definitions", str(SHIPPED), "--prometheus-url", url]
    code = f"from sloctl.cli.main import main\nassert main({args!r}, standalone_mode=False) == 3"
    assert loaded_after(code, needless) == set()


def test_a_report_on_unchanged_definitions_validates_nothing(tmp_path: Path) -> None:
    """The second report over the same files reads what the first validated: neither
    PyYAML nor pydantic is loaded."""
    definitions = tmp_path / "definitions"
    shutil.copytree(SHIPPED, definitions)
    url = f"http://127.0.0.1:{free_port()}"
    args = ["report", "--definitions", str(definitions), "--prometheus-url", url]
    code = f"from sloctl.cli.main import main\nassert main({args!r}, standalone_mode=False) == 3"
    validating = ("pydantic", "yaml", "sloctl.loading.definitions")
    assert loaded_after(code, validating) == set(validating)
    assert loaded_after(code, validating) == set()
    (definitions / "api.yaml").write_text((SHIPPED / "api.yaml").read_text() + "\n")
    assert loaded_after(code, validating) == set(validating)


def test_listing_the_commands_imports_none_of_them() -> None:
    modules = tuple(sorted({lazy.target.partition(":")[0] for lazy in COMMANDS.values()}))
    shown = "from sloctl.cli.main import main\nmain(['--help'], standalone_mode=False)"
    assert loaded_after(shown, modules) == set()
    result = CliRunner().invoke(main, ["--help"])
    for name, lazy in COMMANDS.items():
        assert f"  {name} " in result.output
        assert lazy.summary in result.output

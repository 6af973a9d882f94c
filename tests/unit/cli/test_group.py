"""The root group: commands imported when needed, and every sloctl error reported in one place."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sloctl.cli.group import LazyCommand, SloctlGroup
from sloctl.cli.main import main
from sloctl.errors import (
    ConfigError,
    InvalidRequestError,
    Problem,
    PrometheusUnavailableError,
    SloctlError,
    StoreError,
)

RAISED: dict[str, SloctlError] = {
    "usage": InvalidRequestError("--month 2026-13: expected YYYY-MM"),
    "config": ConfigError([Problem("sloctl.yaml", "prometheus.url", "missing", 3)]),
    "prometheus": PrometheusUnavailableError("Prometheus at http://p:9090 is unavailable"),
    "store": StoreError("incident store x.db is corrupt"),
}


@click.command()
@click.argument("kind")
def failing(kind: str) -> None:
    """Raise the error named KIND."""
    if kind == "bug":
        raise KeyError("a bug")
    raise RAISED[kind]


@click.group()
def nested() -> None:
    """A group below the root, as ``incidents`` is."""


nested.add_command(failing)

LAZY = {
    "failing": LazyCommand(f"{__name__}:failing", "Raise an error."),
    "nested": LazyCommand(f"{__name__}:nested", "A group below the root."),
}


def root() -> SloctlGroup:
    return SloctlGroup("root", lazy_commands=LAZY)


def test_a_command_is_imported_only_when_needed() -> None:
    module = "tests.unit.cli.lazy_probe"
    sys.modules.pop(module, None)
    group = SloctlGroup("root", lazy_commands={"probe": LazyCommand(f"{module}:probe", "P.")})
    assert group.list_commands(click.Context(group)) == ["probe"]
    assert "probe  P." in CliRunner().invoke(group, ["--help"]).output
    assert module not in sys.modules
    with pytest.raises(ModuleNotFoundError):  # resolving it is what imports it
        group.get_command(click.Context(group), "probe")


def test_a_name_that_is_not_a_command_is_refused() -> None:
    errors = LazyCommand("sloctl.errors:SloctlError", "Not a command.")
    group = SloctlGroup("root", lazy_commands={"errors": errors})
    with pytest.raises(TypeError, match="not a click command"):
        group.get_command(click.Context(group), "errors")


@pytest.mark.parametrize("via", [["failing"], ["nested", "failing"]], ids=" ".join)
@pytest.mark.parametrize("kind", RAISED)
def test_every_sloctl_error_becomes_its_message_and_exit_code(via: list[str], kind: str) -> None:
    error = RAISED[kind]
    result = CliRunner().invoke(root(), [*via, kind])
    assert result.exit_code == error.exit_code
    first = str(error).splitlines()[0]
    assert result.stderr.startswith(f"sloctl: {first}\n")
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_file_error_lists_its_problems_and_its_documentation() -> None:
    result = CliRunner().invoke(root(), ["failing", "config"])
    assert result.stderr.splitlines() == [
        "sloctl: 1 problem in the configuration",
        "  sloctl.yaml:3: prometheus.url: missing",
        f"  (the format: {ConfigError.docs})",
    ]


def test_anything_else_is_a_bug_and_not_hidden() -> None:
    result = CliRunner().invoke(root(), ["failing", "bug"])
    assert isinstance(result.exception, KeyError)


def test_incidents_list_reports_like_every_command(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    result = CliRunner().invoke(main, ["incidents", "--store", str(missing), "list"])
    assert result.exit_code == StoreError.exit_code
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("sloctl: no incident store at")
    assert not missing.exists()

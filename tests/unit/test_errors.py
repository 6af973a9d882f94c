"""sloctl's exceptions: all in one module, each with an exit code the README documents."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import sloctl
from sloctl import errors
from sloctl.errors import DefinitionError, SloctlError

ROOT = Path(__file__).resolve().parents[2]


def every_subclass(base: type[SloctlError]) -> list[type[SloctlError]]:
    found = [base]
    for sub in base.__subclasses__():
        found.extend(every_subclass(sub))
    return found


def exit_code_table() -> dict[int, str]:
    """README's exit-code table: code -> the row's text."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| (.*) \|$", readme, re.MULTILINE)
    assert rows, "README.md has no exit-code table"
    return {int(code): text for code, text in rows}


@pytest.mark.parametrize("error", every_subclass(SloctlError), ids=lambda e: e.__name__)
def test_every_error_has_its_exit_code_documented(error: type[SloctlError]) -> None:
    table = exit_code_table()
    assert error.exit_code in table, f"exit code {error.exit_code} is not in README.md"
    assert f"`{error.__name__}`" in table[error.exit_code], (
        f"README.md's row for exit code {error.exit_code} does not name {error.__name__}"
    )


def test_every_exception_class_of_sloctl_is_defined_in_errors() -> None:
    elsewhere = []
    for module in pkgutil.walk_packages(sloctl.__path__, "sloctl."):
        if module.name in ("sloctl.__main__", "sloctl.errors"):
            continue  # __main__ runs the command line when imported
        loaded = importlib.import_module(module.name)
        for name, value in vars(loaded).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.name
                and not name.startswith("_")  # private to one retry loop, never leaves it
            ):
                elsewhere.append(f"{module.name}.{name}")
    assert elsewhere == []


def test_the_docstring_draws_every_exception() -> None:
    public = [
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, BaseException)
    ]
    assert errors.__doc__ is not None
    for name in public:
        assert re.search(rf"[─ ]{name} ", errors.__doc__), f"{name} is not in the tree"


@pytest.mark.parametrize("error", every_subclass(DefinitionError), ids=lambda e: e.__name__)
def test_each_kind_of_file_names_documentation_that_exists(error: type[DefinitionError]) -> None:
    paths = re.findall(r"[\w./-]+\.(?:md|yaml)", error.docs)
    assert paths
    for path in paths:
        assert (ROOT / path).is_file(), f"{error.__name__} points at {path}, which is missing"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for section in re.findall(r"section ([A-Z][\w ]+?)(?:,| and |$)", error.docs):
        assert f"\n## {section}\n" in readme, f"README.md has no section {section}"


def test_configuration_and_policy_problems_do_not_point_at_the_definitions_format() -> None:
    for error in errors.ConfigError, errors.PolicyFileError:
        rendered = error([errors.Problem("x.yaml", "a", "wrong")]).render()
        assert "slo-definitions" not in rendered
        assert error.docs in rendered
    assert "slo-definitions/README.md" in DefinitionError([]).render()

"""README's layout table is the tree: a row for every package of sloctl, naming every module
in it, and no row for a package that does not exist."""

from __future__ import annotations

import re

import pytest

from tests.paths import ROOT

PACKAGES = sorted(
    path.parent.name for path in (ROOT / "sloctl").glob("*/__init__.py") if path.parent.is_dir()
)


def _rows() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return {
        match.group(1): match.group(2)
        for match in re.finditer(r"^\| `sloctl/(\w+)/` \| (.*) \|$", section, re.MULTILINE)
    }


def test_every_package_has_its_row_and_every_row_its_package() -> None:
    assert sorted(_rows()) == PACKAGES


@pytest.mark.parametrize("package", PACKAGES)
def test_each_row_names_every_module_of_its_package(package: str) -> None:
    row = _rows()[package]
    modules = sorted(
        path.stem for path in (ROOT / "sloctl" / package).glob("*.py") if path.stem != "__init__"
    )
    missing = [module for module in modules if f"`{module}`" not in row]
    assert not missing, f"README's row for sloctl/{package}/ does not name {missing}"

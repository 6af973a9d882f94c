"""Sink secrets from a variable or the file it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloctl.errors import InvalidRequestError
from sloctl.notify.secrets import secret_from


@pytest.mark.parametrize(
    ("env", "files", "expected"),
    [
        pytest.param({"HOOK": "https://h/1"}, {}, "https://h/1", id="env"),
        pytest.param({}, {"hook.txt": "  https://h/2\n"}, "https://h/2", id="file-stripped"),
        pytest.param(
            {"HOOK": "https://h/1"}, {"hook.txt": "https://h/2"}, "https://h/1", id="env-wins"
        ),
        pytest.param(
            {"HOOK": ""},
            {"hook.txt": "https://h/2"},
            "https://h/2",
            id="empty-env-falls-back-to-file",
        ),
        pytest.param({}, {"hook.txt": "\n"}, None, id="empty-file"),
        pytest.param({}, {}, None, id="neither"),
        pytest.param({"OTHER": "x", "HOOKS": "y"}, {}, None, id="other-names"),
    ],
)
def test_secret_from(
    tmp_path: Path, env: dict[str, str], files: dict[str, str], expected: str | None
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        env = {**env, "HOOK_FILE": str(tmp_path / name)}
    assert secret_from(env, "HOOK") == expected


def test_secret_file_that_is_missing_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match=r"HOOK_FILE: cannot read .*missing"):
        secret_from({"HOOK_FILE": str(tmp_path / "missing")}, "HOOK")

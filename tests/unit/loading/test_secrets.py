"""Secrets from variables and files: one reader for the configuration and the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from sloctl.errors import InvalidRequestError, SecretFileError
from sloctl.loading.secrets import (
    read_secret,
    secret_from_env,
)


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
def test_secret_from_env(
    tmp_path: Path, env: dict[str, str], files: dict[str, str], expected: str | None
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        env = {**env, "HOOK_FILE": str(tmp_path / name)}
    assert secret_from_env(env, "HOOK") == expected


def test_secret_file_that_is_missing_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match=r"HOOK_FILE: cannot read .*missing"):
        secret_from_env({"HOOK_FILE": str(tmp_path / "missing")}, "HOOK")


def test_read_secret_prefers_the_variable_and_keeps_an_empty_file_empty(tmp_path: Path) -> None:
    file = tmp_path / "token"
    file.write_text("  from-file\n", encoding="utf-8")
    assert read_secret({"TOKEN": "from-env"}, "TOKEN", file) == "from-env"
    assert read_secret({}, "TOKEN", file) == "from-file"
    assert read_secret({}, None, None) is None
    file.write_text("\n", encoding="utf-8")
    assert read_secret({}, None, file) == ""


def test_read_secret_names_why_a_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(SecretFileError, match="No such file"):
        read_secret({}, None, tmp_path / "missing")
    (tmp_path / "binary").write_bytes(b"\xff\xfe")
    with pytest.raises(SecretFileError, match="unreadable"):
        read_secret({}, None, tmp_path / "binary")

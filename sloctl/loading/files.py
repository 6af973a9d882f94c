"""The files sloctl reads its definitions from, and how large any file it reads may be.

Kept apart from the validation (:mod:`sloctl.loading.definitions`, which needs pydantic and
PyYAML) so that finding the files costs nothing but the standard library: the validated
definitions cache (:mod:`sloctl.loading.definition_cache`) looks at them before deciding
whether anything must be validated at all.
"""

from __future__ import annotations

from pathlib import Path

from sloctl.errors import DefinitionError, Problem

MAX_FILE_BYTES = 1024 * 1024
"""The largest file sloctl reads as YAML (definitions, policy, configuration, schedules)."""
DEFINITION_SUFFIXES = (".yaml", ".yml")
MAX_FILES = 1000
"""The most definition files one directory may hold."""


def definition_files(directory: Path) -> list[Path]:
    """The definition files in ``directory`` (or ``directory`` itself, a file), in a stable
    order; DefinitionError when there are none, or too many."""
    if not directory.exists():
        raise DefinitionError([Problem(str(directory), "", "no such directory")])
    if directory.is_file():
        return [directory]
    files = sorted(
        p for p in directory.iterdir() if p.suffix in DEFINITION_SUFFIXES and p.is_file()
    )
    if not files:
        raise DefinitionError([Problem(str(directory), "", "no .yaml definition files here")])
    if len(files) > MAX_FILES:
        raise DefinitionError(
            [Problem(str(directory), "", f"more than {MAX_FILES} definition files")]
        )
    return files

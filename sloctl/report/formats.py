"""The formats ``sloctl report`` writes, apart from the code that writes them (so the command
line can offer them without loading it)."""

from __future__ import annotations

from enum import StrEnum


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    CSV = "csv"

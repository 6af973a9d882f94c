"""The short reason of a network failure, fit to show: ``Connection refused``."""

from __future__ import annotations

import re

ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\"()\[\]]+)")


def errno_text(exc: BaseException) -> str:
    """The errno text in ``exc`` (``Connection refused``, ``Name or service not known``), else
    the exception's type name; never the rest of the message, where requests and urllib3 put the
    URL (which may hold credentials or a webhook's secret path)."""
    found = ERRNO.search(str(exc))
    if found is not None:
        return found.group(1).strip()
    return type(exc).__name__

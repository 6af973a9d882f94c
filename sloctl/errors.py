"""The exceptions sloctl raises on purpose.

Every one of them derives from :class:`SloctlError`, so the CLI can turn it into one clear
line and an exit code; anything else is a bug and keeps its traceback::

    SloctlError
    ├── UsageError             a command-line value that cannot be used
    ├── DefinitionError        invalid or hostile SLO definitions (every problem at once)
    └── PrometheusError        anything that went wrong talking to Prometheus
        ├── PrometheusUnavailableError   unreachable, timing out or overloaded after retries
        └── QueryError              Prometheus refused a query (400 / 422) or answered garbage
            └── TooManySamplesError  422 "too many samples": ask again in smaller pieces

Every :class:`PrometheusError` carries a ``reason`` (one of :data:`QUERY_ERROR_REASONS`), the
label ``sloctl_query_errors_total`` counts it by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class SloctlError(Exception):
    """Base of every error sloctl raises for a user-facing reason."""

    exit_code = 1


class UsageError(SloctlError):
    """A command-line value that cannot be used (a month that does not exist, say)."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one definition file."""

    file: str
    location: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        loc = f" {self.location}:" if self.location else ""
        return f"{where}:{loc} {self.message}"


class DefinitionError(SloctlError):
    """The definitions are invalid; carries every problem found, in every file."""

    exit_code = 2

    def __init__(self, problems: Sequence[Problem], what: str = "SLO definitions") -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} in {what}")

    def render(self) -> str:
        return "\n".join([str(self), *(f"  {p}" for p in self.problems)])


QUERY_ERROR_REASONS = (
    "unreachable",  # no connection could be made (refused, unknown host, connect timeout)
    "timeout",  # connected, but no whole answer within the request's deadline
    "deadline",  # the cycle's time ran out (or the daemon is stopping) before the query
    "overloaded",  # 503 after every retry
    "http_error",  # any other unexpected status (401, 403, 404, 500, ...)
    "rejected",  # 400 or 422: the query's own fault
    "too_many_samples",  # 422 "too many samples": asked again in smaller pieces
    "too_large",  # the answer exceeded the body size or series limit
    "bad_answer",  # not JSON, an error status, or not the expected shape
)


class PrometheusError(SloctlError):
    """Talking to Prometheus failed."""

    exit_code = 3

    def __init__(self, message: str, *, reason: str) -> None:
        if reason not in QUERY_ERROR_REASONS:
            raise ValueError(f"unknown query error reason {reason!r}")
        self.reason = reason
        super().__init__(message)


class PrometheusUnavailableError(PrometheusError):
    """Prometheus could not be reached, timed out or stayed overloaded after retries."""

    def __init__(self, message: str, *, reason: str = "unreachable") -> None:
        super().__init__(message, reason=reason)


class QueryError(PrometheusError):
    """Prometheus rejected a query or returned something sloctl cannot read."""

    def __init__(
        self, message: str, *, query: str, slos: Sequence[str] = (), reason: str = "bad_answer"
    ) -> None:
        self.query = query
        self.slos = tuple(slos)
        one_line = " ".join(query.split())
        shown = ", ".join(self.slos[:3])
        if len(self.slos) > 3:
            shown += f" and {len(self.slos) - 3} more"
        who = f" for SLO {shown}" if shown else ""
        super().__init__(f"{message}{who}; query: {one_line}", reason=reason)


class TooManySamplesError(QueryError):
    """Prometheus refused a query for loading more samples than its ``--query.max-samples``;
    the same question asked in smaller pieces can succeed."""

    def __init__(self, message: str, *, query: str, slos: Sequence[str] = ()) -> None:
        super().__init__(message, query=query, slos=slos, reason="too_many_samples")


class StoreConflictError(SloctlError):
    """The incident store refused a change that breaks one of its rules (a second open
    automatic incident for one service, say): it changed meanwhile; read it again and decide."""

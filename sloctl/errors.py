"""The exceptions sloctl raises on purpose, every one of them in this module.

Every error a user can meet derives from :class:`SloctlError`; it carries the process's exit
code, and the command line (``sloctl.cli.main``, in one place) turns it into one clear message
on stderr; anything else is a bug and keeps its traceback::

    SloctlError                       exit 1  base; a step of the demo that failed
    ├── InvalidRequestError           exit 2  a value or request that cannot be carried out
    │   └── TransitionError                   a step the incident lifecycle does not allow
    ├── DefinitionError               exit 2  invalid SLO definitions (every problem at once)
    │   ├── ConfigError                       the daemon's configuration file
    │   ├── PolicyFileError                   a severity policy file
    │   ├── ScheduleError                     an on-call schedule file
    │   └── MaintenanceFileError              a maintenance windows file
    ├── GenerationError               exit 2  definitions that cannot be written as files
    ├── LocalPrometheusError          exit 1  the demo's Prometheus could not be set up
    ├── PrometheusError               exit 3  anything that went wrong talking to Prometheus
    │   ├── PrometheusUnavailableError        unreachable, timing out or overloaded after retries
    │   └── QueryError                        Prometheus refused a query or answered garbage
    │       └── TooManySamplesError           422 "too many samples": ask in smaller pieces
    ├── StoreConflictError            exit 1  a change refused: the store changed meanwhile
    └── StoreError                    exit 4  an incident store that cannot be used

A :class:`DefinitionError` and its subclasses list every problem of their files at once and
name the documentation of that kind of file (:attr:`DefinitionError.docs`).

Every :class:`PrometheusError` carries a ``reason`` (one of :data:`QUERY_ERROR_REASONS`), the
label ``sloctl_query_errors_total`` counts it by.

Raised and caught inside sloctl, and turned into one of the above (or into a
:class:`Problem` of a file) where they are caught, so no user sees them as such::

    ValueError
    ├── YamlError                 a YAML document that cannot be loaded (with its line)
    ├── SecretFileError           a secret's file that cannot be read (never what it holds)
    ├── SelectorSyntaxError       a selector that cannot be parsed
    └── UnsupportedSelectorError  no example series for a selector (its SLO gets no tests)
    Exception
    ├── ListenError               an address that cannot be listened on
    ├── BodyError                 a request body that did not arrive whole (400, 408)
    ├── RequestRefusedError       a web request answered with its status and reason
    └── TransportError            a request to Prometheus that failed on the wire, which
        │                         the reader turns into a PrometheusError's reason
        ├── DeadlinePassedError   the attempt's time ran out before the whole answer
        ├── StoppingError         sloctl is stopping
        ├── ConnectError          no connection could be made (refused, unknown, timeout)
        ├── TLSHandshakeError     the certificate, the host name, the CA file, the protocol
        ├── ConnectionLostError   the connection broke before the whole answer
        └── RequestNotSentError   the request cannot be made (URL, header, proxy)

(The Prometheus client's per-attempt failure, which decides whether to retry, is private to
its retry loop and never leaves it.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class SloctlError(Exception):
    """Base of every error sloctl raises for a user-facing reason."""

    exit_code = 1


class InvalidRequestError(SloctlError):
    """What was asked cannot be carried out: a command-line value that cannot be used (a
    month that does not exist, say), an incident that is not in the store, a secret file that
    cannot be read.

    Not click's ``UsageError`` (a malformed command line, which click reports itself with the
    command's usage): this one is sloctl's own, and carries sloctl's exit code.
    """

    exit_code = 2


class TransitionError(InvalidRequestError):
    """A transition the lifecycle does not allow (resolving twice, acknowledging late...)."""


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
    """The SLO definitions are invalid; carries every problem found, in every file.

    Its subclasses are the other files sloctl reads the same way: each says what it is
    (:attr:`what`) and where its format is described (:attr:`docs`).
    """

    exit_code = 2
    what = "SLO definitions"
    docs = "slo-definitions/README.md"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{count} {noun} in {self.what}")

    def render(self) -> str:
        """The count, every problem on a line of its own, and where the format is described."""
        return "\n".join(
            [str(self), *(f"  {p}" for p in self.problems), f"  (the format: {self.docs})"]
        )


class ConfigError(DefinitionError):
    """The daemon's configuration file (``sloctl run --config``) is invalid, or a secret it
    names cannot be read."""

    what = "the configuration"
    docs = "README.md, section Running in a cluster, and deploy/kubernetes.yaml"


class PolicyFileError(DefinitionError):
    """A severity policy file (``--policy``) is invalid."""

    what = "the severity policy"
    docs = "the shipped policy, deploy/policy.yaml, and README.md, section Incidents"


class ScheduleError(DefinitionError):
    """An on-call schedule file (``--schedule``, or the configuration's ``schedule``) is
    invalid."""

    what = "the on-call schedule"
    docs = "deploy/oncall.yaml and README.md, section Running an incident"


class MaintenanceFileError(DefinitionError):
    """A maintenance windows file (``--maintenance``, or the configuration's ``maintenance``)
    is invalid."""

    what = "maintenance windows"
    docs = "README.md, section Maintenance windows"


class GenerationError(SloctlError):
    """The definitions cannot be turned into files (two services would share one)."""

    exit_code = 2


class LocalPrometheusError(SloctlError):
    """The demo's local Prometheus could not be set up or started."""


class StoreError(SloctlError):
    """The store cannot be used: corrupt, from another schema, or not a database at all."""

    exit_code = 4


class StoreConflictError(SloctlError):
    """The incident store refused a change that breaks one of its rules (a second open
    automatic incident for one service, say): it changed meanwhile; read it again and decide."""


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


class SecretFileError(ValueError):
    """A secret's file cannot be read; the message says why, never what it holds."""


class YamlError(ValueError):
    """The document cannot be loaded; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class SelectorSyntaxError(ValueError):
    """A selector could not be parsed; the message says where and why."""


class UnsupportedSelectorError(ValueError):
    """No example series could be built for a selector; its SLO gets no generated tests."""


class ListenError(Exception):
    """The address cannot be listened on (taken, not local, or no such port)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host, self.port, self.reason = host, port, reason
        super().__init__(f"cannot listen on {host}:{port} ({reason})")


class BodyError(Exception):
    """A request body that could not be read whole: ``status`` says why (400, 408)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class RequestRefusedError(Exception):
    """A request the web pages cannot take: answered with ``status`` and ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


class TransportError(Exception):
    """A request to Prometheus failed on the wire (:mod:`sloctl.prometheus.transport`);
    ``why`` is short and fit to show once the reader has masked its secrets."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class DeadlinePassedError(TransportError):
    """The attempt's deadline passed before the whole answer came."""

    def __init__(self) -> None:
        super().__init__("time is up")


class StoppingError(TransportError):
    """sloctl is stopping: the request was cut short."""

    def __init__(self) -> None:
        super().__init__("sloctl is stopping")


class ConnectError(TransportError):
    """No connection could be made: refused, unknown host, connect timeout, or a proxy that
    would not open a tunnel."""


class TLSHandshakeError(TransportError):
    """The TLS handshake failed: the certificate, the host name, the CA file, the protocol."""


class ConnectionLostError(TransportError):
    """The connection broke, or the peer did not speak HTTP, before the whole answer came."""


class RequestNotSentError(TransportError):
    """The request cannot be made at all (the URL, a header, a proxy): trying again is vain."""

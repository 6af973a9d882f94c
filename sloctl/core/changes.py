"""Change events (runbook 2.2 triage: "What changed recently?"): deployments, configuration
changes, feature flags, infrastructure and dependency changes, each recorded for one service.

Pure: a :class:`Change` is a frozen value; :func:`validate_change` turns untrusted fields
(command line, a CI pipeline's JSON) into one, or into one problem per field; :func:`recent`
picks the changes an incident's declaration lists. No clock: ``at`` is always passed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

CHANGE_KINDS = ("deploy", "rollback", "config", "feature-flag", "infrastructure", "dependency")
"""What a change can be; the runbook's 2.2 names deployments, config and external deps."""
RECENT_CHANGES = timedelta(hours=6)
"""How far back a declaration looks for changes of the service and its dependencies."""
SERVICE_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$")
MAX_REF = 200
MAX_BY = 100
FIELDS = ("service", "kind", "ref", "by", "at")


@dataclass(frozen=True)
class Change:
    """One change to one service, made at ``at`` (UTC)."""

    service: str
    kind: str
    ref: str
    at: datetime
    by: str = ""

    def line(self) -> str:
        """``2026-11-02 09:58 UTC deploy v1.4.2 of api by ci``, for messages and drafts."""
        who = f" by {self.by}" if self.by else ""
        return f"{self.at:%Y-%m-%d %H:%M} UTC {self.kind} {self.ref} of {self.service}{who}"

    def document(self) -> dict[str, str]:
        """The change as JSON shows it, ``at`` in RFC 3339 (UTC): what the endpoint answers
        and what ``sloctl changes list --output json`` prints."""
        return {
            "service": self.service,
            "kind": self.kind,
            "ref": self.ref,
            "by": self.by,
            "at": self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


@dataclass(frozen=True)
class FieldProblem:
    """One field of a change that cannot be used, and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _text(value: object, name: str, limit: int, problems: list[FieldProblem]) -> str:
    if not isinstance(value, str):
        problems.append(FieldProblem(name, "must be a string"))
        return ""
    if any(ord(c) < 32 for c in value):
        problems.append(FieldProblem(name, "must not contain control characters"))
    if len(value) > limit:
        problems.append(FieldProblem(name, f"must be at most {limit} characters"))
    return value


def validate_change(
    fields: Mapping[str, object], *, now: datetime, services: Sequence[str] | None = None
) -> Change | list[FieldProblem]:
    """A :class:`Change` from untrusted ``fields``, or every problem with them.

    ``at`` is a timezone-aware datetime or an RFC 3339 string, ``now`` without it; a change
    more than a minute in the future is refused. ``services``, when given, are the known
    services (a change to an unknown one is refused, since no incident would ever list it).
    """
    problems = [
        FieldProblem(name, "is not a field of a change") for name in fields if name not in FIELDS
    ]
    for name in ("service", "kind", "ref"):
        if fields.get(name) in (None, ""):
            problems.append(FieldProblem(name, "is required"))
    service = _text(fields.get("service", ""), "service", 64, problems)
    if service and not SERVICE_PATTERN.match(service):
        problems.append(
            FieldProblem("service", "must be lowercase letters, digits, '.', '_' or '-'")
        )
    elif service and services is not None and service not in services:
        known = ", ".join(sorted(services))
        problems.append(FieldProblem("service", f"unknown service {service!r} (known: {known})"))
    kind = _text(fields.get("kind", ""), "kind", 32, problems)
    if kind and kind not in CHANGE_KINDS:
        problems.append(FieldProblem("kind", f"must be one of {', '.join(CHANGE_KINDS)}"))
    ref = _text(fields.get("ref", ""), "ref", MAX_REF, problems)
    by = _text(fields.get("by", ""), "by", MAX_BY, problems) if fields.get("by") is not None else ""
    at = _moment(fields.get("at"), now, problems)
    if problems:
        return problems
    assert at is not None
    return Change(service=service, kind=kind, ref=ref.strip(), at=at, by=by.strip())


def _moment(value: object, now: datetime, problems: list[FieldProblem]) -> datetime | None:
    if value is None:
        return now
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            problems.append(FieldProblem("at", "must be an RFC 3339 time (2026-11-02T09:58:00Z)"))
            return None
    if not isinstance(value, datetime):
        problems.append(FieldProblem("at", "must be an RFC 3339 time string"))
        return None
    if value.tzinfo is None:
        problems.append(FieldProblem("at", "must name its time zone (Z or +01:00)"))
        return None
    if value > now + timedelta(minutes=1):
        problems.append(FieldProblem("at", "is in the future"))
        return None
    return value.astimezone(now.tzinfo)


def related_services(service: str, depends_on: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """``service`` and everything it depends on, directly or not (cycles are tolerated)."""
    found = [service]
    for name in found:
        for dependency in depends_on.get(name, ()):
            if dependency not in found:
                found.append(dependency)
    return tuple(found)


def recent(
    changes: Iterable[Change],
    services: Iterable[str],
    at: datetime,
    lookback: timedelta = RECENT_CHANGES,
) -> list[Change]:
    """The changes of ``services`` made in ``(at - lookback, at]``, newest first."""
    wanted = set(services)
    since = at - lookback
    picked = [c for c in changes if c.service in wanted and since < c.at <= at]
    return sorted(picked, key=lambda c: (c.at, c.service, c.ref), reverse=True)

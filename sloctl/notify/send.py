"""Delivery of one HTTP request a sink wants sent: one attempt, bounded, and classified.

:func:`send` makes one attempt, bounded in time and in the size of the answer read, and
classifies it: success is each sink's documented answer (Slack's ``ok``, PagerDuty's 202
``"status": "success"``, Alertmanager's 200); 408, 429, 5xx, timeouts and network errors are
worth retrying (``Retry-After`` is handed on); any other refusal is permanent (a 400 will be a
400 again). The outbox (:mod:`sloctl.notify.outbox`) decides when to try again.

Webhook URLs and routing keys are secrets: they stay out of ``repr`` of :class:`Request` and out
of every :attr:`Attempt.reason`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import requests
import urllib3

from sloctl.runtime.errno_text import errno_text

HEADERS: Mapping[str, str] = {"Content-Type": "application/json", "User-Agent": "sloctl"}
MAX_ANSWER_BYTES = 64 * 1024
"""How much of a receiver's answer is read: enough for any documented answer, no more."""
RETRIED_STATUSES = frozenset({408, 429})
"""The 4xx answers that are worth retrying (with 5xx); every other 4xx is a permanent refusal."""


@dataclass(frozen=True)
class Request:
    """One HTTP request a sink wants sent. URL, body and headers may hold secrets: no repr."""

    method: str
    url: str = field(repr=False)
    body: dict[str, Any] | list[Any] = field(repr=False)
    headers: Mapping[str, str] = field(repr=False)
    answer: Callable[[int, str], tuple[Outcome, str]] = field(repr=False)
    """Judges a 2xx answer (status, body text): the sink's documented success, or not."""


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True)
class Attempt:
    """What one attempt came to. ``reason`` never holds the URL, its path or the body's secrets.

    ``retry_after`` is the answer's ``Retry-After`` header as sent (seconds or an HTTP date),
    for the caller to turn into a pause with :func:`retry_after_seconds`.
    """

    outcome: Outcome
    status: int | None
    reason: str
    retry_after: str | None = None


def capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def retry_after_seconds(header: str | None, now: datetime) -> float | None:
    """``Retry-After`` as a pause from ``now``: delay-seconds or an HTTP date (RFC 9110 10.2.3).

    None for a missing or unreadable header; a date in the past is a pause of 0.
    """
    if header is None:
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def _secrets_of(request: Request) -> list[str]:
    """Every string of ``request`` that must not be repeated in a reason."""
    found = [request.url]
    match = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://(?:(.*)@)?[^/?#@]*(.*)$", request.url, re.DOTALL)
    userinfo, rest = (match.group(1) or "", match.group(2)) if match else ("", "")
    if userinfo:
        found += [userinfo, *(part for part in userinfo.split(":") if part)]
    if rest not in ("", "/"):
        found.append(rest)
        found += [part for part in re.split(r"[/?#&=]", rest) if len(part) >= 10]
    if isinstance(request.body, dict):
        key = request.body.get("routing_key")
        if isinstance(key, str) and key:
            found.append(key)
    return sorted(set(found), key=len, reverse=True)


def _scrubbed(text: str, request: Request) -> str:
    for secret in _secrets_of(request):
        text = text.replace(secret, "[redacted]")
    return text


def _hint(text: str, request: Request) -> str:
    return capped(_scrubbed(" ".join(text[:300].split()), request), 120)


def _read_body(response: requests.Response, deadline: float, limit: int) -> bytes | None:
    """The body, read while time is left; None when the deadline passed first. Whatever
    comes after ``limit`` bytes is not read (the verdict never needs it).

    A read that times out is the deadline passing too: each read may wait as long as the
    whole attempt, so a peer trickling a byte a second times out one read or the other."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        if time.monotonic() >= deadline:
            return None
        try:
            chunk = response.raw.read1(min(4096, limit - size))
        except (urllib3.exceptions.TimeoutError, TimeoutError):
            return None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def send(
    request: Request,
    session: requests.Session,
    timeout: float,
    *,
    verify: str | bool = True,
    body_limit: int = MAX_ANSWER_BYTES,
) -> Attempt:
    """One attempt at ``request``, classified, taking ``timeout`` seconds at most in all.

    The whole exchange is bounded, not each socket read: the answer is streamed and given up
    when ``timeout`` has passed (a peer trickling one byte a second does not hold it), and at
    most ``body_limit`` bytes of it are read. (Headers trickled byte by byte are bounded by the
    caller, which runs the attempt in a thread of its own: see
    :class:`sloctl.notify.outbox.Courier`.) ``verify`` is passed on the request itself, so
    ``REQUESTS_CA_BUNDLE`` cannot replace it.

    A 2xx is judged by the request's sink (:attr:`Request.answer`); 408, 429 and 5xx, timeouts
    and network errors are RETRY; every other status (redirects included: they are not
    followed, a secret body is not handed on) is FAILED, as is a request that cannot be sent.
    """
    deadline = time.monotonic() + timeout
    retry_after: str | None = None
    try:
        with session.request(
            request.method,
            request.url,
            json=request.body,
            headers=dict(request.headers),
            timeout=(min(5.0, timeout), timeout),
            allow_redirects=False,
            stream=True,
            verify=verify,
        ) as response:
            status = response.status_code
            retry_after = response.headers.get("Retry-After")
            raw = _read_body(response, deadline, body_limit)
    except requests.Timeout:
        return Attempt(Outcome.RETRY, None, f"no answer within {timeout:.3g} s")
    except (
        requests.ConnectionError,
        requests.exceptions.ChunkedEncodingError,
        urllib3.exceptions.HTTPError,
        OSError,
    ) as exc:
        return Attempt(Outcome.RETRY, None, f"cannot connect ({errno_text(exc)})")
    except requests.RequestException as exc:
        return Attempt(Outcome.FAILED, None, f"request not sent ({type(exc).__name__})")
    if raw is None:
        return Attempt(
            Outcome.RETRY, status, f"HTTP {status}, answer not complete in {timeout:.3g} s"
        )
    text = raw.decode("utf-8", errors="replace")
    if 200 <= status < 300:
        outcome, reason = request.answer(status, text)
        return Attempt(
            outcome,
            status,
            reason
            if outcome is Outcome.DELIVERED
            else f"{reason}: {_hint(text, request)}".rstrip(": "),
        )
    hint = _hint(text, request)
    reason = f"HTTP {status}: {hint}" if hint else f"HTTP {status}"
    if status in RETRIED_STATUSES or 500 <= status < 600:
        return Attempt(Outcome.RETRY, status, reason, retry_after)
    return Attempt(Outcome.FAILED, status, reason)

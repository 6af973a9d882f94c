"""A one-off send with retries (the outbox, :mod:`sloctl.notify.outbox`, has its own schedule)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import requests

from sloctl.notify.send import Attempt, Outcome, Request, send


@dataclass(frozen=True)
class RetryPolicy:
    """Pauses between attempts: full jitter under ``min(max_delay, base_delay * 2**attempt)``.

    ``attempts`` bounds :func:`deliver` only; the outbox keeps trying for as long as a message
    is worth sending (see :class:`sloctl.notify.outbox.DeliveryPolicy`).
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """A uniform pick below ``min(max_delay, base_delay * 2**attempt)``."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** min(attempt, 62))
        return rng.uniform(0, ceiling)


def deliver(
    request: Request,
    *,
    session: requests.Session,
    timeout: float,
    retry: RetryPolicy,
    sleep: Callable[[float], None],
    rng: random.Random,
) -> Attempt:
    """Send ``request``, retrying RETRY outcomes up to ``retry.attempts`` attempts in all.

    Returns the last attempt: DELIVERED, FAILED (never retried), or RETRY when the attempts
    ran out. For a one-off send; the outbox has its own schedule.
    """
    attempt = send(request, session, timeout)
    for number in range(1, retry.attempts):
        if attempt.outcome is not Outcome.RETRY:
            break
        sleep(retry.delay(number - 1, rng))
        attempt = send(request, session, timeout)
    return attempt

"""The notification outbox: events stored with the change they announce, delivered after.

What a message is promised (docs/reliability.md has the table, with the tests that prove it):

- At least once, for as long as it is relevant. 408, 429, 5xx, timeouts and network trouble
  are retried with capped exponential backoff and full jitter (at most ``max_delay`` apart,
  5 minutes by default; a longer ``Retry-After``, seconds or an HTTP date, is honoured up to
  an hour), until delivered, overtaken by a later message of the same incident, or older than
  ``max_age`` (24 h by default: then "expired"). Only a permanent refusal (another 4xx, or a
  sink's documented refusal such as Slack's ``invalid_token``) ends it early, as "failed",
  logged, counted and shown by ``sloctl incidents show``.
- In order, per incident and sink: a message is only sent once every earlier one of its queue
  is settled. An UPDATED message followed by any later one (but a role or reminder note) is
  superseded (the later one says where the incident is now); DECLARED, ESCALATED,
  ACKNOWLEDGED, RESOLVED, ASSIGNED and REMINDER are always sent.
  UPDATED messages are coalesced: after one is delivered, the next waits until ``coalesce``
  has passed (later ones replacing it meanwhile), so a flapping signal sends at most one
  status update per window and queue, the latest.
- A message being sent is claimed by its process (``pid:run``); other processes leave it
  alone while that process lives (at most ``lease``), a restarted one retries it at once.
  Within a process, a message whose attempt has not been answered is never sent again.
- Every attempt is bounded: it runs in a thread of its own and is abandoned (and counted as a
  retry) when ``send_timeout`` or the caller's deadline passes, whatever the peer does.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import requests
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from sloctl.incidents.events import NOTE_KINDS, Event, EventKind
from sloctl.notify.alertmanager import AlertmanagerSink
from sloctl.notify.message import IncidentEvent, Sink
from sloctl.notify.send import Attempt, Outcome, retry_after_seconds, send
from sloctl.runtime.logs import Logger, make_logger
from sloctl.runtime.retry import RetryPolicy
from sloctl.store.database import OutboxMessage, Store

RETRY_AFTER_MAX = 3600.0
"""The longest ``Retry-After`` honoured, in seconds."""
ALWAYS_SENT = frozenset(
    {EventKind.DECLARED, EventKind.ESCALATED, EventKind.ACKNOWLEDGED, EventKind.RESOLVED}
    | NOTE_KINDS
)
"""Kinds never superseded nor coalesced: each is a fact people act on."""
POLL_SECONDS = 0.1
"""How often a flush waiting for answers looks whether it has been told to stop."""
CHAT_SINKS = frozenset({"slack"})
"""The sinks people read: role assignments and reminders (:data:`NOTE_KINDS`) go only there."""
OUTCOMES = ("delivered", "retry", "failed", "superseded", "expired", "deferred")


@dataclass(frozen=True)
class DeliveryPolicy:
    """How the outbox retries, coalesces and gives up; seconds unless said otherwise."""

    base_delay: float = 1.0
    max_delay: float = 300.0
    max_age: timedelta = timedelta(hours=24)
    coalesce: timedelta = timedelta(minutes=2)
    send_timeout: float = 10.0
    lease: timedelta = timedelta(minutes=2)

    def __post_init__(self) -> None:
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("delays must not be negative, max_delay at least base_delay")
        if self.send_timeout <= 0 or self.max_age <= timedelta(0):
            raise ValueError("send_timeout and max_age must be positive")

    def pause(self, attempts: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones."""
        backoff = RetryPolicy(1, self.base_delay, self.max_delay).delay(attempts - 1, rng)
        if retry_after is None:
            return backoff
        return max(backoff, min(retry_after, RETRY_AFTER_MAX))


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (it may belong to someone else)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def payload(event: Event, commander: str = "") -> dict[str, Any]:
    """What the outbox stores for ``event`` (see :meth:`IncidentEvent.to_stored`); ``commander``
    is the incident's commander when the event is queued."""
    return IncidentEvent.of(event, commander=commander).to_stored()


def messages(
    events: Sequence[Event],
    sinks: Mapping[str, Sink],
    commanders: Mapping[str, str] | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """One outbox message per event and sink, to store with the change (role assignments and
    reminders to the chat sinks only). ``commanders``: each incident's commander, by id."""
    named = commanders or {}
    return [
        (name, payload(event, named.get(event.incident.id, "")))
        for event in events
        for name in sorted(sinks)
        if event.kind not in NOTE_KINDS or name in CHAT_SINKS
    ]


@dataclass(frozen=True)
class _Claim:
    pid: int
    run: str


def _claimant(owner: str | None) -> _Claim | None:
    if owner is None:
        return None
    pid, _, run = owner.partition(":")
    return _Claim(int(pid), run) if pid.isdigit() else None


def _queues(messages: Sequence[OutboxMessage]) -> dict[tuple[str, str], list[OutboxMessage]]:
    queues: dict[tuple[str, str], list[OutboxMessage]] = {}
    for message in sorted(messages, key=lambda m: m.id):
        queues.setdefault((message.incident_id, message.sink), []).append(message)
    return queues


@dataclass
class _Running:
    """One attempt under way: its bound, and its result once its thread has one."""

    timeout: float
    ends: float
    result: list[Attempt] = field(default_factory=list)


@dataclass
class Courier:
    """Delivers due outbox messages; sessions, clocks, randomness and liveness are passed in.

    Keep one courier for the life of a process: it remembers which attempts are still
    unanswered (see the module's promises). :meth:`flush` may run in a thread of its own while
    another thread reads :attr:`by_sink` or swaps :attr:`sinks` and :attr:`policy`.
    """

    sinks: Mapping[str, Sink]
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    verify: str | bool = DEFAULT_CA_BUNDLE_PATH
    """Passed on every request: a CA file, so REQUESTS_CA_BUNDLE cannot replace it."""
    session_factory: Callable[[], requests.Session] = requests.Session
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.monotonic
    logger: Logger = field(default_factory=make_logger)
    alive: Callable[[int], bool] = process_alive
    owner: str = field(default_factory=lambda: f"{os.getpid()}:{uuid.uuid4().hex[:12]}")
    """This process's claim on the messages it sends: ``pid:run``."""
    _by_sink: dict[tuple[str, str], int] = field(default_factory=dict)
    _in_flight: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _cutoff: float | None = None

    def stop_by(self, cutoff: float) -> None:
        """From now on, start nothing after ``cutoff`` (a ``clock`` value) and wait for no
        attempt beyond it, whatever deadline the running flush was given (a stopping daemon)."""
        self._cutoff = cutoff

    def _end(self, deadline: float | None) -> float | None:
        ends = [d for d in (deadline, self._cutoff) if d is not None]
        return min(ends) if ends else None

    def _past(self, deadline: float | None) -> bool:
        end = self._end(deadline)
        return end is not None and self.clock() >= end

    @property
    def by_sink(self) -> dict[tuple[str, str], int]:
        """Messages by (sink, outcome) since this courier was made, for sloctl's own metrics."""
        with self._lock:
            return dict(self._by_sink)

    def in_flight(self) -> int:
        """Attempts of this process still unanswered (abandoned ones included)."""
        with self._lock:
            return len(self._in_flight)

    def flush(
        self, store: Store, now: datetime, *, deadline: float | None = None
    ) -> dict[str, int]:
        """Settle and send what is due, queue by queue, until nothing more is due.

        Each sink is a lane of its own: one attempt at a time per sink, the sinks in parallel,
        so a receiver that hangs delays only its own messages. A sink that did not answer well
        is not asked again in this flush. ``now`` is the wall time when the flush starts (later
        times are derived from ``clock``). With a ``deadline`` (a ``clock`` value) nothing is
        started after it and no attempt is waited for beyond it. Messages for a sink this
        process has no secret for stay pending for one that has (or until they expire).
        Returns counts by outcome.
        """
        started = self.clock()
        sinks = dict(self.sinks)  # the daemon may swap them (reload) while this runs
        counts = dict.fromkeys(OUTCOMES, 0)
        resting: set[str] = set()
        running: dict[str, tuple[OutboxMessage, _Running]] = {}
        finished: queue.SimpleQueue[int] = queue.SimpleQueue()

        def wall() -> datetime:
            return now + timedelta(seconds=self.clock() - started)

        while True:
            heads = [
                m
                for m in self._heads(store, wall(), counts, sinks)
                if m.sink not in resting and m.sink not in running
            ]
            if self._past(deadline) and not running:
                counts["deferred"] += len(heads)
                return counts
            unreadable = 0
            for head in heads:
                if self._past(deadline):
                    break
                if head.sink in running:
                    continue  # one attempt per sink at a time
                if store.claim(head, self.owner, wall() + self.policy.lease):
                    try:
                        event = IncidentEvent.from_stored(
                            head.event, store.installation_for(head.incident_id)
                        )
                    except (KeyError, TypeError, ValueError) as exc:
                        # Never sendable: it must not hold up its queue forever.
                        at = wall()
                        reason = f"stored message unreadable ({type(exc).__name__}: {exc})"
                        store.record_attempt(
                            head.id, status="failed", error=reason, retry_at=at, at=at
                        )
                        counts["failed"] += 1
                        unreadable += 1
                        self._count(head.sink, "failed")
                        continue
                    running[head.sink] = (
                        head,
                        self._start(sinks[head.sink], event, head, deadline, finished),
                    )
            if not running:
                if unreadable:
                    continue  # their queues may have more to send
                return counts
            # Wait for the first answer or the first attempt's end, looking up now and then
            # for a cutoff (a stop) set meanwhile.
            soonest = min(r.ends for _, r in running.values())
            with contextlib.suppress(queue.Empty):
                finished.get(timeout=min(POLL_SECONDS, max(0.0, soonest - self.clock())))
            for sink, (message, attempt) in list(running.items()):
                if attempt.result or self.clock() >= attempt.ends or self._past(deadline):
                    del running[sink]
                    outcome = self._record(store, message, attempt, wall())
                    counts[outcome] += 1
                    if outcome == "retry":
                        resting.add(sink)

    def _heads(
        self, store: Store, now: datetime, counts: dict[str, int], sinks: Mapping[str, Sink]
    ) -> list[OutboxMessage]:
        """Expire and supersede what will never be sent, then the first message of every
        queue that may be sent now, oldest first."""
        pending = store.outbox(status="pending")
        expired = [m for m in pending if now - m.created_at >= self.policy.max_age]
        if expired:
            store.settle(
                [m.id for m in expired],
                status="expired",
                error=f"not delivered within {self.policy.max_age}",
            )
            for message in expired:
                self._log_settled(message, "expired")
            counts["expired"] += len(expired)
        queues = _queues([m for m in pending if m not in expired])
        superseded: list[OutboxMessage] = []
        for lane in queues.values():
            for message, later in itertools.pairwise(lane):
                if (
                    message.kind not in ALWAYS_SENT
                    and later.kind not in NOTE_KINDS
                    and not self._taken(message, now)
                ):
                    superseded.append(message)
                    self._log_settled(message, "superseded", by=later.kind)
        if superseded:
            store.settle(
                [m.id for m in superseded],
                status="superseded",
                error="a later message of the incident replaced it",
            )
            counts["superseded"] += len(superseded)
            gone = {m.id for m in superseded}
            queues = _queues([m for q in queues.values() for m in q if m.id not in gone])
        mine = {key: queue for key, queue in queues.items() if key[1] in sinks}
        updated = store.last_sent([incident for incident, _ in mine], EventKind.UPDATED.value)
        heads = []
        for key, lane in mine.items():
            head = lane[0]
            if self._taken(head, now) or head.next_attempt_at > now:
                continue
            last = updated.get(key)
            if head.kind == EventKind.UPDATED and last and now < last + self.policy.coalesce:
                continue  # coalesced: the latest state goes out when the window ends
            heads.append(head)
        return sorted(heads, key=lambda m: m.id)

    def _taken(self, message: OutboxMessage, now: datetime) -> bool:
        """Whether an attempt at ``message`` is unanswered here, or another live process
        claims it."""
        with self._lock:
            if message.id in self._in_flight:
                return True
        claim = _claimant(message.claimed_by)
        if claim is None or message.claimed_by == self.owner or claim.pid == os.getpid():
            return False  # a claim of this process's earlier run, or of its own settled attempt
        until = message.claimed_until
        return until is not None and until > now and self.alive(claim.pid)

    def _record(self, store: Store, message: OutboxMessage, running: _Running, at: datetime) -> str:
        """Store what became of an attempt at ``message`` (abandoned when it has no result
        yet)."""
        answered = bool(running.result)
        attempt = (
            running.result[0]
            if answered
            else Attempt(Outcome.RETRY, None, f"no complete answer within {running.timeout:.3g} s")
        )
        attempts = message.attempts + 1
        if attempt.outcome is Outcome.DELIVERED:
            store.record_attempt(message.id, status="delivered", error="", retry_at=at, at=at)
            result = "delivered"
        elif attempt.outcome is Outcome.RETRY:
            wait = retry_after_seconds(attempt.retry_after, at)
            pause = timedelta(seconds=self.policy.pause(attempts, wait, self.rng))
            store.record_attempt(
                message.id,
                status="pending",
                error=attempt.reason,
                retry_at=at + pause,
                at=at,
                keep_claim=not answered,
            )
            result = "retry"
        else:
            store.record_attempt(
                message.id, status="failed", error=attempt.reason, retry_at=at, at=at
            )
            result = "failed"
        log = self.logger.warning if result == "failed" else self.logger.info
        log(
            "notification",
            sink=message.sink,
            incident=message.incident_id,
            kind=message.kind,
            attempt=attempts,
            outcome=result,
            reason=attempt.reason,
        )
        self._count(message.sink, result)
        return result

    def _log_settled(self, message: OutboxMessage, outcome: str, **extra: Any) -> None:
        self.logger.info(
            "notification",
            sink=message.sink,
            incident=message.incident_id,
            kind=message.kind,
            attempt=message.attempts,
            outcome=outcome,
            **extra,
        )
        self._count(message.sink, outcome)

    def _count(self, sink: str, outcome: str) -> None:
        with self._lock:
            self._by_sink[(sink, outcome)] = self._by_sink.get((sink, outcome), 0) + 1

    def _start(
        self,
        sink: Sink,
        event: IncidentEvent,
        message: OutboxMessage | None,
        deadline: float | None,
        finished: queue.SimpleQueue[int] | None = None,
    ) -> _Running:
        """Start one attempt in a thread of its own, to be waited for until ``ends`` (no
        ``message`` for an Alertmanager refresh). The message stays in flight (never sent
        again by this process) until the thread ends, even when nobody waits for it any more."""
        timeout = self.policy.send_timeout
        end = self._end(deadline)
        if end is not None:
            timeout = max(0.0, min(timeout, end - self.clock()))
        # send() bounds itself; the margin lets it say why before it is abandoned.
        ends = self.clock() + timeout + 0.5
        if end is not None:
            ends = min(ends, end)
        running = _Running(timeout, ends)
        number = -1 if message is None else message.id

        def work() -> None:
            try:
                with self.session_factory() as session:
                    running.result.append(self._send_all(sink, event, session, timeout))
            finally:
                with self._lock:
                    self._in_flight.discard(number)
                if finished is not None:
                    finished.put(number)

        if message is not None:
            with self._lock:
                self._in_flight.add(number)
        threading.Thread(target=work, name=f"send-{sink.name}", daemon=True).start()
        return running

    def _attempt(self, sink: Sink, event: IncidentEvent, deadline: float | None) -> Attempt:
        """One attempt that is not an outbox message, waited for (bounded)."""
        running = self._start(sink, event, None, deadline)
        while not running.result and self.clock() < running.ends and not self._past(deadline):
            time.sleep(0.02)
        if running.result:
            return running.result[0]
        return Attempt(Outcome.RETRY, None, f"no complete answer within {running.timeout:.3g} s")

    def _send_all(
        self, sink: Sink, event: IncidentEvent, session: requests.Session, timeout: float
    ) -> Attempt:
        ends = self.clock() + timeout
        attempt = Attempt(Outcome.DELIVERED, None, "")
        for request in sink.requests_for(event):
            attempt = send(request, session, max(0.1, ends - self.clock()), verify=self.verify)
            if attempt.outcome is not Outcome.DELIVERED:
                return attempt
        return attempt

    def refresh_alertmanager(
        self, store: Store, now: datetime, *, deadline: float | None = None
    ) -> int:
        """Re-send every open (or just resolved) incident to Alertmanager, which keeps no
        state of its own and resolves an alert that stops arriving. Not stored: the next run
        sends them again. An incident with Alertmanager messages still queued is left to its
        queue, which sends them in order. Returns how many were delivered."""
        sink = self.sinks.get("alertmanager")
        if not isinstance(sink, AlertmanagerSink):
            return 0
        queued = {m.incident_id for m in store.outbox(status="pending") if m.sink == sink.name}
        delivered = 0
        for incident in store.incidents(resolved_after=now - sink.resolve_grace):
            if incident.id in queued:
                continue
            if self._past(deadline):
                break
            kind = EventKind.UPDATED if incident.open else EventKind.RESOLVED
            event = IncidentEvent.of(
                Event(kind, incident, now), store.installation_for(incident.id)
            )
            if sink.keep_sending(event, now):
                attempt = self._attempt(sink, event, deadline)
                if attempt.outcome is not Outcome.DELIVERED:
                    break  # down or refusing: the next refresh tries again
                delivered += 1
        return delivered

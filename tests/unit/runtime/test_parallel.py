"""Independent calls run side by side (sloctl/runtime/parallel.py)."""

from __future__ import annotations

import threading
import time
from functools import partial

import pytest

from sloctl.runtime.parallel import Parallel

WAIT = 10.0
"""Seconds a test waits for threads that should meet long before: a failure, never a hang."""


def test_one_worker_runs_each_call_at_once_in_the_callers_thread() -> None:
    ran: list[tuple[int, str]] = []

    def record() -> int:
        ran.append((1, threading.current_thread().name))
        return 1

    with Parallel(1) as queue:
        first = queue.submit(record)
        ran.append((0, "after the first submit"))
        second = queue.submit(lambda: 2)
    assert ran == [(1, threading.current_thread().name), (0, "after the first submit")]
    assert (first.result(), second.result()) == (1, 2)


def test_calls_run_side_by_side_never_more_than_the_workers() -> None:
    workers = 3
    meet = threading.Barrier(workers, timeout=WAIT)
    lock = threading.Lock()
    running = [0, 0]  # now, most ever

    def call(index: int) -> int:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        if index < workers:
            meet.wait()  # only returns once three calls run at the same time
        time.sleep(0.001)
        with lock:
            running[0] -= 1
        return index * index

    with Parallel(workers) as queue:
        pending = [queue.submit(partial(call, i)) for i in range(20)]
        assert [p.result() for p in pending] == [i * i for i in range(20)]
    assert running[1] == workers


def test_an_exception_is_raised_where_its_result_is_taken() -> None:
    def fails() -> int:
        raise LookupError("no such series")

    with Parallel(2) as queue:
        bad, good = queue.submit(fails), queue.submit(lambda: 7)
        assert good.result() == 7
        with pytest.raises(LookupError, match="no such series"):
            bad.result()


def test_no_call_is_lost_when_workers_end_as_calls_arrive() -> None:
    """Workers end whenever they find nothing waiting; calls handed in at that very moment
    are still run (thousands of tiny calls, handed in one by one)."""
    results: list[int] = []

    def hand_in() -> None:
        with Parallel(2) as queue:
            pending = []
            for index in range(3000):
                pending.append(queue.submit(partial(int, index)))
                if index % 7 == 0:
                    time.sleep(0)
            results.extend(p.result() for p in pending)

    thread = threading.Thread(target=hand_in, daemon=True)
    thread.start()
    thread.join(WAIT * 3)
    assert not thread.is_alive(), "a call handed in was never run"
    assert results == list(range(3000))


def test_leaving_drops_what_has_not_started_and_waits_for_what_runs() -> None:
    started, release = threading.Barrier(3, timeout=WAIT), threading.Event()

    def slow() -> str:
        started.wait()
        release.wait(WAIT)
        return "finished"

    before = set(threading.enumerate())
    with Parallel(2) as queue:
        running = [queue.submit(slow), queue.submit(slow)]
        waiting = [queue.submit(lambda: "never") for _ in range(5)]
        started.wait()  # both workers are busy: the five calls wait
        # Released only once leaving has begun (and has dropped the five).
        timer = threading.Timer(0.2, release.set)
        timer.start()
    assert [pending.result() for pending in running] == ["finished", "finished"]
    for pending in waiting:
        with pytest.raises(RuntimeError, match="dropped before it ran"):
            pending.result()
    timer.join(WAIT)
    assert set(threading.enumerate()) <= before


def test_at_least_one_worker() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Parallel(0)

"""Independent calls run by a few threads at once, each answer taken where it is needed.

Prometheus evaluates queries side by side (``--query.max-concurrency``, 20 by default), so
the queries of one evaluation that do not depend on each other need not wait for each other.
:class:`Parallel` runs the calls handed to it on at most ``workers`` threads, started as
needed and ended when no call is left; :meth:`Pending.result` waits for one call and returns
its value or raises its exception in the caller's thread. With one worker every call runs at
once in the caller's thread, in the order handed in, exactly as if called directly.
(The standard library's ``concurrent.futures`` would do as well but costs ~10 ms to import,
a twentieth of a whole ``sloctl report``.)
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class Pending(Generic[T]):
    """One call's outcome, once it has run."""

    def __init__(self, call: Callable[[], T]) -> None:
        self._call = call
        self._done = threading.Event()
        self._value: T | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to whoever asks for the result
            self._error = exc
        finally:
            self._done.set()

    def drop(self) -> None:
        """Never to run: asking for its result raises instead of waiting forever."""
        self._error = RuntimeError("this call was dropped before it ran")
        self._done.set()

    def result(self) -> T:
        """The call's value, waiting for it; its exception, raised here."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set by run() unless it raised


class Parallel:
    """Runs handed-in calls on at most ``workers`` threads; a context manager that, on
    leaving, drops the calls not yet started and waits for those running."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("at least one worker")
        self.workers = workers
        self._waiting: deque[Pending[object]] = deque()
        self._threads: list[threading.Thread] = []
        self._active = 0
        self._lock = threading.Lock()

    def submit(self, call: Callable[[], T]) -> Pending[T]:
        pending = Pending(call)
        if self.workers == 1:
            pending.run()
            return pending
        with self._lock:
            self._waiting.append(pending)  # type: ignore[arg-type]  # results stay typed
            if self._active < self.workers:
                # A worker only ends once it found nothing waiting, under this same lock:
                # a call handed in is always either taken by a running worker or by this one.
                self._active += 1
                thread = threading.Thread(target=self._work, name="sloctl-parallel", daemon=True)
                self._threads.append(thread)
                thread.start()
        return pending

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._waiting:
                    self._active -= 1
                    return
                pending = self._waiting.popleft()
            pending.run()

    def __enter__(self) -> Parallel:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            dropped = list(self._waiting)
            self._waiting.clear()
            threads, self._threads = self._threads, []
        for pending in dropped:
            pending.drop()
        for thread in threads:
            thread.join()

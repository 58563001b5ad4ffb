"""One model, many requests: a bounded queue in front of a single scoring thread.

Why one at a time: the model is one torch module on a few CPU cores; two concurrent forward passes
only split the cores (no speed-up) and a shared module is not guaranteed thread-safe. So scoring runs
on one dedicated worker thread (off the event loop, which keeps serving /health and refusals), and
at most `max_queue` requests may wait for it. A request beyond that is refused at once (503 with
Retry-After) rather than held: queued requests hold their uploads in memory, and an unbounded queue
only turns overload into timeouts. A request that still waits longer than `queue_timeout` is refused
too, so nothing hangs forever.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class QueueFull(Exception):
    """The queue is full or the wait ran out; `retry_after` is a fair guess in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ScoringGate:
    def __init__(self, max_queue: int = 8, queue_timeout: float = 120.0) -> None:
        if max_queue < 0:
            raise ValueError(f"max_queue must be >= 0, got {max_queue}")
        self.max_queue = max_queue
        self.queue_timeout = queue_timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lmm-apa-scorer")
        self._lock = asyncio.Lock()  # held while the worker scores; FIFO among waiters
        self._in_flight = 0  # waiting + scoring; only touched on the event loop, so no race
        # Running mean of scoring time, for Retry-After; starts at a guess of one second.
        self._mean_seconds = 1.0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return self._in_flight - (1 if self._lock.locked() else 0)

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained enough to take another request."""
        return max(1, math.ceil(self._mean_seconds * max(1, self._in_flight)))

    def admit(self) -> None:
        """Take a place in the queue, or raise QueueFull. Pair with `release()` (see `run`)."""
        if self._in_flight > self.max_queue:  # one scoring + max_queue waiting
            raise QueueFull(
                f"the server is busy ({self._in_flight} requests in the queue): try again shortly",
                self.retry_after(),
            )
        self._in_flight += 1

    def release(self) -> None:
        self._in_flight -= 1

    async def run(self, fn: Callable[[], T]) -> tuple[T, float]:
        """Run `fn` on the scoring thread once it is free (caller has been admitted). -> (result, seconds)."""
        try:
            await asyncio.wait_for(self._lock.acquire(), timeout=self.queue_timeout)
        except TimeoutError:
            raise QueueFull(
                f"waited {self.queue_timeout:g} s for the model without getting it: try again later",
                self.retry_after(),
            ) from None
        start = time.perf_counter()
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor, fn)
        except BaseException:
            self._lock.release()
            raise
        # The lock is released when the thread is done, not when this request is: a cancelled request
        # (client gone) must not let the next one think the model is free while it still runs.
        future.add_done_callback(lambda _: self._lock.release())
        result = await asyncio.shield(future)
        seconds = time.perf_counter() - start
        self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * seconds
        return result, seconds

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

"""One model, many requests: a bounded queue in front of a single scoring thread, batching what waits.

Why one scoring thread: the model is one torch module on a few CPU cores; two concurrent forward
passes only split the cores (no speed-up) and a shared module is not guaranteed thread-safe. So
scoring runs on one dedicated worker thread (off the event loop, which keeps serving /health and
refusals), fed by one worker task on the event loop.

Dynamic batching: when the model comes free, the requests waiting for it are scored together, up to
``max_batch`` in one call (`run_batched`; the scorer batches their forward passes). A request that
finds the model idle waits ``batch_window`` seconds for company first, so that a burst arriving
together is scored together. Jobs that cannot be batched (`run`) go one at a time, in their turn.

The bound: at most ``max_queue`` requests may *wait*, besides those the model takes next (one job,
or one batch of up to ``max_batch``; `admit(batched=True)` for a request that will batch). A request
beyond that is refused at once (503 with Retry-After) rather than held: queued requests hold their
uploads in memory, and an unbounded queue only turns overload into timeouts. A request that still
waits longer than ``queue_timeout`` is refused too, so nothing hangs forever.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
# items -> one result per item, in order; an item's result may be the exception it raised
BatchFn = Callable[[Sequence[Any]], Sequence[Any]]


class QueueFull(Exception):
    """The queue is full or the wait ran out; `retry_after` is a fair guess in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(eq=False)
class _Job:
    fn: Callable[[], Any] | None  # a job of its own
    batch_fn: BatchFn | None  # or an item that batches with the other items of the same batch_fn
    item: Any
    future: asyncio.Future
    started: asyncio.Event = field(default_factory=asyncio.Event)
    gone: bool = False  # its request stopped waiting (timed out, client gone): skip it


class ScoringGate:
    def __init__(
        self, max_queue: int = 8, queue_timeout: float = 120.0, max_batch: int = 1, batch_window: float = 0.0
    ) -> None:
        if max_queue < 0:
            raise ValueError(f"max_queue must be >= 0, got {max_queue}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.max_queue = max_queue
        self.queue_timeout = queue_timeout
        self.max_batch = max_batch
        self.batch_window = batch_window
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lmm-apa-scorer")
        self._jobs: deque[_Job] = deque()
        self._in_flight = 0  # admitted and not yet released; only touched on the event loop
        self._scoring = 0  # requests in the batch on the scoring thread now
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        # Running mean of a batch's scoring time, for Retry-After; starts at a guess of one second.
        self._mean_seconds = 1.0
        self.batches: list[int] = []  # size of every batch scored (the last 1000), for tests and logs

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def waiting(self) -> int:
        return self._in_flight - self._scoring

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained enough to take another request."""
        batches = math.ceil(max(1, self._in_flight) / self.max_batch)
        return max(1, math.ceil(self._mean_seconds * batches))

    def admit(self, batched: bool = False) -> None:
        """Take a place in the queue, or raise QueueFull. Pair with `release()` (see `run`).

        ``batched``: the request will go through `run_batched`, so the model takes up to
        ``max_batch`` at once; else one (`run`).
        """
        next_up = max(self._scoring, self.max_batch if batched else 1)
        if self._in_flight >= next_up + self.max_queue:  # what the model takes next + max_queue waiting
            raise QueueFull(
                f"the server is busy ({self._in_flight} requests in the queue): try again shortly",
                self.retry_after(),
            )
        self._in_flight += 1

    def release(self) -> None:
        self._in_flight -= 1

    async def run(self, fn: Callable[[], T]) -> tuple[T, float]:
        """Run `fn` on the scoring thread in its turn (caller has been admitted). -> (result, seconds)."""
        return await self._submit(fn, None, None)

    async def run_batched(self, batch_fn: BatchFn, item: Any) -> tuple[Any, float]:
        """Score ``item`` with the other waiting items of the same ``batch_fn``: ``batch_fn(items)``
        on the scoring thread returns one result per item (an exception instance: that item's error,
        raised here). -> (result, seconds of its batch)."""
        return await self._submit(None, batch_fn, item)

    async def _submit(self, fn, batch_fn, item) -> tuple[Any, float]:
        loop = asyncio.get_running_loop()
        self._start_worker(loop)
        job = _Job(fn, batch_fn, item, loop.create_future())
        # a result nobody awaits any more (client gone) must not warn "exception never retrieved"
        job.future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._jobs.append(job)
        self._wake.set()
        try:
            await asyncio.wait_for(job.started.wait(), timeout=self.queue_timeout)
        except TimeoutError:
            if not job.started.is_set():
                job.gone = True
                raise QueueFull(
                    f"waited {self.queue_timeout:g} s for the model without getting it: try again later",
                    self.retry_after(),
                ) from None
        except BaseException:
            job.gone = not job.started.is_set()
            raise
        # Once started, the job runs to its end on the thread even if this request goes away.
        return await asyncio.shield(job.future)

    def _start_worker(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop and self._worker is not None and not self._worker.done():
            return
        self._loop, self._wake = loop, asyncio.Event()
        self._worker = loop.create_task(self._work(), name="lmm-apa-batcher")

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._live():
                self._wake.clear()
                await self._wake.wait()
            head = self._live()[0]
            if head.batch_fn is not None and self.max_batch > 1 and self.batch_window > 0:
                if len(self._batchable(head.batch_fn)) < self.max_batch:
                    await asyncio.sleep(self.batch_window)  # company for a request that came alone
            batch = self._take()
            if not batch:
                continue
            for job in batch:
                job.started.set()
            self._scoring = len(batch)
            self.batches = [*self.batches[-999:], len(batch)]
            start = time.perf_counter()
            try:
                if batch[0].fn is not None:
                    outcomes = [await loop.run_in_executor(self._executor, _call, batch[0].fn)]
                else:
                    fn, items = batch[0].batch_fn, [job.item for job in batch]
                    outcomes = await loop.run_in_executor(self._executor, _call_batch, fn, items)
            finally:
                self._scoring = 0
            seconds = time.perf_counter() - start
            self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * seconds
            for job, outcome in zip(batch, outcomes, strict=True):
                if job.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    job.future.set_exception(outcome)
                else:
                    job.future.set_result((outcome, seconds))

    def _live(self) -> list[_Job]:
        while self._jobs and self._jobs[0].gone:
            self._jobs.popleft()
        return list(self._jobs)

    def _batchable(self, batch_fn: BatchFn) -> list[_Job]:
        return [j for j in self._jobs if not j.gone and j.batch_fn is batch_fn]

    def _take(self) -> list[_Job]:
        """The next job, and with a batched one the waiting jobs of its batch_fn (oldest first)."""
        live = self._live()
        if not live:
            return []
        head = live[0]
        batch = [head] if head.batch_fn is None else self._batchable(head.batch_fn)[: self.max_batch]
        taken = set(map(id, batch))
        self._jobs = deque(j for j in self._jobs if id(j) not in taken and not j.gone)
        return batch

    def shutdown(self) -> None:
        if self._worker is not None and not self._worker.done():
            self._worker.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _call(fn: Callable[[], Any]) -> Any:
    """``fn()``, or the exception it raised (returned, to be raised in the request that sent it)."""
    try:
        return fn()
    except Exception as e:  # delivered to the request that sent the job
        return e


def _call_batch(batch_fn: BatchFn, items: list[Any]) -> list[Any]:
    """``batch_fn(items)``; if it fails as a whole, each item alone, so that only the item at fault fails."""
    try:
        outcomes = list(batch_fn(items))
        if len(outcomes) != len(items):
            raise RuntimeError(f"batch function returned {len(outcomes)} results for {len(items)} items")
        return outcomes
    except Exception as e:
        if len(items) == 1:
            return [e]
    return [_call(lambda item=item: batch_fn([item])[0]) for item in items]

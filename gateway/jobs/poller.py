"""The poller every replica runs: claims due jobs from Redis with a lease and handles them.

A job is claimed atomically (a Lua script in the store moves it ``lease`` seconds into the
future and records the owner), so a replica that dies simply lets the job come due again.
``run_once`` is one step, called directly by tests; ``run`` loops it, sleeping until the next
job in the schedule comes due (at most a jittered tick, so jobs scheduled meanwhile by another
replica are seen within one tick).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.exceptions import RedisError

from gateway.jobs.lease import LeaseLost, holding_lease
from gateway.metrics import Metrics
from gateway.settings import JobSettings
from gateway.store.jobs import Job, Jobs

JobHandler = Callable[[Job, str], Awaitable[None]]
"""Handles one claimed job; called with the job and the poller's owner id."""

log = structlog.get_logger("gateway.poller")

GAUGE_EVERY = 5.0  # seconds between refreshes of the pending-jobs gauge
# The shortest sleep between two claims: jobs coming due one after another are claimed
# together (at most ~20 claims a second) at the cost of at most this much lateness.
CLAIM_GAP = 0.05
CANCEL_RETRY_SECONDS = 0.5


class Poller:
    """Claims due jobs and hands each to ``handler``, a bounded number at a time."""

    def __init__(
        self,
        jobs: Jobs,
        handler: JobHandler,
        settings: JobSettings,
        *,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.jobs = jobs
        self.handler = handler
        self.settings = settings
        self.owner = owner or f"poller-{uuid.uuid4().hex[:12]}"
        self.clock = clock
        self.metrics = metrics
        self._gauge_at = 0.0
        self._failing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._next_due: float | None = None  # earliest time in the schedule at the last claim
        self._more_due = False  # the last claim filled every free slot: more may be due

    async def run_once(self) -> int:
        """Claim the jobs due now and start handling them; returns how many were claimed."""
        free = self.settings.batch - len(self._tasks)  # never more in hand than the batch size
        if free <= 0:
            return 0
        claim = await self.jobs.claim_due(self.owner, self.clock(), self.settings.lease, free)
        self._next_due = claim.next_due
        self._more_due = len(claim.jobs) == free
        for job in claim.jobs:
            task = asyncio.create_task(self._handle(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claim.jobs)

    async def _handle(self, job: Job) -> None:
        # The lease is renewed while the handler works, so no other poller acts on the job;
        # a renewal that finds it taken over stops the handler.
        work = self.handler(job, self.owner)
        try:
            await holding_lease(
                self.jobs, job.id, self.owner, self.settings.lease, work, clock=self.clock
            )
        except LeaseLost:
            return
        except RedisError as exc:
            # Redis away or refusing writes: an outage to wait out, not a bug. The lease runs
            # out and the job comes due again once Redis takes it.
            log.warning("job_handler_failed", job=job.id, error=type(exc).__name__)
        except Exception:
            # The lease runs out and the job comes due again: nothing is lost.
            log.exception("job_handler_failed", job=job.id)

    async def drain(self) -> None:
        """Wait for the jobs being handled to finish."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def run(self) -> None:
        """Poll for due jobs until cancelled; log once when failing and once on recovery."""
        log.info("poller_started", owner=self.owner)
        while not self._stopping.is_set():
            try:
                claimed = await self.run_once()
                await self._refresh_gauge()
                self._recovered()
            except Exception as exc:  # noqa: BLE001 - any failure (Redis down) is retried
                claimed = 0
                self._next_due, self._more_due = None, False
                self._failed(exc)
            if claimed == 0 or not self._more_due:
                await self._idle()

    def _sleep_for(self) -> float:
        """Until the next job in the schedule comes due: at least CLAIM_GAP, at most a tick.

        A fixed tick would leave every job up to a whole tick overdue, and let due jobs pile up
        into bursts bigger than the hand.
        """
        tick = self.settings.poll_tick * random.uniform(0.8, 1.2)  # noqa: S311 - jitter only
        if self._next_due is None:
            return tick
        return min(tick, max(self._next_due - self.clock(), CLAIM_GAP))

    async def _idle(self) -> None:
        """Sleep until the next job is due; with every slot busy, until one frees up.

        Never past stop(). Sleeping with a full hand would cap polling at ``batch`` jobs per
        sleep while due jobs pile up behind it.
        """
        stop = asyncio.ensure_future(self._stopping.wait())
        wake: set[asyncio.Future[Any]] = {stop}
        if len(self._tasks) >= self.settings.batch:
            wake.update(self._tasks)
            timeout = self.settings.poll_tick
        else:
            timeout = self._sleep_for()
        try:
            await asyncio.wait(wake, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()

    def start(self) -> None:
        """Run the polling loop in a background task until ``stop``."""
        if self._runner is None:
            self._runner = asyncio.create_task(self.run(), name=f"poller-{self.owner}")

    async def _refresh_gauge(self) -> None:
        now = time.monotonic()
        if self.metrics is None or now - self._gauge_at < GAUGE_EVERY:
            return
        self._gauge_at = now
        self.metrics.jobs_pending.set(await self.jobs.count_jobs())

    async def stop(self) -> None:
        """Stop the loop, then give the leases of unfinished jobs back for another replica."""
        self._stopping.set()
        runner = self._runner
        # redis-py can swallow a cancellation that lands mid-command; the stop flag ends the
        # loop at its next turn anyway, and the cancellation is repeated until it has.
        while runner is not None and not runner.done():
            runner.cancel()
            await asyncio.wait([runner], timeout=CANCEL_RETRY_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self.jobs.release_jobs(self.owner, self.clock())
        except Exception as exc:  # noqa: BLE001 - shutting down: the leases expire anyway
            log.warning("poller_release_failed", error=type(exc).__name__)

    def _failed(self, exc: Exception) -> None:
        if self._failing:
            return
        self._failing = True
        if isinstance(exc, RedisError):
            # Expected while Redis is away or refusing writes; its message can quote a script
            # or keys, so only the class is logged.
            log.warning("poller_failing", error=type(exc).__name__)
        else:
            log.error("poller_failing", error=type(exc).__name__, detail=str(exc)[:200])

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            log.info("poller_recovered")

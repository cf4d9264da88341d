"""Holding a job's lease while working on it: renewed in the background, lost means stop.

A lease is what keeps a second poller off a job. Handling one job can outlast a lease (a
create and a poll, each up to a LAC read timeout), so whoever works on a job renews its lease
every third of its length; if a renewal finds the job held by someone else (the holder was
stalled past its lease), the work is cancelled: the new holder acts on the job instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from redis.exceptions import RedisError

from gateway.store.jobs import Jobs

log = structlog.get_logger("gateway.jobs")
T = TypeVar("T")

RENEWALS_PER_LEASE = 3


class LeaseLost(Exception):
    """Another holder took the job over: the work on it was stopped."""


async def holding_lease(
    jobs: Jobs,
    aid: str,
    owner: str,
    lease: float,
    work: Awaitable[T],
    *,
    clock: Callable[[], float] = time.time,
) -> T:
    """Run ``work`` while renewing ``owner``'s lease on job ``aid``; LeaseLost if it is lost."""
    task = asyncio.ensure_future(work)
    renewer = asyncio.create_task(_renew_until_lost(jobs, aid, owner, lease, clock))
    try:
        await asyncio.wait({task, renewer}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done() and renewer.exception() is None:
            # The renewer ended first: the lease is someone else's now.
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            log.warning("job_lease_lost", job=aid, owner=owner)
            raise LeaseLost(aid)
        return await task
    finally:
        task.cancel()  # a no-op once it is done; stops it if we are cancelled ourselves
        renewer.cancel()


async def _renew_until_lost(
    jobs: Jobs, aid: str, owner: str, lease: float, clock: Callable[[], float]
) -> None:
    """Renew every third of a lease; returns only when a renewal finds the lease lost."""
    while True:
        await asyncio.sleep(lease / RENEWALS_PER_LEASE)
        try:
            if not await jobs.renew_lease(aid, owner, clock() + lease):
                return
        except RedisError as exc:
            # Redis is away: the lease may run out meanwhile, and then a renewal says so.
            log.warning("job_lease_renewal_failed", job=aid, error=type(exc).__name__)

"""Rate-limit windows counted in Redis, without a Redis round trip on most requests.

Each scope (an API key's name or a client address) has one fixed window in Redis, shared by
every replica. A process counts its own requests locally and adds them to Redis in one command
at most every ``sync_interval`` seconds; the count it answers with is the shared total it last
saw plus what it has not sent yet, so within one process the count is exact. Far from the
limit that is enough; once the estimate comes within a tenth of the limit (at least
``NEAR_LIMIT_MIN`` requests), every request goes to Redis and waits for the shared total, so
near the limit replicas agree to the request.
A caller spread over replicas can exceed its limit by at most what the other replicas counted
but had not yet sent when the first of them came near it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from redis.exceptions import RedisError

from gateway.api.ports import RateCounter

log = structlog.get_logger("gateway.api")

NEAR_LIMIT = 0.1  # the last tenth of a window's budget is counted request by request,
NEAR_LIMIT_MIN = 100  # and never fewer than this many (small limits: every request)
MAX_SCOPES = 100_000  # windows remembered per process before the ended ones are forgotten


@dataclass(slots=True)
class _Window:
    """What one process knows of one scope's current window."""

    ends_at: float  # this process's clock
    shared: int  # the total Redis last reported, this process's sent requests included
    unsent: int = 0  # requests counted here and not yet added in Redis
    synced_at: float = 0.0
    syncing: bool = False


class RateLimiter:
    """Counts requests per scope in shared Redis windows, sending the counts in batches."""

    def __init__(
        self,
        counter: RateCounter,
        sync_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._counter = counter
        self._sync_interval = sync_interval
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def hit(self, scope: str, limit: int, window: float) -> tuple[int, float]:
        """Count one request; (requests so far in this window, seconds until it resets).

        Raises RedisError when Redis must be asked and cannot be.
        """
        return self.hit_here(scope, limit, window) or await self.hit_in_redis(scope, window)

    async def hit_in_redis(self, scope: str, window: float) -> tuple[int, float]:
        """``hit`` for a request ``hit_here`` did not count: added in Redis, the total awaited."""
        now = self._clock()
        current = self._windows.get(scope)
        if current is None or now >= current.ends_at:
            if len(self._windows) >= MAX_SCOPES:
                self._forget_ended(now)
            return await self._exact(scope, window, now, None)
        current.unsent += 1
        return await self._exact(scope, window, now, current)

    def hit_here(self, scope: str, limit: int, window: float) -> tuple[int, float] | None:
        """``hit`` when it needs no answer from Redis (the window is known here and far from
        the limit); None, with nothing counted, when it does."""
        now = self._clock()
        current = self._windows.get(scope)
        if current is None or now >= current.ends_at or self._sync_interval <= 0:
            return None
        used = current.shared + current.unsent + 1
        if used >= limit - max(limit * NEAR_LIMIT, NEAR_LIMIT_MIN):
            return None
        current.unsent += 1
        if not current.syncing and now - current.synced_at >= self._sync_interval:
            self._send_later(scope, window, current)
        return used, current.ends_at - now

    async def _exact(
        self, scope: str, window: float, now: float, current: _Window | None
    ) -> tuple[int, float]:
        """Add the unsent requests (this one included) in Redis and answer with the total."""
        count = 1 if current is None else current.unsent
        if current is not None:
            current.unsent = 0
        try:
            total, left = await self._counter.rate_hit(scope, window, count)
        except BaseException:
            if current is not None:
                current.unsent += count  # not counted in Redis: keep it for the next send
            raise
        known = self._windows.get(scope)
        if known is None or now >= known.ends_at:  # the first request this process sees of it
            known = self._windows[scope] = _Window(ends_at=now + left, shared=total, synced_at=now)
        known.shared = max(known.shared, total)  # answers to concurrent sends may cross
        return known.shared + known.unsent, left

    def _forget_ended(self, now: float) -> None:
        self._windows = {s: w for s, w in self._windows.items() if now < w.ends_at}
        if len(self._windows) >= MAX_SCOPES:  # that many live scopes: count them in Redis only
            self._windows.clear()

    def _send_later(self, scope: str, window: float, current: _Window) -> None:
        current.syncing = True
        task = asyncio.get_running_loop().create_task(self._send(scope, window, current))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, scope: str, window: float, current: _Window) -> None:
        count, current.unsent = current.unsent, 0
        try:
            total, _ = await self._counter.rate_hit(scope, window, count)
        except RedisError as exc:
            current.unsent += count
            log.debug("rate_count_not_sent", error=type(exc).__name__)
            return
        finally:
            current.syncing = False
            current.synced_at = self._clock()
        current.shared = max(current.shared, total)

    async def close(self) -> None:
        """Wait for the counts being sent."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

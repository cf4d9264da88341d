"""LAC's "come back later", shared by the replicas: the time before which nobody calls LAC."""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from gateway.store import scripts
from gateway.store.keys import LAC_PAUSE_FRESH_FOR, Keys

log = structlog.get_logger(__name__)


class LacPause:
    """Until when LAC asked to be left alone (a 429 or 503 with ``Retry-After``).

    Every LAC call reads it, so the answer is kept in process for ``fresh_for`` seconds: a
    replica learns another's pause that much late at most, and the hot path adds no Redis
    round trip per call. Redis trouble never stops LAC calls: the last known time is used.
    """

    def __init__(
        self,
        redis: Redis | RedisCluster,
        keys: Keys,
        *,
        clock: Callable[[], float] = time.time,
        fresh_for: float = LAC_PAUSE_FRESH_FOR,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self._clock = clock
        self._fresh_for = fresh_for
        self._until = 0.0
        self._read_at = float("-inf")
        self._pause = scripts.register(redis, "pause_lac-1")

    async def paused_until(self) -> float:
        """Unix time before which LAC must not be called (0 or past: not paused)."""
        now = self._clock()
        if now - self._read_at < self._fresh_for:
            return self._until
        self._read_at = now
        try:
            raw = await self.redis.get(self.keys.lac_pause)
        except RedisError as exc:
            log.warning("lac_pause_unreadable", error=type(exc).__name__)
            return self._until
        self._until = int(raw) / 1000 if raw else 0.0
        return self._until

    async def pause_until(self, until: float) -> None:
        """Hold every replica's LAC calls until ``until`` (Unix time); a later hold wins."""
        self._until = max(self._until, until)
        self._read_at = self._clock()
        try:
            await self._pause(keys=[self.keys.lac_pause], args=[int(until * 1000)])
        except RedisError as exc:
            # This replica still waits; the others learn of it from their own calls.
            log.warning("lac_pause_not_shared", error=type(exc).__name__)

"""Rate-limit windows shared by every replica: one fixed-window counter per caller or IP."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.store import scripts
from gateway.store.keys import Keys
from gateway.store.values import ms


class RateWindows:
    """Counts requests per scope (``gateway.api.ports.RateCounter``)."""

    def __init__(self, redis: Redis | RedisCluster, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._hit = scripts.register(redis, "rate_hit-1")

    async def rate_hit(self, scope: str, window: float, count: int = 1) -> tuple[int, float]:
        """Count ``count`` requests of ``scope``; (requests in this window, seconds left)."""
        args = [ms(window), count]
        total, ttl_ms = await self._hit(keys=[self.keys.rate(scope)], args=args)
        return int(total), int(ttl_ms) / 1000

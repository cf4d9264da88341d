"""Whether Redis answers and takes writes (``/readyz``)."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.store.keys import WRITE_PROBE_TTL, Keys
from gateway.store.values import ms


class Health:
    """The write probe of the Redis the store uses."""

    def __init__(self, redis: Redis | RedisCluster, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def probe_writes(self, owner: str) -> None:
        """Write the probe key; raises the RedisError of a Redis that refuses writes.

        A real write is the one check that sees every reason Redis refuses them (out of memory
        under noeviction, a read-only replica after a failover, a failed snapshot with
        stop-writes-on-bgsave-error, too few replicas); comparing INFO's used_memory with
        maxmemory would catch only the first, and not exactly as Redis decides it.
        """
        await self.redis.set(self.keys.write_probe, owner, px=ms(WRITE_PROBE_TTL))

"""Order summaries cached for a short while (the key appears in Redis only as a digest)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from pydantic import BaseModel
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.settings import CacheSettings
from gateway.store.keys import Keys
from gateway.store.values import ms


class Orders:
    """The order summary cache."""

    def __init__(self, redis: Redis | RedisCluster, keys: Keys, cache: CacheSettings) -> None:
        self.redis = redis
        self.keys = keys
        self.cache = cache

    async def get_order(self, activation_key: str) -> dict[str, Any] | None:
        """The cached order summary."""
        raw = await self.redis.get(self.keys.order(activation_key))
        if raw is None:
            return None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None

    async def put_order(
        self, activation_key: str, data: Mapping[str, Any] | BaseModel, ttl: float | None = None
    ) -> None:
        """Cache an order summary."""
        ttl = self.cache.order_ttl if ttl is None else ttl
        plain = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
        await self.redis.set(self.keys.order(activation_key), orjson.dumps(plain), px=ms(ttl))

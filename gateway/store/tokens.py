"""The LAC vendor login token shared by every replica, and the lock that coalesces refreshes."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.store import scripts
from gateway.store.keys import Keys
from gateway.store.values import ms, text


class Tokens:
    """The vendor token cache (``gateway.lac.base.TokenCache``) and its refresh lock."""

    def __init__(self, redis: Redis | RedisCluster, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._compare_and_delete = scripts.register(redis, "compare_and_delete-1")

    async def get_token(self) -> str | None:
        """The cached vendor token."""
        raw = await self.redis.get(self.keys.token)
        return None if raw is None else text(raw)

    async def set_token(self, token: str, ttl: float) -> None:
        """Store the vendor token for ``ttl`` seconds."""
        await self.redis.set(self.keys.token, token, px=ms(ttl))

    async def drop_token(self, token: str) -> None:
        """Forget ``token`` unless another replica already replaced it."""
        await self._compare_and_delete(keys=[self.keys.token], args=[token])

    async def acquire_token_lock(self, owner: str, ttl: float) -> bool:
        """Become the one replica refreshing the token, for at most ``ttl`` seconds."""
        return bool(await self.redis.set(self.keys.token_lock, owner, nx=True, px=ms(ttl)))

    async def release_token_lock(self, owner: str) -> bool:
        """Give up the token lock if ``owner`` still holds it."""
        return bool(await self._compare_and_delete(keys=[self.keys.token_lock], args=[owner]))

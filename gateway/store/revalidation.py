"""Revalidation of cached licenses: who asks LAC (one replica), and writing what it answered.

What LAC answered is written only over the very entry that was revalidated, so a license
deactivated or replaced while LAC was being asked is never brought back.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.typing import EncodableT

from gateway.models import LicenseBody
from gateway.store import scripts
from gateway.store.keys import REVALIDATION_LOCK_TTL, Keys
from gateway.store.licenses import Licenses
from gateway.store.values import ms, num


class Revalidations:
    """The single-flight lock of each license's revalidation and its conditional writes."""

    def __init__(self, redis: Redis | RedisCluster, keys: Keys, licenses: Licenses) -> None:
        self.redis = redis
        self.keys = keys
        self.licenses = licenses
        self._write = scripts.register(redis, "revalidated_license-1")

    async def claim(self, aid: str, ttl: float = REVALIDATION_LOCK_TTL) -> bool:
        """Become the one replica revalidating ``aid``'s license for the next ``ttl`` seconds."""
        return bool(await self.redis.set(self.keys.revalidation(aid), b"1", nx=True, px=ms(ttl)))

    async def confirm(
        self, aid: str, stored_at: float, lic: LicenseBody, *, now: float, origin: str = ""
    ) -> bool:
        """LAC still has the license: cache it afresh, if the entry stored at ``stored_at`` is.

        ``origin`` is kept: a license a job finished still says so.
        """
        entry = self.licenses.entry(lic, None, now, origin=origin)
        if entry is None:
            return await self.drop(aid, stored_at)  # expired meanwhile: nothing to keep
        return await self._replace(aid, stored_at, entry[0], entry[1])

    async def drop(self, aid: str, stored_at: float) -> bool:
        """LAC no longer has the license: drop it, if the entry stored at ``stored_at`` is."""
        return await self._replace(aid, stored_at, b"", 0)

    async def _replace(self, aid: str, stored_at: float, value: bytes, px: int) -> bool:
        self.licenses.forget_near(aid)
        args: list[EncodableT] = [num(stored_at), value, px, self.keys.licenses_changed, aid]
        return bool(await self._write(keys=[self.keys.license(aid)], args=args))

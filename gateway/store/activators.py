"""Who activated a pair: the API key name whose request yielded its license.

The name is copied from the job to its own key when the job completes (see ``activations``),
and kept as long as the license runs, so that only that key may deactivate the pair.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.models import LicenseBody
from gateway.store.batch import Batch
from gateway.store.keys import Keys
from gateway.store.licenses import expiry_epoch
from gateway.store.values import ms, text


def activator_ttl(lic: LicenseBody, now: float) -> str:
    """How long the activator of ``lic`` is kept, in ms: until the license expires, "0" for a
    perpetual one (deactivating a seat matters as long as the license runs), "" for none."""
    expiry = expiry_epoch(lic.expires_at)
    if expiry is None:
        return "0"
    return str(ms(expiry - now)) if expiry > now else ""


class Activators:
    """The activator record of each pair."""

    def __init__(self, redis: Redis | RedisCluster, keys: Keys, batch: Batch) -> None:
        self.redis = redis
        self.keys = keys
        self.batch = batch

    async def activator(self, aid: str) -> str | None:
        """The API key name that activated the pair, or that requested its pending job."""
        # Two slots: the recorded name first, then the job of a generation still running.
        kept, requested = await self.batch(
            ("GET", self.keys.activator(aid)), ("HGET", self.keys.job(aid), "activated_by")
        )
        return text(kept or requested) or None

    async def drop_activator(self, aid: str) -> None:
        """Forget who activated the pair (it was deactivated or removed)."""
        await self.redis.delete(self.keys.activator(aid))

"""The audit trail: one Redis stream of activations, deactivations and removals, trimmed."""

from __future__ import annotations

from collections.abc import Mapping

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError
from redis.typing import EncodableT

from gateway.store.keys import Keys
from gateway.store.values import text


class AuditTrail:
    """Appends to and reads the audit stream."""

    def __init__(self, redis: Redis | RedisCluster, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def append_audit(self, event: Mapping[str, str], max_events: int) -> str:
        """Append one audit event; the stream is trimmed to about ``max_events`` entries."""
        fields: dict[EncodableT, EncodableT] = {name: value for name, value in event.items()}
        entry = await self.redis.xadd(self.keys.audit, fields, maxlen=max_events, approximate=True)
        return text(entry)

    async def append_quietly(self, event: Mapping[str, str], max_events: int) -> bool:
        """``append_audit``; False instead of the RedisError when it could not be written."""
        try:
            await self.append_audit(event, max_events)
        except RedisError:
            return False
        return True

    async def read_audit(
        self, count: int, before: str | None = None
    ) -> list[tuple[str, dict[str, str]]]:
        """Audit events, newest first, at most ``count``, older than entry ``before``."""
        high = f"({before}" if before else "+"
        entries = await self.redis.xrevrange(self.keys.audit, max=high, min="-", count=count)
        return [
            (text(entry), {text(k): text(v) for k, v in (fields or {}).items()})
            for entry, fields in entries or []
        ]

"""Idempotency-Key records: a request in progress, then the response it produced, per caller."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import orjson
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.typing import EncodableT

from gateway.settings import CacheSettings
from gateway.store import scripts
from gateway.store.keys import IDEMPOTENCY_LOCK_TTL, Keys
from gateway.store.values import ms, text


class IdemKind(StrEnum):
    """What ``begin_idempotent`` found (the names the begin script answers with)."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    MISMATCH = "mismatch"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The response kept for a completed idempotent request."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class IdemState:
    """The state of an Idempotency-Key; ``response`` is set when ``kind`` is DONE."""

    kind: IdemKind
    response: StoredResponse | None = None


class Idempotency:
    """Idempotency-Key records (``gateway.api.ports.IdempotencyStore``)."""

    def __init__(
        self,
        redis: Redis | RedisCluster,
        keys: Keys,
        cache: CacheSettings,
        *,
        lock_ttl: float = IDEMPOTENCY_LOCK_TTL,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.cache = cache
        self.lock_ttl = lock_ttl
        self._begin = scripts.register(redis, "idempotency_begin-1")
        self._complete = scripts.register(redis, "idempotency_complete-1")
        self._abandon = scripts.register(redis, "idempotency_abandon-1")

    async def begin_idempotent(self, scope: str, key: str, fingerprint: str) -> IdemState:
        """Start a request under an Idempotency-Key, or say why it cannot start."""
        keys = [self.keys.idempotency(scope, key)]
        args: list[EncodableT] = [fingerprint, ms(self.lock_ttl)]
        reply = await self._begin(keys=keys, args=args)
        kind = IdemKind(text(reply[0]))
        if kind is not IdemKind.DONE:
            return IdemState(kind)
        headers = {str(k): str(v) for k, v in orjson.loads(reply[2]).items()}
        body = reply[3] if isinstance(reply[3], bytes) else text(reply[3]).encode()
        return IdemState(kind, StoredResponse(int(reply[1]), headers, body))

    async def complete_idempotent(  # noqa: PLR0917 - positional order mirrors the HTTP response
        self,
        scope: str,
        key: str,
        fingerprint: str,
        status: int,
        body: bytes,
        headers: Mapping[str, str],
    ) -> bool:
        """Keep the response for ``cache.idempotency_ttl``; False if the key has another body."""
        keys = [self.keys.idempotency(scope, key)]
        ttl = ms(self.cache.idempotency_ttl)
        args: list[EncodableT] = [fingerprint, status, orjson.dumps(dict(headers)), body, ttl]
        return bool(await self._complete(keys=keys, args=args))

    async def abandon_idempotent(self, scope: str, key: str) -> bool:
        """Release an in-progress key (the request failed before producing an answer)."""
        return bool(await self._abandon(keys=[self.keys.idempotency(scope, key)]))

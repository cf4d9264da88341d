"""Webhook outbox and deliveries: the outbox stream's consumer group, schedules, indexes.

Every key shares the ``{webhooks}`` hash tag, so each script here runs on a cluster too. An
event becomes one delivery per subscribed endpoint (``enqueue``), whose id is the endpoint's
name and the outbox entry id: reading an entry again after a crash finds the delivery made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError
from redis.typing import EncodableT

from gateway.store import scripts
from gateway.store.keys import OUTBOX_GROUP, OUTBOX_MAX_EVENTS, Keys
from gateway.store.values import ms, text

DELIVERY_FIELDS = ("id", "endpoint", "event", "msg", "body", "created", "tries", "attempts")
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)
OutboxEntry = tuple[str, dict[str, str]]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery leased to this replica for one attempt."""

    id: str
    endpoint: str
    event: str
    msg: str
    body: bytes
    created: float  # Unix seconds the event was recorded
    tries: int  # attempts since the delivery was (re)started: its place in the retry schedule
    attempts: int  # every attempt made

    @classmethod
    def from_fields(cls, raw: Sequence[bytes | None]) -> Claimed:
        """A claimed delivery from the fields ``DELIVERY_FIELDS`` read back by the claim."""
        f = [b"" if value is None else value for value in raw]
        return cls(
            id=text(f[0]),
            endpoint=text(f[1]),
            event=text(f[2]),
            msg=text(f[3]),
            body=f[4],
            created=int(f[5] or 0) / 1000,
            tries=int(f[6] or 0),
            attempts=int(f[7] or 0),
        )


def delivery_score(entry: str) -> float:
    """The index score of an outbox entry id (``ms-seq``): creation order, unique per endpoint."""
    millis, _, seq = entry.partition("-")
    return int(millis) * 1000 + min(int(seq or 0), 999)


class WebhookStore:
    """The outbox, the deliveries and the endpoints' failure records."""

    def __init__(self, redis: Redis | RedisCluster, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._enqueue = scripts.register(redis, "webhook_enqueue-3")
        self._claim = scripts.register(redis, "webhook_claim-2")
        self._settle = scripts.register(redis, "webhook_settle-5")
        self._retry = scripts.register(redis, "webhook_retry-4")
        self._quota = scripts.register(redis, "quota_low-2")
        self._forget = scripts.register(redis, "webhook_forget_consumers-1")

    # --- the outbox -----------------------------------------------------------------------

    async def ensure_group(self) -> None:
        """Create the outbox and its consumer group unless they exist (from the first entry)."""
        try:
            await self.redis.xgroup_create(self.keys.outbox, OUTBOX_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read_new(self, consumer: str, count: int) -> list[OutboxEntry]:
        """Entries no consumer has read yet, now ``consumer``'s until acknowledged."""
        try:
            reply = await self.redis.xreadgroup(
                OUTBOX_GROUP, consumer, {self.keys.outbox: ">"}, count=count
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()  # Redis lost the group (restarted without persistence)
            return []
        streams: list[Any] = list(reply or [])
        return [_entry(e) for _, entries in streams for e in entries]

    async def reclaim(self, consumer: str, idle: float, count: int) -> list[OutboxEntry]:
        """Entries another consumer read ``idle`` seconds ago or more and never acknowledged."""
        try:
            reply = await self.redis.xautoclaim(
                self.keys.outbox, OUTBOX_GROUP, consumer, ms(idle), "0-0", count=count
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            return []
        return [_entry(e) for e in reply[1] if e and e[1] is not None]

    async def forget_consumers(self, idle: float, leaving: str = "") -> int:
        """Drop the outbox group's consumers that hold nothing and have not read for ``idle``
        seconds (replicas gone), and ``leaving`` (this replica, stopping) once it holds
        nothing; how many were dropped. Without it every restart would leave one behind."""
        args: list[EncodableT] = [OUTBOX_GROUP, ms(idle), leaving]
        return int(await self._forget(keys=[self.keys.outbox], args=args))

    async def done(self, entry: str) -> None:
        """An entry has become its deliveries: acknowledged and dropped from the outbox."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.keys.outbox, OUTBOX_GROUP, entry)
            pipe.xdel(self.keys.outbox, entry)
            await pipe.execute()

    async def append(self, event: Sequence[str]) -> None:
        """Append an event to the outbox directly (tests; the scripts append the others)."""
        fields: dict[EncodableT, EncodableT] = dict(zip(event[::2], event[1::2], strict=True))
        await self.redis.xadd(self.keys.outbox, fields, maxlen=OUTBOX_MAX_EVENTS, approximate=True)

    # --- deliveries -----------------------------------------------------------------------

    async def enqueue(  # noqa: PLR0917 - one delivery's parts, named
        self, endpoint: str, entry: str, event: str, body: bytes, created_ms: int, now: float
    ) -> bool:
        """One delivery of outbox ``entry`` to ``endpoint``, due now; False when it existed."""
        did = f"{endpoint}.{entry}"
        score = delivery_score(entry)
        keys = [self.keys.delivery(did), self.keys.webhook_due(endpoint)]
        keys.append(self.keys.webhook_index(endpoint, PENDING))
        fields: list[EncodableT] = ["id", did, "endpoint", endpoint, "event", event]
        fields += ["msg", "msg_" + entry.replace("-", "_"), "body", body, "created", created_ms]
        fields += ["score", score, "status", PENDING, "tries", 0, "attempts", 0]
        fields += ["next_at", ms(now)]
        return bool(await self._enqueue(keys=keys, args=[did, ms(now), score, *fields]))

    async def claim(
        self,
        endpoint: str,
        owner: str,
        now: float,
        lease: float,
        limit: int,
        *,
        cap: int,
        due_by: float | None = None,
    ) -> list[Claimed]:
        """Lease up to ``limit`` of ``endpoint``'s deliveries due by ``due_by`` (default now),
        in due order, keeping at most ``cap`` in flight across replicas."""
        if limit <= 0:
            return []
        due = ms(now if due_by is None else due_by)
        args: list[EncodableT] = [self.keys.delivery_prefix, due, ms(now + lease)]
        args += [limit, owner, cap, ms(now), *DELIVERY_FIELDS]
        keys = [self.keys.webhook_due(endpoint), self.keys.webhook_inflight(endpoint)]
        rows = await self._claim(keys=keys, args=args)
        return [Claimed.from_fields(row) for row in rows]

    async def settle(  # noqa: PLR0917 - the attempt's outcome, named
        self,
        delivery: Claimed,
        owner: str,
        status: str,
        next_at: float,
        now: float,
        retention: float,
        fields: Mapping[str, EncodableT],
    ) -> bool:
        """Record an attempt: ``status`` pending (retry at ``next_at``), delivered or failed."""
        endpoint = delivery.endpoint
        keys = [self.keys.delivery(delivery.id), self.keys.webhook_due(endpoint)]
        keys.append(self.keys.webhook_index(endpoint, PENDING))
        keys.append(self.keys.webhook_index(endpoint, status))
        keys.append(self.keys.webhook_inflight(endpoint))
        retry_at = ms(next_at) if status == PENDING else ""
        args: list[EncodableT] = [delivery.id, owner, status, retry_at]
        score = delivery_score(delivery.id.partition(".")[2])
        args += [score, ms(retention), (ms(now) - ms(retention)) * 1000]
        for name, value in fields.items():
            args += [name, value]
        return bool(await self._settle(keys=keys, args=args))

    async def retry(self, endpoint: str, did: str, now: float) -> int:
        """Start a delivery over (same webhook id): 1, 0 unknown, -1 already delivered."""
        keys = [self.keys.delivery(did), self.keys.webhook_due(endpoint)]
        keys.append(self.keys.webhook_index(endpoint, PENDING))
        keys.append(self.keys.webhook_index(endpoint, FAILED))
        return int(await self._retry(keys=keys, args=[did, ms(now), PENDING, DELIVERED]))

    async def delivery(self, did: str) -> dict[str, str]:
        """One delivery's fields (its body left out); {} when unknown."""
        raw = await self.redis.hgetall(self.keys.delivery(did))
        return {text(k): text(v) for k, v in raw.items() if k != b"body"}

    async def listing(
        self, endpoint: str, status: str, limit: int, before: float | None = None
    ) -> list[tuple[float, dict[str, str]]]:
        """``endpoint``'s deliveries in ``status``, newest first, scored below ``before``."""
        high: float | str = f"({before}" if before is not None else "+inf"
        ids: list[Any] = await self.redis.zrevrangebyscore(
            self.keys.webhook_index(endpoint, status),
            high,
            "-inf",
            start=0,
            num=limit,
            withscores=True,
        )
        found = []
        for did, score in ids:
            fields = await self.delivery(text(did))
            if fields:
                found.append((float(score), fields))
        return found

    async def backlog(self, endpoint: str) -> int:
        """Deliveries of ``endpoint`` not yet delivered or dead-lettered."""
        return int(await self.redis.zcard(self.keys.webhook_due(endpoint)))

    # --- endpoints ------------------------------------------------------------------------

    async def endpoint_state(self, endpoint: str) -> dict[str, str]:
        """An endpoint's failure record: failing_since, paused, probe_at (ms); {} when healthy."""
        raw = await self.redis.hgetall(self.keys.webhook_endpoint(endpoint))
        return {text(k): text(v) for k, v in raw.items()}

    async def endpoint_failed(self, endpoint: str, now: float) -> float:
        """Note a failed attempt; when the endpoint's run of failures began (Unix seconds)."""
        key = self.keys.webhook_endpoint(endpoint)
        await self.redis.hsetnx(key, "failing_since", ms(now))
        return int(await self.redis.hget(key, "failing_since") or ms(now)) / 1000

    async def pause(self, endpoint: str, probe_at: float) -> bool:
        """Pause an endpoint until a probe at ``probe_at``; True when it was not paused yet."""
        key = self.keys.webhook_endpoint(endpoint)
        first = await self.redis.hsetnx(key, "paused", 1)
        await self.redis.hset(key, "probe_at", ms(probe_at))
        return bool(first)

    async def endpoint_ok(self, endpoint: str) -> bool:
        """An attempt succeeded: the failure record goes; True when the endpoint was paused."""
        key = self.keys.webhook_endpoint(endpoint)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, "paused")
            pipe.delete(key)
            paused, _ = await pipe.execute()
        return bool(paused)

    # --- the quota ------------------------------------------------------------------------

    async def quota_reading(self, left: int, threshold: int, event: Sequence[str]) -> bool:
        """Record an activations-left reading; True when it crossed below (event appended)."""
        keys = [self.keys.webhook_quota, self.keys.outbox]
        args: list[EncodableT] = [threshold, left, OUTBOX_MAX_EVENTS, *event]
        return bool(await self._quota(keys=keys, args=args))


def _entry(raw: tuple[bytes, dict[bytes, bytes]]) -> OutboxEntry:
    entry, fields = raw
    return text(entry), {text(k): text(v) for k, v in fields.items()}

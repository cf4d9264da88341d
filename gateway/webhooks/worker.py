"""The webhook worker, on every replica: outbox entries become deliveries, deliveries are sent.

``run_once()`` does one round (tests call it directly); ``start()`` runs rounds until
``stop()``. A round reads the outbox through its consumer group (entries another replica read
and never finished are claimed back after a lease; once a lease, the group's consumers that
hold nothing and have not read for a lease, replicas gone, are dropped, and ``stop()`` drops
this replica's own), makes one delivery per subscribed endpoint, then leases each endpoint's
due deliveries, at most ``concurrency`` in flight per endpoint across replicas, and sends them
in tasks of their own, off every request's path.

Order: an endpoint's deliveries are leased in the order they fall due, which is creation order
until a retry moves one later; with ``concurrency`` 1, first attempts reach a receiver in
creation order, and a delivery waiting for its retry does not hold the later ones back.
Receivers order by the body's ``timestamp`` and deduplicate by ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable

import aiohttp
import orjson
import structlog
from redis.exceptions import RedisError
from redis.typing import EncodableT

from gateway.metrics import Metrics
from gateway.settings import WebhookEndpoint, WebhookSettings
from gateway.store.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    Claimed,
    OutboxEntry,
    WebhookStore,
)
from gateway.webhooks.delivery import Attempt, Outcome, Sender

log = structlog.get_logger("gateway.webhooks")

READ_BATCH = 100  # outbox entries one round turns into deliveries
CANCEL_RETRY = 0.1  # seconds between cancellations of a task that has not ended yet
FAR_FUTURE = 2**40  # seconds: a probe takes the earliest delivery, due or not


def body_of(endpoint: WebhookEndpoint, fields: dict[str, str]) -> bytes:
    """The JSON body an endpoint receives for one outbox entry."""
    try:
        data = orjson.loads(fields.get("data") or "{}")
    except orjson.JSONDecodeError:
        data = None  # never written so by the gateway: delivered as it is, rather than stuck
    if not isinstance(data, dict):
        data = {"unreadable": True}
    if "license" in fields and endpoint.include_license and isinstance(data.get("license"), dict):
        data["license"]["content"] = fields["license"]
    at = millis(fields.get("at")) / 1000
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at * 1000) % 1000:03d}Z"
    return orjson.dumps({"type": fields.get("type", ""), "timestamp": stamp, "data": data})


def millis(raw: str | None) -> int:
    """An outbox entry's Unix ms; 0 when missing or unreadable."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() else 0


class WebhookWorker:
    """Fans outbox entries out to endpoints and drives each delivery to its end."""

    def __init__(
        self,
        store: WebhookStore,
        settings: WebhookSettings,
        metrics: Metrics,
        session: aiohttp.ClientSession,
        *,
        owner: str,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.owner = owner
        self.clock = clock
        self.rng = rng
        self.endpoints = {e.name: e for e in settings.all_endpoints()}
        self.senders = {
            e.name: Sender(e, session, settings.timeout) for e in self.endpoints.values()
        }
        self._inflight: dict[str, set[asyncio.Task[None]]] = {
            name: set() for name in self.endpoints
        }
        self._loop: asyncio.Task[None] | None = None
        self._failing = False
        self._forget_at = 0.0  # when a round next drops the consumers of replicas gone

    # --- one round ------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Fan out new outbox entries, then start every due attempt; attempts started."""
        await self.fan_out()
        started = 0
        for name in self.endpoints:
            started += await self._dispatch(name)
        return started

    async def fan_out(self) -> int:
        """Turn unread (or abandoned) outbox entries into deliveries; entries handled."""
        lease = self.settings.lease
        entries = await self.store.reclaim(self.owner, lease, READ_BATCH)
        entries += await self.store.read_new(self.owner, READ_BATCH)
        for entry in entries:
            await self._fan(entry)
        now = self.clock()
        if now >= self._forget_at:  # once a lease: a gone replica's entries are reclaimed by then
            self._forget_at = now + lease
            forgotten = await self.store.forget_consumers(lease)
            if forgotten:
                log.info("webhook_consumers_forgotten", count=forgotten)
        return len(entries)

    async def settled(self) -> None:
        """Wait until every attempt this worker started has ended (tests, shutdown)."""
        tasks = [task for tasks in self._inflight.values() for task in tasks]
        if tasks:
            await asyncio.wait(tasks)

    async def _fan(self, entry: OutboxEntry) -> None:
        entry_id, fields = entry
        event, now = fields.get("type", ""), self.clock()
        for endpoint in self.endpoints.values():
            if endpoint.wants(event):
                body = body_of(endpoint, fields)
                created = millis(fields.get("at"))
                await self.store.enqueue(endpoint.name, entry_id, event, body, created, now)
        await self.store.done(entry_id)

    async def _dispatch(self, name: str) -> int:
        now = self.clock()
        self.metrics.webhook_backlog.labels(name).set(await self.store.backlog(name))
        state = await self.store.endpoint_state(name)
        paused = bool(state.get("paused"))
        self.metrics.webhook_paused.labels(name).set(int(paused))
        room = self.settings.concurrency - len(self._inflight[name])
        due_by = None
        if paused:
            if now * 1000 < int(state.get("probe_at") or 0):
                return 0
            # One probe: the earliest delivery, due or not; success resumes the endpoint.
            await self.store.pause(name, now + self.settings.probe_interval)
            room, due_by = min(room, 1), float(FAR_FUTURE)
        claimed = await self.store.claim(
            name,
            self.owner,
            now,
            self.settings.lease,
            room,
            cap=self.settings.concurrency,
            due_by=due_by,
        )
        for delivery in claimed:
            task = asyncio.create_task(self._attempt(delivery), name=f"webhook-{name}")
            self._inflight[name].add(task)
            task.add_done_callback(self._inflight[name].discard)
        return len(claimed)

    # --- one attempt ----------------------------------------------------------------------

    async def _attempt(self, delivery: Claimed) -> None:
        try:
            result = await self.senders[delivery.endpoint].send(delivery)
            await self._record(delivery, result)
        except Exception as exc:  # noqa: BLE001 - Redis away: the lease runs out, it is retried
            log.warning(
                "webhook_attempt_unrecorded", endpoint=delivery.endpoint, error=type(exc).__name__
            )

    async def _record(self, delivery: Claimed, result: Attempt) -> None:
        now, name = self.clock(), delivery.endpoint
        status, next_at, outcome = self._next(delivery, result, now)
        fields: dict[str, EncodableT] = {
            "tries": delivery.tries + 1,
            "last_status": result.status,
            "last_error": result.error,
            "last_attempt_at": int(now * 1000),
            "next_at": int(next_at * 1000) if status == PENDING else 0,
        }
        if result.outcome is Outcome.DELIVERED:
            fields["delivered_at"] = int(now * 1000)
        settled = await self.store.settle(
            delivery, self.owner, status, next_at, now, self.settings.retention, fields
        )
        if not settled:
            return  # its lease ran out meanwhile: another replica took it over
        self.metrics.webhook_deliveries.labels(name, delivery.event, outcome).inc()
        if result.outcome is Outcome.DELIVERED:
            self.metrics.webhook_latency.labels(name).observe(max(now - delivery.created, 0.0))
            await self._healthy(name)
        else:
            await self._failed(name, now, delivery, result, outcome)

    def _next(self, delivery: Claimed, result: Attempt, now: float) -> tuple[str, float, str]:
        """(status, next attempt time, metric outcome) after this attempt."""
        if result.outcome is Outcome.DELIVERED:
            return DELIVERED, now, "delivered"
        if result.outcome is Outcome.REJECTED:
            return FAILED, now, "rejected"
        schedule = self.settings.retry_schedule
        if delivery.tries >= len(schedule):
            return FAILED, now, "dead_letter"
        spread = self.settings.jitter * (2 * self.rng() - 1)
        delay = schedule[delivery.tries] * (1 + spread)
        if result.retry_after is not None:
            delay = max(delay, result.retry_after)
        return PENDING, now + delay, "retry"

    async def _healthy(self, name: str) -> None:
        if await self.store.endpoint_ok(name):
            self.metrics.webhook_paused.labels(name).set(0)
            log.info("webhook_endpoint_resumed", endpoint=name)

    async def _failed(
        self, name: str, now: float, delivery: Claimed, result: Attempt, outcome: str
    ) -> None:
        log.info(
            "webhook_attempt_failed",
            endpoint=name,
            webhook_event=delivery.event,
            delivery=delivery.id,
            status=result.status,
            error=result.error,
            outcome=outcome,
        )
        since = await self.store.endpoint_failed(name, now)
        if now - since < self.settings.pause_after:
            return
        if await self.store.pause(name, now + self.settings.probe_interval):
            self.metrics.webhook_paused.labels(name).set(1)
            log.error("webhook_endpoint_paused", endpoint=name, failing_for=round(now - since))

    # --- the loop -------------------------------------------------------------------------

    def start(self) -> None:
        """Run rounds in the background until ``stop``."""
        self._loop = asyncio.create_task(self._run(), name="webhook-worker")

    async def stop(self) -> None:
        """Stop the rounds and every attempt in flight (their leases let another replica in),
        then drop this replica's consumer of the outbox unless it still holds entries."""
        tasks = [task for tasks in self._inflight.values() for task in tasks]
        if self._loop is not None:
            tasks.append(self._loop)
        # redis-py can swallow a cancellation that lands mid-command: ask again until done.
        while any(not task.done() for task in tasks):
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=CANCEL_RETRY)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()
        with contextlib.suppress(RedisError, OSError):  # Redis away: the next round elsewhere
            await self.store.forget_consumers(self.settings.lease, leaving=self.owner)

    async def _run(self) -> None:
        with contextlib.suppress(Exception):
            await self.store.ensure_group()
        while True:
            try:
                await self.run_once()
                if self._failing:
                    self._failing = False
                    log.info("webhook_worker_recovered")
            except Exception as exc:  # noqa: BLE001 - Redis away: try again next round
                if not self._failing:
                    self._failing = True
                    log.warning("webhook_worker_failing", error=type(exc).__name__)
            tick = self.settings.poll_tick
            await asyncio.sleep(tick * (0.5 + self.rng() / 2))

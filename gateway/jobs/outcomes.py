"""Wakes local waiters when a job finishes on any replica (Redis pub/sub, one connection).

Each process holds one pattern subscription to every activation's outcome channel and sets the
local event of that activation. Waiters re-read the state from Redis after a wake-up (and every
few seconds anyway), so a message lost while Redis was away costs latency, never an answer.
"""

from __future__ import annotations

import asyncio

import structlog
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.store.keys import Keys

log = structlog.get_logger("gateway.outcomes")

RECONNECT_DELAY = 1.0


class OutcomeHub:
    """Per-process registry of activations being waited for."""

    def __init__(self, redis: Redis | RedisCluster, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._events: dict[str, asyncio.Event] = {}

    def event(self, aid: str) -> asyncio.Event:
        """The event set when ``aid``'s outcome is announced (shared by local waiters)."""
        ev = self._events.get(aid)
        if ev is None:
            ev = self._events[aid] = asyncio.Event()
        return ev

    def wake(self, aid: str) -> None:
        """Wake every local waiter of ``aid``."""
        ev = self._events.pop(aid, None)
        if ev is not None:
            ev.set()

    def wake_all(self) -> None:
        """Wake everyone (after a reconnect: messages may have been missed)."""
        for aid in list(self._events):
            self.wake(aid)

    async def run(self) -> None:
        """Listen until cancelled, reconnecting after Redis failures."""
        failing = False
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(self.keys.outcome_pattern)
                if failing:
                    log.info("outcome_listener_recovered")
                    failing = False
                self.wake_all()
                async for message in pubsub.listen():
                    aid = self.keys.outcome_aid(message.get("channel") or "")
                    if message.get("type") == "pmessage" and aid is not None:
                        self.wake(aid)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis away: retry, waiters re-check anyway
                if not failing:
                    log.warning("outcome_listener_failing", error=type(exc).__name__)
                    failing = True
                await asyncio.sleep(RECONNECT_DELAY)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py

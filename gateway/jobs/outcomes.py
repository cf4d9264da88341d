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

from gateway.redisconn import subscribe_forever
from gateway.store.keys import Keys

log = structlog.get_logger("gateway.outcomes")


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

        def woken(channel: str, _data: bytes) -> None:
            aid = self.keys.outcome_aid(channel)
            if aid is not None:
                self.wake(aid)

        # Once subscribed again, everyone re-reads: an outcome may have passed meanwhile.
        await subscribe_forever(
            self.redis,
            "outcome_listener",
            patterns=[self.keys.outcome_pattern],
            on_message=woken,
            on_subscribed=self.wake_all,
            on_lost=lambda: None,
        )

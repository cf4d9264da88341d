"""A small in-process copy of hot Redis entries, dropped on every replica when one changes.

Reading a cached license from Redis costs a network round trip; a fleet re-reads the same
licenses all day. Each process keeps the entries it read for at most ``ttl`` seconds (bounded
in number, least recently used out first). Whoever changes or removes an entry publishes its
name on one pub/sub channel, and every process's listener drops its copy: a deactivation on one
replica is not served by another a moment later. Should a message be lost (Redis restarted,
connection dropped), the listener clears everything; while it is not subscribed, nothing new
is kept.

An entry read in the last ``RENEW_AHEAD`` of its time is handed once to ``on_ending``, which
may confirm it in the background and ``put`` it again: a license read all day is renewed before
its time runs out, and no request waits for the confirmation.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import structlog
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from gateway.redisconn import subscribe_forever

log = structlog.get_logger("gateway.nearcache")

V = TypeVar("V")

RENEW_AHEAD = 0.25  # the share of an entry's time at whose end a read hands it to on_ending


class NearCache(Generic[V]):
    """At most ``max_entries`` values, each kept ``ttl`` seconds from when it was stored."""

    def __init__(
        self, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        # name: (until when it is kept, the value, whether on_ending was told of it)
        self._entries: OrderedDict[str, tuple[float, V, bool]] = OrderedDict()
        self._generation = 0
        self.listening = False  # set by listen_for_drops while its subscription stands
        # Told of every drop (a name, or None for all): what is derived from entries goes too.
        self.on_drop: list[Callable[[str | None], None]] = []
        # Told once of an entry read close to its end (name, value), until it is put again.
        self.on_ending: Callable[[str, V], None] | None = None
        self._ahead = ttl * RENEW_AHEAD

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def generation(self) -> int:
        """Changes whenever entries are dropped; see ``put``."""
        return self._generation

    def get(self, name: str) -> V | None:
        """The value stored under ``name``, unless it is older than ``ttl``."""
        entry = self._entries.get(name)
        if entry is None:
            return None
        now, (until, value, told) = self._clock(), entry
        if now >= until:
            del self._entries[name]
            return None
        self._entries.move_to_end(name)
        if now >= until - self._ahead and not told and self.on_ending is not None:
            self._entries[name] = (until, value, True)
            self.on_ending(name, value)
        return value

    def put(self, name: str, value: V, generation: int) -> None:
        """Keep ``value``, read from Redis when ``generation`` was current.

        A drop that came between that read and now may have been about this very entry, so the
        value is kept only if nothing was dropped since: a stale read never outlives its drop.
        """
        if not self.listening or generation != self._generation or self.max_entries <= 0:
            return
        self._entries[name] = (self._clock() + self.ttl, value, False)
        self._entries.move_to_end(name)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def drop(self, name: str) -> None:
        """Forget ``name`` (changed or removed somewhere)."""
        self._generation += 1
        self._entries.pop(name, None)
        for listener in self.on_drop:
            listener(name)

    def clear(self) -> None:
        """Forget everything (drop messages may have been missed)."""
        self._generation += 1
        self._entries.clear()
        for listener in self.on_drop:
            listener(None)


async def listen_for_drops(
    redis: Redis | RedisCluster, channel: str, cache: NearCache[Any]
) -> None:
    """Drop the entries named on ``channel`` from ``cache`` until cancelled; reconnects."""

    def subscribed() -> None:
        # Subscribed from here on; what was published before is unknown.
        cache.clear()
        cache.listening = True

    def lost() -> None:
        cache.listening = False
        cache.clear()

    await subscribe_forever(
        redis,
        "near_cache_listener",
        channels=[channel],
        on_message=lambda _channel, data: cache.drop(data.decode()),
        on_subscribed=subscribed,
        on_lost=lost,
    )

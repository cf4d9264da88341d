"""Several commands in as few round trips as the deployment allows, in the order given.

A single server takes them in one pipeline. On a Redis Cluster the keys of one batch live in
different slots, so there they are sent one after the other; either way each command runs
after the one before it, which is what the callers rely on (a change is published only once
it is made; a job found gone guarantees that the reads after it see what it left).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.typing import EncodableT

Command = Sequence[EncodableT]


class Batch(Protocol):
    """Runs commands in order; their replies, in the same order."""

    async def __call__(self, *commands: Command) -> list[Any]:
        """The replies of ``commands``."""
        ...


class Pipelined:
    """One server: every command in one pipeline (one round trip)."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def __call__(self, *commands: Command) -> list[Any]:
        """The replies of ``commands``, sent together."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            return list(await pipe.execute())


class OneByOne:
    """A Cluster: one command after the other (a cluster pipeline cannot keep their order)."""

    def __init__(self, redis: RedisCluster) -> None:
        self.redis = redis

    async def __call__(self, *commands: Command) -> list[Any]:
        """The replies of ``commands``, each sent once the one before it has answered."""
        return [await self.redis.execute_command(*command) for command in commands]


def create_batch(redis: Redis | RedisCluster) -> Batch:
    """The batch runner for this client, decided once."""
    if isinstance(redis, RedisCluster):
        return OneByOne(redis)
    return Pipelined(redis)


class Gathered:
    """Reads of single keys asked for in the same turn of the event loop, sent together.

    For reads that come in bursts, each from its own request: the near cache's entries put
    together run out together, and each request then confirms its own. One ``MGET`` (a Cluster:
    the batch's GETs) answers them all, instead of a round trip each.
    """

    def __init__(self, redis: Redis | RedisCluster, batch: Batch) -> None:
        self._redis = redis
        self._batch = batch
        self._asked: dict[str, list[asyncio.Future[Any]]] = {}
        self._sending: set[asyncio.Task[None]] = set()

    async def get(self, key: str) -> Any:
        """The value of ``key`` (None when absent), read with the others asked for meanwhile."""
        loop = asyncio.get_running_loop()
        if not self._asked:
            loop.call_soon(self._send)  # after every request that is ready now has asked
        waiter: asyncio.Future[Any] = loop.create_future()
        self._asked.setdefault(key, []).append(waiter)
        return await waiter

    def _send(self) -> None:
        asked, self._asked = self._asked, {}
        task = asyncio.ensure_future(self._read(asked))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _read(self, asked: dict[str, list[asyncio.Future[Any]]]) -> None:
        keys = list(asked)
        waiting = [waiter for waiters in asked.values() for waiter in waiters]
        try:
            if isinstance(self._redis, RedisCluster):
                values = await self._batch(*(("GET", key) for key in keys))
            else:
                values = list(await self._redis.mget(keys))
        except asyncio.CancelledError:
            for waiter in waiting:
                waiter.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - each asker gets the failure (RedisError...)
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for key, value in zip(keys, values, strict=True):
            for waiter in asked[key]:
                if not waiter.done():  # its request may have gone meanwhile
                    waiter.set_result(value)

"""Several commands in as few round trips as the deployment allows, in the order given.

A single server takes them in one pipeline. On a Redis Cluster the keys of one batch live in
different slots, so there they are sent one after the other; either way each command runs
after the one before it, which is what the callers rely on (a change is published only once
it is made; a job found gone guarantees that the reads after it see what it left).
"""

from __future__ import annotations

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

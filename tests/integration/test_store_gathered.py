"""Reads asked for together go to a real Redis as one command, each asker getting its own."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.store.batch import Gathered, create_batch


async def calls(redis: aioredis.Redis, command: str) -> int:
    stats = await redis.info("commandstats")
    entry = stats.get(f"cmdstat_{command}")
    return int(entry["calls"]) if entry else 0


async def test_reads_asked_in_one_turn_are_one_mget_each_asker_its_value(
    redis_client: aioredis.Redis,
) -> None:
    prefix = uuid.uuid4().hex
    keys = [f"{prefix}:{n}" for n in range(5)]
    for n, key in enumerate(keys[:4]):
        await redis_client.set(key, f"value-{n}")
    gathered = Gathered(redis_client, create_batch(redis_client))
    mgets, gets = await calls(redis_client, "mget"), await calls(redis_client, "get")
    asked = [*keys, keys[0]]  # the last key is absent; the first one asked twice
    values = await asyncio.gather(*(gathered.get(key) for key in asked))
    assert values == [b"value-0", b"value-1", b"value-2", b"value-3", None, b"value-0"]
    assert await calls(redis_client, "mget") == mgets + 1
    assert await calls(redis_client, "get") == gets
    # Asked later, in a turn of its own: a read of its own.
    assert await gathered.get(keys[1]) == b"value-1"
    assert await calls(redis_client, "mget") == mgets + 2


async def test_a_failed_read_fails_every_asker() -> None:
    away = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    try:
        gathered = Gathered(away, create_batch(away))
        outcomes = await asyncio.gather(
            gathered.get("a"), gathered.get("b"), return_exceptions=True
        )
        assert all(isinstance(outcome, RedisConnectionError) for outcome in outcomes), outcomes
    finally:
        await away.aclose()


async def test_an_asker_that_went_away_leaves_the_others_their_values(
    redis_client: aioredis.Redis,
) -> None:
    key = f"{uuid.uuid4().hex}:kept"
    await redis_client.set(key, "kept")
    gathered = Gathered(redis_client, create_batch(redis_client))
    gone = asyncio.ensure_future(gathered.get(key))
    staying = asyncio.ensure_future(gathered.get(key))
    await asyncio.sleep(0)  # both have asked
    gone.cancel()
    assert await staying == b"kept"
    assert gone.cancelled()

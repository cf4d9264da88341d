"""The shared LAC pause on a real Redis: seen by every replica, never shortened, expiring."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from gateway.store.keys import Keys
from gateway.store.lacpause import LacPause


async def test_a_pause_is_seen_by_another_replica_and_a_shorter_one_does_not_cut_it(
    redis_client: aioredis.Redis,
) -> None:
    keys = Keys("pausetest")
    here, there = LacPause(redis_client, keys), LacPause(redis_client, keys)
    now = time.time()
    assert await there.paused_until() == 0.0

    await here.pause_until(now + 60)
    await LacPause(redis_client, keys).pause_until(now + 5)
    seen = await LacPause(redis_client, keys).paused_until()
    ttl = await redis_client.pttl(keys.lac_pause)

    assert abs(seen - (now + 60)) < 0.01
    assert 50_000 < ttl <= 60_000


async def test_a_replica_trusts_its_last_read_for_a_moment(redis_client: aioredis.Redis) -> None:
    keys = Keys("pausetest2")
    clock = [1000.0]
    reader = LacPause(redis_client, keys, clock=lambda: clock[0], fresh_for=0.25)
    assert await reader.paused_until() == 0.0

    await LacPause(redis_client, keys).pause_until(time.time() + 60)
    cached = await reader.paused_until()
    clock[0] += 0.3
    refreshed = await reader.paused_until()

    assert cached == 0.0
    assert refreshed > time.time() + 50

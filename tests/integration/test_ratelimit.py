"""Rate-limit windows counted locally and sent to a real Redis in batches."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from gateway.api.ratelimit import NEAR_LIMIT_MIN, RateLimiter
from gateway.settings import CacheSettings
from gateway.store import Stores, create_stores

WINDOW = 600.0
BIG = 10 * NEAR_LIMIT_MIN  # a limit whose first nine tenths are counted in batches


@pytest.fixture
def store(redis_client: aioredis.Redis) -> Stores:
    return create_stores(redis_client, "rl", CacheSettings())


async def in_redis(store: Stores, scope: str) -> int:
    raw = await store.rates.redis.get(store.keys.rate(scope))
    return int(raw or 0)


async def test_one_process_counts_exactly_while_redis_hears_in_batches(store: Stores) -> None:
    limiter = RateLimiter(store.rates, sync_interval=3600.0)
    counts = [(await limiter.hit("key:a", BIG, WINDOW))[0] for _ in range(50)]
    assert counts == list(range(1, 51))
    assert await in_redis(store, "key:a") == 1  # only the window's first request so far


async def test_counts_reach_redis_after_the_sync_interval(store: Stores) -> None:
    limiter = RateLimiter(store.rates, sync_interval=0.05)
    for _ in range(20):
        await limiter.hit("key:a", BIG, WINDOW)
    await asyncio.sleep(0.06)
    used, left = await limiter.hit("key:a", BIG, WINDOW)  # this one starts the send
    await limiter.close()
    assert used == 21
    assert 0 < left <= WINDOW
    assert await in_redis(store, "key:a") == 21


async def test_near_the_limit_replicas_agree_request_by_request(store: Stores) -> None:
    first = RateLimiter(store.rates, sync_interval=3600.0)
    second = RateLimiter(store.rates, sync_interval=3600.0)
    near = BIG - NEAR_LIMIT_MIN - 1
    for _ in range(near + 10):  # past the point where every request is counted in Redis
        await first.hit("key:a", BIG, WINDOW)
    assert await in_redis(store, "key:a") == near + 10
    used, _ = await second.hit("key:a", BIG, WINDOW)
    assert used == near + 11
    for _ in range(BIG - used):
        await second.hit("key:a", BIG, WINDOW)
    over, _ = await first.hit("key:a", BIG, WINDOW)
    assert over == BIG + 1


async def test_scopes_and_windows_are_apart(store: Stores) -> None:
    limiter = RateLimiter(store.rates, sync_interval=0)
    assert (await limiter.hit("key:a", BIG, WINDOW))[0] == 1
    assert (await limiter.hit("ip:127.0.0.1", BIG, WINDOW))[0] == 1
    assert (await limiter.hit("key:a", BIG, WINDOW))[0] == 2
    assert (await limiter.hit("key:b", 5, 0.05))[0] == 1
    assert (await limiter.hit("key:b", 5, 0.05))[0] == 2
    await asyncio.sleep(0.06)  # the window ended in Redis; the next request starts a new one
    assert (await limiter.hit("key:b", 5, 0.05))[0] == 1

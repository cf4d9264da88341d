"""Session fixtures: a real Redis server (never a fake), shared by every test that needs one."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from gateway.localredis import LocalRedis, RedisNotFoundError


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Redis: LACGW_TEST_REDIS_URL if set, else a redis-server started here."""
    external = os.environ.get("LACGW_TEST_REDIS_URL")
    if external:
        yield external
        return
    try:
        server = LocalRedis(Path(tmp_path_factory.mktemp("redis")))
        server.start()
    except RedisNotFoundError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client on a flushed database; each test starts from an empty Redis."""
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()

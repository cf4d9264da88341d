"""Session fixtures: a real Redis (never a fake), the sandbox and the gateway on real sockets."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from gateway.logs import configure_logging
from lacsandbox.localredis import LocalRedis, RedisNotFoundError
from tests.gwharness import Running, gateway_settings, start_gateway, start_sandbox

# Plain JSON lines: pytest captures them, and failures stay readable.
configure_logging("INFO", "json")


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


@pytest.fixture(params=["soap", "rest"])
async def running(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Running]:
    """A sandbox and a gateway talking to it over ``soap`` and then ``rest``."""
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(redis_url, sandbox_url, request.param)
    gw_runner, gw_url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        try:
            yield Running(gw_url, sandbox_url, http, settings, app)
        finally:
            await gw_runner.cleanup()
            await sandbox_runner.cleanup()

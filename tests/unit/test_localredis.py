"""The test session's Redis is a real server that answers commands."""

from __future__ import annotations

import redis.asyncio as aioredis


async def test_real_redis_round_trip(redis_client: aioredis.Redis) -> None:
    await redis_client.set("probe", "1")
    assert await redis_client.get("probe") == b"1"
    info = await redis_client.info("server")
    assert int(str(info["redis_version"]).split(".")[0]) >= 6

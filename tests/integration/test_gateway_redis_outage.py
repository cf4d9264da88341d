"""Redis going away gives 503 with Retry-After (never a 500), and the gateway recovers alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from lacsandbox.localredis import LocalRedis
from tests.gwharness import FLEET_KEY, gateway_settings, start_gateway, start_sandbox

AUTH = {"Authorization": f"Bearer {FLEET_KEY}"}
BODY = {"activation_key": "BENCH-BULKX-DEMO0-00003", "hostids": ["HOSTNAME=outage01"]}


async def _ready_again(http: aiohttp.ClientSession, url: str) -> bool:
    # Pooled connections broken by the outage are dropped on first use; a few probes suffice.
    for _ in range(50):
        async with http.get(f"{url}/readyz") as resp:
            if resp.status == 200:
                return True
        await asyncio.sleep(0.1)
    return False


async def test_redis_outage_answers_503_and_recovers(tmp_path: Path) -> None:
    redis = LocalRedis(tmp_path / "redis")
    redis.start()
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(
        redis.url, sandbox_url, "soap", redis={"socket_timeout": 0.5, "connect_timeout": 0.5}
    )
    runner, url, _ = await start_gateway(settings)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}/v1/activations", json=BODY, headers=AUTH) as resp:
                assert resp.status == 200
            redis.kill()
            async with http.post(f"{url}/v1/activations", json=BODY, headers=AUTH) as resp:
                assert resp.status == 503
                assert resp.content_type == "application/problem+json"
                assert int(resp.headers["Retry-After"]) > 0
            async with http.get(f"{url}/readyz") as resp:
                assert resp.status == 503
            redis.start()
            assert await _ready_again(http, url)
            async with http.post(f"{url}/v1/activations", json=BODY, headers=AUTH) as resp:
                assert resp.status == 200, await resp.text()
    finally:
        await runner.cleanup()
        await sandbox_runner.cleanup()
        redis.stop()

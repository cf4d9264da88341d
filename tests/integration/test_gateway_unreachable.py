"""LAC unreachable: every caller of one activation gets 503, the joiners included."""

from __future__ import annotations

import asyncio

import aiohttp

from lacsandbox.localredis import free_port
from tests.gwharness import FLEET_KEY, gateway_settings, start_gateway

AUTH = {"Authorization": f"Bearer {FLEET_KEY}"}
BODY = {"activation_key": "BENCH-BULKX-DEMO0-00003", "hostids": ["HOSTNAME=nolac01"]}


async def test_callers_joining_a_create_that_never_reached_lac_get_503(redis_url: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = gateway_settings(redis_url, nowhere, "soap", resilience={"attempts": 1})
    runner, url, _ = await start_gateway(settings)
    try:
        async with aiohttp.ClientSession() as http:

            async def activate() -> int:
                async with http.post(f"{url}/v1/activations", json=BODY, headers=AUTH) as resp:
                    await resp.read()
                    return resp.status

            statuses = await asyncio.gather(*(activate() for _ in range(20)))
        assert set(statuses) == {503}, statuses
    finally:
        await runner.cleanup()

"""A Redis stall during an activation's first step neither strands its job nor doubles a create."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp

from lacsandbox.localredis import LocalRedis
from tests.gwharness import FLEET_KEY, gateway_settings, start_gateway, start_sandbox

AUTH = {"Authorization": f"Bearer {FLEET_KEY}", "Prefer": "wait=20"}
BODY = {"activation_key": "BULK5-SEATS-DEMO0-00002", "hostids": ["HOSTNAME=stall01"]}
STALL = 1.5  # several Redis socket timeouts, so the client re-sends its commands


async def test_job_created_during_a_redis_stall_is_not_left_leased(tmp_path: Path) -> None:
    # The first step's script runs when Redis resumes, creating a job leased to a request
    # that has already given up. A lease far longer than the retry's wait: a job stranded
    # until its lease runs out would leave the retrying caller with a 202.
    redis = LocalRedis(tmp_path / "redis")
    redis.start()
    assert redis.process is not None
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(
        redis.url,
        sandbox_url,
        "soap",
        redis={"socket_timeout": 0.3, "connect_timeout": 0.3},
        jobs={"lease": 60.0},
    )
    runner, url, _ = await start_gateway(settings)
    try:
        async with aiohttp.ClientSession() as http:
            # Warm up: pooled connections already past their handshake send the first step's
            # script at once, so Redis runs it when it resumes.
            warm = {**BODY, "hostids": ["HOSTNAME=warm01"]}
            async with http.post(f"{url}/v1/activations", json=warm, headers=AUTH) as resp:
                assert resp.status == 200, await resp.text()
            os.kill(redis.process.pid, signal.SIGSTOP)
            try:
                call = asyncio.ensure_future(
                    http.post(f"{url}/v1/activations", json=BODY, headers=AUTH)
                )
                await asyncio.sleep(STALL)
            finally:
                os.kill(redis.process.pid, signal.SIGCONT)
            async with await call as resp:
                # Redis did not answer in time: the caller is told to come back (or, had the
                # stall been shorter, it got its license at once).
                first = resp.status
                assert first in (200, 503), await resp.text()
            if first == 503:
                async with http.post(f"{url}/v1/activations", json=BODY, headers=AUTH) as resp:
                    assert resp.status == 200, await resp.text()
                    assert (await resp.json())["state"] == "ready"
            async with http.get(f"{sandbox_url}/_sandbox/counters") as resp:
                counters = await resp.json()
            assert counters["soap"]["CreateLicenseRequest"] == 2  # warm01 and stall01
    finally:
        await runner.cleanup()
        await sandbox_runner.cleanup()
        redis.stop()

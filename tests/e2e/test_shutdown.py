"""SIGTERM drains a gateway process: in-flight requests answered, job leases given back, exit 0."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from tests.e2e.procs import GatewayFactory, Process
from tests.gwharness import FLEET_KEY

pytestmark = pytest.mark.e2e  # separate processes: `make test-fast` skips them

ORDER = "DELAY-2SECS-DEMO0-00007"
AUTH = {"Authorization": f"Bearer {FLEET_KEY}"}
LEASE = "60"  # far longer than the test: a job due again can only have been released
SLOW_POLL = 10.0
LONG_POLL = 2


async def control(
    http: aiohttp.ClientSession, sandbox: Process, method: str, path: str, body: Any
) -> None:
    """One call to the sandbox's control API."""
    async with http.request(method, f"{sandbox.url}/_sandbox{path}", json=body) as resp:
        assert resp.status < 300, await resp.text()


async def job_record(redis: aioredis.Redis, aid: str) -> tuple[dict[Any, Any], float | None]:
    """The job hash of ``aid`` and its score in the due set, found by the job key's suffix."""
    keys = [key async for key in redis.scan_iter(match=f"*:job:{aid}", count=1000)]
    assert len(keys) == 1, keys
    job_key: bytes = keys[0]
    due_key = job_key[: job_key.rindex(b":job:")] + b":due"
    return await redis.hgetall(job_key), await redis.zscore(due_key, aid)


async def until_leased(redis: aioredis.Redis, aid: str) -> None:
    """Until a poller holds the job's lease (it is then stuck in the slow poll)."""
    for _ in range(400):
        fields, _ = await job_record(redis, aid)
        if fields.get(b"state") == b"leased":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no poller claimed the job")


async def test_sigterm_answers_in_flight_requests_and_releases_job_leases(
    gateways: GatewayFactory, sandbox_process: Process, redis_url: str
) -> None:
    gw = gateways("soap", LACGW_JOBS__LEASE=LEASE, LACGW_HTTP__SHUTDOWN_TIMEOUT="10")
    await gw.wait_healthy("/readyz")
    redis = aioredis.Redis.from_url(redis_url)
    async with aiohttp.ClientSession() as http:
        await control(http, sandbox_process, "PUT", f"/orders/{ORDER}", {"generation_delay": 600})
        body = {"activation_key": ORDER, "hostids": ["HOSTNAME=draining"]}
        headers = {**AUTH, "Prefer": "respond-async"}
        async with http.post(f"{gw.url}/v1/activations", json=body, headers=headers) as resp:
            assert resp.status == 202
            aid = (await resp.json())["id"]
        # From now on every poll hangs at LAC: the poller that claims the job keeps its lease.
        slow = {"kind": "latency", "operation": "GetLicense", "latency": SLOW_POLL}
        await control(http, sandbox_process, "POST", "/faults", slow)
        await until_leased(redis, aid)

        url = f"{gw.url}/v1/activations/{aid}?wait={LONG_POLL}"
        in_flight = asyncio.create_task(http.get(url, headers=AUTH))
        await asyncio.sleep(0.5)  # let the long-poll reach the gateway before the signal
        stopped_at = time.time()
        exit_code = await asyncio.to_thread(gw.stop)

        answer = await in_flight
        assert answer.status == 200
        assert (await answer.json())["state"] == "pending"
        answer.release()
    assert exit_code == 0
    fields, due = await job_record(redis, aid)
    await redis.aclose()
    assert fields[b"state"] == b"pending"
    assert fields[b"owner"] == b""
    assert due is not None
    # Released: due from the shutdown on, not when the 60 s lease would have run out.
    assert due < stopped_at + float(LEASE) / 2

"""Several gateway processes on one Redis: one create per pair, and no job lost to SIGKILL."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
import pytest

from tests.e2e.procs import GatewayFactory, Process
from tests.gwharness import ADMIN_KEY, FLEET_KEY

pytestmark = pytest.mark.e2e  # separate processes: `make test-fast` skips them

BULK = "BENCH-BULKX-DEMO0-00003"
AUTH = {"Authorization": f"Bearer {FLEET_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


async def _control(http: aiohttp.ClientSession, sandbox: Process, method: str, path: str,
                   body: Any = None) -> Any:  # fmt: skip
    async with http.request(method, f"{sandbox.url}/_sandbox{path}", json=body) as resp:
        assert resp.status < 300, await resp.text()
        return await resp.json()


async def _creates(http: aiohttp.ClientSession, sandbox: Process) -> int:
    counters = await _control(http, sandbox, "GET", "/counters")
    soap = counters.get("soap", {}).get("CreateLicenseRequest", 0)
    return int(soap + counters.get("rest", {}).get("PUT /licenses", 0))


async def _activate(http: aiohttp.ClientSession, gw: Process, host: str, **headers: str) -> Any:
    body = {"activation_key": BULK, "hostids": [f"HOSTNAME={host}"]}
    async with http.post(f"{gw.url}/v1/activations", json=body, headers={**AUTH, **headers}) as r:
        return r.status, await r.json()


@pytest.mark.parametrize("transport", ["soap", "rest"])
async def test_three_processes_share_one_create_per_pair(
    gateways: GatewayFactory, sandbox_process: Process, transport: str
) -> None:
    procs = [gateways(transport) for _ in range(3)]
    for proc in procs:
        await proc.wait_healthy("/readyz")
    async with aiohttp.ClientSession() as http:
        await _control(http, sandbox_process, "PUT", f"/orders/{BULK}", {"generation_delay": 0.5})
        hosts = [f"multi{n}" for n in range(5)]
        calls = [
            _activate(http, proc, host)
            for proc, host, _ in itertools.product(procs, hosts, range(8))
        ]
        results = await asyncio.gather(*calls)
        assert {status for status, _ in results} == {200}, results[:3]
        by_host: dict[str, set[str]] = {}
        for _, body in results:
            by_host.setdefault(body["id"], set()).add(body["license"]["content"])
        assert len(by_host) == len(hosts)
        assert all(len(contents) == 1 for contents in by_host.values())
        assert await _creates(http, sandbox_process) == len(hosts)


async def test_job_of_a_killed_process_is_finished_by_another(
    gateways: GatewayFactory, sandbox_process: Process
) -> None:
    first = gateways("soap")
    await first.wait_healthy("/readyz")
    async with aiohttp.ClientSession() as http:
        await _control(http, sandbox_process, "PUT", f"/orders/{BULK}", {"generation_delay": 2.0})
        # Every poll is slow, so the first process is caught holding the lease mid-poll.
        fault = {"kind": "latency", "operation": "GetLicense", "latency": 0.8}
        await _control(http, sandbox_process, "POST", "/faults", fault)
        status, pending = await _activate(http, first, "crash01", Prefer="respond-async")
        assert status == 202
        await _wait_for_lease(http, first)
        first.kill()

        second = gateways("soap")
        await second.wait_healthy("/readyz")
        url = f"{second.url}/v1/activations/{pending['id']}?wait=30"
        async with http.get(url, headers=AUTH) as resp:
            assert resp.status == 200, await resp.text()
            done = await resp.json()
        assert done["state"] == "ready"
        assert "FEATURE" in done["license"]["content"]
        assert await _creates(http, sandbox_process) == 1


async def _wait_for_lease(http: aiohttp.ClientSession, gw: Process) -> None:
    for _ in range(200):
        async with http.get(f"{gw.url}/v1/admin/jobs", headers=ADMIN) as resp:
            jobs = (await resp.json())["jobs"]
        if jobs and jobs[0]["state"] == "leased" and jobs[0]["attempts"] >= 1:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the job was never leased: {jobs}")

"""A LAC without GetLicense: the WSDL check names it, /readyz says why, REST polls instead."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import pytest

from lacsandbox.keys import SANDBOX
from tests.gwharness import (
    ADMIN_KEY,
    Running,
    gateway_settings,
    problem_of,
    start_gateway,
    start_sandbox,
)

KEY = "BENCH-BULKX-DEMO0-00003"
QUEUE = "GET /license-queue"
MISSING = "GetLicense: not in the live WSDL; operations there: CreateLicenseRequest, "
Starter = Callable[..., AbstractAsyncContextManager[Running]]


@pytest.fixture
def without_get_license(redis_url: str) -> Starter:
    """Start a sandbox playing a LAC without GetLicense, then a SOAP gateway toward it."""

    @asynccontextmanager
    async def start(**lac: Any) -> AsyncIterator[Running]:
        sandbox_runner, sandbox_url = await start_sandbox()
        sandbox_runner.app[SANDBOX].without_get_license = True
        settings = gateway_settings(redis_url, sandbox_url, "soap", lac=lac)
        gw_runner, gw_url, app = await start_gateway(settings)
        async with aiohttp.ClientSession() as http:
            try:
                yield Running(gw_url, sandbox_url, http, settings, app)
            finally:
                await gw_runner.cleanup()
                await sandbox_runner.cleanup()

    return start


async def activate(gw: Running, host: str) -> dict[str, Any]:
    body = {"activation_key": KEY, "hostids": [f"HOSTNAME={host}"]}
    reply = await gw.call("POST", "/v1/activations", json=body, headers={"Prefer": "wait=5"})
    assert reply.status == 200, reply.body
    data: dict[str, Any] = reply.json()
    return data


async def test_live_wsdl_without_get_license_polls_through_rest_and_says_so(
    without_get_license: Starter,
) -> None:
    async with without_get_license() as gw:
        ready = await gw.call("GET", "/readyz", key=None)
        assert ready.status == 200
        body = ready.json()
        assert body["status"] == "degraded"
        api = body["checks"]["lac_api"]
        assert api["polling"] == "rest license-queue"
        assert api["wsdl"] == "live"
        assert any(reason.startswith(MISSING) for reason in api["reasons"])
        assert any("REST v2's license queue instead" in reason for reason in api["reasons"])

        answer = await activate(gw, "fallback-live")
        assert answer["state"] == "ready"
        assert "FEATURE" in answer["license"]["content"]
        assert await gw.count("soap", "GetLicense") == 0
        assert await gw.count("rest", QUEUE) >= 1
        assert await gw.count("soap", "CreateLicenseRequest") == 1


async def test_a_refused_get_license_is_sent_once_and_rest_takes_over(
    without_get_license: Starter,
) -> None:
    # The shipped WSDL still has GetLicense: only LAC's Client fault tells the gateway.
    async with without_get_license(wsdl_source="shipped") as gw:
        assert (await gw.call("GET", "/readyz", key=None)).json()["status"] == "ready"
        first = await activate(gw, "fallback-refused-1")
        second = await activate(gw, "fallback-refused-2")
        assert first["state"] == second["state"] == "ready"
        assert await gw.count("soap", "GetLicense") == 1  # refused once, never retried
        api = (await gw.call("GET", "/readyz", key=None)).json()
        assert api["status"] == "degraded"
        reasons = api["checks"]["lac_api"]["reasons"]
        assert any(r.startswith("GetLicense: LAC answers it with a SOAP") for r in reasons)


async def test_without_get_license_and_without_fallback_the_gateway_is_not_ready(
    without_get_license: Starter,
) -> None:
    async with without_get_license(rest_fallback=False) as gw:
        reply = await gw.call("GET", "/readyz", key=None)
        problem = problem_of(reply, 503)
        assert "GetLicense" in problem["detail"]
        assert "LACGW_LAC__REST_FALLBACK" in problem["detail"]
        jobs = await gw.call("GET", "/v1/admin/jobs", key=ADMIN_KEY)
        assert jobs.status == 200


async def test_a_fetch_goes_through_rest_too(without_get_license: Starter) -> None:
    async with without_get_license() as gw:
        await activate(gw, "fallback-fetch")
        # The cached copy is dropped, so the fetch reaches LAC.
        purge = await gw.call(
            "DELETE", f"/v1/admin/cache/{KEY}?hostid=HOSTNAME=fallback-fetch", key=ADMIN_KEY
        )
        assert purge.status in (200, 204), purge.body
        reply = await gw.call("GET", f"/v1/licenses/{KEY}?hostid=HOSTNAME=fallback-fetch")
        assert reply.status == 200, reply.body
        assert await gw.count("soap", "GetLicense") == 0

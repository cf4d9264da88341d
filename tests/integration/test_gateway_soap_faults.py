"""A SOAP ``Client`` fault reaches the caller as a 502 naming the operation; the job ends there."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from gateway.api.keys import LAC_CLIENTS, POLLER
from gateway.lac.resilience import BreakerState, ResilientLac
from tests.gwharness import (
    ADMIN_KEY,
    Running,
    gateway_settings,
    problem_of,
    start_gateway,
    start_sandbox,
)

KEY = "BENCH-BULKX-DEMO0-00003"
REQUEST_REJECTED = "/problems/lac-request-rejected"


@pytest.fixture
async def soap_gw(redis_url: str) -> AsyncIterator[Running]:
    """A gateway talking end-user SOAP to a sandbox, without the REST polling fallback.

    With the fallback, a refused GetLicense is polled through REST instead (see
    test_gateway_polling_fallback.py); here the fault itself is what is tested.
    """
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(redis_url, sandbox_url, "soap", lac={"rest_fallback": False})
    gw_runner, gw_url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        try:
            yield Running(gw_url, sandbox_url, http, settings, app)
        finally:
            await gw_runner.cleanup()
            await sandbox_runner.cleanup()


def breaker_state(gw: Running) -> BreakerState:
    """The end-user client's breaker state."""
    lac = gw.app[LAC_CLIENTS].enduser
    assert isinstance(lac, ResilientLac)
    return lac.breaker.state


@pytest.mark.parametrize("operation", ["GetLicense", "CreateLicenseRequest"])
async def test_a_client_fault_is_a_502_naming_the_operation_and_fails_the_job(
    soap_gw: Running, operation: str
) -> None:
    await soap_gw.fault(
        kind="soap_fault", transport="soap", operation=operation, faultcode="Client"
    )
    body = {"activation_key": KEY, "hostids": [f"HOSTNAME=fault-{operation.lower()}"]}
    reply = await soap_gw.call("POST", "/v1/activations", json=body, headers={"Prefer": "wait=5"})
    problem = problem_of(reply, 502)
    assert problem["type"] == REQUEST_REJECTED
    assert operation in problem["detail"]
    assert await soap_gw.count("soap", operation) == 1
    assert breaker_state(soap_gw) is BreakerState.CLOSED
    # The job is over: no poller picks it up again, nothing more reaches LAC.
    jobs = await soap_gw.call("GET", "/v1/admin/jobs", key=ADMIN_KEY)
    assert jobs.json()["total"] == 0
    assert await soap_gw.app[POLLER].run_once() == 0
    assert await soap_gw.count("soap", operation) == 1


async def test_a_server_fault_on_the_poll_is_retried_and_the_activation_completes(
    soap_gw: Running,
) -> None:
    await soap_gw.fault(kind="soap_fault", operation="GetLicense", faultcode="Server", calls=1)
    body = {"activation_key": KEY, "hostids": ["HOSTNAME=fault-server"]}
    reply = await soap_gw.call("POST", "/v1/activations", json=body, headers={"Prefer": "wait=5"})
    assert reply.status == 200, reply.body[:300]
    assert reply.json()["state"] == "ready"
    assert await soap_gw.count("soap", "GetLicense") >= 2


@pytest.mark.parametrize("operation", ["GetLicense", "CreateLicenseRequest"])
async def test_a_caller_after_a_client_fault_gets_the_same_502_naming_the_operation(
    soap_gw: Running, operation: str
) -> None:
    # The failure is kept for the job's other callers; they must read the same problem as the
    # first one, not the bare code it is stored under (41, "invalid SOAP version or type").
    await soap_gw.fault(
        kind="soap_fault", transport="soap", operation=operation, faultcode="Client"
    )
    body = {"activation_key": KEY, "hostids": [f"HOSTNAME=again-{operation.lower()}"]}
    first = problem_of(
        await soap_gw.call("POST", "/v1/activations", json=body, headers={"Prefer": "wait=5"}),
        502,
    )
    again = await soap_gw.call("POST", "/v1/activations", json=body, headers={"Prefer": "wait=5"})
    problem = problem_of(again, 502)
    assert problem["type"] == REQUEST_REJECTED
    assert problem["detail"] == first["detail"]
    assert operation in problem["detail"]
    assert await soap_gw.count("soap", operation) == 1

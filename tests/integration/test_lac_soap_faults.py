"""SOAP Faults: a ``Client`` fault is a configuration error, a ``Server`` fault LAC in trouble."""

from __future__ import annotations

import aiohttp
import pytest
import structlog

from gateway.codes import Code
from gateway.lac.base import LacRequestRejected, LacUnavailable
from gateway.lac.factory import create_lac
from gateway.lac.resilience import BreakerPolicy, BreakerState, ResilientLac, RetryPolicy
from gateway.lac.soap_codec import SoapCodec
from tests.integration.lac_support import SandboxControl, lac_settings

KEY = "FAULT-ORDER-00000-00002"
HOST = "HOSTNAME=build01"
QUICK = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)


@pytest.fixture
async def lac(
    session: aiohttp.ClientSession,
    sandbox_url: str,
    enduser_codec: SoapCodec,
    control: SandboxControl,
) -> ResilientLac:
    await control.put_order(KEY)
    inner = create_lac(session, lac_settings(sandbox_url, transport="soap"), enduser_codec)
    # One failure would open this breaker: a Client fault counted as an outage shows at once.
    return ResilientLac(inner, QUICK, BreakerPolicy(failures=1, cooldown=60.0))


@pytest.mark.parametrize("faultcode", ["Client", "SOAP-ENV:Client", "Client.Validation"])
async def test_a_client_fault_is_not_retried_and_leaves_the_breaker_closed(
    lac: ResilientLac, control: SandboxControl, faultcode: str
) -> None:
    await control.fault("soap_fault", transport="soap", operation="GetLicense", faultcode=faultcode)
    with pytest.raises(LacRequestRejected) as caught:
        await lac.fetch(KEY, HOST)
    assert caught.value.operation == "GetLicense"
    assert await control.count("soap", "GetLicense") == 1
    assert lac.breaker.state is BreakerState.CLOSED


async def test_a_client_fault_on_create_is_not_ambiguous(
    lac: ResilientLac, control: SandboxControl
) -> None:
    await control.fault("soap_fault", operation="CreateLicenseRequest", faultcode="Client")
    with pytest.raises(LacRequestRejected) as caught:
        await lac.create(KEY, HOST)
    assert caught.value.operation == "CreateLicenseRequest"
    assert await control.count("soap", "CreateLicenseRequest") == 1


async def test_a_server_fault_is_still_retried_and_counted_by_the_breaker(
    session: aiohttp.ClientSession,
    sandbox_url: str,
    enduser_codec: SoapCodec,
    control: SandboxControl,
) -> None:
    await control.put_order(KEY)
    inner = create_lac(session, lac_settings(sandbox_url, transport="soap"), enduser_codec)
    lac = ResilientLac(inner, QUICK, BreakerPolicy(failures=QUICK.attempts, cooldown=60.0))
    await control.fault("soap_fault", operation="GetLicense", faultcode="soapenv:Server")
    with pytest.raises(LacUnavailable) as caught:
        await lac.fetch(KEY, HOST)
    assert not isinstance(caught.value, LacRequestRejected)
    assert caught.value.code == Code.SOAP_COMM_ERROR
    assert await control.count("soap", "GetLicense") == QUICK.attempts
    assert lac.breaker.state is BreakerState.OPEN


async def test_the_fault_string_is_logged_once_without_the_request_values(
    lac: ResilientLac, control: SandboxControl
) -> None:
    await control.fault("soap_fault", operation="GetLicense", faultcode="Client", echo=True)
    with structlog.testing.capture_logs() as logs, pytest.raises(LacRequestRejected):
        await lac.fetch(KEY, HOST)
    warnings = [e for e in logs if e["event"] == "lac_request_rejected"]
    assert len(warnings) == 1, logs
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["op"] == "GetLicense"
    assert "injected" in warnings[0]["fault"]
    assert KEY not in str(logs)
    assert "build01" not in str(logs)


async def test_an_operation_the_sandbox_lacks_gets_a_client_fault(
    session: aiohttp.ClientSession, sandbox_url: str
) -> None:
    envelope = (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        '<s:Body><ns1:NoSuchCall xmlns:ns1="urn:x"/></s:Body></s:Envelope>'
    )
    url = f"{sandbox_url}/soap/type/enduser/version/2"
    async with session.post(url, data=envelope, headers={"Content-Type": "text/xml"}) as reply:
        body = await reply.text()
    assert reply.status == 500
    assert "<faultcode>SOAP-ENV:Client</faultcode>" in body

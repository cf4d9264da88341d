"""Every LAC return code, injected by the sandbox, reaches the adapter's caller (table-driven)."""

from __future__ import annotations

import aiohttp
import pytest

from gateway.codes import Code, code_table, rest_answer
from gateway.lac.base import LacAmbiguous, LacRejected, LacUnavailable, PollState
from gateway.lac.rest import LacRestClient
from gateway.lac.soap import LacSoapClient
from gateway.lac.soap_codec import SoapCodec
from gateway.settings import LacSettings
from tests.integration.lac_support import SandboxControl

KEY = "CODES-ORDER-00000-00001"
HOST = "HOSTNAME=build01"
# 0 is success and 1 "please wait": both are answers, not failures.
FAILURE_CODES = sorted(code for code in code_table() if code > 1)


@pytest.fixture
async def soap(
    session: aiohttp.ClientSession,
    settings: LacSettings,
    enduser_codec: SoapCodec,
    control: SandboxControl,
) -> LacSoapClient:
    await control.put_order(KEY)
    return LacSoapClient(session, settings, enduser_codec)


@pytest.fixture
async def rest(
    session: aiohttp.ClientSession, settings: LacSettings, control: SandboxControl
) -> LacRestClient:
    await control.put_order(KEY)
    return LacRestClient(session, settings)


@pytest.mark.parametrize("code", FAILURE_CODES)
async def test_soap_create_raises_the_code_lac_answered(
    soap: LacSoapClient, control: SandboxControl, code: int
) -> None:
    await control.fault("code", transport="soap", operation="CreateLicenseRequest", code=code)
    with pytest.raises(LacRejected) as caught:
        await soap.create(KEY, HOST)
    assert caught.value.code == code
    assert caught.value.message == code_table()[code].meaning


@pytest.mark.parametrize("code", FAILURE_CODES)
async def test_soap_poll_raises_the_code_lac_answered(
    soap: LacSoapClient, control: SandboxControl, code: int
) -> None:
    await soap.create(KEY, HOST)
    await control.fault("code", transport="soap", operation="GetLicense", code=code)
    with pytest.raises(LacRejected) as caught:
        await soap.poll(KEY, HOST)
    assert caught.value.code == code


async def test_soap_poll_reads_code_1_as_pending(
    soap: LacSoapClient, control: SandboxControl
) -> None:
    await soap.create(KEY, HOST)
    await control.fault("code", transport="soap", operation="GetLicense", code=1, calls=1)
    assert (await soap.poll(KEY, HOST)).state is PollState.PENDING
    assert (await soap.poll(KEY, HOST)).state is PollState.READY


def same_rest_answer(raised: int, injected: int) -> bool:
    """Whether two LAC codes read the same over REST (status, and v2 code where there is one)."""
    (status, code), (sent_status, sent_code) = rest_answer(raised), rest_answer(injected)
    if status != sent_status:
        return False
    return sent_code is None or code == sent_code


@pytest.mark.parametrize("code", FAILURE_CODES)
async def test_rest_create_maps_each_code_through_the_rest_columns(
    rest: LacRestClient, control: SandboxControl, code: int
) -> None:
    await control.fault("code", transport="rest", operation="PUT /licenses", code=code)
    if code_table()[code].rest_status is None:
        # No REST equivalent: LAC answers 500, and a PUT that got a 5xx may have been applied.
        with pytest.raises(LacAmbiguous) as ambiguous:
            await rest.create(KEY, HOST)
        assert ambiguous.value.code == Code.SOAP_COMM_ERROR
        return
    with pytest.raises(LacRejected) as caught:
        await rest.create(KEY, HOST)
    assert same_rest_answer(caught.value.code, code), (caught.value.code, code)


@pytest.mark.parametrize("code", FAILURE_CODES)
async def test_rest_poll_maps_each_code_through_the_rest_columns(
    rest: LacRestClient, control: SandboxControl, code: int
) -> None:
    await rest.create(KEY, HOST)
    await control.fault("code", transport="rest", operation="GET /license-queue", code=code)
    if code_table()[code].rest_status is None:
        with pytest.raises(LacUnavailable) as failed:
            await rest.poll(KEY, HOST)
        assert failed.value.code == Code.SOAP_COMM_ERROR
        # A read is never ambiguous: it changed nothing at LAC.
        assert not isinstance(failed.value, LacAmbiguous)
        return
    with pytest.raises(LacRejected) as caught:
        await rest.poll(KEY, HOST)
    assert same_rest_answer(caught.value.code, code), (caught.value.code, code)


async def test_rest_documented_error_codes_map_exactly(
    rest: LacRestClient, control: SandboxControl
) -> None:
    expected = {101: 101, 202: 202, 401: 401, 106: 20}
    for injected, mapped in expected.items():
        await control.fault(
            "code", transport="rest", operation="PUT /licenses", code=injected, calls=1
        )
        with pytest.raises(LacRejected) as caught:
            await rest.create(KEY, HOST)
        assert caught.value.code == mapped

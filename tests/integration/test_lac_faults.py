"""Transport failures toward LAC: timeouts, drops, HTTP 5xx, bad bodies, refused connections."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import aiohttp
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from gateway.codes import Code
from gateway.lac.base import Lac, LacAmbiguous, LacRejected, LacUnavailable
from gateway.lac.factory import create_lac
from gateway.lac.http import LacHttp, Reply
from gateway.lac.soap_codec import SoapCodec
from gateway.settings import LacSettings
from tests.integration.lac_support import SandboxControl, lac_settings

KEY = "FAULT-ORDER-00000-00001"
HOST = "HOSTNAME=build01"
# The operation names the sandbox counts and faults, per transport.
CREATE = {"soap": "CreateLicenseRequest", "rest": "PUT /licenses"}
FETCH = {"soap": "GetLicense", "rest": "GET /licenses"}


@pytest.fixture
async def slow_lac(
    session: aiohttp.ClientSession,
    sandbox_url: str,
    transport: str,
    enduser_codec: SoapCodec,
    control: SandboxControl,
) -> Lac:
    """An adapter whose read timeout is far below the sandbox's injected latency."""
    await control.put_order(KEY)
    settings = lac_settings(sandbox_url, transport=transport, read_timeout=0.2)
    return create_lac(session, settings, enduser_codec)


@pytest.fixture
async def ordered(lac: Lac, control: SandboxControl) -> Lac:
    await control.put_order(KEY)
    return lac


async def test_a_create_that_times_out_is_ambiguous(
    slow_lac: Lac, control: SandboxControl, transport: str
) -> None:
    await control.fault("latency", transport=transport, operation=CREATE[transport], latency=1.0)
    with pytest.raises(LacAmbiguous) as caught:
        await slow_lac.create(KEY, HOST)
    assert caught.value.code == Code.SOAP_COMM_ERROR
    assert await control.count(transport, CREATE[transport]) == 1


async def test_a_read_that_times_out_is_unavailable_not_ambiguous(
    slow_lac: Lac, control: SandboxControl, transport: str
) -> None:
    await control.fault("latency", transport=transport, operation=FETCH[transport], latency=1.0)
    with pytest.raises(LacUnavailable) as caught:
        await slow_lac.fetch(KEY, HOST)
    assert caught.value.code == Code.SOAP_COMM_ERROR
    assert not isinstance(caught.value, LacAmbiguous)


@pytest.mark.parametrize("kind", ["drop", "malformed", "http_error"])
async def test_a_create_without_a_usable_answer_is_ambiguous(
    ordered: Lac, control: SandboxControl, transport: str, kind: str
) -> None:
    await control.fault(kind, transport=transport, operation=CREATE[transport], status=503)
    with pytest.raises(LacAmbiguous) as caught:
        await ordered.create(KEY, HOST)
    assert caught.value.code == Code.SOAP_COMM_ERROR


@pytest.mark.parametrize("kind", ["drop", "malformed", "http_error"])
async def test_a_read_without_a_usable_answer_is_unavailable(
    ordered: Lac, control: SandboxControl, transport: str, kind: str
) -> None:
    await ordered.create(KEY, HOST)
    await control.fault(kind, transport=transport, operation=FETCH[transport], status=503)
    with pytest.raises(LacUnavailable) as caught:
        await ordered.fetch(KEY, HOST)
    assert caught.value.code == Code.SOAP_COMM_ERROR
    assert not isinstance(caught.value, LacAmbiguous)


async def test_the_adapter_recovers_once_the_fault_is_gone(
    ordered: Lac, control: SandboxControl, transport: str
) -> None:
    await control.fault(
        "http_error", transport=transport, operation=CREATE[transport], status=502, calls=1
    )
    with pytest.raises(LacAmbiguous):
        await ordered.create(KEY, HOST)
    await ordered.create(KEY, HOST)
    assert await ordered.fetch(KEY, HOST) is not None


async def test_a_dropped_rest_put_is_resent_once_without_a_second_activation(
    session: aiohttp.ClientSession, settings: LacSettings, control: SandboxControl
) -> None:
    from gateway.lac.rest import LacRestClient  # noqa: PLC0415 - the bare constructor

    await control.put_order(KEY)
    rest = LacRestClient(session, settings)
    await control.fault("drop", transport="rest", operation="PUT /licenses", calls=1)
    await rest.create(KEY, HOST)
    assert await control.count("rest", "PUT /licenses") == 2
    assert (await control.order(KEY))["activations_total"] == 1


async def test_a_dropped_soap_create_is_never_resent(
    session: aiohttp.ClientSession,
    settings: LacSettings,
    enduser_codec: SoapCodec,
    control: SandboxControl,
) -> None:
    from gateway.lac.soap import LacSoapClient  # noqa: PLC0415 - the bare constructor

    await control.put_order(KEY)
    soap = LacSoapClient(session, settings, enduser_codec)
    await control.fault("drop", transport="soap", operation="CreateLicenseRequest", calls=1)
    with pytest.raises(LacAmbiguous):
        await soap.create(KEY, HOST)
    assert await control.count("soap", "CreateLicenseRequest") == 1


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_refused_connection_is_code_900_and_never_ambiguous(
    session: aiohttp.ClientSession, transport: str, enduser_codec: SoapCodec
) -> None:
    settings = lac_settings(f"http://127.0.0.1:{closed_port()}", transport=transport)
    lac = create_lac(session, settings, enduser_codec)
    with pytest.raises(LacUnavailable) as caught:
        await lac.create(KEY, HOST)
    assert caught.value.code == Code.SOAP_NO_NETWORK_HOST
    assert not isinstance(caught.value, LacAmbiguous)


async def test_failures_are_logged_without_secrets_or_license_text(
    ordered: Lac, control: SandboxControl, transport: str
) -> None:
    await ordered.create(KEY, HOST)
    content = (await ordered.fetch(KEY, HOST) or pytest.fail("no license")).content
    await control.fault("malformed", transport=transport, operation=FETCH[transport])
    with structlog.testing.capture_logs() as logs, pytest.raises(LacUnavailable):
        await ordered.fetch(KEY, HOST)
    failures = [entry for entry in logs if entry["event"] == "lac_call_failed"]
    assert [entry["code"] for entry in failures] == [Code.SOAP_COMM_ERROR]
    logged = repr(logs)
    assert "FEATURE" not in logged
    assert content[:40] not in logged


async def test_concurrent_calls_never_exceed_the_configured_cap(
    session: aiohttp.ClientSession,
) -> None:
    in_flight, peak = 0, 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", handler)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        settings = LacSettings(max_concurrency=2, allow_plain_http=True)
        http = LacHttp(session, settings, transport="test")
        decode: Callable[[Reply], tuple[int, int]] = lambda reply: (0, reply.status)  # noqa: E731
        url = URL(str(server.make_url("/")))
        calls = [http.call("probe", "GET", url, decode, mutating=False) for _ in range(8)]
        assert await asyncio.gather(*calls) == [200] * 8
    finally:
        await server.close()
    # Eight calls launched together would all overlap without the cap.
    assert peak in (1, 2)


async def test_rest_removal_without_a_soap_client_is_refused_with_code_41(
    session: aiohttp.ClientSession, settings: LacSettings
) -> None:
    from gateway.lac.rest import LacRestClient  # noqa: PLC0415 - the bare constructor

    rest = LacRestClient(session, settings)
    with pytest.raises(LacRejected) as caught:
        await rest.removal_requested(KEY, HOST)
    assert caught.value.code == 41

"""Retries, the retry budget and the circuit breaker around both adapters, against the sandbox."""

from __future__ import annotations

import aiohttp
import pytest

from gateway.codes import Code
from gateway.lac.base import LacAmbiguous, LacRejected, LacUnavailable
from gateway.lac.factory import create_lac
from gateway.lac.resilience import (
    BreakerPolicy,
    BreakerState,
    CircuitOpen,
    ResilientLac,
    RetryPolicy,
)
from gateway.lac.soap_codec import SoapCodec
from tests.integration.lac_support import SandboxControl, lac_settings

KEY = "RETRY-ORDER-00000-00001"
HOST = "HOSTNAME=build01"
CREATE = {"soap": "CreateLicenseRequest", "rest": "PUT /licenses"}
FETCH = {"soap": "GetLicense", "rest": "GET /licenses"}
QUICK = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)


class ManualClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def resilient(
    session: aiohttp.ClientSession,
    sandbox_url: str,
    transport: str,
    codec: SoapCodec,
    *,
    retry: RetryPolicy = QUICK,
    breaker: BreakerPolicy | None = None,
    clock: ManualClock | None = None,
) -> ResilientLac:
    inner = create_lac(session, lac_settings(sandbox_url, transport=transport), codec)
    return ResilientLac(inner, retry, breaker, clock=clock or ManualClock())


def state(lac: ResilientLac) -> BreakerState:
    """The breaker's state, read fresh (mypy would otherwise pin it after one assert)."""
    return lac.breaker.state


@pytest.fixture
async def lac(
    session: aiohttp.ClientSession,
    sandbox_url: str,
    transport: str,
    enduser_codec: SoapCodec,
    control: SandboxControl,
) -> ResilientLac:
    await control.put_order(KEY)
    return resilient(session, sandbox_url, transport, enduser_codec)


async def test_a_transient_failure_of_a_read_is_retried(
    lac: ResilientLac, control: SandboxControl, transport: str
) -> None:
    await lac.create(KEY, HOST)
    await control.fault("http_error", transport=transport, operation=FETCH[transport], calls=1)
    assert await lac.fetch(KEY, HOST) is not None
    assert await control.count(transport, FETCH[transport]) == 2


async def test_retries_stop_after_the_configured_attempts(
    lac: ResilientLac, control: SandboxControl, transport: str
) -> None:
    await control.fault("http_error", transport=transport, operation=FETCH[transport], status=503)
    with pytest.raises(LacUnavailable) as caught:
        await lac.fetch(KEY, HOST)
    assert caught.value.code == Code.SOAP_COMM_ERROR
    assert await control.count(transport, FETCH[transport]) == QUICK.attempts


async def test_a_retry_class_code_is_retried_and_a_client_code_is_not(
    lac: ResilientLac, control: SandboxControl, transport: str
) -> None:
    await control.fault("code", transport=transport, operation=CREATE[transport], code=101)
    with pytest.raises(LacRejected):
        await lac.create(KEY, HOST)
    assert await control.count(transport, CREATE[transport]) == 1
    await control.clear_faults()
    await control.reset_counters()
    # 102 LAC_CANNOT_ADD_NEW_RECORD: a transient refusal; nothing was created.
    await control.fault("code", transport="soap", operation="CreateLicenseRequest", code=102)
    await control.fault("code", transport="rest", operation="PUT /licenses", code=102)
    if transport == "rest":
        # REST has no form of 102: LAC answers 500, which is ambiguous for a PUT.
        with pytest.raises(LacAmbiguous):
            await lac.create(KEY, HOST)
        assert await control.count(transport, CREATE[transport]) == 1
        return
    with pytest.raises(LacRejected) as caught:
        await lac.create(KEY, HOST)
    assert caught.value.code == 102
    assert await control.count(transport, CREATE[transport]) == QUICK.attempts


async def test_an_ambiguous_create_is_never_retried(
    lac: ResilientLac, control: SandboxControl, transport: str
) -> None:
    await control.fault("http_error", transport=transport, operation=CREATE[transport], status=502)
    with pytest.raises(LacAmbiguous):
        await lac.create(KEY, HOST)
    assert await control.count(transport, CREATE[transport]) == 1


async def test_an_empty_retry_budget_allows_no_retry(
    session: aiohttp.ClientSession,
    sandbox_url: str,
    transport: str,
    enduser_codec: SoapCodec,
    control: SandboxControl,
) -> None:
    await control.put_order(KEY)
    broke = RetryPolicy(attempts=3, base_delay=0.01, budget_ratio=0.0, budget_burst=0.0)
    lac = resilient(session, sandbox_url, transport, enduser_codec, retry=broke)
    await control.fault("http_error", transport=transport, operation=FETCH[transport])
    with pytest.raises(LacUnavailable):
        await lac.fetch(KEY, HOST)
    assert await control.count(transport, FETCH[transport]) == 1


async def test_the_breaker_fails_fast_when_open_and_closes_after_a_good_probe(
    session: aiohttp.ClientSession,
    sandbox_url: str,
    transport: str,
    enduser_codec: SoapCodec,
    control: SandboxControl,
) -> None:
    await control.put_order(KEY)
    clock = ManualClock()
    once = RetryPolicy(attempts=1)
    breaker = BreakerPolicy(failures=3, cooldown=30.0)
    lac = resilient(
        session, sandbox_url, transport, enduser_codec, retry=once, breaker=breaker, clock=clock
    )
    await control.fault("drop", transport=transport, operation=FETCH[transport])
    for _ in range(3):
        with pytest.raises(LacUnavailable):
            await lac.fetch(KEY, HOST)
    assert state(lac) is BreakerState.OPEN
    reached = await control.count(transport, FETCH[transport])
    with pytest.raises(CircuitOpen) as caught:
        await lac.fetch(KEY, HOST)
    assert caught.value.code == 900
    assert await control.count(transport, FETCH[transport]) == reached
    await control.clear_faults()
    clock.now += 31.0
    assert await lac.fetch(KEY, HOST) is None
    assert state(lac) is BreakerState.CLOSED


async def test_answers_from_lac_keep_the_breaker_closed(
    session: aiohttp.ClientSession,
    sandbox_url: str,
    transport: str,
    enduser_codec: SoapCodec,
    control: SandboxControl,
) -> None:
    lac = resilient(
        session,
        sandbox_url,
        transport,
        enduser_codec,
        retry=RetryPolicy(attempts=1),
        breaker=BreakerPolicy(failures=2),
    )
    for _ in range(5):
        with pytest.raises(LacRejected):
            await lac.create("NOSUC-HORDR-00000-00000", HOST)
    assert state(lac) is BreakerState.CLOSED


async def test_the_factory_wraps_the_adapter_on_request(
    session: aiohttp.ClientSession, sandbox_url: str, transport: str, enduser_codec: SoapCodec
) -> None:
    settings = lac_settings(sandbox_url, transport=transport)
    wrapped = create_lac(session, settings, enduser_codec, resilient=True)
    assert isinstance(wrapped, ResilientLac)
    assert wrapped.transport == transport
    assert not isinstance(create_lac(session, settings, enduser_codec), ResilientLac)

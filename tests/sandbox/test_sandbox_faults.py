"""Call counters and every fault kind, observed from a client over a real socket."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from lxml import etree

from tests.sandbox.sandbox_support import SINGLE, RunningSandbox, call

HOST = "HOSTNAME=build01"


async def _fault(http: aiohttp.ClientSession, sb: RunningSandbox, **fault: object) -> int:
    async with http.post(f"{sb.url}/_sandbox/faults", json=fault) as resp:
        assert resp.status == 201
        [created] = await resp.json()
        return int(created["id"])


async def _counters(http: aiohttp.ClientSession, sb: RunningSandbox) -> dict[str, dict[str, int]]:
    async with http.get(f"{sb.url}/_sandbox/counters") as resp:
        counts: dict[str, dict[str, int]] = await resp.json()
        return counts


async def test_counters_count_each_soap_operation(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await call(http, running_sandbox, "CreateLicenseRequest", activationKey=SINGLE, hostid=HOST)
    for _ in range(3):
        await call(http, running_sandbox, "GetLicense", activationKey=SINGLE, hostid=HOST)

    counts = await _counters(http, running_sandbox)

    assert counts == {"soap": {"CreateLicenseRequest": 1, "GetLicense": 3}}


async def test_counters_reset_leaves_the_licenses(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await call(http, running_sandbox, "CreateLicenseRequest", activationKey=SINGLE, hostid=HOST)
    async with http.post(f"{running_sandbox.url}/_sandbox/reset", json={"scope": "counters"}):
        pass

    counts = await _counters(http, running_sandbox)
    fetched = await call(http, running_sandbox, "GetLicense", activationKey=SINGLE, hostid=HOST)

    assert counts == {}
    assert fetched.code == 0


async def test_code_fault_applies_to_the_next_n_calls_only(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await _fault(http, running_sandbox, kind="code", operation="GetLicense", code=102, calls=2)

    codes = [
        (await call(http, running_sandbox, "GetLicense", activationKey=SINGLE, hostid=HOST)).code
        for _ in range(3)
    ]

    assert codes == [102, 102, 300]


async def test_code_fault_with_a_ratio_hits_some_calls_and_spares_others(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await _fault(http, running_sandbox, kind="code", operation="GetLicense", code=1000, ratio=0.5)

    codes = {
        (await call(http, running_sandbox, "GetLicense", activationKey=SINGLE, hostid=HOST)).code
        for _ in range(200)
    }

    assert codes == {1000, 300}


async def test_fault_for_another_transport_leaves_soap_alone(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await _fault(http, running_sandbox, kind="code", transport="rest", code=1000)

    reply = await call(http, running_sandbox, "GetLicense", activationKey=SINGLE, hostid=HOST)

    assert reply.code == 300


@pytest.mark.parametrize("status", [500, 503])
async def test_http_error_fault_answers_that_status(
    status: int, running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await _fault(http, running_sandbox, kind="http_error", status=status, calls=1)

    failed = await call(http, running_sandbox, "GetLicense", activationKey=SINGLE, hostid=HOST)
    recovered = await call(http, running_sandbox, "GetLicense", activationKey=SINGLE, hostid=HOST)

    assert failed.status == status
    assert (recovered.status, recovered.code) == (200, 300)


@pytest.mark.parametrize("status", [429, 503])
async def test_http_error_fault_sends_the_retry_after_it_was_given(
    status: int, running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await _fault(http, running_sandbox, kind="http_error", status=status, retry_after=7, calls=1)
    url = f"{running_sandbox.url}/rest/v2/license-orders/{SINGLE}"

    async with http.get(url) as refused:
        answer = (refused.status, refused.headers.get("Retry-After"))
    async with http.get(url) as recovered:
        again = (recovered.status, recovered.headers.get("Retry-After"))

    assert answer == (status, "7")
    assert again == (200, None)


async def test_drop_fault_closes_the_connection_without_an_answer(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await _fault(http, running_sandbox, kind="drop", operation="CreateLicenseRequest", calls=1)

    with pytest.raises(aiohttp.ClientConnectionError):
        await call(http, running_sandbox, "CreateLicenseRequest", activationKey=SINGLE, hostid=HOST)
    counts = await _counters(http, running_sandbox)

    assert counts["soap"]["CreateLicenseRequest"] == 1
    assert running_sandbox.sandbox.state.orders[SINGLE].activated_count == 0


async def test_malformed_fault_sends_a_body_that_is_not_xml(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await _fault(http, running_sandbox, kind="malformed", operation="GetLicense", calls=1)

    reply = await call(http, running_sandbox, "GetLicense", activationKey=SINGLE, hostid=HOST)

    assert reply.status == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(reply.body)


async def test_latency_fault_outlasts_a_short_client_timeout(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await _fault(http, running_sandbox, kind="latency", latency=5.0, calls=1)
    url = running_sandbox.soap_url()

    with pytest.raises(asyncio.TimeoutError):
        async with http.post(url, data=b"<x/>", timeout=aiohttp.ClientTimeout(total=0.2)):
            pass
    prompt = await call(http, running_sandbox, "GetLicense", activationKey=SINGLE, hostid=HOST)

    assert prompt.code == 300


async def test_token_expiry_fault_expires_a_fresh_token(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    login = await call(http, running_sandbox, "Login", username="demo", password="demo")
    token = login.tree.findtext(".//return/token") or ""
    await _fault(
        http, running_sandbox, kind="token_expiry", operation="GetActivationCounters", calls=1
    )

    expired = await call(http, running_sandbox, "GetActivationCounters", token=token)

    assert expired.code == 50


async def test_token_expires_when_the_clock_passes_its_lifetime(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    login = await call(http, running_sandbox, "Login", username="demo", password="demo")
    token = login.tree.findtext(".//return/token") or ""

    running_sandbox.clock.advance(3 * 3600 - 1)
    still = await call(http, running_sandbox, "GetActivationCounters", token=token)
    async with http.post(f"{running_sandbox.url}/_sandbox/clock", json={"advance": 1}):
        pass
    expired = await call(http, running_sandbox, "GetActivationCounters", token=token)

    assert still.code == 0
    assert expired.code == 50


async def test_expire_tokens_control_call_ends_every_token(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    login = await call(http, running_sandbox, "Login", username="demo", password="demo")
    token = login.tree.findtext(".//return/token") or ""
    async with http.post(f"{running_sandbox.url}/_sandbox/tokens/expire") as resp:
        expired_count = (await resp.json())["expired"]

    reply = await call(http, running_sandbox, "Logout", token=token)

    assert expired_count == 1
    assert reply.code == 50


async def test_removed_fault_no_longer_applies(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    fault_id = await _fault(http, running_sandbox, kind="code", code=1000)
    async with http.delete(f"{running_sandbox.url}/_sandbox/faults/{fault_id}") as resp:
        assert resp.status == 200

    reply = await call(http, running_sandbox, "GetLicense", activationKey=SINGLE, hostid=HOST)

    assert reply.code == 300


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "explode"},
        {"kind": "code"},
        {"kind": "http_error", "status": 404},
        {"kind": "http_error", "status": 503, "retry_after": -1},
        {"kind": "latency", "latency": -1},
        {"kind": "code", "code": 1, "ratio": 0},
        {"kind": "code", "code": 1, "calls": 0},
        {"kind": "code", "code": float("inf")},
    ],
)
async def test_invalid_fault_is_refused_with_400(
    fault: dict[str, object], running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{running_sandbox.url}/_sandbox/faults", json=fault) as resp:
        assert resp.status == 400
        assert "error" in await resp.json()

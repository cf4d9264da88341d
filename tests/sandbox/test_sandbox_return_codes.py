"""Every LAC return code of the shared table is produced by the sandbox over SOAP.

Table-driven: the codes come from gateway/data/lac_codes.json, and each has a scenario, either
realistic or (for server-side failures and codes only LAC's C client library produces) by
fault injection through the control API.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from tests.sandbox.sandbox_support import (
    BAD_CONFIG,
    BULK5,
    DELAYED,
    DISABLED,
    ETHERNET_ONLY,
    GENERATOR_FAILS,
    NO_GENERATOR,
    NOT_LOCKED,
    SINGLE,
    UNKNOWN,
    RunningSandbox,
    SoapReply,
    call,
    envelope,
    post_soap,
)

TABLE = Path(__file__).resolve().parents[2] / "gateway" / "data" / "lac_codes.json"
CODES = {row["code"]: row for row in json.loads(TABLE.read_text(encoding="utf-8"))["codes"]}
HOST = "HOSTNAME=build01"

Scenario = Callable[[aiohttp.ClientSession, RunningSandbox], Awaitable[SoapReply]]


async def _inject(
    http: aiohttp.ClientSession, sb: RunningSandbox, operation: str, code: int
) -> None:
    fault = {"kind": "code", "transport": "soap", "operation": operation, "code": code, "calls": 1}
    async with http.post(f"{sb.url}/_sandbox/faults", json=fault) as resp:
        assert resp.status == 201


async def _token(http: aiohttp.ClientSession, sb: RunningSandbox) -> str:
    login = await call(http, sb, "Login", username="demo", password="demo")
    assert login.code == 0
    return login.tree.findtext(".//return/token") or ""


def injected(operation: str, code: int) -> Scenario:
    async def scenario(http: aiohttp.ClientSession, sb: RunningSandbox) -> SoapReply:
        await _inject(http, sb, operation, code)
        if operation in ("Login",):
            return await call(http, sb, operation, username="demo", password="demo")
        if operation in ("GetLicenseOrderList", "FindLicenseOrderByActivationKey"):
            token = await _token(http, sb)
            return await call(http, sb, operation, token=token, activationKey="", offset=0)
        if operation == "ResetDeactivationCounter":
            token = await _token(http, sb)
            return await call(http, sb, operation, token=token, activationKey=SINGLE)
        return await call(http, sb, operation, activationKey=SINGLE, hostid=HOST)

    return scenario


def enduser(operation: str, key: str, hostid: str = HOST, *setup: tuple[str, str]) -> Scenario:
    async def scenario(http: aiohttp.ClientSession, sb: RunningSandbox) -> SoapReply:
        for prior_key, prior_host in setup:
            prior = await call(
                http, sb, "CreateLicenseRequest", activationKey=prior_key, hostid=prior_host
            )
            assert prior.code == 0
        return await call(http, sb, operation, activationKey=key, hostid=hostid)

    return scenario


async def _please_wait(http: aiohttp.ClientSession, sb: RunningSandbox) -> SoapReply:
    await call(http, sb, "CreateLicenseRequest", activationKey=DELAYED, hostid=HOST)
    return await call(http, sb, "GetLicense", activationKey=DELAYED, hostid=HOST)


async def _bad_password(http: aiohttp.ClientSession, sb: RunningSandbox) -> SoapReply:
    return await call(http, sb, "Login", username="demo", password="wrong")


async def _plain_http_vendor(http: aiohttp.ClientSession, sb: RunningSandbox) -> SoapReply:
    async with http.patch(f"{sb.url}/_sandbox/settings", json={"vendor_requires_https": True}):
        pass
    return await call(http, sb, "Login", username="demo", password="demo")


async def _unknown_version(http: aiohttp.ClientSession, sb: RunningSandbox) -> SoapReply:
    xml = envelope("GetLicense", activationKey=SINGLE, hostid=HOST)
    return await post_soap(http, f"{sb.url}/soap/type/enduser/version/7", xml)


async def _wrong_token(http: aiohttp.ClientSession, sb: RunningSandbox) -> SoapReply:
    return await call(http, sb, "GetActivationCounters", token="0" * 40)


async def _unknown_order_for_vendor(http: aiohttp.ClientSession, sb: RunningSandbox) -> SoapReply:
    token = await _token(http, sb)
    return await call(http, sb, "ResetDeactivationCounter", token=token, activationKey=UNKNOWN)


async def _negative_offset(http: aiohttp.ClientSession, sb: RunningSandbox) -> SoapReply:
    token = await _token(http, sb)
    return await call(
        http, sb, "FindLicenseOrderByActivationKey", token=token, activationKey="", offset=-1
    )


async def _bulk_full(http: aiohttp.ClientSession, sb: RunningSandbox) -> SoapReply:
    for n in range(5):
        seat = await call(
            http, sb, "CreateLicenseRequest", activationKey=BULK5, hostid=f"HOSTNAME=h{n}"
        )
        assert seat.code == 0
    return await call(http, sb, "CreateLicenseRequest", activationKey=BULK5, hostid="HOSTNAME=h5")


async def _generator_failed(http: aiohttp.ClientSession, sb: RunningSandbox) -> SoapReply:
    created = await call(
        http, sb, "CreateLicenseRequest", activationKey=GENERATOR_FAILS, hostid=HOST
    )
    assert created.code == 0
    return await call(http, sb, "GetLicense", activationKey=GENERATOR_FAILS, hostid=HOST)


SCENARIOS: dict[int, Scenario] = {
    0: enduser("CreateLicenseRequest", SINGLE),
    1: _please_wait,
    10: _bad_password,
    20: enduser("CreateLicenseRequest", SINGLE, "HOSTNAME"),
    30: injected("Login", 30),
    40: _plain_http_vendor,
    41: _unknown_version,
    50: _wrong_token,
    60: enduser("CreateLicenseRequest", BAD_CONFIG, "not_specified"),
    100: enduser("CreateLicenseRequest", ETHERNET_ONLY, "HOSTNAME=build01"),
    101: enduser("CreateLicenseRequest", UNKNOWN),
    102: injected("CreateLicenseRequest", 102),
    103: injected("DeactivateLicense", 103),
    104: injected("FindLicenseOrderByActivationKey", 104),
    105: _unknown_order_for_vendor,
    106: enduser("CreateLicenseRequest", ETHERNET_ONLY, "ETHERNET=XYZ"),
    107: enduser("CreateLicenseRequest", SINGLE, ""),
    108: _negative_offset,
    109: injected("GetLicenseOrderList", 109),
    110: injected("ResetDeactivationCounter", 110),
    111: enduser("DeactivateLicense", SINGLE, HOST, (SINGLE, HOST)),
    200: _bulk_full,
    201: enduser("CreateLicenseRequest", SINGLE, "HOSTNAME=build02", (SINGLE, HOST)),
    202: enduser("CreateLicenseRequest", DISABLED),
    203: enduser("CreateLicenseRequest", NOT_LOCKED, HOST, (NOT_LOCKED, "not_specified")),
    204: enduser("LicenseRemovalConfirm", SINGLE, HOST, (SINGLE, HOST)),
    205: enduser("DeactivateLicense", BULK5),
    300: enduser("GetLicense", SINGLE),
    400: _generator_failed,
    401: enduser("CreateLicenseRequest", NO_GENERATOR),
    # Produced by LAC's C client library on network errors; reachable here by injection.
    900: injected("GetLicense", 900),
    901: injected("GetLicense", 901),
    1000: injected("GetLicense", 1000),
}


def test_every_code_of_the_table_has_a_scenario() -> None:
    assert sorted(SCENARIOS) == sorted(CODES)


@pytest.mark.parametrize("code", sorted(CODES), ids=[CODES[c]["name"] for c in sorted(CODES)])
async def test_soap_answers_code(
    code: int, running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    reply = await SCENARIOS[code](http, running_sandbox)

    assert reply.status == 200
    assert reply.code == code
    if code not in (0, 1, 204, 300, 400):
        # Failures carry the table's wording; 400 carries the generator's own output.
        assert reply.text == CODES[code]["meaning"]

"""REST calls are counted and faulted like SOAP calls, and REST and SOAP share one state."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import orjson
import pytest

from lacsandbox.codetable import code_table
from tests.sandbox.sandbox_support import BULK5, DELAYED, SINGLE, RunningSandbox, ZeepService, call

HOST = "HOSTNAME=build01"
SEGMENT = base64.b64encode(HOST.encode()).decode()
TABLE = code_table()
WITH_REST_STATUS = sorted(code for code, row in TABLE.items() if row.rest_status is not None)
WITHOUT_REST_STATUS = sorted(
    code for code, row in TABLE.items() if row.rest_status is None and code > 1
)


async def fault(http: aiohttp.ClientSession, sb: RunningSandbox, **spec: object) -> None:
    """Inject one fault through the control API."""
    async with http.post(f"{sb.url}/_sandbox/faults", json=spec) as resp:
        assert resp.status == 201


async def counters(http: aiohttp.ClientSession, sb: RunningSandbox) -> dict[str, Any]:
    """The call counters, through the control API."""
    async with http.get(f"{sb.url}/_sandbox/counters") as resp:
        body: dict[str, Any] = await resp.json()
        return body


async def rest(
    http: aiohttp.ClientSession, sb: RunningSandbox, method: str, path: str
) -> tuple[int, bytes, str]:
    """(status, raw body, content type) of one end-user REST call."""
    async with http.request(method, f"{sb.url}/rest/v2{path}", allow_redirects=False) as resp:
        return resp.status, await resp.read(), resp.headers.get("Content-Type", "")


async def test_rest_calls_are_counted_per_operation(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await rest(http, running_sandbox, "PUT", f"/licenses/{DELAYED}/{SEGMENT}")
    await rest(http, running_sandbox, "GET", f"/license-queue/{DELAYED}/{SEGMENT}")
    await rest(http, running_sandbox, "GET", f"/license-queue/{DELAYED}/{SEGMENT}")
    await rest(http, running_sandbox, "GET", f"/licenses/{DELAYED}/{SEGMENT}")
    await rest(http, running_sandbox, "GET", f"/licenses/{DELAYED}?state=success")
    await rest(http, running_sandbox, "GET", f"/license-orders/{DELAYED}")
    await rest(http, running_sandbox, "GET", f"/license-errors/{DELAYED}/{SEGMENT}")
    await rest(http, running_sandbox, "DELETE", f"/licenses/{DELAYED}/{SEGMENT}")
    async with http.post(f"{running_sandbox.url}/rest/vendor/auth/tokens", json={}) as resp:
        assert resp.status == 400

    counts = await counters(http, running_sandbox)

    assert counts == {
        "rest": {
            "PUT /licenses": 1,
            "GET /license-queue": 2,
            "GET /licenses": 1,
            "GET /licenses?state": 1,
            "GET /license-orders": 1,
            "GET /license-errors": 1,
            "DELETE /licenses": 1,
            "vendor POST /auth/tokens": 1,
        }
    }


@pytest.mark.parametrize("code", WITH_REST_STATUS)
async def test_forced_code_answers_its_rest_status_and_code_once(
    code: int, running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    row = TABLE[code]
    await fault(
        http, running_sandbox, kind="code", transport="rest", operation="PUT /licenses",
        code=code, calls=1,
    )  # fmt: skip

    forced, body, content_type = await rest(
        http, running_sandbox, "PUT", f"/licenses/{BULK5}/{SEGMENT}"
    )
    normal, _, _ = await rest(http, running_sandbox, "PUT", f"/licenses/{BULK5}/{SEGMENT}")

    assert forced == row.rest_status
    assert content_type == "application/hal+json"
    assert orjson.loads(body).get("code") == row.rest_code
    assert normal == 202


@pytest.mark.parametrize("code", WITHOUT_REST_STATUS)
async def test_forced_code_without_a_rest_equivalent_is_a_server_error(
    code: int, running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await fault(http, running_sandbox, kind="code", transport="rest", code=code, calls=1)

    status, body, _ = await rest(http, running_sandbox, "GET", f"/license-orders/{SINGLE}")

    assert status == 500
    assert orjson.loads(body)["message"]


async def test_forced_wrong_token_on_vendor_rest_is_403(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await fault(
        http, running_sandbox, kind="code", operation="vendor GET /activation-counters", code=50
    )
    async with http.post(
        f"{running_sandbox.url}/rest/vendor/auth/tokens",
        json={"username": "demo", "password": "demo"},
    ) as resp:
        token = (await resp.json())["token"]
    async with http.get(
        f"{running_sandbox.url}/rest/vendor/activation-counters",
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        status = resp.status

    assert status == 403


@pytest.mark.parametrize("status", [500, 503])
async def test_http_error_fault_answers_that_status_over_rest(
    status: int, running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await fault(http, running_sandbox, kind="http_error", transport="rest", status=status, calls=1)

    failed, _, _ = await rest(http, running_sandbox, "PUT", f"/licenses/{SINGLE}/{SEGMENT}")
    recovered, _, _ = await rest(http, running_sandbox, "PUT", f"/licenses/{SINGLE}/{SEGMENT}")

    assert (failed, recovered) == (status, 202)


async def test_drop_fault_closes_the_rest_connection_without_an_answer(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    # Not limited to one call: aiohttp retries an idempotent GET once on a dropped connection.
    await fault(
        http, running_sandbox, kind="drop", transport="rest", operation="GET /license-queue"
    )

    with pytest.raises(aiohttp.ClientConnectionError):
        await rest(http, running_sandbox, "GET", f"/license-queue/{SINGLE}/{SEGMENT}")
    other, _, _ = await rest(http, running_sandbox, "GET", f"/license-orders/{SINGLE}")

    assert other == 200


async def test_drop_fault_on_vendor_login_answers_nothing_once(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await fault(http, running_sandbox, kind="drop", operation="vendor POST /auth/tokens", calls=1)
    url = f"{running_sandbox.url}/rest/vendor/auth/tokens"
    credentials = {"username": "demo", "password": "demo"}

    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.post(url, json=credentials) as resp:
            await resp.read()
    async with http.post(url, json=credentials) as resp:
        status = resp.status

    assert status == 200


async def test_malformed_fault_cuts_the_json_body(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await fault(
        http, running_sandbox, kind="malformed", transport="rest",
        operation="GET /license-orders", calls=1,
    )  # fmt: skip

    status, body, content_type = await rest(
        http, running_sandbox, "GET", f"/license-orders/{SINGLE}"
    )
    _, intact, _ = await rest(http, running_sandbox, "GET", f"/license-orders/{SINGLE}")

    assert (status, content_type) == (200, "application/hal+json")
    assert intact.startswith(body)
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)


async def test_malformed_fault_on_a_bodiless_answer_sends_broken_json(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await rest(http, running_sandbox, "PUT", f"/licenses/{SINGLE}/{SEGMENT}")
    await fault(http, running_sandbox, kind="malformed", operation="GET /license-queue", calls=1)

    status, body, _ = await rest(http, running_sandbox, "GET", f"/license-queue/{SINGLE}/{SEGMENT}")

    assert status == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)


async def test_latency_fault_is_used_up_by_a_rest_call_that_still_answers(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await fault(
        http, running_sandbox, kind="latency", transport="rest", operation="GET /license-orders",
        latency=0.01, calls=1,
    )  # fmt: skip

    status, _, _ = await rest(http, running_sandbox, "GET", f"/license-orders/{SINGLE}")
    async with http.get(f"{running_sandbox.url}/_sandbox/faults") as resp:
        remaining = await resp.json()

    assert status == 200
    assert remaining == []


async def test_token_expiry_fault_makes_the_vendor_rest_call_403(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.post(
        f"{running_sandbox.url}/rest/vendor/auth/tokens",
        json={"username": "demo", "password": "demo"},
    ) as resp:
        token = (await resp.json())["token"]
    await fault(http, running_sandbox, kind="token_expiry", transport="rest", calls=1)
    async with http.get(
        f"{running_sandbox.url}/rest/vendor/activation-counters",
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        status = resp.status

    assert status == 403


async def test_soap_only_fault_leaves_rest_alone(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await fault(http, running_sandbox, kind="code", transport="soap", code=1000)

    status, _, _ = await rest(http, running_sandbox, "PUT", f"/licenses/{SINGLE}/{SEGMENT}")

    assert status == 202


async def test_license_activated_over_rest_is_served_by_soap_get_license(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession, enduser: ZeepService
) -> None:
    await rest(http, running_sandbox, "PUT", f"/licenses/{SINGLE}/{SEGMENT}")
    _, body, _ = await rest(http, running_sandbox, "GET", f"/licenses/{SINGLE}/{SEGMENT}")

    soap = await enduser.call("GetLicense", SINGLE, HOST)

    assert soap["result_code"] == 0
    assert soap["result_string"] == orjson.loads(body)["content"]


async def test_license_requested_over_soap_is_polled_and_fetched_over_rest(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession, enduser: ZeepService
) -> None:
    created = await enduser.call("CreateLicenseRequest", DELAYED, HOST)
    waiting, _, _ = await rest(http, running_sandbox, "GET", f"/license-queue/{DELAYED}/{SEGMENT}")
    running_sandbox.clock.advance(5)
    done, _, _ = await rest(http, running_sandbox, "GET", f"/license-queue/{DELAYED}/{SEGMENT}")
    _, body, _ = await rest(http, running_sandbox, "GET", f"/licenses/{DELAYED}/{SEGMENT}")
    soap = await enduser.call("GetLicense", DELAYED, HOST)

    assert created["result_code"] == 0
    assert (waiting, done) == (200, 303)
    assert orjson.loads(body)["content"] == soap["result_string"]


async def test_rest_deactivation_is_seen_by_soap(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await call(http, running_sandbox, "CreateLicenseRequest", activationKey=BULK5, hostid=HOST)
    before = await call(http, running_sandbox, "GetLicense", activationKey=BULK5, hostid=HOST)
    async with http.put(
        f"{running_sandbox.url}/_sandbox/orders/{BULK5}", json={"deactivations_allowed": 1}
    ) as resp:
        assert resp.status == 200
    deleted, _, _ = await rest(http, running_sandbox, "DELETE", f"/licenses/{BULK5}/{SEGMENT}")
    after = await call(http, running_sandbox, "GetLicense", activationKey=BULK5, hostid=HOST)

    assert before.code == 0
    assert deleted == 204
    assert after.code == 300


async def test_forced_please_wait_keeps_a_generated_license_in_the_queue(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await rest(http, running_sandbox, "PUT", f"/licenses/{SINGLE}/{SEGMENT}")
    await fault(http, running_sandbox, kind="code", operation="GET /license-queue", code=1, calls=1)

    waiting, _, _ = await rest(http, running_sandbox, "GET", f"/license-queue/{SINGLE}/{SEGMENT}")
    done, _, _ = await rest(http, running_sandbox, "GET", f"/license-queue/{SINGLE}/{SEGMENT}")

    assert (waiting, done) == (200, 303)

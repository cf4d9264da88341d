"""Vendor REST of the sandbox over a real socket: bearer tokens, counters, orders and licenses."""

from __future__ import annotations

import base64
import re
from typing import Any

import aiohttp
import pytest

from tests.sandbox.sandbox_support import BULK5, SINGLE, UNKNOWN, RunningSandbox, call

TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
HOSTS = ("HOSTNAME=build01", "HOSTNAME=build02")


class Vendor:
    """A plain aiohttp client on the sandbox's vendor REST API."""

    def __init__(self, sandbox: RunningSandbox, http: aiohttp.ClientSession) -> None:
        self.sandbox = sandbox
        self.base = f"{sandbox.url}/rest/vendor"
        self.http = http

    async def login(self, username: str, password: str) -> tuple[int, Any]:
        """POST /auth/tokens."""
        body = {"username": username, "password": password}
        async with self.http.post(f"{self.base}/auth/tokens", json=body) as resp:
            return resp.status, await resp.json()

    async def token(self) -> str:
        """A fresh token for the demo vendor."""
        status, body = await self.login(username="demo", password="demo")
        assert status == 200
        return str(body["token"])

    async def get(self, path: str, token: str | None, **params: str) -> tuple[int, Any]:
        """GET with ``Authorization: Bearer <token>`` (no header when None)."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        async with self.http.get(self.base + path, headers=headers, params=params) as resp:
            assert resp.headers["Content-Type"] == "application/json"
            return resp.status, await resp.json()

    async def activate(self, key: str, hostid: str) -> None:
        """Activate and generate a license through end-user REST."""
        segment = base64.b64encode(hostid.encode()).decode()
        url = f"{self.sandbox.url}/rest/v2/licenses/{key}/{segment}"
        async with self.http.put(url) as resp:
            assert resp.status == 202


@pytest.fixture
def vendor_rest(running_sandbox: RunningSandbox, http: aiohttp.ClientSession) -> Vendor:
    """The vendor REST client on the running sandbox."""
    return Vendor(running_sandbox, http)


async def test_token_from_credentials_reads_the_activation_counters(vendor_rest: Vendor) -> None:
    login_status, login = await vendor_rest.login(username="demo", password="demo")
    status, counters = await vendor_rest.get("/activation-counters", login["token"])

    assert login_status == 200
    assert re.fullmatch(r"[0-9a-f]{40}", login["token"])
    assert status == 200
    assert counters == {
        "ActivationSubscriptions": [
            {
                "start_date": "2026-01-01",
                "expiration_date": "2027-01-01",
                "next_reset_date": "2026-12-01",
                "activations_left_count": 1000,
                "default_count": 1000,
            }
        ],
        "one_time_activations_left_count": 500,
        "one_time_activations_expiration_date": "2027-12-31",
    }


async def test_activation_counters_go_down_with_each_new_activation(vendor_rest: Vendor) -> None:
    token = await vendor_rest.token()
    await vendor_rest.activate(BULK5, HOSTS[0])
    await vendor_rest.activate(BULK5, HOSTS[1])
    await vendor_rest.activate(BULK5, HOSTS[1])
    _, counters = await vendor_rest.get("/activation-counters", token)

    assert counters["ActivationSubscriptions"][0]["activations_left_count"] == 998


@pytest.mark.parametrize(
    ("username", "password"), [("demo", "wrong"), ("someone", "demo"), ("", "")]
)
async def test_bad_credentials_are_400(vendor_rest: Vendor, username: str, password: str) -> None:
    status, body = await vendor_rest.login(username, password)

    assert status == 400
    assert "token" not in body


@pytest.mark.parametrize(
    "payload", [b"not json", b"[]", b'{"username": "demo"}', b'{"username": 1, "password": 2}']
)
async def test_login_body_that_is_not_credentials_is_400(
    vendor_rest: Vendor, payload: bytes
) -> None:
    async with vendor_rest.http.post(
        f"{vendor_rest.base}/auth/tokens",
        data=payload,
        headers={"Content-Type": "application/json"},
    ) as resp:
        status, body = resp.status, await resp.json()

    assert status == 400
    assert "token" not in body


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer " + "0" * 40}, {"Authorization": "Basic ZGVtbzpkZW1v"}],
    ids=["missing", "wrong", "not-bearer"],
)
@pytest.mark.parametrize(
    "path", ["/activation-counters", f"/license-orders/{SINGLE}/licenses", "/licenses"]
)
async def test_calls_without_a_valid_bearer_token_are_403(
    vendor_rest: Vendor, path: str, headers: dict[str, str]
) -> None:
    async with vendor_rest.http.get(vendor_rest.base + path, headers=headers) as resp:
        status, body = resp.status, await resp.json()

    assert status == 403
    assert body == {"message": "Invalid or expired token."}


async def test_token_expires_after_its_lifetime(
    vendor_rest: Vendor, running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    token = await vendor_rest.token()
    before, _ = await vendor_rest.get("/activation-counters", token)
    async with http.post(f"{running_sandbox.url}/_sandbox/clock", json={"advance": 10800}) as r:
        assert r.status == 200
    after, body = await vendor_rest.get("/activation-counters", token)

    assert before == 200
    assert (after, body) == (403, {"message": "Invalid or expired token."})


async def test_tokens_expired_through_the_control_api_are_403(
    vendor_rest: Vendor, running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    token = await vendor_rest.token()
    async with http.post(f"{running_sandbox.url}/_sandbox/tokens/expire") as r:
        assert r.status == 200
    status, _ = await vendor_rest.get("/activation-counters", token)

    assert status == 403


async def test_soap_login_token_is_accepted_by_vendor_rest(
    vendor_rest: Vendor, running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    login = await call(http, running_sandbox, "Login", username="demo", password="demo")
    token = login.tree.findtext(".//return/token")
    status, _ = await vendor_rest.get("/activation-counters", token)

    assert token
    assert status == 200


async def test_order_licenses_lists_each_activated_host(vendor_rest: Vendor) -> None:
    token = await vendor_rest.token()
    for hostid in HOSTS:
        await vendor_rest.activate(BULK5, hostid)
    status, licenses = await vendor_rest.get(f"/license-orders/{BULK5}/licenses", token)
    _, second_page = await vendor_rest.get(f"/license-orders/{BULK5}/licenses", token, offset="1")

    assert status == 200
    assert sorted(lic["HostidValues"][0]["value"] for lic in licenses) == ["build01", "build02"]
    for lic in licenses:
        assert lic["activation_key"] == BULK5
        assert lic["license_text"].startswith("# This license file was generated")
        assert TIME.fullmatch(lic["activation_time"])
        assert lic["HostidValues"][0]["name"] == "HOSTNAME"
        assert {"id", "expiration_date"} <= lic.keys()
    assert len({lic["id"] for lic in licenses}) == 2
    assert second_page == licenses[1:]


async def test_order_licenses_of_an_unknown_key_is_404(vendor_rest: Vendor) -> None:
    status, _ = await vendor_rest.get(
        f"/license-orders/{UNKNOWN}/licenses", await vendor_rest.token()
    )

    assert status == 404


async def test_order_licenses_with_a_bad_offset_is_400(vendor_rest: Vendor) -> None:
    token = await vendor_rest.token()
    status, _ = await vendor_rest.get(f"/license-orders/{BULK5}/licenses", token, offset="-1")

    assert status == 400


async def test_all_licenses_filter_by_activation_key(vendor_rest: Vendor) -> None:
    token = await vendor_rest.token()
    await vendor_rest.activate(BULK5, HOSTS[0])
    await vendor_rest.activate(SINGLE, HOSTS[0])
    _, everything = await vendor_rest.get("/licenses", token)
    _, single = await vendor_rest.get("/licenses", token, activation_key=SINGLE)
    _, expiring = await vendor_rest.get(
        "/licenses", token, expiration_date_after="2027-12-01", expiration_date_before="2027-12-31"
    )
    bad, _ = await vendor_rest.get("/licenses", token, expiration_date_after="2027-12-01")

    assert sorted(lic["activation_key"] for lic in everything) == sorted([BULK5, SINGLE])
    assert [lic["activation_key"] for lic in single] == [SINGLE]
    assert [lic["activation_key"] for lic in expiring] == [SINGLE]
    assert bad == 400


async def test_license_orders_match_the_activation_key_partially(vendor_rest: Vendor) -> None:
    token = await vendor_rest.token()
    await vendor_rest.activate(BULK5, HOSTS[0])
    status, orders = await vendor_rest.get("/license-orders", token, activation_key="bulk5-seats")

    assert status == 200
    assert [(o["activation_key"], o["activated_licenses_count"]) for o in orders] == [(BULK5, 1)]
    assert TIME.fullmatch(orders[0]["creation_time"])
    assert orders[0]["customer"]["name"] == "Acme Build Farm"

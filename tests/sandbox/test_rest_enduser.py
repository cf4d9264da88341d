"""End-user REST v2 of the sandbox over a real socket: the 202/queue/303 flow and its refusals."""

from __future__ import annotations

import base64
import re
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from tests.sandbox.sandbox_support import (
    BAD_CONFIG,
    BULK5,
    DEACTIVATE_ONCE,
    DELAYED,
    DISABLED,
    ETHERNET_ONLY,
    GENERATOR_FAILS,
    NO_GENERATOR,
    NOT_LOCKED,
    SINGLE,
    UNKNOWN,
    RunningSandbox,
)

HOST = "HOSTNAME=build01"
OTHER_HOST = "HOSTNAME=build02"
ISO_WITH_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")
HAL = "application/hal+json"


def b64(hostid: str) -> str:
    """Standard Base64 with padding, as LAC's REST paths carry HostIDs."""
    return base64.b64encode(hostid.encode()).decode()


class Rest:
    """A plain aiohttp client on the sandbox's end-user REST v2 and its control API."""

    def __init__(self, sandbox: RunningSandbox, http: aiohttp.ClientSession) -> None:
        self.base = f"{sandbox.url}/rest/v2"
        self.url = sandbox.url
        self.http = http

    async def call(
        self, method: str, path: str, **kwargs: Any
    ) -> tuple[int, dict[str, Any], CIMultiDictProxy[str]]:
        """(status, JSON body or {}, headers) of one call; redirects are not followed."""
        async with self.http.request(
            method, self.base + path, allow_redirects=False, **kwargs
        ) as resp:
            text = await resp.text()
            body = await resp.json(content_type=None) if text else {}
            return resp.status, body, resp.headers

    async def put(self, key: str, hostid: str = HOST) -> tuple[int, dict[str, Any]]:
        """PUT /licenses/{key}/{b64}."""
        status, body, _ = await self.call("PUT", f"/licenses/{key}/{b64(hostid)}")
        return status, body

    async def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward through the control API."""
        async with self.http.post(f"{self.url}/_sandbox/clock", json={"advance": seconds}) as r:
            assert r.status == 200

    async def control_order(self, key: str) -> dict[str, Any]:
        """The control API's view of an order."""
        async with self.http.get(f"{self.url}/_sandbox/orders/{key}") as resp:
            assert resp.status == 200
            body: dict[str, Any] = await resp.json()
            return body


@pytest.fixture
def rest(running_sandbox: RunningSandbox, http: aiohttp.ClientSession) -> Rest:
    """The REST client on the running sandbox."""
    return Rest(running_sandbox, http)


async def test_put_queue_then_303_to_the_license_once_generation_finishes(rest: Rest) -> None:
    segment = b64(HOST)
    put_status, put_body, put_headers = await rest.call("PUT", f"/licenses/{DELAYED}/{segment}")
    queue_status, queue, queue_headers = await rest.call(
        "GET", f"/license-queue/{DELAYED}/{segment}"
    )
    await rest.advance(5)
    done_status, _, done_headers = await rest.call("GET", f"/license-queue/{DELAYED}/{segment}")
    lic_status, lic, lic_headers = await rest.call("GET", f"/licenses/{DELAYED}/{segment}")

    assert put_status == 202
    assert put_headers["Location"] == f"/rest/v2/license-queue/{DELAYED}/{segment}"
    assert put_headers["Content-Type"] == HAL
    assert put_body["_links"]["self"]["href"] == put_headers["Location"]
    assert queue_status == 200
    assert queue_headers["Content-Type"] == HAL
    assert ISO_WITH_OFFSET.fullmatch(queue["creationTime"])
    assert queue["hostids"] == [{"nameRaw": "HOSTNAME", "name": "Hostname", "value": "build01"}]
    assert {"expirationDate", "maintenanceEndDate"} <= queue.keys()
    assert queue["_links"]["self"]["href"] == f"/rest/v2/license-queue/{DELAYED}/{segment}"
    assert done_status == 303
    assert done_headers["Location"] == f"/rest/v2/licenses/{DELAYED}/{segment}"
    assert lic_status == 200
    assert lic_headers["Content-Type"] == HAL
    assert lic["activationKey"] == DELAYED
    assert ISO_WITH_OFFSET.fullmatch(lic["activationTime"])
    assert lic["content"].startswith("# This license file was generated")
    assert f"# Activation Key: {DELAYED}" in lic["content"]
    assert re.fullmatch(r"license_\d{4}_\d\d_\d\d-\d\d_\d\d\.lic", lic["filename"])
    assert lic["hostids"] == queue["hostids"]
    assert lic["_links"]["self"]["href"] == f"/rest/v2/licenses/{DELAYED}/{segment}"
    assert lic["_links"]["license-order"]["href"] == f"/rest/v2/license-orders/{DELAYED}"
    assert lic["_embedded"]["license-orders"][0]["activationKey"] == DELAYED


async def test_license_carries_the_order_feature_dates(rest: Rest) -> None:
    await rest.put(SINGLE)
    status, lic, _ = await rest.call("GET", f"/licenses/{SINGLE}/{b64(HOST)}")

    assert status == 200
    assert lic["expirationDate"] == "2027-12-31T00:00:00+00:00"
    assert lic["maintenanceEndDate"] == "2027-06-30T00:00:00+00:00"


async def test_failed_generation_redirects_to_license_errors(rest: Rest) -> None:
    segment = b64(HOST)
    put_status, _ = await rest.put(GENERATOR_FAILS)
    queue_status, _, queue_headers = await rest.call(
        "GET", f"/license-queue/{GENERATOR_FAILS}/{segment}"
    )
    errors_status, errors, _ = await rest.call(
        "GET", f"/license-errors/{GENERATOR_FAILS}/{segment}"
    )
    lic_status, lic, _ = await rest.call("GET", f"/licenses/{GENERATOR_FAILS}/{segment}")

    assert put_status == 202
    assert queue_status == 303
    assert queue_headers["Location"] == f"/rest/v2/license-errors/{GENERATOR_FAILS}/{segment}"
    assert errors_status == 200
    assert errors["errors"][0]["message"] == (
        "license generator exited with status 1: feature template is invalid"
    )
    assert ISO_WITH_OFFSET.fullmatch(errors["errors"][0]["creationTime"])
    assert (
        errors["_links"]["self"]["href"] == f"/rest/v2/license-errors/{GENERATOR_FAILS}/{segment}"
    )
    assert (lic_status, lic) == (404, {"message": "License does not exist."})


@pytest.mark.parametrize(
    ("key", "segment", "status", "body"),
    [
        pytest.param(
            UNKNOWN, b64(HOST), 400, {"code": 1712, "message": "Invalid activation key."},
            id="unknown-key",
        ),
        pytest.param(
            "not-a-key", b64(HOST), 400, {"code": 1712, "message": "Invalid activation key."},
            id="malformed-key",
        ),
        pytest.param(
            SINGLE, "!!not-base64!!", 400, {"code": 1600, "message": "Wrong format of HostID."},
            id="segment-not-base64",
        ),
        pytest.param(
            SINGLE, b64("build01"), 400, {"code": 1600, "message": "Wrong format of HostID."},
            id="hostid-without-type",
        ),
        pytest.param(
            ETHERNET_ONLY, b64(HOST), 400,
            {"code": 1600, "message": "HostID type is not supported."},
            id="type-not-allowed-by-order",
        ),
        pytest.param(
            NO_GENERATOR, b64(HOST), 403,
            {"code": 1709, "message": "License generator was not uploaded for this product."},
            id="generator-not-uploaded",
        ),
        pytest.param(
            DISABLED, b64(HOST), 403, {"code": 1703, "message": "License order is disabled."},
            id="order-disabled",
        ),
        pytest.param(
            BAD_CONFIG, b64("not_specified"), 403,
            {"message": "License cannot be activated with current configuration."},
            id="order-misconfigured",
        ),
    ],
)  # fmt: skip
async def test_put_refusals_answer_documented_status_and_v2_body(
    rest: Rest, key: str, segment: str, status: int, body: dict[str, Any]
) -> None:
    got_status, got_body, headers = await rest.call("PUT", f"/licenses/{key}/{segment}")

    assert (got_status, got_body) == (status, body)
    assert headers["Content-Type"] == HAL
    assert "Location" not in headers


async def test_full_order_refuses_a_new_host_but_re_put_of_the_same_host_is_free(
    rest: Rest,
) -> None:
    first, _ = await rest.put(SINGLE, HOST)
    other, other_body = await rest.put(SINGLE, OTHER_HOST)
    again, _ = await rest.put(SINGLE, HOST)
    order = await rest.control_order(SINGLE)

    assert (first, again) == (202, 202)
    assert other == 403
    assert other_body == {"message": "Activations have exceeded the allowable limit."}
    assert order["activations_total"] == 1


async def test_queue_of_a_pair_never_requested_is_404(rest: Rest) -> None:
    status, body, _ = await rest.call("GET", f"/license-queue/{SINGLE}/{b64(HOST)}")

    assert (status, body) == (404, {"message": "License request was not created."})


async def test_license_and_errors_that_do_not_exist_are_404(rest: Rest) -> None:
    missing_status, missing, _ = await rest.call("GET", f"/licenses/{SINGLE}/{b64(HOST)}")
    await rest.put(SINGLE)
    clean_status, clean, _ = await rest.call("GET", f"/license-errors/{SINGLE}/{b64(HOST)}")

    assert (missing_status, missing) == (404, {"message": "License does not exist."})
    assert (clean_status, clean) == (404, {"message": "License has no errors."})


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/license-queue/{DISABLED}/{b64(HOST)}"),
        ("GET", f"/licenses/{DISABLED}/{b64(HOST)}"),
        ("DELETE", f"/licenses/{DISABLED}/{b64(HOST)}"),
        ("GET", f"/license-errors/{DISABLED}/{b64(HOST)}"),
        ("GET", f"/license-orders/{DISABLED}"),
        ("GET", f"/licenses/{DISABLED}?state=success"),
    ],
)
async def test_disabled_order_is_403_on_every_call(rest: Rest, method: str, path: str) -> None:
    status, body, _ = await rest.call(method, path)

    assert (status, body) == (403, {"code": 1703, "message": "License order is disabled."})


async def test_order_disabled_after_activation_hides_the_license_with_403(
    rest: Rest, running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await rest.put(BULK5)
    async with http.put(
        f"{running_sandbox.url}/_sandbox/orders/{BULK5}", json={"enabled": False}
    ) as resp:
        assert resp.status == 200
    status, body, _ = await rest.call("GET", f"/licenses/{BULK5}/{b64(HOST)}")

    assert (status, body["code"]) == (403, 1703)


async def test_delete_frees_the_license_and_a_new_put_is_a_new_activation(rest: Rest) -> None:
    segment = b64(HOST)
    await rest.put(DEACTIVATE_ONCE)
    await rest.call("GET", f"/license-queue/{DEACTIVATE_ONCE}/{segment}")
    deleted, _, _ = await rest.call("DELETE", f"/licenses/{DEACTIVATE_ONCE}/{segment}")
    gone, gone_body, _ = await rest.call("GET", f"/licenses/{DEACTIVATE_ONCE}/{segment}")
    _, emptied, _ = await rest.call("GET", f"/license-orders/{DEACTIVATE_ONCE}")
    again, _ = await rest.put(DEACTIVATE_ONCE)
    _, refilled, _ = await rest.call("GET", f"/license-orders/{DEACTIVATE_ONCE}")
    refused, refused_body, _ = await rest.call("DELETE", f"/licenses/{DEACTIVATE_ONCE}/{segment}")
    order = await rest.control_order(DEACTIVATE_ONCE)

    assert deleted == 204
    assert (gone, gone_body) == (404, {"message": "License does not exist."})
    assert emptied["activatedLicenses"] == 0
    assert again == 202
    assert refilled["activatedLicenses"] == 1
    assert order["activations_total"] == 2
    assert (refused, refused_body) == (403, {"code": 1506, "message": "Cannot deactivate license."})


async def test_delete_of_a_license_that_does_not_exist_is_404(rest: Rest) -> None:
    status, body, _ = await rest.call("DELETE", f"/licenses/{DEACTIVATE_ONCE}/{b64(HOST)}")

    assert (status, body) == (404, {"code": 1711, "message": "License does not exist."})


async def test_license_order_describes_product_limits_and_hostid_policy(rest: Rest) -> None:
    _, before, _ = await rest.call("GET", f"/license-orders/{ETHERNET_ONLY}")
    await rest.put(ETHERNET_ONLY, "ETHERNET=00-50-A7-B6-CC-1A")
    status, after, headers = await rest.call("GET", f"/license-orders/{ETHERNET_ONLY}")

    assert status == 200
    assert headers["Content-Type"] == HAL
    assert after["activationKey"] == ETHERNET_ONLY
    assert after["product"]["licenseGeneratorType"] == "lm_x"
    assert {"name", "version", "template"} <= after["product"].keys()
    assert after["customer"] == {"name": "Demo Customer"}
    assert after["licenseType"] == "local"
    assert ISO_WITH_OFFSET.fullmatch(after["creationTime"])
    assert after["bulkMax"] == 3
    assert (before["activatedLicenses"], after["activatedLicenses"]) == (0, 1)
    assert after["hostid"] == {
        "types": [{"nameRaw": "ETHERNET", "name": "Ethernet", "min": 0, "max": 2}],
        "min": 1,
    }
    assert after["_links"]["self"]["href"] == f"/rest/v2/license-orders/{ETHERNET_ONLY}"
    embedded = after["_embedded"]["license-orders"]
    assert [(o["activationKey"], o["bulkMax"], o["activatedLicenses"]) for o in embedded] == [
        (ETHERNET_ONLY, 3, 1)
    ]


async def test_license_order_of_an_unknown_key_is_404(rest: Rest) -> None:
    status, body, _ = await rest.call("GET", f"/license-orders/{UNKNOWN}")

    assert (status, body) == (404, {"code": 1712, "message": "Invalid activation key."})


async def test_state_query_lists_the_order_licenses_in_the_states_asked(rest: Rest) -> None:
    await rest.put(DELAYED, HOST)
    await rest.advance(5)
    await rest.put(DELAYED, OTHER_HOST)

    async def listed(query: str) -> list[tuple[str, str]]:
        status, body, _ = await rest.call("GET", f"/licenses/{DELAYED}{query}")
        assert status == 200
        items = body["_embedded"]["licenses"]
        assert body["count"] == len(items)
        return sorted((item["hostids"][0]["value"], item["state"]) for item in items)

    assert await listed("?state=success") == [("build01", "success")]
    assert await listed("?state=in_progress") == [("build02", "in_progress")]
    assert await listed("?state=in_progress,success") == [
        ("build01", "success"),
        ("build02", "in_progress"),
    ]
    assert await listed("?state=failed") == []
    assert await listed("") == [("build01", "success"), ("build02", "in_progress")]


async def test_state_query_links_each_license_to_where_it_stands(rest: Rest) -> None:
    await rest.put(DELAYED, HOST)
    _, body, _ = await rest.call("GET", f"/licenses/{DELAYED}?state=in_progress")
    links = body["_embedded"]["licenses"][0]["_links"]
    queue_status, _, _ = await rest.call(
        "GET", links["license-queue"]["href"].removeprefix("/rest/v2")
    )

    assert links["self"]["href"] == f"/rest/v2/licenses/{DELAYED}/{b64(HOST)}"
    assert queue_status == 200


async def test_state_query_with_an_unknown_state_is_400(rest: Rest) -> None:
    status, body, _ = await rest.call("GET", f"/licenses/{SINGLE}?state=success,bogus")

    assert status == 400
    assert "bogus" in body["message"]


async def test_hostid_segment_tolerates_percent_encoding_and_missing_padding(rest: Rest) -> None:
    segment = b64(HOST)
    assert segment.endswith("==")
    await rest.put(SINGLE)

    encoded, _, _ = await rest.call("GET", f"/licenses/{SINGLE}/{segment.replace('=', '%3D')}")
    unpadded, _, _ = await rest.call("GET", f"/licenses/{SINGLE}/{segment.rstrip('=')}")
    order = await rest.control_order(SINGLE)

    assert (encoded, unpadded) == (200, 200)
    assert order["activations_total"] == 1


async def test_not_locked_order_takes_not_specified_once_then_refuses_other_hosts(
    rest: Rest,
) -> None:
    first, _ = await rest.put(NOT_LOCKED, "not_specified")
    status, lic, _ = await rest.call("GET", f"/licenses/{NOT_LOCKED}/{b64('not_specified')}")
    other, other_body = await rest.put(NOT_LOCKED, HOST)

    assert first == 202
    assert status == 200
    assert lic["hostids"] == []
    assert "HOSTID=" not in lic["content"]
    assert (other, other_body) == (
        403,
        {"message": "Already activated using different HostIDs."},
    )

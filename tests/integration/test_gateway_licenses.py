"""Licenses, removal, orders and the negative cache: what is served from Redis and what asks LAC."""

from __future__ import annotations

from typing import Any

from tests.gwharness import ADMIN_KEY, Running, problem_of

SINGLE = "SNGLE-HOST1-DEMO0-00001"
REMOVAL = "RMVAL-ORDER-DEMO0-00010"
UNKNOWN = "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"  # well-formed, so only LAC can say it does not exist


async def activate(running: Running, key: str, host: str) -> dict[str, Any]:
    """Activate and return the ready body."""
    reply = await running.activate(key, [host])
    assert reply.status == 200, await reply.text()
    body: dict[str, Any] = await reply.json()
    return body


async def test_license_is_served_from_cache_then_from_lac_after_an_admin_purge(
    running: Running,
) -> None:
    host = "HOSTNAME=lic01"
    issued = await activate(running, SINGLE, host)
    path = f"/v1/licenses/{SINGLE}?hostid={host}"
    calls = await running.lac_calls()

    cached = await running.call("GET", path)
    assert cached.status == 200
    assert cached.json()["source"] == "cache"
    assert cached.json()["license"] == issued["license"]
    assert await running.lac_calls() == calls

    purge = await running.call("POST", f"/v1/admin/cache/{SINGLE}?hostid={host}", key=ADMIN_KEY)
    assert purge.status == 200
    assert purge.json() == {"purged": True}

    fetched = await running.call("GET", path)
    assert fetched.status == 200
    assert fetched.json()["source"] == "lac"
    assert fetched.json()["license"]["content"] == issued["license"]["content"]
    assert await running.lac_calls() > calls

    # Fetched from LAC, it is cached again.
    calls = await running.lac_calls()
    assert (await running.call("GET", path)).json()["source"] == "cache"
    assert await running.lac_calls() == calls


async def test_license_of_a_host_without_one_is_404(running: Running) -> None:
    await activate(running, SINGLE, "HOSTNAME=lic02")
    reply = await running.call("GET", f"/v1/licenses/{SINGLE}?hostid=HOSTNAME=other99")
    problem_of(reply, 404)


async def test_removal_flow_confirms_and_drops_the_cached_license(running: Running) -> None:
    host = "HOSTNAME=rm01"
    await activate(running, REMOVAL, host)
    status_path = f"/v1/licenses/{REMOVAL}/removal?hostid={host}"

    requested = await running.call("GET", status_path)
    assert requested.status == 200
    assert requested.json() == {"removal_requested": True}

    confirm = await running.call(
        "POST", f"/v1/licenses/{REMOVAL}/removal/confirm", json={"hostids": [host]}
    )
    assert confirm.status == 204, confirm.body[:300]
    assert await running.count("soap", "LicenseRemovalConfirm") == 1

    # The cached copy is gone: the next fetch asks LAC.
    calls = await running.lac_calls()
    after = await running.call("GET", f"/v1/licenses/{REMOVAL}?hostid={host}")
    assert after.status == 200
    assert after.json()["source"] == "lac"
    assert await running.lac_calls() > calls

    settled = await running.call("GET", status_path)
    assert settled.status == 200
    assert settled.json() == {"removal_requested": False}


async def test_removal_not_requested_reads_false_and_confirming_it_is_409(
    running: Running,
) -> None:
    host = "HOSTNAME=rm02"
    await activate(running, SINGLE, host)
    status = await running.call("GET", f"/v1/licenses/{SINGLE}/removal?hostid={host}")
    assert status.status == 200
    assert status.json() == {"removal_requested": False}
    confirm = await running.call(
        "POST", f"/v1/licenses/{SINGLE}/removal/confirm", json={"hostids": [host]}
    )
    problem = problem_of(confirm, 409)
    assert problem["lac_code"] == 204
    assert problem["lac_name"] == "LAC_LICENSE_REMOVAL_NOT_REQUESTED"


async def test_order_summary_is_cached_and_an_unknown_order_is_404(running: Running) -> None:
    first = await running.call("GET", f"/v1/orders/{SINGLE}")
    assert first.status == 200, first.body[:300]
    order = first.json()
    assert order["activation_key"] == SINGLE
    assert order["enabled"] is True
    calls = await running.lac_calls()

    again = await running.call("GET", f"/v1/orders/{SINGLE.lower()}")
    assert again.status == 200
    assert again.json() == order
    assert await running.lac_calls() == calls

    unknown = await running.call("GET", f"/v1/orders/{UNKNOWN}")
    problem_of(unknown, 404)


async def test_unknown_activation_key_is_rejected_by_lac_and_cached_briefly(
    running: Running,
) -> None:
    first = await running.activate(UNKNOWN, ["HOSTNAME=neg01"])
    assert first.status == 404
    problem = await first.json()
    assert problem["lac_code"] == 101
    assert problem["lac_name"] == "LAC_ACTIVATION_KEY_INVALID"
    assert await running.creates() == 1
    calls = await running.lac_calls()

    again = await running.activate(UNKNOWN, ["HOSTNAME=neg01"])

    assert again.status == 404
    assert (await again.json())["lac_code"] == 101
    assert await running.lac_calls() == calls
    # Another host is another activation: LAC is asked for it.
    other = await running.activate(UNKNOWN, ["HOSTNAME=neg02"])
    assert other.status == 404
    assert await running.creates() == 2

"""Batch activation: one result per item, in order, each with its own status."""

from __future__ import annotations

from tests.gwharness import Running

BULK = "BULK5-SEATS-DEMO0-00002"
DISABLED = "DSBLD-ORDER-DEMO0-00004"
SLOW = "DELAY-2SECS-DEMO0-00007"


async def test_batch_with_mixed_outcomes_answers_each_item_in_order(running: Running) -> None:
    await running.put_order(SLOW, generation_delay=30)
    items = [
        {"activation_key": BULK, "hostids": ["HOSTNAME=batch01"]},
        {"activation_key": BULK, "hostids": ["HOSTNAME=bad value"]},
        {"activation_key": DISABLED, "hostids": ["HOSTNAME=batch01"]},
        {"activation_key": SLOW, "hostids": ["HOSTNAME=batch01"]},
    ]
    reply = await running.call(
        "POST", "/v1/activations/batch", json={"items": items}, headers={"Prefer": "wait=0.5"}
    )

    assert reply.status == 200, reply.body[:300]
    results = reply.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert [r["status"] for r in results] == [200, 422, 403, 202]
    ready, bad_host, disabled, pending = (r["body"] for r in results)
    assert ready["state"] == "ready"
    assert "HOSTID=HOSTNAME=batch01" in ready["license"]["content"]
    assert bad_host["status"] == 422
    assert "lac_code" not in bad_host or bad_host["lac_code"] is None
    assert disabled["status"] == 403
    assert disabled["lac_code"] == 202
    assert disabled["lac_name"] == "LAC_LICENSE_ORDER_DISABLED"
    assert pending["state"] == "pending"
    # The bad HostID never reached LAC: creates for the three others only.
    assert await running.creates() == 3

    # The pending item is a real activation: its id answers on its own route.
    status = await running.call("GET", f"/v1/activations/{pending['id']}")
    assert status.status == 200
    assert status.json()["state"] == "pending"


async def test_batch_items_for_one_machine_share_one_activation(running: Running) -> None:
    items = [
        {"activation_key": BULK, "hostids": ["ETHERNET=00:11:22:33:44:55"]},
        {
            "activation_key": BULK.lower(),
            "hostids": [{"type": "ethernet", "value": "001122334455"}],
        },
    ]
    reply = await running.call("POST", "/v1/activations/batch", json={"items": items})
    results = reply.json()["results"]
    assert [r["status"] for r in results] == [200, 200]
    assert results[0]["body"]["id"] == results[1]["body"]["id"]
    assert await running.creates() == 1


async def test_batch_over_the_configured_limit_is_422_without_lac(running: Running) -> None:
    limit = running.settings.http.batch_max
    items = [{"activation_key": BULK, "hostids": [f"HOSTNAME=many{i}"]} for i in range(limit + 1)]
    reply = await running.call("POST", "/v1/activations/batch", json={"items": items})
    assert reply.status == 422
    assert reply.content_type == "application/problem+json"
    assert await running.lac_calls() == 0

"""The audit trail: activations, deactivations and removals in a bounded Redis stream."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from gateway.hostids import host_hash, normalise_hostids
from gateway.settings import CacheSettings
from gateway.store import create_stores
from tests.gwharness import ADMIN_KEY, Running, problem_of

KEY = "BULK5-SEATS-DEMO0-00002"
DEACT_KEY = "DEACT-ONCE0-DEMO0-00011"
REMOVAL_KEY = "RMVAL-ORDER-DEMO0-00010"
UNKNOWN_KEY = "NOSUC-HORDR-XXXXX-00000"
HOST = "HOSTNAME=audited01"


async def audit(running: Running, **params: str) -> list[dict[str, Any]]:
    """The audit page the admin sees."""
    reply = await running.call("GET", "/v1/admin/audit", key=ADMIN_KEY, params=params)
    assert reply.status == 200, reply.body
    events: list[dict[str, Any]] = reply.json()["events"]
    return events


async def test_each_activation_deactivation_and_removal_is_recorded(running: Running) -> None:
    assert (await running.activate(DEACT_KEY, [HOST])).status == 200
    deactivated = await running.call("DELETE", f"/v1/licenses/{DEACT_KEY}", params={"hostid": HOST})
    assert deactivated.status == 204
    assert (await running.activate(REMOVAL_KEY, [HOST])).status == 200
    removal = await running.call(
        "POST", f"/v1/licenses/{REMOVAL_KEY}/removal/confirm", json={"hostids": [HOST]}
    )
    assert removal.status == 204
    rejected = await running.activate(UNKNOWN_KEY, [HOST])
    assert rejected.status >= 400
    rejected_code = (await rejected.json())["lac_code"]

    events = await audit(running)
    assert [(e["action"], e["outcome"], e["lac_code"]) for e in events] == [
        ("activation", "failed", rejected_code),
        ("removal", "confirmed", 0),
        ("activation", "issued", 0),
        ("deactivation", "deactivated", 0),
        ("activation", "issued", 0),
    ]
    host = host_hash(normalise_hostids([HOST]))
    assert {e["host"] for e in events} == {host}
    assert {e["caller"] for e in events} == {"fleet"}
    assert [e["key"] for e in events] == [
        "NOSUC-*****-*****-00000",
        "RMVAL-*****-*****-00010",
        "RMVAL-*****-*****-00010",
        "DEACT-*****-*****-00011",
        "DEACT-*****-*****-00011",
    ]


async def test_the_trail_pages_back_and_never_holds_a_full_key(running: Running) -> None:
    for n in range(3):
        assert (await running.activate(KEY, [f"HOSTNAME=page{n}"])).status == 200
    (newest,) = await audit(running, limit="1")
    older = await audit(running, limit="10", before=newest["id"])
    assert len(older) == 2
    assert all(e["id"] < newest["id"] for e in older)
    reply = await running.call("GET", "/v1/admin/audit", key=ADMIN_KEY)
    assert KEY.encode() not in reply.body
    assert b"page0" not in reply.body


async def test_the_trail_is_for_admins_only(running: Running) -> None:
    problem_of(await running.call("GET", "/v1/admin/audit"), 403)
    for before in ("x", "1-2-3", f"{2**64}-0"):
        bad = await running.call("GET", "/v1/admin/audit", key=ADMIN_KEY, params={"before": before})
        problem_of(bad, 422)


async def test_nothing_is_older_than_the_first_stream_id(running: Running) -> None:
    assert (await running.activate(KEY, ["HOSTNAME=first-id"])).status == 200
    assert await audit(running, before="0-0") == []
    assert len(await audit(running, before=f"{2**64 - 1}-0")) == 1


async def test_the_stream_is_trimmed_to_about_its_bound(redis_client: aioredis.Redis) -> None:
    store = create_stores(redis_client, "audit-bound", CacheSettings())
    for n in range(1000):
        await store.audit.append_audit({"action": "activation", "n": str(n)}, max_events=100)
    length = await redis_client.xlen(store.keys.audit)
    # MAXLEN ~ trims whole stream nodes (100 entries each by default), never below the bound.
    assert 100 <= length <= 300
    (newest,) = await store.audit.read_audit(1)
    assert newest[1]["n"] == "999"

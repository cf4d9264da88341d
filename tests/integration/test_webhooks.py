"""Webhooks end to end: the gateway's events reach a real receiver, signed, once per id."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from gateway.api.keys import METRICS, STORES, WEBHOOK_WORKER
from gateway.configuration import ConfigurationError, load_settings
from gateway.store.keys import OUTBOX_GROUP
from gateway.store.webhooks import WebhookStore
from tests.gwharness import (
    ADMIN_KEY,
    Running,
    gateway_settings,
    start_gateway,
    start_sandbox,
    until,
)
from tests.webhook_receiver import SECRET, Receiver

SINGLE = "SNGLE-HOST1-DEMO0-00001"
BULK = "BENCH-BULKX-DEMO0-00003"
DEACTIVATABLE = "DEACT-ONCE0-DEMO0-00011"
DISABLED = "DSBLD-ORDER-DEMO0-00004"
DELAYED = "DELAY-2SECS-DEMO0-00007"
REMOVAL = "RMVAL-ORDER-DEMO0-00010"
FAST_RETRIES = [0.05, 0.05, 0.05, 0.05, 0.05]


def hook_settings(url: str, **over: Any) -> dict[str, Any]:
    """The webhooks section toward one receiver, with quick retries."""
    endpoint = {"name": "crm", "url": url, "secret": SECRET, **over.pop("endpoint", {})}
    return {
        "endpoints": [endpoint],
        "allow_plain_http": True,
        "retry_schedule": FAST_RETRIES,
        "poll_tick": 0.02,
        "lease": 3.0,
        **over,
    }


class Hooked(Running):
    """A gateway with one webhook endpoint, and its receiver."""

    receiver: Receiver


@contextlib.asynccontextmanager
async def start_hooked(
    redis_url: str, receiver: Receiver, *, url: str | None = None, **sections: Any
) -> AsyncIterator[Hooked]:
    """Sandbox, receiver and gateway: the running gateway."""
    if url is None:
        url = await receiver.start()
    sandbox_runner, sandbox_url = await start_sandbox()
    hooks = hook_settings(url, **sections.pop("webhooks", {}))
    settings = gateway_settings(redis_url, sandbox_url, "soap", webhooks=hooks, **sections)
    gw_runner, gw_url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        running = Hooked(gw_url, sandbox_url, http, settings, app)
        running.receiver = receiver
        try:
            yield running
        finally:
            await gw_runner.cleanup()
            await sandbox_runner.cleanup()
            await receiver.stop()


@pytest.fixture
def receiver() -> Receiver:
    """A receiver, started on a free port by ``start_hooked`` (in the test's event loop)."""
    return Receiver()


@pytest.fixture
async def hooked(redis_url: str, receiver: Receiver) -> AsyncIterator[Hooked]:
    """The gateway toward ``receiver``."""
    async with start_hooked(redis_url, receiver) as running:
        yield running


async def issue(gw: Running, key: str = SINGLE, host: str = "HOSTNAME=hook01") -> dict[str, Any]:
    """Activate and return the ready answer."""
    resp = await gw.activate(key, [host])
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def received(receiver: Receiver, count: int, what: str = "deliveries") -> None:
    """Wait until ``receiver`` verified ``count`` deliveries."""

    async def enough() -> bool:
        return len(receiver.received) >= count

    await until(enough, what)


async def test_issued_license_is_delivered_signed_with_its_details(hooked: Hooked) -> None:
    answer = await issue(hooked)
    await received(hooked.receiver, 1)
    (got,) = hooked.receiver.received
    assert got.body["type"] == "activation.issued"
    data = got.body["data"]
    assert data["activation_id"] == answer["id"]
    assert data["activation_key"] == SINGLE
    assert data["hostids"] == ["HOSTNAME=HOOK01"]  # normalised
    assert data["license"]["filename"] == answer["license"]["filename"]
    assert "expires_at" in data["license"]
    assert "maintenance_end" in data["license"]
    assert "content" not in data["license"]  # the endpoint did not ask for the license text
    assert got.body["timestamp"].endswith("Z")
    assert got.msg_id.startswith("msg_")
    assert hooked.receiver.unverified == 0


async def test_license_text_only_for_an_endpoint_that_asks(
    redis_url: str, receiver: Receiver
) -> None:
    async with start_hooked(
        redis_url, receiver, webhooks={"endpoint": {"include_license": True}}
    ) as gw:
        answer = await issue(gw)
        await received(receiver, 1)
        assert (
            receiver.received[0].body["data"]["license"]["content"]
            == (answer["license"]["content"])
        )


async def test_every_event_type_is_delivered_and_verifies(
    redis_url: str, receiver: Receiver
) -> None:
    sections: dict[str, Any] = {
        "webhooks": {"quota_low_threshold": 10**9},
        "jobs": {"deadline": 0.3},
    }
    async with start_hooked(redis_url, receiver, **sections) as gw:
        await issue(gw, DEACTIVATABLE, "HOSTNAME=ev01")
        reply = await gw.call("DELETE", f"/v1/licenses/{DEACTIVATABLE}?hostid=HOSTNAME=ev01")
        assert reply.status == 204, reply.body[:300]
        await issue(gw, REMOVAL, "HOSTNAME=ev02")
        confirm = await gw.call(
            "POST", f"/v1/licenses/{REMOVAL}/removal/confirm", json={"hostids": ["HOSTNAME=ev02"]}
        )
        assert confirm.status == 204, confirm.body[:300]
        failed = await gw.activate(DISABLED, ["HOSTNAME=ev03"])
        assert failed.status >= 400
        expired = await gw.activate(DELAYED, ["HOSTNAME=ev04"], Prefer="wait=3")
        assert expired.status == 504, await expired.text()
        counters = await gw.call("GET", "/v1/admin/lac/counters", key=ADMIN_KEY)
        assert counters.status == 200, counters.body[:300]

        await received(receiver, 6, "one delivery of each event type")
        types = sorted(r.body["type"] for r in receiver.received)
        assert (
            types
            == sorted(
                [
                    "activation.issued",
                    "activation.issued",
                    "license.deactivated",
                    "license.removal_confirmed",
                    "activation.failed",
                    "activation.expired",
                    "lac.quota_low",
                ][: len(types)]
            )
            or len(types) == 7
        )
        await received(receiver, 7, "every event")
        assert receiver.unverified == 0
        by_type = {r.body["type"]: r.body["data"] for r in receiver.received}
        assert by_type["activation.failed"]["lac_code"] == 202
        assert by_type["activation.failed"]["activation_key"] == DISABLED
        assert by_type["activation.expired"]["hostids"] == ["HOSTNAME=EV04"]
        assert by_type["license.deactivated"]["hostids"] == ["HOSTNAME=EV01"]
        assert by_type["license.removal_confirmed"]["activation_key"] == REMOVAL
        assert by_type["lac.quota_low"]["threshold"] == 10**9
        # One crossing, one event: a second reading below the threshold says nothing new.
        await gw.call("GET", "/v1/admin/lac/counters", key=ADMIN_KEY)
        await gw.app[WEBHOOK_WORKER].run_once()  # type: ignore[union-attr]
        await gw.app[WEBHOOK_WORKER].settled()  # type: ignore[union-attr]
        assert len(receiver.of_type("lac.quota_low")) == 1
        assert len({r.msg_id for r in receiver.received}) == 7


async def test_receiver_failing_three_times_gets_one_delivery_under_one_id(
    hooked: Hooked,
) -> None:
    hooked.receiver.plan = [500, 500, 500]
    await issue(hooked)
    await received(hooked.receiver, 1)
    assert len(hooked.receiver.attempts) == 4
    assert len(set(hooked.receiver.attempts)) == 1  # the same webhook-id on every attempt
    assert hooked.receiver.attempts[0] == hooked.receiver.received[0].msg_id
    page = await hooked.call("GET", "/v1/admin/webhooks/deliveries?status=delivered", key=ADMIN_KEY)
    (delivery,) = page.json()["deliveries"]
    assert delivery["attempts"] == 4
    assert delivery["webhook_id"] == hooked.receiver.received[0].msg_id


async def test_receiver_down_at_first_gets_everything_once_up(redis_url: str) -> None:
    probe = Receiver()
    await probe.start()
    port = int(probe.url.split(":")[2].split("/")[0])
    await probe.stop()  # the port is free again: nothing listens there yet
    receiver = Receiver()
    sections: dict[str, Any] = {"webhooks": {"retry_schedule": [0.1] * 100}}
    async with start_hooked(redis_url, receiver, url=probe.url, **sections) as gw:
        for n in range(5):
            await issue(gw, BULK, f"HOSTNAME=down{n}")

        async def tried() -> bool:
            page = await gw.call("GET", "/v1/admin/webhooks/deliveries", key=ADMIN_KEY)
            return all(d["attempts"] >= 1 for d in page.json()["deliveries"])

        await until(tried, "attempts at a receiver that is down")
        await receiver.start(port)
        await received(receiver, 5)
        hosts = sorted(r.body["data"]["hostids"][0] for r in receiver.received)
        assert hosts == [f"HOSTNAME=DOWN{n}" for n in range(5)]
        assert len({r.msg_id for r in receiver.received}) == 5


async def test_tampered_body_fails_verification(hooked: Hooked) -> None:
    await issue(hooked)
    await received(hooked.receiver, 1)
    got = hooked.receiver.received[0]
    hook = Webhook(SECRET)
    assert hook.verify(got.raw, got.headers)["type"] == "activation.issued"
    tampered = got.raw.replace(b"activation.issued", b"activation.failed")
    with pytest.raises(WebhookVerificationError):
        hook.verify(tampered, got.headers)
    # The id and the timestamp are signed too.
    with pytest.raises(WebhookVerificationError):
        hook.verify(got.raw, {**got.headers, "webhook-id": "msg_other"})
    later = str(int(got.headers["webhook-timestamp"]) + 1)
    with pytest.raises(WebhookVerificationError):
        hook.verify(got.raw, {**got.headers, "webhook-timestamp": later})
    other = "whsec_" + base64.b64encode(b"another secret, another receiver").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(got.raw, got.headers)


async def test_final_4xx_is_not_retried_and_an_operator_retries_it(hooked: Hooked) -> None:
    hooked.receiver.plan = [410]
    await issue(hooked)

    async def dead() -> bool:
        page = await hooked.call(
            "GET", "/v1/admin/webhooks/deliveries?status=failed&endpoint=crm", key=ADMIN_KEY
        )
        return len(page.json()["deliveries"]) == 1

    await until(dead, "the delivery failed")
    assert len(hooked.receiver.attempts) == 1
    page = await hooked.call("GET", "/v1/admin/webhooks/deliveries?status=failed", key=ADMIN_KEY)
    (failed,) = page.json()["deliveries"]
    assert failed["last_status"] == 410
    retried = await hooked.call(
        "POST", f"/v1/admin/webhooks/deliveries/{failed['id']}/retry", key=ADMIN_KEY
    )
    assert retried.status == 202, retried.body[:300]
    await received(hooked.receiver, 1)
    assert hooked.receiver.received[0].msg_id == failed["webhook_id"]
    again = await hooked.call(
        "POST", f"/v1/admin/webhooks/deliveries/{failed['id']}/retry", key=ADMIN_KEY
    )
    assert again.status == 409


async def test_dead_letter_after_the_schedule(hooked: Hooked) -> None:
    hooked.receiver.plan = [503] * 100
    await issue(hooked)

    async def dead() -> bool:
        page = await hooked.call(
            "GET", "/v1/admin/webhooks/deliveries?status=failed", key=ADMIN_KEY
        )
        return len(page.json()["deliveries"]) == 1

    await until(dead, "dead-lettered")
    assert len(hooked.receiver.attempts) == len(FAST_RETRIES) + 1
    text = (await hooked.call("GET", "/metrics", key=None)).body.decode()
    assert (
        'lacgw_webhook_deliveries_total{endpoint="crm",event="activation.issued",'
        'outcome="dead_letter"} 1.0' in text
    )


async def test_retry_after_is_honoured(hooked: Hooked) -> None:
    hooked.receiver.plan = [(429, {"Retry-After": "2"})]
    await issue(hooked)

    seen: list[dict[str, Any]] = []

    async def answered_429() -> bool:
        page = await hooked.call("GET", "/v1/admin/webhooks/deliveries", key=ADMIN_KEY)
        seen[:] = page.json()["deliveries"]
        return bool(seen) and seen[0]["last_status"] == 429

    await until(answered_429, "the 429 recorded")
    (item,) = seen
    assert item["status"] == "pending"
    gap = datetime.fromisoformat(item["next_at"]) - datetime.fromisoformat(item["last_attempt_at"])
    assert gap.total_seconds() >= 2.0  # not the schedule's 0.05 s
    assert item["last_status"] == 429


async def test_bad_admin_queries_are_4xx(hooked: Hooked) -> None:
    base = "/v1/admin/webhooks/deliveries"
    for query in ("?status=lost", "?endpoint=nope", "?limit=0", "?cursor=abc"):
        reply = await hooked.call("GET", base + query, key=ADMIN_KEY)
        assert reply.status == 422, (query, reply.body[:200])
        assert reply.content_type == "application/problem+json"
    for did in ("nope", "crm.1-1", "other.1-1", "crm.99999999999999999999-1"):
        reply = await hooked.call("POST", f"{base}/{did}/retry", key=ADMIN_KEY)
        assert reply.status == 404, (did, reply.body[:200])
    fleet = await hooked.call("GET", base)
    assert fleet.status == 403


async def test_slow_receiver_never_holds_up_activations(hooked: Hooked) -> None:
    hooked.receiver.hold = asyncio.Event()
    await issue(hooked, BULK, "HOSTNAME=slow00")

    async def stuck() -> bool:
        return hooked.receiver.active == 1

    await until(stuck, "the receiver holding the first delivery")
    for n in range(1, 4):
        await issue(hooked, BULK, f"HOSTNAME=slow{n}")  # answered while the receiver hangs
    assert hooked.receiver.received == []
    hooked.receiver.hold.set()
    await received(hooked.receiver, 4)


async def test_concurrency_cap_per_endpoint(redis_url: str, receiver: Receiver) -> None:
    receiver.hold = asyncio.Event()
    async with start_hooked(redis_url, receiver, webhooks={"concurrency": 2}) as gw:
        for n in range(6):
            await issue(gw, BULK, f"HOSTNAME=cap{n}")

        async def two() -> bool:
            return receiver.active == 2

        await until(two, "two attempts in flight")
        await asyncio.sleep(0.2)  # rounds go on meanwhile: none may start a third
        assert receiver.most_active == 2
        receiver.hold.set()
        await received(receiver, 6)
        assert receiver.most_active == 2


async def test_endpoint_failing_long_enough_is_paused_then_resumes_after_a_probe(
    redis_url: str, receiver: Receiver
) -> None:
    receiver.plan = [500] * 4
    sections: dict[str, Any] = {
        "webhooks": {"retry_schedule": [0.05] * 30, "pause_after": 0.1, "probe_interval": 0.3}
    }
    async with start_hooked(redis_url, receiver, **sections) as gw:
        await issue(gw)
        gauge = gw.app[METRICS].webhook_paused.labels("crm")

        async def paused() -> bool:
            return bool(gauge._value.get() == 1)

        await until(paused, "the endpoint paused")
        await received(receiver, 1, "the probe's delivery")

        async def resumed() -> bool:
            return bool(gauge._value.get() == 0)

        await until(resumed, "the endpoint resumed after the probe succeeded")
        assert len(receiver.attempts) == 5  # four failures, then the probe


def test_plain_http_endpoint_needs_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = {"name": "crm", "url": "http://crm.example/hook", "secret": SECRET}
    monkeypatch.setenv("LACGW_WEBHOOKS__ENDPOINTS", json.dumps([endpoint]))
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert len(refused.value.problems) == 1
    assert "https://" in refused.value.problems[0]
    assert "LACGW_WEBHOOKS__ALLOW_PLAIN_HTTP" in refused.value.problems[0]
    monkeypatch.setenv("LACGW_WEBHOOKS__ALLOW_PLAIN_HTTP", "true")
    assert load_settings().webhooks.all_endpoints()[0].url == endpoint["url"]


def test_endpoints_file_and_secret_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    secret = tmp_path / "crm.secret"
    secret.write_text(SECRET + "\n")
    listing = tmp_path / "endpoints.json"
    entry = {"name": "crm", "url": "https://crm.example/hook", "secret_file": str(secret)}
    listing.write_text(json.dumps([{**entry, "events": ["license.deactivated"]}]))
    monkeypatch.setenv("LACGW_WEBHOOKS__ENDPOINTS_FILE", str(listing))
    (endpoint,) = load_settings().webhooks.all_endpoints()
    assert endpoint.signing_secret() == SECRET
    assert endpoint.wants("license.deactivated")
    assert not endpoint.wants("activation.issued")
    secret.write_text("not a secret")
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert "whsec_" in refused.value.problems[0]
    assert "not a secret" not in str(refused.value)


async def test_with_concurrency_one_an_endpoint_gets_events_in_creation_order(
    redis_url: str, receiver: Receiver
) -> None:
    receiver.hold = asyncio.Event()  # the first delivery hangs: the others queue behind it
    async with start_hooked(redis_url, receiver, webhooks={"concurrency": 1}) as gw:
        for n in range(6):
            await issue(gw, BULK, f"HOSTNAME=ord{n}")
        receiver.hold.set()
        await received(receiver, 6)
        hosts = [got.body["data"]["hostids"][0] for got in receiver.received]
        assert hosts == [f"HOSTNAME=ORD{n}" for n in range(6)]
        stamps = [got.body["timestamp"] for got in receiver.received]
        assert stamps == sorted(stamps)


async def test_redirects_are_not_followed(hooked: Hooked) -> None:
    elsewhere = Receiver()
    await elsewhere.start()
    try:
        hooked.receiver.plan = [(307, {"Location": elsewhere.url})]
        await issue(hooked)
        await received(hooked.receiver, 1, "the retry at the configured URL")
        assert hooked.receiver.attempts[0] == hooked.receiver.received[0].msg_id
        assert elsewhere.attempts == []  # the Location was never visited
    finally:
        await elsewhere.stop()


async def test_an_unreadable_outbox_entry_does_not_hold_up_the_others(hooked: Hooked) -> None:
    store = hooked.app[STORES].webhooks
    await store.append(["type", "activation.issued", "at", "x", "data", "{not json"])
    await issue(hooked)
    await received(hooked.receiver, 2)
    assert [got.body["data"].get("unreadable") for got in hooked.receiver.received] == [
        True,
        None,
    ]


async def outbox_consumers(store: WebhookStore) -> set[str]:
    """The names of the outbox group's consumers."""
    rows: Any = await store.redis.xinfo_consumers(store.keys.outbox, OUTBOX_GROUP)
    return {row["name"].decode() for row in rows}


async def test_a_replica_leaves_no_consumer_behind(redis_url: str, receiver: Receiver) -> None:
    async with start_hooked(redis_url, receiver, webhooks={"lease": 0.5}) as gw:
        store, worker = gw.app[STORES].webhooks, gw.app[WEBHOOK_WORKER]
        assert worker is not None
        owner = worker.owner
        # A replica that read once and is gone, holding nothing: dropped within a lease or two.
        await store.redis.xgroup_createconsumer(store.keys.outbox, OUTBOX_GROUP, "gw-gone")
        await issue(gw)
        await received(gw.receiver, 1)
        assert owner in await outbox_consumers(store)

        async def gone_dropped() -> bool:
            return "gw-gone" not in await outbox_consumers(store)

        await until(gone_dropped, "the gone replica's consumer dropped")
        assert owner in await outbox_consumers(store)  # a live one reads every round
    assert owner not in await outbox_consumers(store)  # and drops its own when it stops

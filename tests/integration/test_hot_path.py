"""The hot path answers cache hits and probes as the middleware chain would, and leaves the rest
to it: two gateways on one Redis, one of them without the hot path, asked the same things."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.web_urldispatcher import UrlMappingMatchInfo

from gateway.api import middleware
from gateway.api.hotpath import FrontDoor, front_door, hot_path_middleware
from gateway.api.keys import NEAR_CACHE, REDIS, RENDERED
from gateway.app import create_app
from gateway.hostids import Target
from gateway.settings import Settings
from gateway.store.keys import Keys
from tests.gwharness import (
    FLEET_KEY,
    PRODUCT_SCOPES,
    Reply,
    Running,
    gateway_settings,
    gateways,
    sha256,
    until,
)

KEY = "BULK5-SEATS-DEMO0-00002"
HOST = "HOSTNAME=hotpath01"
READER_KEY = "reader-test-key-0123456789"  # may read licenses, not activate
SEED = base64.b64encode(bytes(range(32))).decode()  # one signing key for both gateways
PER_REQUEST = {"x-request-id", "date", "ratelimit-remaining", "ratelimit-reset"}
SIGNATURE = "lac-gateway-signature"
LICENSE = f"/v1/licenses/{KEY}?hostid={HOST}"
ACTIVATION = {"activation_key": KEY, "hostids": [HOST]}


def settings_for(redis_url: str, sandbox_url: str, **over: Any) -> Settings:
    keys = [
        {"name": "fleet", "sha256": sha256(FLEET_KEY), "scopes": PRODUCT_SCOPES},
        {"name": "reader", "sha256": sha256(READER_KEY), "scopes": ["read"]},
    ]
    return gateway_settings(
        redis_url,
        sandbox_url,
        "soap",
        signing={"private_key": SEED},
        auth={"api_keys": keys},
        **over,
    )


def without_hot_path(app: web.Application) -> None:
    app.middlewares.remove(hot_path_middleware)


@pytest.fixture
async def pair(redis_url: str) -> AsyncIterator[tuple[Running, Running]]:
    """(with the hot path, without it): the same settings, Redis and sandbox."""

    def same_twice(sandbox_url: str) -> list[Settings]:
        return [settings_for(redis_url, sandbox_url)] * 2

    async with gateways(same_twice, [None, without_hot_path]) as (hot, chain):
        yield hot, chain


def hits(gateway: Running) -> int:
    cache = gateway.app[RENDERED]
    assert cache is not None
    return cache.hits


def lasting(reply: Reply) -> dict[str, str]:
    return {
        k.lower(): v for k, v in reply.headers.items() if k.lower() not in PER_REQUEST | {SIGNATURE}
    }


def comparable(reply: Reply, *varying: str) -> tuple[int, Any, dict[str, str]]:
    """Status, body (a problem's request id aside) and the headers that do not vary."""
    body: Any = reply.body
    if reply.headers.get("Content-Type", "").startswith("application/problem+json"):
        body = {k: v for k, v in reply.json().items() if k != "request_id"}
    headers = {k: v for k, v in lasting(reply).items() if k not in varying}
    return reply.status, body, headers


async def held(gateway: Running) -> None:
    """Activate and read until the license's answer is kept rendered."""
    assert (await gateway.activate(KEY, [HOST])).status == 200
    aid = Target(KEY, [HOST]).aid

    async def kept() -> bool:
        assert (await gateway.call("GET", LICENSE)).status == 200
        cache = gateway.app[RENDERED]
        return cache is not None and aid in cache

    await until(kept, "the answer kept rendered")


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", LICENSE, {}),
    ("GET", LICENSE, {"headers": {"Accept": "text/plain"}}),
    ("POST", "/v1/activations", {"json": ACTIVATION}),
    ("GET", "/healthz", {"key": None}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), REQUESTS)
async def test_a_hit_or_a_probe_is_answered_as_the_chain_answers_it(
    pair: tuple[Running, Running], method: str, path: str, kwargs: dict[str, Any]
) -> None:
    hot, chain = pair
    await held(hot)
    await held(chain)
    for gateway in pair:  # the second read of each representation is the rendered one
        await gateway.call(method, path, **kwargs)
    before = hits(hot), hits(chain)
    fast = await hot.call(method, path, **kwargs)
    slow = await chain.call(method, path, **kwargs)
    assert fast.status == 200, fast.body
    assert comparable(fast) == comparable(slow)
    assert (SIGNATURE in fast.headers) == (SIGNATURE in slow.headers)
    assert fast.headers["X-Request-ID"]
    if path != "/healthz":
        assert hits(hot) == before[0] + 1  # the hot path answered it, from what it kept
    assert hits(chain) == before[1]  # the chain never answers from the rendered cache


REFUSED: list[tuple[str, str, dict[str, Any], int]] = [
    ("GET", LICENSE, {"key": None}, 401),
    ("GET", LICENSE, {"key": "not-a-known-key"}, 401),
    ("POST", "/v1/activations", {"key": READER_KEY, "json": ACTIVATION}, 403),
    ("GET", LICENSE + "&pad=" + "x" * 9000, {}, 414),
    ("GET", LICENSE, {"headers": {"Expect": "something-else"}}, 417),
    ("POST", "/v1/activations", {"data": b'{"activation_key": 1}'}, 422),
    ("GET", "/healthz", {"key": None, "headers": {"X-Big": "y" * 20000}}, 431),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), REFUSED)
async def test_what_the_chain_refuses_is_refused_the_same_way_with_the_answer_at_hand(
    pair: tuple[Running, Running], method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    hot, chain = pair
    await held(hot)
    await held(chain)
    before = hits(hot)
    fast = await hot.call(method, path, **kwargs)
    slow = await chain.call(method, path, **kwargs)
    assert fast.status == status, fast.body
    assert comparable(fast) == comparable(slow)
    assert hits(hot) == before


async def test_the_access_line_is_the_chains(
    pair: tuple[Running, Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    hot, chain = pair
    for gateway in pair:
        await held(gateway)
        await gateway.call("POST", "/v1/activations", json=ACTIVATION)
    written: list[dict[str, Any]] = []

    def line(event: str, fields: Callable[..., dict[str, Any]], *args: Any) -> bool:
        written.append({"event": event, **fields(*args)})  # the line as both paths write it
        return True

    monkeypatch.setattr(middleware, "info_line", line)
    lines: dict[str, list[dict[str, Any]]] = {}
    for name, gateway in (("hot", hot), ("chain", chain)):
        written.clear()
        await gateway.call("GET", LICENSE)
        await gateway.call("POST", "/v1/activations", json=ACTIVATION)
        await gateway.call("GET", "/healthz", key=None)
        lines[name] = [
            {k: v for k, v in entry.items() if k not in ("request_id", "duration_ms")}
            for entry in written
        ]
        assert all(entry["request_id"] and entry["duration_ms"] >= 0 for entry in written)
    assert len(lines["hot"]) == 3
    assert lines["hot"] == lines["chain"]
    assert lines["hot"][0]["caller"] == "fleet"
    assert lines["hot"][0]["activation_key"] == "BULK5-*****-*****-00002"  # masked, as always


async def test_over_its_limit_a_hit_is_a_429_as_on_the_chain(redis_url: str) -> None:
    def limited(sandbox_url: str) -> list[Settings]:
        # A Redis key prefix each (settings_for draws one): each gateway counts its own window.
        limits = {"per_key": 6, "window": 60.0}
        return [settings_for(redis_url, sandbox_url, limits=limits) for _ in range(2)]

    async with gateways(limited, [None, without_hot_path]) as (hot, chain):
        replies: dict[str, list[Reply]] = {}
        for name, gateway in (("hot", hot), ("chain", chain)):
            assert (await gateway.activate(KEY, [HOST])).status == 200  # the first of six
            replies[name] = [await gateway.call("GET", LICENSE) for _ in range(6)]
        assert [r.status for r in replies["hot"]] == [200] * 5 + [429]
        assert hits(hot) >= 1  # some were answered from what was kept
        assert hits(chain) == 0
        for fast, slow in zip(replies["hot"], replies["chain"], strict=True):
            # The licenses differ in when each gateway cached them (next_check_after).
            varying = ("etag", "next-check-after")
            assert comparable(fast, *varying)[0::2] == comparable(slow, *varying)[0::2]
        # Each window started at its gateway's first request: a second apart at most.
        refused = [comparable(r[-1], "retry-after") for r in replies.values()]
        assert refused[0] == refused[1]
        assert int(replies["hot"][-1].headers["Retry-After"]) >= 59


@pytest.fixture
async def lapsing(redis_url: str) -> AsyncIterator[Running]:
    """A gateway whose near-cache entries lapse after 0.3 s."""

    def lapsing_soon(sandbox_url: str) -> list[Settings]:
        return [settings_for(redis_url, sandbox_url, cache={"near_ttl": NEAR_TTL})]

    async with gateways(lapsing_soon) as (gateway,):
        yield gateway


NEAR_TTL = 0.3


async def test_a_lapsed_entry_redis_still_holds_is_answered_by_the_hot_path(
    lapsing: Running,
) -> None:
    await held(lapsing)
    first = await lapsing.call("GET", LICENSE)
    before = hits(lapsing)
    await asyncio.sleep(NEAR_TTL * 2)  # the near-cache entry lapses; Redis holds the same
    again = await lapsing.call("GET", LICENSE)
    assert again.status == 200
    assert hits(lapsing) == before + 1  # answered from what was kept, after one Redis read
    assert again.body == first.body
    assert lasting(again) == lasting(first)


async def test_a_lapsed_entry_changed_in_redis_is_read_anew_a_missed_message_is_bounded(
    lapsing: Running,
) -> None:
    await held(lapsing)
    aid = Target(KEY, [HOST]).aid
    redis = lapsing.app[REDIS]
    key = Keys(lapsing.settings.redis.key_prefix).license(aid)
    raw = await redis.get(key)
    assert raw is not None
    entry = orjson.loads(raw)
    entry["license"]["content"] += "# changed without a message to the replicas\n"
    ttl = await redis.pttl(key)
    await redis.set(key, orjson.dumps(entry), px=ttl)  # no invalidation published
    before = hits(lapsing)
    await asyncio.sleep(NEAR_TTL * 2)
    again = await lapsing.call("GET", LICENSE)
    assert again.status == 200
    assert again.json()["license"]["content"].endswith("without a message to the replicas\n")
    assert hits(lapsing) == before  # the chain read and rendered it
    kept = await lapsing.call("GET", LICENSE)
    assert kept.body == again.body


async def test_an_entry_read_near_its_end_is_renewed_before_it_runs_out(redis_url: str) -> None:
    near_ttl = 1.0

    def renewing(sandbox_url: str) -> list[Settings]:
        return [settings_for(redis_url, sandbox_url, cache={"near_ttl": near_ttl})]

    async with gateways(renewing) as (gateway,):
        await held(gateway)
        near = gateway.app[NEAR_CACHE]
        assert near is not None
        aid = Target(KEY, [HOST]).aid
        assert (await gateway.call("GET", LICENSE)).status == 200
        kept = near.get(aid)
        assert kept is not None
        await asyncio.sleep(near_ttl * 0.85)  # in the last quarter of the entry's time
        assert (await gateway.call("GET", LICENSE)).status == 200
        await asyncio.sleep(near_ttl * 0.35)  # past its first end, with no request meanwhile
        assert near.get(aid) is kept  # confirmed in the background, the same entry kept again


async def test_a_lapsed_entry_due_for_revalidation_goes_down_the_chain(redis_url: str) -> None:
    def revalidating_soon(sandbox_url: str) -> list[Settings]:
        cache = {"near_ttl": NEAR_TTL, "revalidate_after": 1.0}
        return [settings_for(redis_url, sandbox_url, cache=cache)]

    async with gateways(revalidating_soon) as (gateway,):
        await held(gateway)
        before = hits(gateway)
        await asyncio.sleep(1.2)  # past revalidate_after, and the near entry lapsed
        assert (await gateway.call("GET", LICENSE)).status == 200
        assert hits(gateway) == before  # fetch, where revalidation starts, answered it

        async def revalidated() -> bool:
            counters = await gateway.counters()
            return counters["soap"].get("GetLicense", 0) >= 1

        await until(revalidated, "the license revalidated at LAC")


def counting_routes(resolved: list[str]) -> Callable[[web.Application], None]:
    """An application change: every request the router resolves is noted in ``resolved``."""

    def change(app: web.Application) -> None:
        resolve = app.router.resolve

        async def counted(request: web.Request) -> UrlMappingMatchInfo:
            resolved.append(request.raw_path)
            return await resolve(request)

        app.router.resolve = counted  # type: ignore[method-assign]

    return change


async def test_a_probe_is_answered_before_routing_and_anything_else_is_routed(
    redis_url: str,
) -> None:
    resolved: list[str] = []

    def settings_of(sandbox_url: str) -> list[Settings]:
        return [settings_for(redis_url, sandbox_url)]

    async with gateways(settings_of, [counting_routes(resolved)]) as (gateway,):
        for _ in range(3):
            probe = await gateway.call("GET", "/healthz", key=None)
            assert (probe.status, probe.json()) == (200, {"status": "ok"})
            assert probe.headers["X-Request-ID"]
            assert probe.headers["Server"] == "lac-gateway"
        assert resolved == []  # the front door answered them
        assert (await gateway.call("GET", "/healthz?from=lb", key=None)).status == 200
        assert (await gateway.call("HEAD", "/healthz", key=None)).status == 200
        assert (await gateway.call("GET", "/readyz", key=None)).status == 200
        assert resolved == ["/healthz?from=lb", "/healthz", "/readyz"]


async def test_a_hit_is_answered_before_routing_and_a_target_spelled_otherwise_is_routed(
    redis_url: str,
) -> None:
    resolved: list[str] = []

    def settings_of(sandbox_url: str) -> list[Settings]:
        return [settings_for(redis_url, sandbox_url)]

    async with gateways(settings_of, [counting_routes(resolved)]) as (gateway,):
        await held(gateway)
        first = await gateway.call("POST", "/v1/activations", json=ACTIVATION)  # kept rendered
        resolved.clear()
        before = hits(gateway)
        read = await gateway.call("GET", LICENSE)
        again = await gateway.call("POST", "/v1/activations", json=ACTIVATION)
        assert (read.status, again.status) == (200, 200)
        assert again.body == first.body
        assert hits(gateway) == before + 2
        assert resolved == []  # the front door answered both
        # The same activation with a query string: routed once, answered by the chain alike.
        routed = await gateway.call("POST", "/v1/activations?from=fleet", json=ACTIVATION)
        assert (routed.status, routed.body) == (200, first.body)
        assert resolved == ["/v1/activations?from=fleet"]
        assert hits(gateway) == before + 2


async def test_without_the_front_door_the_outermost_middleware_answers_hits(
    redis_url: str,
) -> None:
    def behind_a_proxy(sandbox_url: str) -> list[Settings]:
        return [settings_for(redis_url, sandbox_url, http={"trusted_proxies": ["10.0.0.0/8"]})]

    async with gateways(behind_a_proxy, [None]) as (gateway,):
        await held(gateway)
        before = hits(gateway)
        read = await gateway.call("GET", LICENSE)
        assert read.status == 200
        assert lasting(read)["etag"]
        assert hits(gateway) == before + 1  # answered from what is kept, after routing


def test_the_front_door_stands_only_before_a_hot_path_that_comes_first(
    redis_url: str,
) -> None:
    async def handle(_request: web.BaseRequest) -> web.StreamResponse:
        return web.Response()

    sandbox = "http://127.0.0.1:9"
    plain = create_app(settings_for(redis_url, sandbox))
    assert isinstance(front_door(plain, handle), FrontDoor)
    # A trusted proxy's middleware comes first (the client's address): the chain answers.
    proxied = create_app(settings_for(redis_url, sandbox, http={"trusted_proxies": ["10.0.0.0/8"]}))
    assert front_door(proxied, handle) is handle

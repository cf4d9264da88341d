"""The rendered-answer cache: a cache hit's finished bytes, the same as the slow path's, dropped
with the near-cache entry on every replica; ETag and If-None-Match on license answers."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from multidict import CIMultiDict

from gateway.api.keys import RENDERED
from gateway.api.rendered import RenderedCache
from gateway.hostids import Target
from tests.gwharness import (
    Reply,
    Running,
    two_replicas,
    until,
)

KEY = "BULK5-SEATS-DEMO0-00002"
DEACT_KEY = "DEACT-ONCE0-DEMO0-00011"  # an order whose licenses may be deactivated
# Headers that differ between any two answers, whatever path made them.
PER_REQUEST = {"X-Request-ID", "Date", "RateLimit-Remaining", "RateLimit-Reset"}


@pytest.fixture
async def replicas(redis_url: str) -> AsyncIterator[tuple[Running, Running]]:
    """Two gateways on one Redis (same key prefix) in front of one sandbox."""
    async with two_replicas(redis_url, "soap") as pair:
        yield pair


def rendered(gateway: Running) -> RenderedCache:
    cache = gateway.app[RENDERED]
    assert cache is not None
    return cache


def path_of(host: str, key: str = KEY) -> str:
    return f"/v1/licenses/{key}?hostid={host}"


def lasting(reply: Reply) -> dict[str, str]:
    return {k.lower(): v for k, v in reply.headers.items() if k not in PER_REQUEST}


def header(reply: Reply, name: str) -> str | None:
    """A header of ``reply``, whatever the case it was sent in."""
    value: str | None = CIMultiDict(reply.headers).get(name)
    return value


async def signing_key(gateway: Running) -> Ed25519PublicKey:
    reply = await gateway.call("GET", "/.well-known/lac-gateway-signing-key", key=None)
    x = reply.json()["keys"][0]["x"]
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))


def check_signature(key: Ed25519PublicKey, reply: Reply) -> None:
    fields = dict(
        part.strip().split("=", 1) for part in reply.headers["LAC-Gateway-Signature"].split(",")
    )
    sig = base64.urlsafe_b64decode(fields["sig"] + "=" * (-len(fields["sig"]) % 4))
    key.verify(sig, fields["t"].encode() + b"." + reply.body)  # raises when it does not match


async def held(gateway: Running, path: str, aid: str) -> None:
    """Read ``path`` until its answer is kept rendered.

    The activation's own invalidation (pub/sub) may arrive after a read and drop what it kept.
    """

    async def kept() -> bool:
        assert (await gateway.call("GET", path)).status == 200
        return aid in rendered(gateway)

    await until(kept, "the answer kept rendered")


async def test_a_rendered_hit_is_the_slow_paths_answer_byte_for_byte(
    replicas: tuple[Running, Running],
) -> None:
    gateway, _ = replicas
    host = "HOSTNAME=rendered01"
    assert (await gateway.activate(KEY, [host])).status == 200
    cache = rendered(gateway)
    slow = await gateway.call("GET", path_of(host))  # read from Redis, rendered, kept
    assert slow.status == 200
    assert slow.json()["source"] == "cache"
    assert cache.hits == 0
    fast = await gateway.call("GET", path_of(host))
    for _ in range(50):
        # The activation's own invalidation (pub/sub) may arrive after the first read and drop
        # what it kept: then the next read is the slow path again, and the one after a hit.
        if cache.hits:
            break
        slow = fast
        await asyncio.sleep(0.02)
        fast = await gateway.call("GET", path_of(host))
    assert cache.hits == 1
    assert fast.status == 200
    assert fast.body == slow.body
    assert lasting(fast) == lasting(slow)
    assert header(fast, "ETag") == header(slow, "ETag")
    assert fast.headers["LAC-Gateway-Signature"] == slow.headers["LAC-Gateway-Signature"]
    key = await signing_key(gateway)
    check_signature(key, slow)
    check_signature(key, fast)
    # Another spelling of the same pair is the same activation: the same answer.
    # Another spelling of the same pair is the same activation: the same answer, and a variant
    # of its own (a query parameter might choose another representation).
    spelled = f"/v1/licenses/{KEY.lower()}?hostid=hostname=rendered01"
    assert (await gateway.call("GET", spelled)).body == slow.body
    assert cache.hits == 1
    assert (await gateway.call("GET", spelled)).body == slow.body
    assert cache.hits == 2


async def test_if_none_match_answers_304_on_both_paths(replicas: tuple[Running, Running]) -> None:
    gateway, _ = replicas
    host = "HOSTNAME=rendered02"
    assert (await gateway.activate(KEY, [host])).status == 200
    first = await gateway.call("GET", path_of(host))
    etag = header(first, "ETag")
    assert etag is not None
    assert etag.startswith('"')
    assert etag.endswith('"')
    for sent in (etag, f'"other", W/{etag}', "*"):
        again = await gateway.call("GET", path_of(host), headers={"If-None-Match": sent})
        assert again.status == 304, sent
        assert again.body == b""
        assert header(again, "ETag") == etag
        assert "LAC-Gateway-Signature" not in again.headers
    other = await gateway.call("GET", path_of(host), headers={"If-None-Match": '"other"'})
    assert other.status == 200
    assert other.body == first.body
    # A 304 from the slow path too: a new replica has nothing rendered yet.
    rendered(gateway).drop(None)
    cold = await gateway.call("GET", path_of(host), headers={"If-None-Match": etag})
    assert cold.status == 304


async def test_deactivation_drops_the_rendered_answer_on_every_replica(
    replicas: tuple[Running, Running],
) -> None:
    first, second = replicas
    host = "HOSTNAME=rendered03"
    assert (await first.activate(DEACT_KEY, [host])).status == 200
    aid = Target(DEACT_KEY, [host]).aid
    for gateway in replicas:
        await held(gateway, path_of(host, DEACT_KEY), aid)
    gone = await first.call("DELETE", path_of(host, DEACT_KEY))
    assert gone.status == 204

    async def dropped() -> bool:
        return aid not in rendered(second)

    await until(dropped, "the second replica dropped its rendered answer")
    assert aid not in rendered(first)
    for gateway in replicas:
        answer = await gateway.call("GET", path_of(host, DEACT_KEY))
        assert answer.status == 404, answer.body


async def test_a_repeated_activation_of_a_held_license_is_answered_rendered(
    replicas: tuple[Running, Running],
) -> None:
    gateway, _ = replicas
    host = "HOSTNAME=rendered04"
    body = {"activation_key": KEY, "hostids": [host]}
    assert (await gateway.activate(KEY, [host])).status == 200
    await held(gateway, path_of(host), Target(KEY, [host]).aid)  # now in the near cache
    cache = rendered(gateway)
    hits = cache.hits
    slow = await gateway.call("POST", "/v1/activations", json=body)
    assert slow.status == 200
    assert slow.json()["source"] == "cache"
    assert cache.hits == hits
    fast = await gateway.call("POST", "/v1/activations", json=body)
    assert cache.hits == hits + 1
    assert fast.body == slow.body
    assert lasting(fast) == lasting(slow)
    check_signature(await signing_key(gateway), fast)
    # Prefer changes the answer's headers: a representation of its own, rendered by the slow path.
    waited = await gateway.call("POST", "/v1/activations", json=body, headers={"Prefer": "wait=3"})
    assert header(waited, "Preference-Applied") == "wait=3"
    assert cache.hits == hits + 1
    # An Idempotency-Key is the idempotency middleware's to answer: never a rendered answer.
    keyed = {"Idempotency-Key": "rendered-04"}
    assert (await gateway.call("POST", "/v1/activations", json=body, headers=keyed)).status == 200
    assert (await gateway.call("POST", "/v1/activations", json=body, headers=keyed)).status == 200
    assert cache.hits == hits + 1
    # A body the slow path refuses is refused the same way, whatever was rendered before.
    bad = await gateway.call("POST", "/v1/activations", json={**body, "extra": 1})
    assert bad.status == 422

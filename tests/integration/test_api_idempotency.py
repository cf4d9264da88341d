"""Idempotency-Key over real HTTP against the real Redis store: replay, mismatch, in progress."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence

import orjson
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import errors
from gateway.api import setup_api
from gateway.api.keys import (
    ACTIVATION_SERVICE,
    ADMIN_SERVICE,
    IDEMPOTENCY_STORE,
    LICENSE_SERVICE,
    METRICS,
    SETTINGS,
)
from gateway.hostids import activation_id, normalise_activation_key, normalise_hostids
from gateway.metrics import Metrics
from gateway.models import (
    ActivationCounters,
    ActivationRequest,
    ActivationResponse,
    BatchRequest,
    BatchResponse,
    JobView,
    OrderResponse,
    RemovalConfirmRequest,
)
from gateway.settings import ApiKey, AuthSettings, CacheSettings, Scope, Settings
from gateway.store import create_stores
from gateway.store.licenses import LicenseRecord

PRODUCT_SCOPES: list[Scope] = ["activate", "read", "deactivate"]

EU_KEY, US_KEY = "fleet-eu-key", "fleet-us-key"
EU = {"Authorization": f"Bearer {EU_KEY}"}
US = {"Authorization": f"Bearer {US_KEY}"}
KEY = "9EFJK-TVJM0-MCDET-EZKXJ"
REJECTED_KEY = "RRRRR-RRRRR-RRRRR-RRRRR"
PREFIX = "apitest"
Client = TestClient[web.Request, web.Application]


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def activation(key: str = KEY, host: str = "HOSTNAME=build01") -> dict[str, object]:
    return {"activation_key": key, "hostids": [host]}


class CountingService:
    """Activations and deactivations that count their calls; ``gate`` can hold them open."""

    def __init__(self) -> None:
        self.activations = 0
        self.deactivations = 0
        self.entered = asyncio.Event()
        self.gate: asyncio.Event | None = None

    async def activate(
        self, req: ActivationRequest, *, wait: float, caller: str
    ) -> ActivationResponse:
        self.activations += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        key = normalise_activation_key(req.activation_key)
        if key == REJECTED_KEY:
            raise errors.lac_problem(201, "activations exceeded")
        aid = activation_id(key, normalise_hostids(req.hostids))
        return ActivationResponse(state="pending", id=aid)

    async def deactivate(
        self, activation_key: str, hostids: list[str], *, caller: str, any_pair: bool
    ) -> None:
        self.deactivations += 1

    async def status(self, activation_id: str, *, wait: float) -> ActivationResponse:
        raise errors.NotFound("no such activation")

    async def fetch(self, activation_key: str, hostids: list[str]) -> ActivationResponse:
        raise errors.NotFound("no license")

    async def removal_requested(self, activation_key: str, hostids: list[str]) -> bool:
        return False

    async def removal_confirm(
        self, req: RemovalConfirmRequest, activation_key: str, *, caller: str, any_pair: bool
    ) -> None:
        return None

    async def record_refusal(
        self, action: str, activation_key: str, hostids: Sequence[str], caller: str
    ) -> None:
        return None

    async def still_held(self, aid: str, record: LicenseRecord) -> bool:
        return False  # no near cache in front of this fake: nothing rendered is ever lapsed

    async def order(self, activation_key: str) -> OrderResponse:
        raise errors.NotFound("no order")

    async def batch(self, req: BatchRequest, *, wait: float, caller: str) -> BatchResponse:
        return BatchResponse(results=[])

    async def jobs(self, limit: int) -> list[JobView]:
        return []

    async def purge(self, activation_key: str, hostids: list[str]) -> bool:
        return False

    async def counters(self) -> ActivationCounters:
        return ActivationCounters()

    async def audit_events(self, limit: int, before: str | None = None) -> list[dict[str, str]]:
        return []

    async def ready(self) -> dict[str, object]:
        return {}

    async def probe_redis(self) -> None:
        return None


@pytest.fixture
def service() -> CountingService:
    return CountingService()


@pytest.fixture
async def client(service: CountingService, redis_client: aioredis.Redis) -> AsyncIterator[Client]:
    settings = Settings(
        cache=CacheSettings(idempotency_ttl=600),
        auth=AuthSettings(
            api_keys=[
                ApiKey(name="fleet-eu", sha256=sha(EU_KEY), scopes=PRODUCT_SCOPES),
                ApiKey(name="fleet-us", sha256=sha(US_KEY), scopes=PRODUCT_SCOPES),
            ]
        ),
    )
    app = web.Application(client_max_size=settings.http.max_body_bytes)
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    # The fake plays every service the routes call.
    app[ACTIVATION_SERVICE] = app[LICENSE_SERVICE] = app[ADMIN_SERVICE] = service
    app[IDEMPOTENCY_STORE] = create_stores(redis_client, PREFIX, settings.cache).idempotency
    setup_api(app)
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as test_client:
        yield test_client


async def idempotency_records(redis_client: aioredis.Redis) -> list[bytes]:
    return [key async for key in redis_client.scan_iter(match=f"{PREFIX}:*idem*")]


async def test_same_key_and_body_replays_the_stored_answer_without_calling_again(
    client: Client, service: CountingService, redis_client: aioredis.Redis
) -> None:
    headers = {**EU, "Idempotency-Key": "order-42"}
    first = await client.post("/v1/activations", json=activation(), headers=headers)
    second = await client.post("/v1/activations", json=activation(), headers=headers)
    assert first.status == second.status == 202
    assert await first.read() == await second.read()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers["Retry-After"] == first.headers["Retry-After"]
    assert second.headers["Content-Type"] == "application/json"
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert service.activations == 1
    records = await idempotency_records(redis_client)
    assert len(records) == 1
    assert 590_000 < await redis_client.pttl(records[0]) <= 600_000


async def test_same_key_with_another_body_is_a_422_problem(
    client: Client, service: CountingService
) -> None:
    headers = {**EU, "Idempotency-Key": "order-42"}
    await client.post("/v1/activations", json=activation(), headers=headers)
    other = await client.post(
        "/v1/activations", json=activation(host="HOSTNAME=other"), headers=headers
    )
    assert other.status == 422
    assert other.content_type == "application/problem+json"
    problem = orjson.loads(await other.read())
    assert problem["type"] == errors.problem_type("idempotency-key-mismatch")
    assert service.activations == 1


async def test_same_key_while_the_first_is_in_progress_is_a_409(
    client: Client, service: CountingService
) -> None:
    service.gate = asyncio.Event()
    headers = {**EU, "Idempotency-Key": "slow-1"}
    first = asyncio.create_task(client.post("/v1/activations", json=activation(), headers=headers))
    await service.entered.wait()
    second = await client.post("/v1/activations", json=activation(), headers=headers)
    assert second.status == 409
    assert second.headers["Retry-After"] == "1"
    problem = orjson.loads(await second.read())
    assert problem["type"] == errors.problem_type("idempotency-key-in-progress")
    service.gate.set()
    assert (await first).status == 202
    assert service.activations == 1


async def test_keys_are_scoped_per_api_key(client: Client, service: CountingService) -> None:
    await client.post(
        "/v1/activations", json=activation(), headers={**EU, "Idempotency-Key": "shared"}
    )
    us = await client.post(
        "/v1/activations",
        json=activation(host="HOSTNAME=other"),
        headers={**US, "Idempotency-Key": "shared"},
    )
    assert us.status == 202
    assert "Idempotent-Replayed" not in us.headers
    assert service.activations == 2


async def test_a_failed_request_releases_its_key_for_a_retry(
    client: Client, service: CountingService, redis_client: aioredis.Redis
) -> None:
    headers = {**EU, "Idempotency-Key": "retry-me"}
    body = activation(REJECTED_KEY)
    first = await client.post("/v1/activations", json=body, headers=headers)
    assert first.status == 409
    assert await idempotency_records(redis_client) == []
    second = await client.post("/v1/activations", json=body, headers=headers)
    assert second.status == 409
    assert "Idempotent-Replayed" not in second.headers
    assert service.activations == 2


async def test_bad_input_under_a_key_leaves_nothing_in_redis(
    client: Client, service: CountingService, redis_client: aioredis.Redis
) -> None:
    headers = {**EU, "Idempotency-Key": "bad-1", "Content-Type": "application/json"}
    malformed = await client.post("/v1/activations", data=b"{nope", headers=headers)
    assert malformed.status == 400
    invalid = await client.post("/v1/activations", json={"hostids": []}, headers=headers)
    assert invalid.status == 422
    assert await idempotency_records(redis_client) == []
    assert service.activations == 0


async def test_a_delete_is_replayed_as_its_204(client: Client, service: CountingService) -> None:
    headers = {**EU, "Idempotency-Key": "drop-1"}
    path = f"/v1/licenses/{KEY}?hostid=HOSTNAME=build01"
    first = await client.delete(path, headers=headers)
    second = await client.delete(path, headers=headers)
    assert first.status == second.status == 204
    assert await second.read() == b""
    assert second.headers["Idempotent-Replayed"] == "true"
    assert service.deactivations == 1


async def test_another_query_string_is_another_request(
    client: Client, service: CountingService
) -> None:
    headers = {**EU, "Idempotency-Key": "drop-2"}
    await client.delete(f"/v1/licenses/{KEY}?hostid=HOSTNAME=a", headers=headers)
    other = await client.delete(f"/v1/licenses/{KEY}?hostid=HOSTNAME=b", headers=headers)
    assert other.status == 422
    assert service.deactivations == 1


@pytest.mark.parametrize("key", ["x" * 256, "has space", '"', '"unbalanced'])
async def test_an_unusable_key_is_a_400(client: Client, service: CountingService, key: str) -> None:
    resp = await client.post(
        "/v1/activations", json=activation(), headers={**EU, "Idempotency-Key": key}
    )
    assert resp.status == 400
    assert service.activations == 0


async def test_without_the_header_nothing_is_recorded(
    client: Client, service: CountingService, redis_client: aioredis.Redis
) -> None:
    await client.post("/v1/activations", json=activation(), headers=EU)
    await client.post("/v1/activations", json=activation(), headers=EU)
    assert service.activations == 2
    assert await idempotency_records(redis_client) == []


async def test_a_quoted_key_is_the_same_key_as_its_bare_form(
    client: Client, service: CountingService
) -> None:
    await client.post("/v1/activations", json=activation(), headers={**EU, "Idempotency-Key": "k9"})
    again = await client.post(
        "/v1/activations", json=activation(), headers={**EU, "Idempotency-Key": '"k9"'}
    )
    assert again.headers["Idempotent-Replayed"] == "true"
    assert service.activations == 1

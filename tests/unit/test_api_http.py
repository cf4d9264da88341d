"""The HTTP layer over a real socket in front of an in-memory service, route by route."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import orjson
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from gateway import errors
from gateway.api import setup_api
from gateway.api.keys import (
    ACTIVATION_SERVICE,
    ADMIN_SERVICE,
    LICENSE_SERVICE,
    METRICS,
    SETTINGS,
    WEBHOOK_ADMIN,
)
from gateway.api.middleware import RequestIds
from gateway.hostids import activation_id, normalise_activation_key, normalise_hostids
from gateway.lac.base import LacUnavailable
from gateway.metrics import Metrics
from gateway.models import (
    ActivationCounters,
    ActivationRequest,
    ActivationResponse,
    BatchItemResult,
    BatchRequest,
    BatchResponse,
    JobView,
    LicenseBody,
    OrderResponse,
    Problem,
    RemovalConfirmRequest,
)
from gateway.problems import problem_types
from gateway.settings import ApiKey, AuthSettings, HttpSettings, JobSettings, Settings
from gateway.store.licenses import LicenseRecord

FLEET_KEY = "fleet-secret-key"
ADMIN_KEY = "admin-secret-key"
FLEET = {"Authorization": f"Bearer {FLEET_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
KEY = "9EFJK-TVJM0-MCDET-EZKXJ"
INSTANT_KEY = "AAAAA-BBBBB-CCCCC-DDDDD"  # the stub issues these at once when the caller waits
REJECTED_KEY = "RRRRR-RRRRR-RRRRR-RRRRR"  # LAC says the activation count is exceeded
BROKEN_KEY = "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"  # the stub fails unexpectedly
HOST = "HOSTNAME=build01"
MAX_BODY = 2048
PROBLEM_JSON = "application/problem+json"


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def a_license() -> LicenseBody:
    return LicenseBody(
        content="FEATURE f\n{\nVENDOR=ACME\n}\n",
        filename="license.lic",
        activated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


class MemoryService:
    """The service protocol with in-memory behaviour, recording what the HTTP layer passed."""

    def __init__(self) -> None:
        self.issued: dict[str, LicenseBody] = {}
        self.pending: set[str] = set()
        self.failed: dict[str, Problem] = {}
        self.removal: set[str] = set()
        self.calls: list[tuple[str, object]] = []
        self.waits: list[float] = []
        self.is_ready = True
        self.fetch_failure: Exception | None = None
        self.log_context: list[dict[str, object]] = []

    def _aid(self, key: str, hostids: list[str]) -> str:
        return activation_id(normalise_activation_key(key), normalise_hostids(hostids))

    async def activate(
        self, req: ActivationRequest, *, wait: float, caller: str
    ) -> ActivationResponse:
        self.calls.append(("activate", caller))
        self.waits.append(wait)
        key = normalise_activation_key(req.activation_key)
        if key == BROKEN_KEY:
            raise RuntimeError("database password is hunter2")
        if key == REJECTED_KEY:
            raise errors.lac_problem(201, "activations exceeded")
        aid = activation_id(key, normalise_hostids(req.hostids))
        if aid in self.issued:
            return ActivationResponse(
                state="ready", id=aid, license=self.issued[aid], source="cache"
            )
        if key == INSTANT_KEY and wait > 0:
            self.issued[aid] = a_license()
            return ActivationResponse(state="ready", id=aid, license=self.issued[aid], source="lac")
        self.pending.add(aid)
        return ActivationResponse(state="pending", id=aid)

    async def status(self, activation_id: str, *, wait: float) -> ActivationResponse:
        self.waits.append(wait)
        if activation_id in self.issued:
            lic = self.issued[activation_id]
            return ActivationResponse(state="ready", id=activation_id, license=lic, source="cache")
        if activation_id in self.failed:
            problem = self.failed[activation_id]
            return ActivationResponse(state="failed", id=activation_id, error=problem)
        if activation_id in self.pending:
            return ActivationResponse(state="pending", id=activation_id)
        raise errors.NotFound("no such activation")

    async def fetch(self, activation_key: str, hostids: list[str]) -> ActivationResponse:
        aid = self._aid(activation_key, hostids)
        if self.fetch_failure is not None:
            raise self.fetch_failure
        if aid not in self.issued:
            raise errors.NotFound("no license for this host")
        return ActivationResponse(state="ready", id=aid, license=self.issued[aid], source="cache")

    async def deactivate(
        self, activation_key: str, hostids: list[str], *, caller: str, any_pair: bool
    ) -> None:
        aid = self._aid(activation_key, hostids)
        self.calls.append(("deactivate", caller))
        if self.issued.pop(aid, None) is None:
            raise errors.lac_problem(205, "not activated")

    async def removal_requested(self, activation_key: str, hostids: list[str]) -> bool:
        return self._aid(activation_key, hostids) in self.removal

    async def removal_confirm(
        self, req: RemovalConfirmRequest, activation_key: str, *, caller: str, any_pair: bool
    ) -> None:
        aid = activation_id(
            normalise_activation_key(activation_key), normalise_hostids(req.hostids)
        )
        self.calls.append(("removal_confirm", caller))
        self.removal.discard(aid)
        self.issued.pop(aid, None)

    async def record_refusal(
        self, action: str, activation_key: str, hostids: Sequence[str], caller: str
    ) -> None:
        self.calls.append(("refused", caller))

    async def still_held(self, aid: str, record: LicenseRecord) -> bool:
        return False  # no near cache in front of this fake: nothing rendered is ever lapsed

    async def order(self, activation_key: str) -> OrderResponse:
        self.log_context.append(structlog.contextvars.get_contextvars())
        key = normalise_activation_key(activation_key)
        return OrderResponse(
            activation_key=key,
            product="CAD",
            activations_used=1,
            enabled=True,
            not_reported=["product_template_id", "activations_allowed"],
        )

    async def batch(self, req: BatchRequest, *, wait: float, caller: str) -> BatchResponse:
        results: list[BatchItemResult] = []
        for index, item in enumerate(req.items):
            body: ActivationResponse | Problem
            try:
                answer = await self.activate(item, wait=wait, caller=caller)
                body, status = answer, 200 if answer.state == "ready" else 202
            except errors.GatewayError as exc:
                problem = errors.problem_body(exc, request_id=None, instance=None)
                body, status = Problem.model_validate(problem), exc.status
            results.append(BatchItemResult(index=index, status=status, body=body))
        return BatchResponse(results=results)

    async def jobs(self, limit: int) -> list[JobView]:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        views = [
            JobView(
                id=aid,
                state="pending",
                attempts=0,
                created_at=now,
                next_poll_at=now,
                deadline_at=now,
            )
            for aid in sorted(self.pending)
        ]
        return views[:limit]

    async def purge(self, activation_key: str, hostids: list[str]) -> bool:
        return self.issued.pop(self._aid(activation_key, hostids), None) is not None

    async def counters(self) -> ActivationCounters:
        return ActivationCounters(one_time_activations_left_count=12)

    async def audit_events(self, limit: int, before: str | None = None) -> list[dict[str, str]]:
        return []

    async def ready(self) -> dict[str, object]:
        if not self.is_ready:
            raise errors.ServiceUnavailable("Redis is not answering", retry_after=2)
        return {"redis": "ok"}

    async def probe_redis(self) -> None:
        if not self.is_ready:
            raise errors.ServiceUnavailable("Redis is not answering", retry_after=2)


def gateway_settings() -> Settings:
    return Settings(
        http=HttpSettings(max_body_bytes=MAX_BODY, default_wait=3, max_wait=20),
        jobs=JobSettings(first_poll=1.5),
        auth=AuthSettings(
            api_keys=[
                ApiKey(
                    name="fleet-eu",
                    sha256=sha(FLEET_KEY),
                    scopes=["activate", "read", "deactivate"],
                ),
                ApiKey(name="ops", sha256=sha(ADMIN_KEY), admin=True),
            ]
        ),
    )


@pytest.fixture
def service() -> MemoryService:
    return MemoryService()


@pytest.fixture
def app(service: MemoryService) -> web.Application:
    settings = gateway_settings()
    application = web.Application(client_max_size=settings.http.max_body_bytes)
    application[SETTINGS] = settings
    application[METRICS] = Metrics()
    # The fake plays every service the routes call.
    application[ACTIVATION_SERVICE] = application[LICENSE_SERVICE] = application[ADMIN_SERVICE] = (
        service
    )
    application[WEBHOOK_ADMIN] = NoWebhooks()
    setup_api(application)
    return application


class NoWebhooks:
    """The webhook admin of a gateway with no delivery yet."""

    async def deliveries(
        self, status: str, endpoint: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, object]], str | None]:
        """No delivery in any status."""
        if status not in {"pending", "failed", "delivered"}:
            raise errors.InvalidInput.field("status", "must be pending, failed or delivered")
        return [], None

    async def retry(self, did: str) -> dict[str, object]:
        """No delivery to retry."""
        raise errors.NotFound("no webhook delivery with this id")


@pytest.fixture
async def client(app: web.Application) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as test_client:
        yield test_client


Client = TestClient[web.Request, web.Application]


def activation(key: str = KEY, *hostids: str) -> dict[str, object]:
    return {"activation_key": key, "hostids": list(hostids or (HOST,))}


async def problem_of(resp: object) -> dict[str, object]:
    from aiohttp import ClientResponse  # noqa: PLC0415 - only for the isinstance check

    assert isinstance(resp, ClientResponse)
    assert resp.content_type == PROBLEM_JSON
    body = orjson.loads(await resp.read())
    assert isinstance(body, dict)
    assert body["status"] == resp.status
    assert body["request_id"] == resp.headers["X-Request-ID"]
    return body


# --- authentication ------------------------------------------------------------------------


async def test_v1_route_without_a_key_is_401_problem_with_a_bearer_challenge(
    client: Client, service: MemoryService
) -> None:
    resp = await client.post("/v1/activations", json=activation())
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    problem = await problem_of(resp)
    assert problem["type"] == errors.problem_type("unauthorized")
    assert service.calls == []


@pytest.mark.parametrize(
    "authorization", ["Bearer wrong-key", f"Basic {FLEET_KEY}", f"Bearer {sha(FLEET_KEY)}"]
)
async def test_an_unknown_key_or_scheme_is_401(client: Client, authorization: str) -> None:
    resp = await client.get(f"/v1/orders/{KEY}", headers={"Authorization": authorization})
    assert resp.status == 401
    await problem_of(resp)


async def test_a_fleet_key_on_an_admin_route_is_403(client: Client) -> None:
    resp = await client.get("/v1/admin/jobs", headers=FLEET)
    assert resp.status == 403
    problem = await problem_of(resp)
    assert problem["type"] == errors.problem_type("missing-scope")
    assert "admin scope" in str(problem["detail"])


async def test_an_admin_key_reaches_admin_routes(client: Client) -> None:
    resp = await client.get("/v1/admin/lac/counters", headers=ADMIN)
    assert resp.status == 200
    assert (await resp.json())["one_time_activations_left_count"] == 12


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"])
async def test_operations_routes_need_no_key(client: Client, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 200


async def test_the_caller_name_reaches_the_service(client: Client, service: MemoryService) -> None:
    resp = await client.post("/v1/activations", json=activation(), headers=FLEET)
    assert resp.status == 202
    assert service.calls == [("activate", "fleet-eu")]


# --- problems ------------------------------------------------------------------------------


async def test_unknown_route_is_a_404_problem(client: Client) -> None:
    resp = await client.get("/nothing/here")
    assert resp.status == 404
    problem = await problem_of(resp)
    assert problem["type"] == errors.problem_type("not-found")
    assert problem["instance"] == "/nothing/here"


async def test_unknown_v1_route_with_a_key_is_a_404_problem(client: Client) -> None:
    resp = await client.get("/v1/nothing", headers=FLEET)
    assert resp.status == 404
    await problem_of(resp)


async def test_wrong_method_is_a_405_problem_listing_allowed_methods(client: Client) -> None:
    resp = await client.put("/v1/activations", json=activation(), headers=FLEET)
    assert resp.status == 405
    assert "POST" in resp.headers["Allow"]
    problem = await problem_of(resp)
    assert problem["type"] == errors.problem_type("method-not-allowed")


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b'{"activation_key": ', "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "JSON object"),
        (b'"text"', "JSON object"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_400(
    client: Client, service: MemoryService, raw: bytes, detail: str
) -> None:
    headers = {**FLEET, "Content-Type": "application/json"}
    resp = await client.post("/v1/activations", data=raw, headers=headers)
    assert resp.status == 400
    problem = await problem_of(resp)
    assert detail in str(problem["detail"])
    assert service.calls == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"activation_key": 5, "hostids": [HOST]}, "activation_key"),
        ({"hostids": [HOST]}, "activation_key"),
        ({"activation_key": KEY, "hostids": "HOSTNAME=b"}, "hostids"),
        ({"activation_key": KEY, "hostids": [HOST], "extra": 1}, "extra"),
        (
            {"activation_key": KEY, "hostids": [{"type": "HOSTNAME", "value": 7}]},
            "hostids[0].value",
        ),
    ],
)
async def test_wrong_types_are_422_naming_the_field(
    client: Client, service: MemoryService, body: dict[str, object], field: str
) -> None:
    resp = await client.post("/v1/activations", json=body, headers=FLEET)
    assert resp.status == 422
    problem = await problem_of(resp)
    fields = [item["field"] for item in problem["errors"]]  # type: ignore[attr-defined]
    assert field in fields
    assert service.calls == []


async def test_a_body_over_the_limit_is_a_413_problem(client: Client) -> None:
    body = activation(KEY, *[f"HOSTNAME=h{i:04d}" for i in range(400)])
    resp = await client.post("/v1/activations", json=body, headers=FLEET)
    assert resp.status == 413
    problem = await problem_of(resp)
    assert problem["type"] == errors.problem_type("payload-too-large")


async def test_a_chunked_body_over_the_limit_is_a_413_problem(
    client: Client, service: MemoryService
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b" " * 512
        yield orjson.dumps(activation())

    resp = await client.post("/v1/activations", data=chunks(), headers=FLEET)
    assert resp.status == 413
    await problem_of(resp)
    assert service.calls == []


async def test_a_lac_rejection_keeps_its_status_and_lac_code(client: Client) -> None:
    resp = await client.post("/v1/activations", json=activation(REJECTED_KEY), headers=FLEET)
    assert resp.status == 409
    problem = await problem_of(resp)
    assert problem["lac_code"] == 201
    assert problem["lac_name"] == "LAC_LICENSE_ACTIVATION_COUNT_EXCEEDED"


async def test_an_unexpected_failure_is_a_bare_500_without_its_details(client: Client) -> None:
    with structlog.testing.capture_logs() as logs:
        resp = await client.post("/v1/activations", json=activation(BROKEN_KEY), headers=FLEET)
    assert resp.status == 500
    problem = await problem_of(resp)
    assert "hunter2" not in (await resp.text())
    assert set(problem) == {"type", "title", "status", "detail", "instance", "request_id"}
    # The detail is the type's fixed advice, never the exception's text.
    assert problem["detail"] == problem_types()["internal-error"].advice
    failure = [entry for entry in logs if entry["event"] == "unhandled_error"]
    assert len(failure) == 1
    assert failure[0]["exc_info"] is True


async def test_readyz_is_a_503_problem_when_the_service_is_not_ready(
    client: Client, service: MemoryService
) -> None:
    service.is_ready = False
    resp = await client.get("/readyz")
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "2"
    await problem_of(resp)


# --- activations and Prefer ---------------------------------------------------------------


async def test_pending_activation_is_202_with_location_and_retry_after(
    client: Client, service: MemoryService
) -> None:
    resp = await client.post("/v1/activations", json=activation(), headers=FLEET)
    assert resp.status == 202
    body = await resp.json()
    assert body["state"] == "pending"
    assert resp.headers["Location"] == f"/v1/activations/{body['id']}"
    assert resp.headers["Retry-After"] == "2"  # jobs.first_poll 1.5 rounded up

    follow = await client.get(resp.headers["Location"], headers=FLEET)
    assert follow.status == 200
    assert (await follow.json())["state"] == "pending"
    assert "Retry-After" in follow.headers

    service.issued[body["id"]] = a_license()
    ready = await client.get(resp.headers["Location"], headers=FLEET)
    assert ready.status == 200
    assert (await ready.json())["license"]["content"].startswith("FEATURE f")


async def test_a_ready_activation_is_200_with_the_license(client: Client) -> None:
    resp = await client.post(
        "/v1/activations", json=activation(INSTANT_KEY), headers={**FLEET, "Prefer": "wait=5"}
    )
    assert resp.status == 200
    body = await resp.json()
    assert body["state"] == "ready"
    assert body["source"] == "lac"
    assert body["license"]["filename"] == "license.lic"
    assert "Location" not in resp.headers


async def test_prefer_wait_is_passed_on_and_clamped_to_max_wait(
    client: Client, service: MemoryService
) -> None:
    resp = await client.post(
        "/v1/activations", json=activation(), headers={**FLEET, "Prefer": "wait=300"}
    )
    assert resp.status == 202
    assert service.waits == [20]
    assert resp.headers["Preference-Applied"] == "wait=20"


async def test_prefer_respond_async_means_the_service_does_not_wait(
    client: Client, service: MemoryService
) -> None:
    resp = await client.post(
        "/v1/activations",
        json=activation(INSTANT_KEY),
        headers={**FLEET, "Prefer": "respond-async"},
    )
    assert resp.status == 202
    assert service.waits == [0]
    assert resp.headers["Preference-Applied"] == "respond-async"


async def test_without_prefer_the_configured_default_wait_applies(
    client: Client, service: MemoryService
) -> None:
    await client.post("/v1/activations", json=activation(), headers=FLEET)
    assert service.waits == [3]


async def test_status_wait_query_is_clamped_and_validated(
    client: Client, service: MemoryService
) -> None:
    created = await (await client.post("/v1/activations", json=activation(), headers=FLEET)).json()
    service.waits.clear()
    ok = await client.get(f"/v1/activations/{created['id']}?wait=99", headers=FLEET)
    assert ok.status == 200
    assert service.waits == [20]
    service.waits.clear()
    await client.get(f"/v1/activations/{created['id']}", headers={**FLEET, "Prefer": "wait=4"})
    await client.get(f"/v1/activations/{created['id']}", headers=FLEET)
    assert service.waits == [4, 0]
    bad = await client.get(f"/v1/activations/{created['id']}?wait=soon", headers=FLEET)
    assert bad.status == 422
    problem = await problem_of(bad)
    assert problem["errors"] == [
        {"field": "wait", "message": "must be a non-negative number of seconds"}
    ]


async def test_an_unknown_or_malformed_activation_id_is_404(client: Client) -> None:
    unknown = await client.get("/v1/activations/act_" + "a" * 26, headers=FLEET)
    assert unknown.status == 404
    await problem_of(unknown)
    malformed = await client.get("/v1/activations/..%2Fetc", headers=FLEET)
    assert malformed.status == 404
    await problem_of(malformed)


async def test_a_failed_activation_is_reported_as_its_problem(
    client: Client, service: MemoryService
) -> None:
    aid = activation_id(KEY, normalise_hostids([HOST]))
    failure = errors.lac_problem(401, "no generator")
    body = errors.problem_body(failure, request_id=None, instance=None)
    service.failed[aid] = Problem.model_validate(body)
    resp = await client.get(f"/v1/activations/{aid}", headers=FLEET)
    assert resp.status == 502
    problem = await problem_of(resp)
    assert problem["lac_code"] == 401


async def test_batch_returns_one_result_per_item(client: Client) -> None:
    items = [activation(INSTANT_KEY), activation(REJECTED_KEY), activation()]
    resp = await client.post(
        "/v1/activations/batch", json={"items": items}, headers={**FLEET, "Prefer": "wait=1"}
    )
    assert resp.status == 200
    results = (await resp.json())["results"]
    assert [r["status"] for r in results] == [200, 409, 202]
    assert results[1]["body"]["lac_code"] == 201


# --- licenses, removal, orders, admin -----------------------------------------------------


async def test_license_routes_require_a_hostid(client: Client) -> None:
    for method, path in [
        ("GET", f"/v1/licenses/{KEY}"),
        ("DELETE", f"/v1/licenses/{KEY}"),
        ("GET", f"/v1/licenses/{KEY}/removal"),
        ("POST", f"/v1/admin/cache/{KEY}"),
    ]:
        resp = await client.request(method, path, headers=ADMIN)
        assert resp.status == 422, path
        problem = await problem_of(resp)
        assert problem["errors"][0]["field"] == "hostid"  # type: ignore[index]


async def test_fetch_deactivate_and_fetch_again(client: Client, service: MemoryService) -> None:
    aid = activation_id(KEY, normalise_hostids(["ETHERNET=AABBCCDDEEFF", "IPADDRESS=10.0.0.5"]))
    service.issued[aid] = a_license()
    query = "hostid=IPADDRESS=10.0.0.5&hostid=ETHERNET=AA-BB-CC-DD-EE-FF"
    got = await client.get(f"/v1/licenses/{KEY}?{query}", headers=FLEET)
    assert got.status == 200
    assert (await got.json())["id"] == aid
    gone = await client.delete(f"/v1/licenses/{KEY}?{query}", headers=FLEET)
    assert gone.status == 204
    assert await gone.read() == b""
    again = await client.get(f"/v1/licenses/{KEY}?{query}", headers=FLEET)
    assert again.status == 404
    await problem_of(again)


async def test_removal_flag_and_confirmation(client: Client, service: MemoryService) -> None:
    aid = activation_id(KEY, normalise_hostids([HOST]))
    service.removal.add(aid)
    service.issued[aid] = a_license()
    flag = await client.get(f"/v1/licenses/{KEY}/removal?hostid={HOST}", headers=FLEET)
    assert await flag.json() == {"removal_requested": True}
    confirm = await client.post(
        f"/v1/licenses/{KEY}/removal/confirm", json={"hostids": [HOST]}, headers=FLEET
    )
    assert confirm.status == 204
    assert aid not in service.issued
    flag = await client.get(f"/v1/licenses/{KEY}/removal?hostid={HOST}", headers=FLEET)
    assert await flag.json() == {"removal_requested": False}


async def test_order_summary(client: Client) -> None:
    resp = await client.get(f"/v1/orders/{KEY.lower()}", headers=FLEET)
    assert resp.status == 200
    body = await resp.json()
    assert body["activation_key"] == KEY
    assert body["enabled"] is True


async def test_admin_jobs_lists_pending_and_validates_limit(client: Client) -> None:
    await client.post("/v1/activations", json=activation(), headers=FLEET)
    resp = await client.get("/v1/admin/jobs?limit=10", headers=ADMIN)
    assert resp.status == 200
    body = await resp.json()
    assert body["total"] == 1
    assert body["jobs"][0]["id"] == activation_id(KEY, normalise_hostids([HOST]))
    bad = await client.get("/v1/admin/jobs?limit=0", headers=ADMIN)
    assert bad.status == 422


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_admin_purge_drops_the_cached_license(
    client: Client, service: MemoryService, method: str
) -> None:
    aid = activation_id(KEY, normalise_hostids([HOST]))
    service.issued[aid] = a_license()
    first = await client.request(method, f"/v1/admin/cache/{KEY}?hostid={HOST}", headers=ADMIN)
    assert await first.json() == {"purged": True}
    second = await client.request(method, f"/v1/admin/cache/{KEY}?hostid={HOST}", headers=ADMIN)
    assert await second.json() == {"purged": False}


# --- request ids, logs, metrics -----------------------------------------------------------


async def test_a_sane_request_id_is_echoed(client: Client) -> None:
    resp = await client.get("/healthz", headers={"X-Request-ID": "abc.DEF-123_x"})
    assert resp.headers["X-Request-ID"] == "abc.DEF-123_x"


@pytest.mark.parametrize("offered", ["has space", "x" * 129, "semi;colon", ""])
async def test_an_insane_request_id_is_replaced(client: Client, offered: str) -> None:
    resp = await client.get("/healthz", headers={"X-Request-ID": offered})
    echoed = resp.headers["X-Request-ID"]
    assert echoed != offered
    assert re.fullmatch(r"[0-9a-f]{32}", echoed)


async def test_the_request_id_is_bound_for_every_log_line_of_the_request(
    client: Client, service: MemoryService
) -> None:
    await client.get(f"/v1/orders/{KEY}", headers={**FLEET, "X-Request-ID": "trace-77"})
    generated = await client.get(f"/v1/orders/{KEY}", headers=FLEET)
    assert [ctx.get("request_id") for ctx in service.log_context] == [
        "trace-77",
        generated.headers["X-Request-ID"],
    ]
    assert "request_id" not in structlog.contextvars.get_contextvars()


async def test_each_request_gets_its_own_generated_id(client: Client) -> None:
    first = await client.get("/healthz")
    second = await client.get("/healthz")
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_access_log_masks_the_key_and_never_logs_secrets_or_licenses(
    client: Client, service: MemoryService
) -> None:
    aid = activation_id(KEY, normalise_hostids([HOST]))
    service.issued[aid] = a_license()
    with structlog.testing.capture_logs() as logs:
        await client.get(
            f"/v1/licenses/{KEY}?hostid={HOST}", headers={**FLEET, "X-Request-ID": "req-1"}
        )
        await client.post("/v1/activations", json=activation(), headers=FLEET)
    lines = [entry for entry in logs if entry["event"] == "http_request"]
    assert len(lines) == 2
    first, second = lines
    assert first["route"] == "/v1/licenses/{activation_key}"
    assert first["status"] == 200
    assert first["request_id"] == "req-1"
    assert first["caller"] == "fleet-eu"
    assert first["activation_key"] == "9EFJK-*****-*****-EZKXJ"
    assert second["route"] == "/v1/activations"
    assert second["activation_key"] == "9EFJK-*****-*****-EZKXJ"
    text = repr(logs)
    for secret in (KEY, FLEET_KEY, "FEATURE f", "build01"):
        assert secret not in text


async def test_metrics_count_requests_by_route_template_not_raw_path(client: Client) -> None:
    await client.get(f"/v1/orders/{KEY}", headers=FLEET)
    await client.get("/v1/orders/BBBBB-BBBBB-BBBBB-BBBBB", headers=FLEET)
    await client.get("/no/such/route")
    text = await (await client.get("/metrics")).text()
    assert (
        'lacgw_http_requests_total{method="GET",route="/v1/orders/{activation_key}",status="200"}'
        " 2.0" in text
    )
    assert 'route="/v1/orders/{activation_key}"' in text
    assert 'lacgw_http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert KEY not in text
    assert "BBBBB" not in text
    assert "lacgw_http_request_duration_seconds_bucket" in text


# --- OpenAPI and /docs --------------------------------------------------------------------


async def test_openapi_document_validates_and_lists_every_registered_route(
    client: Client, app: web.Application
) -> None:
    doc = await (await client.get("/openapi.json")).json()
    validate(doc)
    documented = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    registered = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.method != "HEAD"
    }
    assert documented == registered
    assert len(registered) == 23  # with /docs/static, /problems and the two webhook routes


async def test_openapi_request_schemas_are_the_validating_models(client: Client) -> None:
    doc = await (await client.get("/openapi.json")).json()
    op = doc["paths"]["/v1/activations"]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    expected = ActivationRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    assert schema["properties"] == expected["properties"]
    assert schema["required"] == expected["required"]
    assert set(op["responses"]) >= {"200", "202", "400", "401", "413", "422", "default"}
    problem = op["responses"]["422"]["content"][PROBLEM_JSON]["schema"]["$ref"]
    assert problem == "#/components/schemas/Problem"
    assert op["security"] == [{"bearerAuth": []}]
    assert doc["paths"]["/healthz"]["get"]["security"] == []
    assert "403" in doc["paths"]["/v1/admin/jobs"]["get"]["responses"]


# --- nothing the caller sends is a 500 -----------------------------------------------------

HOSTILE_BODIES = [
    b"",
    b"null",
    b"[" * 5000 + b"]" * 5000,
    b'{"activation_key": "' + b"A" * 1500 + b'", "hostids": ["HOSTNAME=x"]}',
    b'{"activation_key": "\\u0000", "hostids": [{"type": "", "value": ""}]}',
    b'{"items": [{"activation_key": 1}], "hostids": {"a": 1}}',
    b'{"hostids": ["HOSTNAME=a,ETHERNET=zz", "not_specified", "=", ",,,"]}',
    b"\x00\x01\x02",
]
HOSTILE_QUERIES = [
    "",
    "?hostid=",
    "?hostid=%ff%fe",
    "?hostid=HOSTNAME%3D%00",
    "?wait=1e999&limit=-1",
]


@pytest.mark.parametrize("raw", HOSTILE_BODIES)
@pytest.mark.parametrize("query", HOSTILE_QUERIES)
async def test_no_caller_input_on_any_route_is_a_500(
    client: Client, app: web.Application, raw: bytes, query: str
) -> None:
    for route in app.router.routes():
        if route.resource is None or route.method == "HEAD":
            continue
        path = route.resource.canonical
        for name in ("id", "activation_key"):
            path = path.replace("{" + name + "}", "%00..%2F%E2%80%AE")
        resp = await client.request(route.method, path + query, data=raw, headers=ADMIN)
        assert resp.status < 500, (route.method, path, query, raw[:40])
        if resp.status >= 400:
            assert resp.content_type == PROBLEM_JSON


async def test_a_lac_failure_the_service_did_not_map_keeps_its_lac_code(
    client: Client, service: MemoryService
) -> None:
    service.fetch_failure = LacUnavailable(900, "connection refused", operation="fetch")
    resp = await client.get(f"/v1/licenses/{KEY}?hostid={HOST}", headers=FLEET)
    assert resp.status == 503
    problem = await problem_of(resp)
    assert problem["lac_code"] == 900
    assert problem["lac_name"] == "LAC_SOAP_NO_NETWORK_HOST"


def test_new_request_ids_are_unique_and_a_restart_changes_their_prefix() -> None:
    ids = RequestIds()
    first, second = ids.new(), ids.new()
    assert first != second
    assert first[:16] == second[:16]
    ids.restart()  # what a forked worker does
    third = ids.new()
    assert third[:16] != first[:16]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in (first, second, third))

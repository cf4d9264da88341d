"""The JSON API v1 and the operations routes: thin handlers and the one route table."""

from __future__ import annotations

import math
import re

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from gateway import errors
from gateway.api import openapi
from gateway.api.body import defer_continue, read_model
from gateway.api.keys import (
    ACTIVATION_SERVICE,
    ADMIN_SERVICE,
    ENDPOINTS,
    LICENSE_SERVICE,
    METRICS,
    SETTINGS,
)
from gateway.api.middleware import ACTIVATION_KEY, caller_of, failed_activation_response
from gateway.api.numbers import parse_count, parse_seconds
from gateway.api.prefer import wait_preference
from gateway.api.schemas import AuditEvent, AuditLog, Health, PurgeResult, Readiness
from gateway.api.signing import SIGNATURE_HEADER, WELL_KNOWN_PATH, signing_key_handler
from gateway.api.spec import JSON, Endpoint, Handler, Param, Reply
from gateway.hostids import is_activation_id
from gateway.models import (
    ActivationRequest,
    ActivationResponse,
    BatchRequest,
    BatchResponse,
    JobList,
    OrderResponse,
    RemovalConfirmRequest,
    RemovalStatus,
)

DEFAULT_JOB_LIMIT = 100
MAX_JOB_LIMIT = 1000
AUDIT_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")
STREAM_ID_PART_LIMIT = 2**64
LAC_CODE = re.compile(r"-?[0-9]{1,9}")  # as the audit event stored it; [0-9]: ASCII only


def json_response(
    payload: BaseModel | dict[str, object], status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A JSON response from a model (dumped as its schema says) or a plain mapping."""
    body = (
        payload.model_dump_json().encode()
        if isinstance(payload, BaseModel)
        else orjson.dumps(payload, default=str)
    )
    return web.Response(status=status, body=body, content_type=JSON, headers=headers)


def retry_after(request: web.Request) -> str:
    """Seconds a caller should wait before asking again about a pending activation."""
    return str(max(1, math.ceil(request.app[SETTINGS].jobs.first_poll)))


def hostids_of(request: web.Request) -> list[str]:
    """The repeatable ``hostid`` query parameter; at least one is required."""
    hostids = request.query.getall("hostid", [])
    if not hostids:
        raise errors.InvalidInput.field("hostid", "at least one hostid query parameter is required")
    return hostids


def number_query(request: web.Request, name: str, default: float, maximum: float) -> float:
    """Non-negative seconds from the query string (ASCII digits), clamped to ``maximum``."""
    raw = request.query.get(name)
    if raw is None:
        return default
    value = parse_seconds(raw)
    if value is None:
        raise errors.InvalidInput.field(name, "must be a non-negative number of seconds")
    return min(value, maximum)


def int_query(request: web.Request, name: str, default: int, maximum: int) -> int:
    """A positive integer from the query string (ASCII digits), at most ``maximum``."""
    raw = request.query.get(name)
    if raw is None:
        return default
    value = parse_count(raw)
    if value is None or not 1 <= value <= maximum:
        raise errors.InvalidInput.field(name, f"must be an integer from 1 to {maximum}")
    return value


STALE_WARNING = '110 lac-gateway "Response is Stale"'
CACHE_NAME = "lac-gateway"


def cache_headers(result: ActivationResponse) -> dict[str, str]:
    """RFC 9211 ``Cache-Status`` for a license answer; stale ones also carry ``Warning``."""
    if result.state != "ready" or result.source is None:
        return {}
    if result.source == "lac":
        return {"Cache-Status": f"{CACHE_NAME}; fwd=miss; stored"}
    if not result.stale:
        return {"Cache-Status": f"{CACHE_NAME}; hit"}
    # Served past its freshness because LAC could not be asked (stale-if-error).
    return {"Cache-Status": f"{CACHE_NAME}; hit; detail=stale", "Warning": STALE_WARNING}


def activation_reply(
    request: web.Request, result: ActivationResponse, *, created: bool, applied: str | None = None
) -> web.Response:
    """200 with the license when ready; otherwise where and when to ask again."""
    if result.state == "failed":
        return failed_activation_response(request, result)
    headers = {"Preference-Applied": applied} if applied else {}
    if result.state == "ready":
        return json_response(result, 200, {**headers, **cache_headers(result)})
    headers["Retry-After"] = retry_after(request)
    if not created:
        return json_response(result, 200, headers)
    headers["Location"] = f"/v1/activations/{result.id}"
    return json_response(result, 202, headers)


async def create_activation(request: web.Request) -> web.StreamResponse:
    """POST /v1/activations."""
    http = request.app[SETTINGS].http
    req = await read_model(request, ActivationRequest, limit=http.max_body_bytes)
    request[ACTIVATION_KEY] = req.activation_key
    prefer = wait_preference(
        request.headers.getall("Prefer", []), default=http.default_wait, maximum=http.max_wait
    )
    caller = caller_of(request).name
    result = await request.app[ACTIVATION_SERVICE].activate(req, wait=prefer.wait, caller=caller)
    return activation_reply(request, result, created=True, applied=prefer.applied)


async def get_activation(request: web.Request) -> web.StreamResponse:
    """GET /v1/activations/{id}."""
    activation_id = request.match_info["id"]
    if not is_activation_id(activation_id):
        raise errors.NotFound("no such activation")
    http = request.app[SETTINGS].http
    # ?wait= is the documented long-poll; Prefer: wait=N is honoured too, and neither means 0.
    prefer = wait_preference(request.headers.getall("Prefer", []), default=0, maximum=http.max_wait)
    wait = number_query(request, "wait", prefer.wait, http.max_wait)
    result = await request.app[ACTIVATION_SERVICE].status(activation_id, wait=wait)
    return activation_reply(request, result, created=False)


async def batch_activations(request: web.Request) -> web.StreamResponse:
    """POST /v1/activations/batch."""
    http = request.app[SETTINGS].http
    req = await read_model(request, BatchRequest, limit=http.max_body_bytes)
    prefer = wait_preference(
        request.headers.getall("Prefer", []), default=http.default_wait, maximum=http.max_wait
    )
    caller = caller_of(request).name
    result = await request.app[ACTIVATION_SERVICE].batch(req, wait=prefer.wait, caller=caller)
    headers = {"Preference-Applied": prefer.applied} if prefer.applied else None
    return json_response(result, 200, headers)


async def get_license(request: web.Request) -> web.StreamResponse:
    """GET /v1/licenses/{activation_key}."""
    key, hostids = request.match_info["activation_key"], hostids_of(request)
    result = await request.app[LICENSE_SERVICE].fetch(key, hostids)
    return json_response(result, 200, cache_headers(result))


async def delete_license(request: web.Request) -> web.StreamResponse:
    """DELETE /v1/licenses/{activation_key}."""
    key, hostids = request.match_info["activation_key"], hostids_of(request)
    caller = caller_of(request)
    await request.app[LICENSE_SERVICE].deactivate(
        key, hostids, caller=caller.name, any_pair=caller.may_deactivate_any
    )
    return web.Response(status=204)


async def get_removal(request: web.Request) -> web.StreamResponse:
    """GET /v1/licenses/{activation_key}/removal."""
    key, hostids = request.match_info["activation_key"], hostids_of(request)
    requested = await request.app[LICENSE_SERVICE].removal_requested(key, hostids)
    return json_response(RemovalStatus(removal_requested=requested))


async def confirm_removal(request: web.Request) -> web.StreamResponse:
    """POST /v1/licenses/{activation_key}/removal/confirm."""
    limit = request.app[SETTINGS].http.max_body_bytes
    req = await read_model(request, RemovalConfirmRequest, limit=limit)
    key, caller = request.match_info["activation_key"], caller_of(request)
    await request.app[LICENSE_SERVICE].removal_confirm(
        req, key, caller=caller.name, any_pair=caller.may_deactivate_any
    )
    return web.Response(status=204)


async def get_order(request: web.Request) -> web.StreamResponse:
    """GET /v1/orders/{activation_key}."""
    return json_response(
        await request.app[ADMIN_SERVICE].order(request.match_info["activation_key"])
    )


async def list_jobs(request: web.Request) -> web.StreamResponse:
    """GET /v1/admin/jobs."""
    limit = int_query(request, "limit", DEFAULT_JOB_LIMIT, MAX_JOB_LIMIT)
    jobs = await request.app[ADMIN_SERVICE].jobs(limit)
    return json_response(JobList(total=len(jobs), jobs=jobs))


async def purge_cache(request: web.Request) -> web.StreamResponse:
    """POST or DELETE /v1/admin/cache/{activation_key}."""
    key, hostids = request.match_info["activation_key"], hostids_of(request)
    return json_response(PurgeResult(purged=await request.app[LICENSE_SERVICE].purge(key, hostids)))


async def audit_log(request: web.Request) -> web.StreamResponse:
    """GET /v1/admin/audit."""
    limit = int_query(request, "limit", DEFAULT_JOB_LIMIT, MAX_JOB_LIMIT)
    before = audit_id_query(request)
    if before == "0-0":
        return json_response(AuditLog(events=[]))  # nothing is older than the first id
    raw = await request.app[ADMIN_SERVICE].audit_events(limit, before)
    events = [AuditEvent.model_validate(_audit_fields(event)) for event in raw]
    return json_response(AuditLog(events=events))


def audit_id_query(request: web.Request) -> str | None:
    """The ``before`` query parameter: a Redis stream id, both parts below 2**64."""
    raw = request.query.get("before")
    if raw is None:
        return None
    if AUDIT_ID.fullmatch(raw) and all(int(part) < STREAM_ID_PART_LIMIT for part in raw.split("-")):
        return raw
    raise errors.InvalidInput.field("before", "must be an audit event id (digits-digits)")


def _audit_fields(event: dict[str, str]) -> dict[str, object]:
    code = event.get("lac_code", "")
    return {**event, "lac_code": int(code) if LAC_CODE.fullmatch(code) else None}


async def lac_counters(request: web.Request) -> web.StreamResponse:
    """GET /v1/admin/lac/counters."""
    return json_response(await request.app[ADMIN_SERVICE].counters())


async def healthz(request: web.Request) -> web.StreamResponse:
    """GET /healthz: the process is alive."""
    return json_response(Health())


async def readyz(request: web.Request) -> web.StreamResponse:
    """GET /readyz: 200 when the gateway can serve, 503 problem otherwise."""
    return json_response(Readiness(checks=await request.app[ADMIN_SERVICE].ready()))


async def metrics(request: web.Request) -> web.StreamResponse:
    """GET /metrics: Prometheus text exposition of the application's registry."""
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


HOSTID = Param(
    "hostid",
    "query",
    {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "HostID as a LAC string (TYPE=value[,TYPE=value]); repeat for several",
    required=True,
)
PREFER = Param(
    "Prefer",
    "header",
    {"type": "string", "examples": ["wait=10", "respond-async"]},
    "wait=N: hold the request up to N seconds for the license; respond-async: do not wait",
)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    {"type": "string", "minLength": 1, "maxLength": 255},
    "repeat a POST or DELETE safely: the first answer is stored and replayed for 24 h",
)
WAIT_QUERY = Param(
    "wait",
    "query",
    {"type": "number", "minimum": 0},
    "long-poll: answer as soon as the activation is ready, or after this many seconds",
)
LIMIT_QUERY = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 1, "maximum": MAX_JOB_LIMIT, "default": DEFAULT_JOB_LIMIT},
    "at most this many jobs",
)
AUDIT_LIMIT_QUERY = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 1, "maximum": MAX_JOB_LIMIT, "default": DEFAULT_JOB_LIMIT},
    "at most this many events",
)
BEFORE_QUERY = Param(
    "before",
    "query",
    {"type": "string", "pattern": "^[0-9]{1,20}-[0-9]{1,20}$"},
    "only events older than this event id (paging)",
)
NO_CONTENT = (Reply(204, "done", media=""),)
READY = Reply(
    200,
    "the license is ready",
    ActivationResponse,
    headers=("Preference-Applied", "Cache-Status", "Warning", SIGNATURE_HEADER),
)
PENDING = Reply(
    202,
    "the license is being generated: ask the Location again after Retry-After seconds",
    ActivationResponse,
    headers=("Location", "Retry-After", "Preference-Applied"),
)
BATCH = Reply(
    200,
    "one result per item",
    BatchResponse,
    headers=("Preference-Applied", SIGNATURE_HEADER),
)
TEXT_METRICS = Reply(200, "Prometheus text exposition format", media="text/plain")
STATE = Reply(
    200,
    "the activation: ready with its license, or pending (a failed one answers with its problem)",
    ActivationResponse,
    headers=("Retry-After", SIGNATURE_HEADER),
)


LICENSE = "/v1/licenses/{activation_key}"
LAC_FAILURES = (404, 409, 502, 503, 504)


def endpoints() -> tuple[Endpoint, ...]:
    """Every route the gateway serves, in the order they are registered."""
    return (
        Endpoint(
            "POST",
            "/v1/activations",
            create_activation,
            operation_id="createActivation",
            summary="Activate a license for a host",
            tag="activations",
            scope="activate",
            replies=(READY, PENDING),
            body=ActivationRequest,
            params=(PREFER, IDEMPOTENCY_KEY),
            problems=(*LAC_FAILURES, 429),
        ),
        Endpoint(
            "POST",
            "/v1/activations/batch",
            batch_activations,
            operation_id="batchActivations",
            summary="Several activations at once, one result per item",
            tag="activations",
            scope="activate",
            replies=(BATCH,),
            body=BatchRequest,
            params=(PREFER, IDEMPOTENCY_KEY),
            problems=(429, 503),
        ),
        Endpoint(
            "GET",
            "/v1/activations/{id}",
            get_activation,
            operation_id="getActivation",
            summary="State of one activation, optionally long-polled",
            tag="activations",
            scope="read",
            replies=(STATE,),
            params=(WAIT_QUERY, PREFER),
            problems=LAC_FAILURES,
        ),
        Endpoint(
            "GET",
            LICENSE,
            get_license,
            operation_id="getLicense",
            summary="The issued license of a host",
            tag="licenses",
            scope="read",
            replies=(
                Reply(
                    200,
                    "the license",
                    ActivationResponse,
                    headers=("Cache-Status", "Warning", SIGNATURE_HEADER),
                ),
            ),
            params=(HOSTID,),
            problems=LAC_FAILURES,
        ),
        Endpoint(
            "DELETE",
            LICENSE,
            delete_license,
            operation_id="deactivateLicense",
            summary="Deactivate a host's license and drop it from the cache",
            tag="licenses",
            scope="deactivate",
            replies=NO_CONTENT,
            params=(HOSTID, IDEMPOTENCY_KEY),
            problems=LAC_FAILURES,
            audit_action="deactivation",
        ),
        Endpoint(
            "GET",
            f"{LICENSE}/removal",
            get_removal,
            operation_id="getRemovalRequest",
            summary="Whether the vendor asked this host to remove its license",
            tag="licenses",
            scope="read",
            replies=(Reply(200, "the removal flag", RemovalStatus),),
            params=(HOSTID,),
            problems=LAC_FAILURES,
        ),
        Endpoint(
            "POST",
            f"{LICENSE}/removal/confirm",
            confirm_removal,
            operation_id="confirmRemoval",
            summary="Confirm the host removed its license file",
            tag="licenses",
            scope="deactivate",
            replies=NO_CONTENT,
            body=RemovalConfirmRequest,
            params=(IDEMPOTENCY_KEY,),
            problems=LAC_FAILURES,
            audit_action="removal",
        ),
        Endpoint(
            "GET",
            "/v1/orders/{activation_key}",
            get_order,
            operation_id="getOrder",
            summary="Summary of the license order",
            tag="orders",
            scope="read",
            replies=(Reply(200, "the order", OrderResponse),),
            problems=LAC_FAILURES,
        ),
        Endpoint(
            "GET",
            "/v1/admin/jobs",
            list_jobs,
            operation_id="listJobs",
            summary="Pending license generations",
            tag="admin",
            scope="admin",
            replies=(Reply(200, "jobs in flight", JobList),),
            params=(LIMIT_QUERY,),
            problems=(503,),
        ),
        *(
            Endpoint(
                method,
                "/v1/admin/cache/{activation_key}",
                purge_cache,
                operation_id=f"purgeCache{method.title()}",
                summary="Drop a host's cached license",
                tag="admin",
                scope="admin",
                replies=(Reply(200, "the purge outcome", PurgeResult),),
                params=(HOSTID, IDEMPOTENCY_KEY),
                problems=(503,),
            )
            for method in ("POST", "DELETE")
        ),
        Endpoint(
            "GET",
            "/v1/admin/audit",
            audit_log,
            operation_id="auditLog",
            summary="The audit trail of activations, deactivations and removals, newest first",
            tag="admin",
            scope="admin",
            replies=(Reply(200, "a page of audit events", AuditLog),),
            params=(AUDIT_LIMIT_QUERY, BEFORE_QUERY),
            problems=(503,),
        ),
        Endpoint(
            "GET",
            "/v1/admin/lac/counters",
            lac_counters,
            operation_id="lacCounters",
            summary="LAC activation counters of the vendor account",
            tag="admin",
            scope="admin",
            replies=(Reply(200, "the counters as LAC reports them", free_form=True),),
            problems=(502, 503, 504),
        ),
        Endpoint(
            "GET",
            WELL_KNOWN_PATH,
            signing_key_handler,
            operation_id="signingKey",
            summary="The public key that signs license answers (a JWK Set, Ed25519)",
            tag="operations",
            scope=None,
            replies=(Reply(200, "the JWK Set", free_form=True),),
        ),
        _operations("/healthz", healthz, "Liveness", Reply(200, "alive", Health)),
        _operations("/readyz", readyz, "Readiness", Reply(200, "ready", Readiness), (503,)),
        _operations("/metrics", metrics, "Prometheus metrics", TEXT_METRICS),
        _operations(
            "/openapi.json",
            openapi.document_handler,
            "This OpenAPI document",
            Reply(200, "OpenAPI 3.1", free_form=True),
        ),
        _operations(
            "/docs",
            openapi.docs_handler,
            "API documentation",
            Reply(200, "page", media="text/html"),
        ),
    )


def _operations(
    path: str, handler: Handler, summary: str, reply: Reply, problems: tuple[int, ...] = ()
) -> Endpoint:
    return Endpoint(
        "GET",
        path,
        handler,
        operation_id=path.strip("/").split(".")[0],
        summary=summary,
        tag="operations",
        scope=None,
        replies=(reply,),
        problems=problems,
    )


def setup_routes(app: web.Application) -> tuple[Endpoint, ...]:
    """Register every endpoint on ``app``; returns the table for the OpenAPI document."""
    table = endpoints()
    app[ENDPOINTS] = {(endpoint.method, endpoint.path): endpoint for endpoint in table}
    for endpoint in table:
        if endpoint.method == "GET":
            # GET routes answer HEAD too (RFC 9110 section 9.1); load balancers probe with it.
            app.router.add_get(endpoint.path, endpoint.handler, expect_handler=defer_continue)
        else:
            app.router.add_route(
                endpoint.method, endpoint.path, endpoint.handler, expect_handler=defer_continue
            )
    return table

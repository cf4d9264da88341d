"""The JSON API v1 and the operations routes: thin handlers (the route table: ``endpoints``)."""

from __future__ import annotations

import contextlib
import math
import re
from datetime import UTC, datetime

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from gateway import errors
from gateway.api.body import read_model
from gateway.api.keys import (
    ACTIVATION_SERVICE,
    ADMIN_SERVICE,
    LICENSE_SERVICE,
    METRICS,
    SETTINGS,
)
from gateway.api.middleware import ACTIVATION_KEY, caller_of, failed_activation_response
from gateway.api.negotiation import attachment, choose
from gateway.api.numbers import parse_count, parse_seconds
from gateway.api.prefer import wait_preference
from gateway.api.schemas import AuditEvent, AuditLog, Health, PurgeResult, Readiness
from gateway.api.spec import JSON
from gateway.hostids import is_activation_id
from gateway.models import (
    ActivationRequest,
    ActivationResponse,
    BatchRequest,
    JobList,
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
NEXT_CHECK_HEADER = "Next-Check-After"
TEXT, OCTETS = "text/plain", "application/octet-stream"
# The license route's representations, the default first: JSON, or the LM-X file itself.
LICENSE_MEDIA = (JSON, TEXT, OCTETS)


def cache_headers(result: ActivationResponse) -> dict[str, str]:
    """``Cache-Status`` (RFC 9211) and ``Next-Check-After`` for a license answer.

    Stale ones also carry ``Warning``.
    """
    if result.state != "ready" or result.source is None:
        return {}
    headers = {}
    if result.next_check_after is not None:
        headers[NEXT_CHECK_HEADER] = rfc3339(result.next_check_after)
    if result.source == "lac":
        return {**headers, "Cache-Status": f"{CACHE_NAME}; fwd=miss; stored"}
    if not result.stale:
        return {**headers, "Cache-Status": f"{CACHE_NAME}; hit"}
    # Served past its freshness because LAC could not be asked (stale-if-error).
    stale = {"Cache-Status": f"{CACHE_NAME}; hit; detail=stale", "Warning": STALE_WARNING}
    return {**headers, **stale}


def rfc3339(when: datetime) -> str:
    """``when`` in UTC as RFC 3339 with whole seconds, as the JSON body writes it."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        raise errors.NotFound(
            "no activation has this id: activation ids look like act_ followed by 26 letters "
            "and digits, as POST /v1/activations returns them",
            type_="unknown-activation",
        )
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
    """GET /v1/licenses/{activation_key}: JSON, or the license file itself (``Accept``)."""
    media = choose(request.headers.get("Accept"), LICENSE_MEDIA)
    if media is None:
        raise errors.NotAcceptable(
            "this route answers " + ", ".join(LICENSE_MEDIA) + "; the Accept header allows none"
        )
    key, hostids = request.match_info["activation_key"], hostids_of(request)
    result = await request.app[LICENSE_SERVICE].fetch(key, hostids)
    headers = {**cache_headers(result), "Vary": "Accept"}
    if media == JSON or result.license is None:
        return json_response(result, 200, headers)
    headers["Content-Disposition"] = attachment(result.license.filename)
    body = result.license.content.encode()
    charset = "utf-8" if media == TEXT else None
    return web.Response(body=body, content_type=media, charset=charset, headers=headers)


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


HEALTHY = Health().model_dump_json().encode()  # the same bytes every time: rendered once


async def healthz(request: web.Request) -> web.StreamResponse:
    """GET /healthz: the process is alive."""
    return web.Response(body=HEALTHY, content_type=JSON)


async def readyz(request: web.Request) -> web.StreamResponse:
    """GET /readyz: 200 when the gateway can serve, 503 problem otherwise."""
    checks = await request.app[ADMIN_SERVICE].ready()
    # "degraded": ready, working around part of LAC's API (checks.lac_api.reasons says what).
    status = "degraded" if checks.pop("status", None) == "degraded" else "ready"
    return json_response(Readiness(status=status, checks=checks))


async def metrics(request: web.Request) -> web.StreamResponse:
    """GET /metrics: Prometheus text exposition of the application's registry."""
    # Each scrape refreshes lacgw_redis_up: not every deployment probes /readyz. A failed probe
    # is what the gauge reports; the scrape itself still answers.
    with contextlib.suppress(Exception):
        await request.app[ADMIN_SERVICE].probe_redis()
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

"""Request middlewares: request id, access log and metrics, problem+json errors, API-key auth."""

from __future__ import annotations

import itertools
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable

import orjson
import structlog
from aiohttp import hdrs, web
from multidict import istr
from redis.exceptions import RedisError

from gateway import errors
from gateway.api.auth import Caller, bearer_token
from gateway.api.keys import ENDPOINTS, KEY_RING, LICENSE_SERVICE, METRICS, SETTINGS
from gateway.api.spec import Endpoint
from gateway.hostids import mask_key
from gateway.lac.base import LacError
from gateway.logs import info_line
from gateway.metrics import Metrics
from gateway.models import ActivationResponse
from gateway.settings import Scope

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# istr: header names looked up without case folding on every request
REQUEST_ID_HEADER = istr("X-Request-ID")
IDEMPOTENCY_HEADER = istr("Idempotency-Key")
PROBLEM_JSON = "application/problem+json"
AUTH_CHALLENGE = 'Bearer realm="lac-gateway"'
PROTECTED_PREFIX = "/v1/"
ADMIN_PREFIX = "/v1/admin/"
UNMATCHED_ROUTE = "unmatched"
SERVER_NAME = "lac-gateway"  # the Server header: no framework or Python version to fingerprint
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Headers of aiohttp's own HTTP errors that the problem response must keep.
_KEPT_HEADERS = (
    "Allow",
    "Retry-After",
    "WWW-Authenticate",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
)
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


class RequestIds:
    """New request ids: random per process, then counted (no random draw per request)."""

    def __init__(self) -> None:
        self.restart()
        os.register_at_fork(after_in_child=self.restart)  # workers must not share a prefix

    def restart(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.sequence = itertools.count()

    def new(self) -> str:
        return f"{self.prefix}{next(self.sequence):016x}"


_REQUEST_IDS = RequestIds()

REQUEST_ID = web.RequestKey("request_id", str)
CALLER = web.RequestKey("caller", Caller)
ACTIVATION_KEY = web.RequestKey("activation_key", str)
"""Set by handlers that learn the activation key from the body, for the access log."""

log = structlog.get_logger("gateway.api")


def request_id_for(request: web.BaseRequest) -> str:
    """The caller's ``X-Request-ID`` when it is sane, else a new one."""
    offered = request.headers.get(REQUEST_ID_HEADER)
    if offered is not None and _SANE_REQUEST_ID.fullmatch(offered):
        return offered
    return _REQUEST_IDS.new()


def _optional(request: web.BaseRequest, key: web.RequestKey[str]) -> str | None:
    value: str | None = request.get(key, None)
    return value


def route_template(request: web.Request) -> str:
    """The route the request matched, as a template: never the raw path with its keys."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


def finish_headers(request: web.BaseRequest, response: web.StreamResponse, request_id: str) -> None:
    """What every answer carries: ``X-Request-ID``, ``Server: lac-gateway`` without versions,
    and ``Connection: close`` after a request with an encoded body.

    Such a body may be answered before it is read (a refused key), and aiohttp's parser takes
    a coding error in it for broken framing: a client reusing the connection would wait on it.
    Products rarely encode their small bodies, so closing costs nothing. (Set here, by the
    middleware every answer passes, rather than in an ``on_response_prepare`` hook: aiohttp's
    signal costs each request more than the headers do. Parser refusals set their own.)
    """
    headers = response.headers
    headers[REQUEST_ID_HEADER] = request_id
    headers[hdrs.SERVER] = SERVER_NAME
    coding = request.headers.get(hdrs.CONTENT_ENCODING)
    if coding is not None and coding.strip().lower() not in ("", "identity"):
        headers["Connection"] = "close"
        response.force_close()


@web.middleware
async def context_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request id in, out and in every log line; one access-log line and metrics per request."""
    request_id = request_id_for(request)
    request[REQUEST_ID] = request_id
    started = time.perf_counter()
    status = 499  # what the access log says when the client went away mid-request
    # The client address rides along for every log line and the audit trail (service.shared).
    with structlog.contextvars.bound_contextvars(request_id=request_id, client=request.remote):
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # below 400 (the error middleware answers the rest)
            status = exc.status
            finish_headers(request, exc, request_id)
            raise
        else:
            status = response.status
            if not response.prepared:
                finish_headers(request, response, request_id)
            return response
        finally:
            observe_request(request, status, time.perf_counter() - started)


def observe_request(request: web.Request, status: int, elapsed: float) -> None:
    """Metrics and the access-log line of one answered request."""
    method = request.method if request.method in KNOWN_METHODS else "OTHER"
    caller = request.get(CALLER, None)
    key = request.match_info.get("activation_key") or _optional(request, ACTIVATION_KEY)
    settings = request.app[SETTINGS]
    record_answer(
        request.app[METRICS],
        settings.log.access_log,
        method,
        route_template(request),
        status,
        elapsed,
        client=request.remote,
        request_id=_optional(request, REQUEST_ID),
        caller=caller.name if caller is not None else None,
        masked_key=mask_key(key) if key else None,
    )


def record_answer(  # noqa: PLR0917 - the access line's fields
    metrics: Metrics,
    access_log: bool,
    method: str,
    route: str,
    status: int,
    elapsed: float,
    *,
    client: str | None,
    request_id: str | None,
    caller: str | None,
    masked_key: str | None,
) -> None:
    """Count an answer and write its access line (``access_log``), as the context middleware
    does for every request; the hot path, answering before the chain, knows the fields."""
    metrics.observe_http(method, route, status, elapsed)
    if not access_log:
        return
    values = (method, route, status, request_id, elapsed, client, caller, masked_key)
    if not info_line("http_request", access_fields, *values):  # no processor chain, same bytes
        log.info("http_request", **access_fields(*values))


def access_fields(  # noqa: PLR0917 - the access line's fields
    method: str,
    route: str,
    status: int,
    request_id: str | None,
    elapsed: float,
    client: str | None,
    caller: str | None,
    masked_key: str | None,
) -> dict[str, object]:
    """One request's access line: the route template, never the path; the key masked
    (``mask_key``)."""
    line: dict[str, object] = {"method": method, "route": route, "status": status}
    if request_id is not None:
        line["request_id"] = request_id
    line["duration_ms"] = int(elapsed * 100_000 + 0.5) / 100  # to 1/100 ms, cheaper than round()
    if client is not None:
        line["client"] = client
    if caller is not None:
        line["caller"] = caller
    if masked_key is not None:
        line["activation_key"] = masked_key
    return line


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as problem+json: GatewayError as it says, aiohttp's errors, others 500."""
    try:
        return await handler(request)
    except errors.GatewayError as exc:
        return problem_response(request, exc)
    except LacError as exc:
        # The service maps LAC failures itself; one that slips through is still LAC's answer
        # (an outage, a rejection), not a bug in the caller's request, so it keeps its code.
        log.warning("unmapped_lac_error", route=route_template(request), code=exc.code)
        return problem_response(request, errors.lac_problem(exc.code, exc.message))
    except RedisError as exc:
        # Redis away or refusing (out of memory, read-only, loading): the request cannot be
        # served safely now, but may be in a moment. An outage, not a bug: no traceback, and
        # never the error's message, which can quote the command and its keys.
        log.warning(
            "redis_unavailable",
            route=route_template(request),
            error=type(exc).__name__,
            redis_code=errors.redis_code(exc),
        )
        return problem_response(request, errors.redis_unavailable(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kept = {name: exc.headers[name] for name in _KEPT_HEADERS if name in exc.headers}
        return problem_response(request, _from_http(exc), kept)
    except Exception:
        # The one place that turns surprises into a bare 500; the traceback goes to the log only.
        log.exception("unhandled_error", route=route_template(request))
        internal = errors.GatewayError(500, "Internal server error", type_="internal-error")
        return problem_response(request, internal)


def _from_http(exc: web.HTTPException) -> errors.GatewayError:
    if exc.status == 404:
        return errors.NotFound("no such route")
    if exc.status == 405:
        detail = (
            f"{exc.method} is not allowed here" if isinstance(exc, web.HTTPMethodNotAllowed) else ""
        )
        return errors.GatewayError(405, "Method not allowed", detail, type_="method-not-allowed")
    if exc.status == 413:
        return errors.PayloadTooLarge("the request body is too large")
    # Others come from aiohttp's request parsing (bad headers, bad multipart): the caller's doing.
    return errors.GatewayError(exc.status, exc.reason, type_="http-error")


def problem_response(
    request: web.BaseRequest, err: errors.GatewayError, headers: dict[str, str] | None = None
) -> web.Response:
    """The application/problem+json response for ``err``."""
    body = errors.problem_body(
        err, request_id=_optional(request, REQUEST_ID), instance=request.path
    )
    all_headers = {**(headers or {}), **err.headers()}
    if err.status == 401:
        all_headers.setdefault("WWW-Authenticate", AUTH_CHALLENGE)
    return web.Response(
        status=err.status,
        body=orjson.dumps(body),
        content_type=PROBLEM_JSON,
        headers=all_headers,
    )


def failed_activation_response(request: web.Request, result: ActivationResponse) -> web.Response:
    """A failed activation as the problem+json its error describes."""
    if result.error is None or result.error.status < 400:
        # A failure without a usable status is the upstream's fault as far as the caller knows.
        err = errors.GatewayError(502, "Activation failed", type_="activation-failed")
        return problem_response(request, err)
    body = result.error.model_dump(mode="json")
    body["instance"] = request.path
    request_id = _optional(request, REQUEST_ID)
    if request_id is not None:
        body["request_id"] = request_id
    return web.Response(
        status=result.error.status, body=orjson.dumps(body), content_type=PROBLEM_JSON
    )


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``/v1`` needs a known ``Authorization: Bearer`` key holding the route's scope."""
    # Both the path and the matched template are checked, so no spelling of a path that still
    # reaches a /v1 handler can step around the check.
    where = (request.path + "/", route_template(request) + "/")
    if not any(place.startswith(PROTECTED_PREFIX) for place in where):
        return await handler(request)
    if bearer_token(request.headers.get(hdrs.AUTHORIZATION)) is None:
        raise errors.Unauthorized("send Authorization: Bearer <API key>")
    caller = identify(request)
    if caller is None:
        raise errors.Unauthorized("the API key is not known")
    request[CALLER] = caller
    if any(place.startswith(ADMIN_PREFIX) for place in where) and not caller.admin:
        raise missing_scope("admin")
    await check_scope(request, caller)
    return await handler(request)


def missing_scope(scope: Scope) -> errors.Forbidden:
    """The 403 for a key that lacks ``scope``."""
    return errors.Forbidden(
        f"this route needs an API key with the {scope} scope", type_="missing-scope"
    )


def endpoint_of(request: web.Request) -> Endpoint | None:
    """The table entry of the route the request matched; None for an unmatched path."""
    route = request.match_info.route
    if route.resource is None:
        return None
    method = "GET" if route.method == "HEAD" else route.method  # add_get serves HEAD too
    return request.app[ENDPOINTS].get((method, route.resource.canonical))


async def check_scope(request: web.Request, caller: Caller) -> None:
    """Forbidden unless the caller's key holds the route's scope; audited where it says."""
    endpoint = endpoint_of(request)
    if endpoint is None or endpoint.scope is None or caller.allows(endpoint.scope):
        return
    if endpoint.audit_action is not None:
        # The body is not read for a refusal: the trail gets the HostIDs of the query, if any.
        await request.app[LICENSE_SERVICE].record_refusal(
            endpoint.audit_action,
            request.match_info.get("activation_key", ""),
            request.query.getall("hostid", []),
            caller.name,
        )
    raise missing_scope(endpoint.scope)


def identify(request: web.Request) -> Caller | None:
    """The caller whose API key the request bears, if any (the key ring remembers accepted
    keys, so asking again costs a lookup)."""
    return request.app[KEY_RING].bearer(request.headers.get(hdrs.AUTHORIZATION))


def caller_of(request: web.Request) -> Caller:
    """The authenticated caller; only routes under the auth middleware have one."""
    if CALLER not in request:
        raise errors.Unauthorized("send Authorization: Bearer <API key>")
    return request[CALLER]

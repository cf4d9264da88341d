"""The hot path: a cache hit or a probe answered in one function, before the middleware chain.

A fleet's traffic is mostly re-reads of licenses held here (``GET /v1/licenses/{key}``, a
repeated ``POST /v1/activations``) and probes (``/healthz``). Through the chain each passes
eight middlewares and a handler. This outermost middleware answers those whose answer is already
known (and ``FrontDoor``, the server's handler, answers ``GET /healthz`` before routing), doing
for them what the chain does and nothing else, in the chain's order: the size and header
checks, the API key and its scope, the rate limit (``RateLimit-*`` and 429), the rendered
answer (ETag, 304, signature), ``X-Request-ID``, metrics and the access line; the same
functions do each step on both paths.

Whatever it cannot answer as the chain would (a refusal, an unknown key, a miss, a body it
should not read early) goes down the chain untouched: nothing is counted or read before the
answer is known to be here, so nothing happens twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import hdrs, web
from redis.exceptions import RedisError

from gateway import errors
from gateway.api.auth import Caller
from gateway.api.body import read_body
from gateway.api.keys import LICENSE_SERVICE, SETTINGS, ServerHandler
from gateway.api.limits import count_request, request_refusal
from gateway.api.middleware import (
    CALLER,
    REQUEST_ID,
    Handler,
    finish_headers,
    identify,
    problem_response,
    record_answer,
    request_id_for,
    route_template,
)
from gateway.api.rendered import (
    ACTIVATIONS_ROUTE,
    LICENSE_ROUTE,
    Lapsed,
    Rendered,
    activation_hit,
    answer,
    license_hit,
)
from gateway.api.routes import HEALTHY
from gateway.api.spec import JSON
from gateway.settings import Scope

HEALTH_ROUTE = "/healthz"


class FrontDoor:
    """The server's request handler: ``GET /healthz`` (no query) answered before aiohttp routes
    it, everything else handed to the application.

    Liveness probes come every few seconds from every orchestrator; routing and middleware
    machinery cost more than their answer. ``GatewayRunner`` puts it before the application
    (``front_door``, under ``FRONT_DOOR``), only where the hot path is the application's
    outermost middleware: nothing (tracing, a trusted proxy's address) is then skipped that
    the chain would do first.
    """

    def __init__(self, app: web.Application, handle: ServerHandler) -> None:
        self._app = app
        self._handle = handle

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        """The probe's answer, or the application's."""
        if request.method != "GET" or request.raw_path != HEALTH_ROUTE:
            return await self._handle(request)
        return _probe(self._app, request, time.perf_counter()) or await self._handle(request)


def front_door(app: web.Application, handle: ServerHandler) -> ServerHandler:
    """``FrontDoor`` before ``handle`` (the application's) when the hot path comes first."""
    first = app.middlewares[0] if app.middlewares else None
    return FrontDoor(app, handle) if first is hot_path_middleware else handle


def _probe(app: web.Application, request: web.BaseRequest, started: float) -> web.Response | None:
    """``/healthz``'s answer as the chain gives it; None when the request is refused (the chain
    answers that)."""
    if request_refusal(request, app[SETTINGS].limits) is not None:
        return None
    request_id = request[REQUEST_ID] = request_id_for(request)
    response = web.Response(body=HEALTHY, content_type=JSON)
    return _finish(app, request, HEALTH_ROUTE, response, started, request_id, None, None)


@web.middleware
async def hot_path_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer a fresh cache hit or ``/healthz`` here; anything else goes down the chain."""
    started = time.perf_counter()
    method, route = request.method, route_template(request)
    if method == "GET" and route == HEALTH_ROUTE:
        return _probe(request.app, request, started) or await handler(request)
    if method == "GET" and route == LICENSE_ROUTE:
        found = await _license(request)
    elif method == "POST" and route == ACTIVATIONS_ROUTE:
        found = await _activation(request)
    else:
        return await handler(request)
    if found is None:
        return await handler(request)
    caller, kept = found
    request[CALLER] = caller
    request_id = request[REQUEST_ID] = request_id_for(request)  # a 429's body names it too
    is_read = route == LICENSE_ROUTE
    response = await _rendered(request, kept, tagged=is_read)
    key = request.match_info["activation_key"] if is_read else kept.activation_key
    return _finish(request.app, request, route, response, started, request_id, caller.name, key)


async def _rendered(request: web.Request, kept: Rendered, *, tagged: bool) -> web.Response:
    """The kept answer with its ``RateLimit-*`` headers, or the 429 once over the limit."""
    counted = await count_request(request)
    if counted is None:
        return answer(request, kept, tagged=tagged)
    headers, limited = counted
    if limited is not None:
        return problem_response(request, limited, headers)
    response = answer(request, kept, tagged=tagged)
    response.headers.update(headers)
    return response


def _allowed(request: web.Request, scope: Scope) -> Caller | None:
    """The caller, when the request passes the checks before its route: sizes, headers, key
    and scope."""
    if request_refusal(request, request.app[SETTINGS].limits) is not None:
        return None
    caller = identify(request)
    return caller if caller is not None and caller.allows(scope) else None


async def _license(request: web.Request) -> tuple[Caller, Rendered] | None:
    caller = _allowed(request, "read")
    if caller is None:
        return None
    kept = await _confirmed(request, lambda: license_hit(request))
    return (caller, kept) if kept is not None else None


async def _confirmed(
    request: web.Request, lookup: Callable[[], Rendered | Lapsed | None]
) -> Rendered | None:
    """What ``lookup`` finds; for a lapsed near-cache entry, once Redis confirmed it."""
    found = lookup()
    if not isinstance(found, Lapsed):
        return found
    try:
        held = await request.app[LICENSE_SERVICE].still_held(found.aid, found.record)
    except RedisError:
        return None  # the chain answers as it does while Redis is away
    again = lookup() if held else None
    return again if isinstance(again, Rendered) else None


async def _activation(request: web.Request) -> tuple[Caller, Rendered] | None:
    headers = request.headers
    limit = request.app[SETTINGS].http.max_body_bytes
    length = request.content_length
    if (
        length is None  # chunked: its size is known once read
        or length > limit
        or hdrs.EXPECT in headers  # the caller waits to hear the checks passed
        or hdrs.CONTENT_ENCODING in headers
    ):
        return None
    caller = _allowed(request, "activate")
    if caller is None:
        return None
    try:
        raw = await read_body(request, limit)
    except errors.GatewayError:
        return None  # the chain meets the same failure and answers it
    kept = await _confirmed(request, lambda: activation_hit(request, raw))
    return (caller, kept) if kept is not None else None


def _finish(  # noqa: PLR0917 - the access line's fields
    app: web.Application,
    request: web.BaseRequest,
    route: str,
    response: web.Response,
    started: float,
    request_id: str,
    caller: str | None,
    activation_key: str | None,
) -> web.Response:
    """The request id and server on the answer; metrics and the access line, as the context
    middleware does."""
    finish_headers(request, response, request_id)
    elapsed = time.perf_counter() - started
    record_answer(
        app,
        request.method,
        route,
        response.status,
        elapsed,
        client=request.remote,
        request_id=request_id,
        caller=caller,
        activation_key=activation_key,
    )
    return response

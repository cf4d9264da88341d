"""The hot path: a cache hit or a probe answered in one function, before routing and the chain.

A fleet's traffic is mostly re-reads of licenses held here (``GET /v1/licenses/{key}``, a
repeated ``POST /v1/activations``) and probes (``/healthz``). Through the chain each is routed,
then passes eight middlewares and a handler. ``HotPath`` answers those whose answer is already
known, doing for them what the chain does and nothing else, in the chain's order: the size and
header checks, the API key and its scope, the rate limit (``RateLimit-*`` and 429), the rendered
answer (ETag, 304, signature), ``X-Request-ID``, metrics and the access line; the same
functions do each step on both paths. It reads the application's objects once, when the
application has started, rather than through the request for every answer.

``FrontDoor``, the server's handler, asks it before aiohttp routes the request: a license read
is known by its kept variant (its target and ``Accept`` were routed to the license route when
the answer was kept), an activation by its exact target. Where the front door is not in place
(a middleware must see every request first: tracing, trusted proxies), the outermost
middleware asks it instead, after routing.

Whatever it cannot answer as the chain would (a refusal, an unknown key, a miss, a body it
should not read early) goes on to the application untouched: nothing is counted or read before
the answer is known to be here, so nothing happens twice.
"""

from __future__ import annotations

import time

from aiohttp import hdrs, web
from redis.exceptions import RedisError

from gateway import errors
from gateway.api.auth import Caller, KeyRing
from gateway.api.body import read_body
from gateway.api.keys import (
    HOT_PATH,
    KEY_RING,
    LICENSE_SERVICE,
    METRICS,
    NEAR_CACHE,
    RATE_LIMITER,
    RENDERED,
    SETTINGS,
    SIGNER,
    ServerHandler,
)
from gateway.api.limits import count_in, key_scope, request_refusal
from gateway.api.middleware import (
    IDEMPOTENCY_HEADER,
    REQUEST_ID,
    Handler,
    finish_headers,
    problem_response,
    record_answer,
    request_id_for,
    route_template,
)
from gateway.api.ports import Licenses
from gateway.api.ratelimit import RateLimiter
from gateway.api.rendered import (
    ACTIVATIONS_ROUTE,
    LICENSE_ROUTE,
    Lapsed,
    Rendered,
    RenderedCache,
    Variant,
    activation_variant,
    answer,
    kept,
    read_variant,
)
from gateway.api.routes import HEALTHY
from gateway.api.signing import Signer
from gateway.api.spec import JSON
from gateway.metrics import Metrics
from gateway.nearcache import NearCache
from gateway.settings import LimitSettings, Scope
from gateway.store.licenses import LicenseRecord

HEALTH_ROUTE = "/healthz"


class HotPath:
    """Answers cache hits and probes of one application, with its objects looked up once.

    ``start`` (an ``on_startup`` hook, after the services exist) binds them; until then, and
    where the near cache is off, nothing is a hit.
    """

    def __init__(self, app: web.Application) -> None:
        self.fronted = False  # FrontDoor asks first: the middleware then passes every request
        settings = app[SETTINGS]
        self._limits: LimitSettings = settings.limits
        self._max_body = settings.http.max_body_bytes
        self._reuse = settings.signing.reuse_seconds
        self._access_log = settings.log.access_log
        self._metrics: Metrics = app[METRICS]
        self._keys: KeyRing = app[KEY_RING]
        self._signer: Signer = app[SIGNER]
        self._rendered: RenderedCache | None = None
        self._near: NearCache[LicenseRecord] | None = None
        self._limiter: RateLimiter | None = None
        self._licenses: Licenses | None = None

    async def start(self, app: web.Application) -> None:
        """Bind the objects the application's startup made (``on_startup``)."""
        self._rendered, self._near = app.get(RENDERED), app.get(NEAR_CACHE)
        self._limiter = app.get(RATE_LIMITER) if self._limits.enabled else None
        self._licenses = app.get(LICENSE_SERVICE)

    def probe(self, request: web.BaseRequest, started: float) -> web.Response | None:
        """``/healthz``'s answer as the chain gives it; None when the request is refused."""
        if request_refusal(request, self._limits) is not None:
            return None
        response = web.Response(body=HEALTHY, content_type=JSON)
        return self._finish(request, HEALTH_ROUTE, response, started, request_id_for(request))

    async def read(self, request: web.BaseRequest, started: float) -> web.Response | None:
        """The answer to a license read (``GET``) kept for its variant; None: not a hit."""
        cache = self._rendered
        if cache is None:
            return None
        variant = read_variant(request)
        aid = cache.aid_of(variant)  # kept before: its route, key and HostIDs are known
        if aid is None or hdrs.EXPECT in request.headers:
            return None
        caller = self._allowed(request, "read")
        if caller is None:
            return None
        found = await self._confirmed(cache, aid, variant)
        if found is None:
            return None
        return await self._answer(request, LICENSE_ROUTE, found, caller, started, tagged=True)

    async def activate(self, request: web.BaseRequest, started: float) -> web.Response | None:
        """The answer kept for an activation's body (``POST``); None: not a hit."""
        cache = self._rendered
        headers = request.headers
        length = request.content_length
        if (
            cache is None
            or length is None  # chunked: its size is known once read
            or length > self._max_body
            or hdrs.EXPECT in headers  # the caller waits to hear the checks passed
            or hdrs.CONTENT_ENCODING in headers
            or IDEMPOTENCY_HEADER in headers  # the idempotency middleware's to answer
        ):
            return None
        caller = self._allowed(request, "activate")
        if caller is None:
            return None
        try:
            raw = await read_body(request, self._max_body)
        except errors.GatewayError:
            return None  # the chain meets the same failure and answers it
        variant = activation_variant(request, raw)
        aid = cache.aid_of(variant)
        found = await self._confirmed(cache, aid, variant) if aid is not None else None
        if found is None:
            return None
        return await self._answer(request, ACTIVATIONS_ROUTE, found, caller, started, tagged=False)

    def _allowed(self, request: web.BaseRequest, scope: Scope) -> Caller | None:
        """The caller, when the request passes the checks before its route: sizes, headers, key
        and scope."""
        if request_refusal(request, self._limits) is not None:
            return None
        caller = self._keys.bearer(request.headers.get(hdrs.AUTHORIZATION))
        return caller if caller is not None and caller.allows(scope) else None

    async def _confirmed(self, cache: RenderedCache, aid: str, variant: Variant) -> Rendered | None:
        """The kept answer; for a lapsed near-cache entry, once Redis confirmed it."""
        near = self._near
        if near is None:
            return None
        found = kept(cache, near, aid, variant)
        if not isinstance(found, Lapsed):
            return found
        if self._licenses is None:
            return None
        try:
            held = await self._licenses.still_held(found.aid, found.record)
        except RedisError:
            return None  # the chain answers as it does while Redis is away
        again = kept(cache, near, aid, variant) if held else None
        return again if isinstance(again, Rendered) else None

    async def _answer(
        self,
        request: web.BaseRequest,
        route: str,
        found: Rendered,
        caller: Caller,
        started: float,
        *,
        tagged: bool,
    ) -> web.Response:
        """The kept answer with its ``RateLimit-*`` headers, or the 429 once over the limit."""
        limiter, limits = self._limiter, self._limits
        counted = (
            await count_in(limiter, limits, key_scope(caller), limits.per_key)
            if limiter is not None
            else None
        )
        headers, limited = counted if counted is not None else (None, None)
        request_id = request_id_for(request)
        if limited is not None:
            request[REQUEST_ID] = request_id  # the problem's body names it
            response = problem_response(request, limited, headers)
        else:
            response = answer(request, found, self._signer, self._reuse, tagged=tagged)
            if headers is not None:
                response.headers.update(headers)
        masked = found.masked_key
        return self._finish(request, route, response, started, request_id, caller.name, masked)

    def _finish(  # noqa: PLR0917 - the access line's fields
        self,
        request: web.BaseRequest,
        route: str,
        response: web.Response,
        started: float,
        request_id: str,
        caller: str | None = None,
        masked_key: str | None = None,
    ) -> web.Response:
        """The request id and server on the answer; metrics and the access line, as the
        context middleware does."""
        finish_headers(request, response, request_id)
        record_answer(
            self._metrics,
            self._access_log,
            request.method,
            route,
            response.status,
            time.perf_counter() - started,
            client=request.remote,
            request_id=request_id,
            caller=caller,
            masked_key=masked_key,
        )
        return response


def install(app: web.Application) -> None:
    """``app``'s hot path under ``HOT_PATH``, bound when the application starts (``setup_api``
    calls it, with ``hot_path_middleware`` the outermost middleware)."""
    hot = app[HOT_PATH] = HotPath(app)
    app.on_startup.append(hot.start)


class FrontDoor:
    """The server's request handler: hits and probes answered before aiohttp routes them,
    everything else handed to the application.

    Routing and the middleware machinery cost more than a kept answer. ``GatewayRunner`` puts
    it before the application (``front_door``, under ``FRONT_DOOR``), only where the hot path
    is the application's outermost middleware: nothing (tracing, a trusted proxy's address) is
    then skipped that the chain would do first. A ``POST`` whose target is spelled otherwise
    (a query string) is routed and answered by the chain.
    """

    def __init__(self, hot: HotPath, handle: ServerHandler) -> None:
        self._hot = hot
        self._handle = handle
        hot.fronted = True

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        """The hot path's answer, or the application's."""
        method = request.method
        if method == "GET":
            started = time.perf_counter()
            if request.raw_path == HEALTH_ROUTE:
                answered = self._hot.probe(request, started)
            else:
                answered = await self._hot.read(request, started)
        elif method == "POST" and request.raw_path == ACTIVATIONS_ROUTE:
            answered = await self._hot.activate(request, time.perf_counter())
        else:
            return await self._handle(request)
        return answered or await self._handle(request)


def front_door(app: web.Application, handle: ServerHandler) -> ServerHandler:
    """``FrontDoor`` before ``handle`` (the application's) when the hot path comes first."""
    first = app.middlewares[0] if app.middlewares else None
    return FrontDoor(app[HOT_PATH], handle) if first is hot_path_middleware else handle


@web.middleware
async def hot_path_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Without the front door: answer a fresh cache hit or ``/healthz`` here, once routed."""
    hot = request.app[HOT_PATH]
    if hot.fronted:
        return await handler(request)  # asked before routing already
    started = time.perf_counter()
    method, route = request.method, route_template(request)
    if method == "GET" and route == HEALTH_ROUTE:
        answered = hot.probe(request, started)
    elif method == "GET" and route == LICENSE_ROUTE:
        answered = await hot.read(request, started)
    elif method == "POST" and route == ACTIVATIONS_ROUTE:
        answered = await hot.activate(request, started)
    else:
        return await handler(request)
    return answered or await handler(request)

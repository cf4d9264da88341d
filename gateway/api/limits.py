"""Request limits: path and header sizes, and per-caller rate limits shared through Redis.

A caller with a known API key is counted under its key's name, anyone else under the client
address; an application without ``app[RATE_LIMITER]`` does not limit. Probes and scrapes
(``/healthz``, ``/readyz``, ``/metrics``) are never limited: a limiter must not take a replica
out of rotation. While Redis does not answer, requests pass unlimited; whatever they need from
Redis then answers 503 by itself.
"""

from __future__ import annotations

import functools
import math

import structlog
from aiohttp import hdrs, web
from multidict import istr
from redis.exceptions import RedisError

from gateway import errors
from gateway.api.auth import Caller
from gateway.api.keys import RATE_LIMITER, SETTINGS
from gateway.api.middleware import (
    IDEMPOTENCY_HEADER,
    Handler,
    identify,
    problem_response,
)
from gateway.api.ratelimit import RateLimiter
from gateway.settings import LimitSettings

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Headers that name one thing: two copies would leave it to chance which one counts.
SINGLE_HEADERS = (hdrs.AUTHORIZATION, IDEMPOTENCY_HEADER)

log = structlog.get_logger("gateway.api")


def _header_bytes(request: web.BaseRequest) -> int:
    total = 0
    for name, value in request.raw_headers:  # a loop: a generator costs more than the sum
        total += len(name) + len(value)
    return total


@web.middleware
async def size_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """414 for an over-long target, 431 for over-large headers, 400/417 for bad ones, first."""
    refusal = request_refusal(request, request.app[SETTINGS].limits)
    if refusal is not None:
        raise refusal
    return await handler(request)


def request_refusal(request: web.BaseRequest, limits: LimitSettings) -> errors.GatewayError | None:
    """Why the request's target or headers are refused before anything else; None: they pass."""
    if len(request.raw_path) > limits.max_path_chars:
        return errors.GatewayError(
            414,
            "URI too long",
            f"the request target is limited to {limits.max_path_chars} characters",
            type_="uri-too-long",
        )
    if _header_bytes(request) > limits.max_header_bytes:
        return errors.GatewayError(
            431,
            "Request header fields too large",
            f"headers are limited to {limits.max_header_bytes} bytes in all",
            type_="headers-too-large",
        )
    return _header_refusal(request)


def _header_refusal(request: web.BaseRequest) -> errors.GatewayError | None:
    headers = request.headers
    for name in SINGLE_HEADERS:
        if len(headers.getall(name, ())) > 1:
            return errors.BadRequest(
                f"send one {name} header, not several", type_="repeated-header"
            )
    expect = headers.get(hdrs.EXPECT)
    if expect is not None and expect.lower() != "100-continue":
        return errors.GatewayError(
            417,
            "Expectation failed",
            "only Expect: 100-continue is supported",
            type_="expectation-failed",
        )
    return None


def scope_of(request: web.Request) -> tuple[str, bool]:
    """(the rate-limit scope, whether it is an API key) of a request."""
    caller = identify(request)  # the auth middleware comes after the rate limit
    if caller is not None:
        return key_scope(caller), True
    return f"ip:{request.remote or 'unknown'}", False


def key_scope(caller: Caller) -> str:
    """The rate-limit scope of a caller with a known API key."""
    return f"key:{caller.name}"


@functools.lru_cache(maxsize=64)
def _policy(limit: int, window: float) -> tuple[str, str]:
    """``RateLimit-Limit`` and ``RateLimit-Policy`` of a limit: the same on every answer."""
    return str(limit), f"{limit};w={math.ceil(window)}"


RATELIMIT_LIMIT = istr("RateLimit-Limit")
RATELIMIT_REMAINING = istr("RateLimit-Remaining")
RATELIMIT_RESET = istr("RateLimit-Reset")
RATELIMIT_POLICY = istr("RateLimit-Policy")


def rate_headers(limit: int, used: int, reset: float, window: float) -> dict[str, str]:
    """The ``RateLimit-*`` headers (IETF httpapi draft) for one window."""
    stated, policy = _policy(limit, window)
    return {
        RATELIMIT_LIMIT: stated,
        RATELIMIT_REMAINING: str(max(0, limit - used)),
        RATELIMIT_RESET: str(max(0, math.ceil(reset))),
        RATELIMIT_POLICY: policy,
    }


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """429 with ``Retry-After`` over the caller's limit; ``RateLimit-*`` headers on answers."""
    counted = await count_request(request)
    if counted is None:
        return await handler(request)
    headers, limited = counted
    if limited is not None:
        return problem_response(request, limited, headers)
    try:
        response = await handler(request)
    except errors.GatewayError as exc:
        # Rendered here rather than by the error middleware, so refusals carry the headers too.
        return problem_response(request, exc, headers)
    except web.HTTPException as exc:
        exc.headers.update(headers)  # unknown routes and methods: the error middleware keeps them
        raise
    if not response.prepared:
        response.headers.update(headers)
    return response


async def count_request(
    request: web.Request,
) -> tuple[dict[str, str], errors.RateLimited | None] | None:
    """Count the request against its caller's limit: its ``RateLimit-*`` headers, and the 429
    when it is over. None: not limited (limits off, a probe, or Redis not answering)."""
    limits: LimitSettings = request.app[SETTINGS].limits
    limiter = request.app.get(RATE_LIMITER)
    if limiter is None or not limits.enabled or request.path in UNLIMITED_PATHS:
        return None
    scope, keyed = scope_of(request)
    return await count_in(limiter, limits, scope, limits.per_key if keyed else limits.per_ip)


async def count_in(
    limiter: RateLimiter, limits: LimitSettings, scope: str, limit: int
) -> tuple[dict[str, str], errors.RateLimited | None] | None:
    """``count_request`` for a request whose scope and limit are known (limits on)."""
    try:  # most requests are counted here, with no Redis answer to await
        used, reset = limiter.hit_here(scope, limit, limits.window) or await limiter.hit_in_redis(
            scope, limits.window
        )
    except RedisError as exc:
        log.debug("rate_limit_skipped", error=type(exc).__name__)
        return None
    headers = rate_headers(limit, used, reset, limits.window)
    if used <= limit:
        return headers, None
    retry = max(1, math.ceil(reset))
    limited = errors.RateLimited(
        f"at most {limit} requests per {limits.window:g} s", retry_after=retry
    )
    return headers, limited

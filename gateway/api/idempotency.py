"""``Idempotency-Key`` on POST and DELETE (IETF httpapi draft): stored answers are replayed.

Scope is the caller's API key name; the fingerprint covers method, path, query and body. Only
successful (2xx) answers are kept: a failed request releases its key, so the client may retry
with the same key once the cause is fixed.
"""

from __future__ import annotations

import hashlib
import re

import structlog
from aiohttp import web
from redis.exceptions import RedisError

from gateway import errors
from gateway.api.body import read_body
from gateway.api.keys import IDEMPOTENCY_STORE, SETTINGS
from gateway.api.middleware import CALLER, IDEMPOTENCY_HEADER, Handler
from gateway.store.idempotency import IdemKind, StoredResponse

REPLAYED_HEADER = "Idempotent-Replayed"
METHODS = frozenset({"POST", "DELETE"})
KEPT_HEADERS = ("Content-Type", "Location", "Retry-After", "Preference-Applied")
IN_PROGRESS_RETRY_AFTER = 1
# The draft makes the key a structured-field string; a bare token is accepted as well.
_KEY = re.compile(r'"([\x21\x23-\x7e]{1,255})"|([\x21\x23-\x7e]{1,255})')

log = structlog.get_logger("gateway.api")


def idempotency_key(raw: str) -> str:
    """The key of an ``Idempotency-Key`` header; 400 when it is not 1-255 visible characters."""
    match = _KEY.fullmatch(raw.strip())
    if match is None:
        raise errors.BadRequest(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
            type_="idempotency-key-invalid",
        )
    return match.group(1) or match.group(2)


def fingerprint(method: str, path_qs: str, body: bytes) -> str:
    """SHA-256 of what makes two requests "the same request"."""
    digest = hashlib.sha256()
    for part in (method.encode(), path_qs.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def replay(stored: StoredResponse) -> web.Response:
    """The stored answer, as it was first given."""
    headers = {name: value for name, value in stored.headers.items() if name in KEPT_HEADERS}
    headers[REPLAYED_HEADER] = "true"
    return web.Response(status=stored.status, body=stored.body or None, headers=headers)


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Replay, refuse or record requests that carry an Idempotency-Key."""
    raw_key = request.headers.get(IDEMPOTENCY_HEADER)
    if raw_key is None or request.method not in METHODS or CALLER not in request:
        return await handler(request)
    caller = request[CALLER]
    key = idempotency_key(raw_key)
    body = await read_body(request, request.app[SETTINGS].http.max_body_bytes)
    print_ = fingerprint(request.method, request.path_qs, body)
    store = request.app[IDEMPOTENCY_STORE]
    try:
        state = await store.begin_idempotent(caller.name, key, print_)
    except (RedisError, OSError) as exc:
        raise _unavailable() from exc
    if state.kind is IdemKind.DONE and state.response is not None:
        return replay(state.response)
    if state.kind is IdemKind.MISMATCH:
        raise errors.InvalidInput(
            "this Idempotency-Key was used with a different request",
            type_="idempotency-key-mismatch",
        )
    if state.kind is not IdemKind.NEW:
        raise errors.Conflict(
            "a request with this Idempotency-Key is still in progress",
            type_="idempotency-key-in-progress",
            retry_after=IN_PROGRESS_RETRY_AFTER,
        )
    return await _first_time(request, handler, key, print_)


async def _first_time(
    request: web.Request, handler: Handler, key: str, print_: str
) -> web.StreamResponse:
    store, scope = request.app[IDEMPOTENCY_STORE], request[CALLER].name
    try:
        response = await handler(request)
    except BaseException:
        await _abandon(request, scope, key)
        raise
    if not (200 <= response.status < 300 and isinstance(response, web.Response)):
        await _abandon(request, scope, key)
        return response
    body = response.body if isinstance(response.body, bytes) else b""
    headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
    try:
        await store.complete_idempotent(scope, key, print_, response.status, body, headers)
    except (RedisError, OSError):
        # The answer itself is good: give it, and let the key's lock expire on its own.
        log.warning("idempotency_store_failed", op="complete")
    return response


async def _abandon(request: web.Request, scope: str, key: str) -> None:
    try:
        await request.app[IDEMPOTENCY_STORE].abandon_idempotent(scope, key)
    except (RedisError, OSError):
        log.warning("idempotency_store_failed", op="abandon")


def _unavailable() -> errors.ServiceUnavailable:
    return errors.ServiceUnavailable(
        "idempotency records cannot be reached", retry_after=IN_PROGRESS_RETRY_AFTER
    )

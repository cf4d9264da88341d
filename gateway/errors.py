"""The gateway's one exception tree and its RFC 9457 problem+json rendering.

Everything the gateway tells a caller about a failure is a ``GatewayError``; one middleware turns
it into an ``application/problem+json`` body with ``problem_body``::

    GatewayError                 status, title, detail, type slug, LAC code/name, Retry-After
    ├── BadRequest               400  malformed request (not JSON, bad query string)
    ├── Unauthorized             401  missing or unknown API key
    ├── Forbidden                403  key lacks the scope, or did not activate the license
    ├── NotFound                 404  unknown route, activation or license
    ├── Conflict                 409  state conflict (idempotency key in use)
    ├── PayloadTooLarge          413  body over the configured limit
    ├── UnsupportedEncoding      415  a Content-Encoding other than gzip or deflate
    ├── InvalidInput             422  well-formed but invalid; ``errors`` names each field
    ├── RateLimited              429  per-client limit; always carries Retry-After
    ├── ClientGone               499  the caller hung up mid-request (counted, never sent)
    ├── LacRequestRefused        502  LAC refused the request's shape (SOAP ``Client`` fault):
    │                                 the gateway's configuration, not the caller's input
    ├── ServiceUnavailable       503  the gateway itself cannot serve (Redis down, draining);
    │                                 every redis-py RedisError becomes one (``redis_unavailable``)
    └── LacProblem               any  what LAC said, mapped through the code table
                                      (``lac_problem``; lac-api.md section 7)

Bodies carry only what the caller may see: no passwords, tokens or license text.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    ClusterDownError,
    MasterDownError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from gateway.codes import Code, CodeClass, lookup
from gateway.problems import PROBLEM_PATH, problem_types

PROBLEM_TYPE_BASE = PROBLEM_PATH
"""Problem types are absolute paths (``/problems/{slug}``) that the gateway itself serves."""

RETRY_AFTER_SECONDS = {CodeClass.RETRY: 5, CodeClass.WAIT: 2}
TIMEOUT_STATUS = 504
NETWORK_CODES = frozenset({Code.SOAP_NO_NETWORK_HOST, Code.SOAP_COMM_ERROR})
MAX_DETAIL_CHARS = 500  # LAC generator failures carry raw generator output; keep bodies small
REDIS_RETRY_AFTER = 2


def problem_type(slug: str) -> str:
    """The URI naming the problem type ``slug``."""
    return PROBLEM_TYPE_BASE + slug


def default_detail(slug: str) -> str:
    """What to do about a problem of type ``slug``, for an occurrence that says nothing more."""
    kind = problem_types().get(slug)
    return kind.advice if kind is not None else ""


class GatewayError(Exception):
    """A failure reported to the caller as problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        type_: str = "error",
        lac_code: int | None = None,
        lac_name: str | None = None,
        retry_after: int | None = None,
        errors: list[dict[str, str]] | None = None,
        lac_message: str | None = None,
    ) -> None:
        super().__init__(f"{status} {title}" + (f": {detail}" if detail else ""))
        self.status = status
        self.title = title
        self.detail = (detail or default_detail(type_))[:MAX_DETAIL_CHARS]
        self.type_ = type_
        self.lac_code = lac_code
        self.lac_name = lac_name
        self.retry_after = retry_after
        self.errors = errors
        self.lac_message = lac_message[:MAX_DETAIL_CHARS] if lac_message else None

    @property
    def type_uri(self) -> str:
        """The problem type as a URI."""
        return problem_type(self.type_)

    def headers(self) -> dict[str, str]:
        """HTTP headers that belong with this error (Retry-After)."""
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(self.retry_after)}


class _Fixed(GatewayError):
    """A GatewayError whose status, title and type come from the class."""

    status_code: ClassVar[int] = 500
    default_title: ClassVar[str] = "Error"
    slug: ClassVar[str] = "error"

    def __init__(
        self,
        detail: str = "",
        *,
        title: str | None = None,
        type_: str | None = None,
        lac_code: int | None = None,
        lac_name: str | None = None,
        retry_after: int | None = None,
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(
            self.status_code,
            title or self.default_title,
            detail,
            type_=type_ or self.slug,
            lac_code=lac_code,
            lac_name=lac_name,
            retry_after=retry_after,
            errors=errors,
        )


class BadRequest(_Fixed):
    """400: the request could not be read."""

    status_code = 400
    default_title = "Bad request"
    slug = "bad-request"


class Unauthorized(_Fixed):
    """401: no valid API key."""

    status_code = 401
    default_title = "Unauthorized"
    slug = "unauthorized"


class Forbidden(_Fixed):
    """403: the API key may not do this."""

    status_code = 403
    default_title = "Forbidden"
    slug = "forbidden"


class NotFound(_Fixed):
    """404: no such resource."""

    status_code = 404
    default_title = "Not found"
    slug = "not-found"


class NotAcceptable(_Fixed):
    """406: no representation the route has matches the request's ``Accept``."""

    status_code = 406
    default_title = "Not acceptable"
    slug = "not-acceptable"


class Conflict(_Fixed):
    """409: the request conflicts with the resource's current state."""

    status_code = 409
    default_title = "Conflict"
    slug = "conflict"


class PayloadTooLarge(_Fixed):
    """413: the body exceeds the configured limit."""

    status_code = 413
    default_title = "Payload too large"
    slug = "payload-too-large"


class UnsupportedEncoding(_Fixed):
    """415: a Content-Encoding the gateway does not decode; says which ones it does."""

    status_code = 415
    default_title = "Unsupported media type"
    slug = "unsupported-content-encoding"
    accepted = "gzip, deflate"

    def headers(self) -> dict[str, str]:
        """``Accept-Encoding`` names the codings a request body may have (RFC 9110 15.5.16)."""
        return {**super().headers(), "Accept-Encoding": self.accepted}


class InvalidInput(_Fixed):
    """422: the request is well-formed but a field is invalid; ``errors`` lists each one."""

    status_code = 422
    default_title = "Invalid input"
    slug = "invalid-input"

    @classmethod
    def field(cls, field: str, message: str) -> InvalidInput:
        """An InvalidInput about a single field."""
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])


class RateLimited(_Fixed):
    """429: the caller exceeded its rate limit."""

    status_code = 429
    default_title = "Too many requests"
    slug = "rate-limited"


class ClientGone(_Fixed):
    """499 (nginx's "client closed request"): the caller left before its request was read."""

    status_code = 499
    default_title = "Client closed request"
    slug = "client-closed-request"


class LacRequestRefused(_Fixed):
    """502: LAC refused the request the gateway built (unknown operation, bad argument)."""

    status_code = 502
    default_title = "LAC rejected the request"
    slug = "lac-request-rejected"


class ServiceUnavailable(_Fixed):
    """503: the gateway cannot serve right now."""

    status_code = 503
    default_title = "Service unavailable"
    slug = "service-unavailable"


# Why Redis refused, by the error code that starts its error reply. Only these fixed texts reach
# a caller or a log: a Redis error message can quote a script or the keys it was called with.
REDIS_REFUSALS = {
    "OOM": "Redis is out of memory and refuses writes",
    "READONLY": "Redis is a read-only replica and refuses writes",
    "MISCONF": "Redis refuses writes since its last snapshot failed",
    "NOREPLICAS": "Redis has too few replicas in sync and refuses writes",
    "LOADING": "Redis is loading its data set",
    "BUSY": "Redis is busy running a script",
    "MASTERDOWN": "Redis has lost its master",
    "CLUSTERDOWN": "the Redis cluster is down",
    "TRYAGAIN": "Redis cluster slots are moving",
    "NOPERM": "Redis refuses the gateway's user this command",
    "NOAUTH": "Redis refuses the gateway's credentials",
    "WRONGPASS": "Redis refuses the gateway's credentials",
}
# redis-py raises these for the codes above and drops the code from the message.
_REDIS_CODE_OF_CLASS: tuple[tuple[type[RedisError], str], ...] = (
    (OutOfMemoryError, "OOM"),
    (ReadOnlyError, "READONLY"),
    (BusyLoadingError, "LOADING"),
    (MasterDownError, "MASTERDOWN"),
    (ClusterDownError, "CLUSTERDOWN"),
    (TryAgainError, "TRYAGAIN"),
    (NoPermissionError, "NOPERM"),
    (AuthenticationError, "NOAUTH"),
)
# A command that fails inside a Lua script comes back as a generic script error quoting the
# command's reply ("... @user_script: 9: -OOM command not allowed ...").
_REDIS_CODE = re.compile(rf"(?<![A-Za-z])-?({'|'.join(REDIS_REFUSALS)})(?![A-Za-z])")


def redis_code(exc: RedisError) -> str | None:
    """The Redis error code (``OOM``, ``READONLY`` ...) behind ``exc``, when it is a known one."""
    for cls, code in _REDIS_CODE_OF_CLASS:
        if isinstance(exc, cls):
            return code
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return None  # redis-py's own wording of a network failure, not a reply from Redis
    found = _REDIS_CODE.search(str(exc))
    return found.group(1) if found else None


def redis_reason(exc: RedisError) -> str:
    """Why Redis failed, in words fit for a caller: never the command or its arguments."""
    code = redis_code(exc)
    if code is not None:
        return REDIS_REFUSALS[code]
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        return "the gateway's Redis is unavailable"
    return "the gateway's Redis refused the request"


def redis_unavailable(exc: RedisError) -> ServiceUnavailable:
    """The 503 for any Redis failure: the request may succeed once Redis is back to normal."""
    return ServiceUnavailable(redis_reason(exc), retry_after=REDIS_RETRY_AFTER)


class LacProblem(GatewayError):
    """What LAC answered, in the gateway's vocabulary; built by ``lac_problem``."""


def _news(message: str, meaning: str) -> str | None:
    """LAC's own text when it says more than the table's meaning (generator output)."""
    text = message.strip()
    if not text or text.rstrip(".").casefold() == meaning.casefold():
        return None
    return text


def lac_problem(code: int, message: str, *, timeout: bool = False) -> GatewayError:
    """The problem for LAC return code ``code``: status, type, title and advice from the table.

    The advice is the ``detail``; what LAC itself said, when it adds something, is
    ``lac_message``. ``timeout`` marks a network failure (900/901) caused by the gateway's own
    deadline: 504.
    """
    row = lookup(code)
    status = row.http
    if timeout and code in NETWORK_CODES:
        status = TIMEOUT_STATUS
    about = row.title[:1].lower() + row.title[1:]
    fields = None if row.field is None else [{"field": row.field, "message": about}]
    return LacProblem(
        status,
        row.title,
        row.advice,
        type_=row.slug,
        lac_code=row.code,
        lac_name=row.name,
        retry_after=RETRY_AFTER_SECONDS.get(row.klass),
        errors=fields,
        lac_message=_news(message, row.meaning),
    )


def problem_body(
    err: GatewayError, *, request_id: str | None, instance: str | None
) -> dict[str, Any]:
    """The RFC 9457 body for ``err``; members without a value are left out."""
    body: dict[str, Any] = {
        "type": err.type_uri,
        "title": err.title,
        "status": err.status,
        "detail": err.detail or None,
        "instance": instance,
        "request_id": request_id,
        "lac_code": err.lac_code,
        "lac_name": err.lac_name,
        "lac_message": err.lac_message,
        "errors": err.errors,
    }
    return {name: value for name, value in body.items() if value is not None}

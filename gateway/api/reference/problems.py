"""What each problem status means for a product, for operations that say nothing more about it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.api.reference.base import problem


@dataclass(frozen=True, slots=True)
class GenericProblem:
    """What a problem status means for every operation that may answer it."""

    description: str
    example: Mapping[str, object] = field(default_factory=dict)


GENERIC_PROBLEMS: dict[int, GenericProblem] = {
    400: GenericProblem(
        "The request is malformed (not JSON, a duplicated header, a bad encoding): fix the "
        "request; sending it again unchanged gets the same answer.",
        problem(400, "bad-request", "Bad request", "the body is not valid JSON"),
    ),
    401: GenericProblem(
        "No API key, or one the gateway does not know: configure the product with its key "
        "(`Authorization: Bearer <key>`). The answer carries `WWW-Authenticate`.",
        problem(401, "unauthorized", "Unauthorized", "send Authorization: Bearer <API key>"),
    ),
    403: GenericProblem(
        "The API key lacks the scope this route needs, or LAC refuses the order (disabled, "
        "HostID policy): do not retry; tell the user or the vendor.",
        problem(
            403, "missing-scope", "Forbidden", "this route needs an API key with the read scope"
        ),
    ),
    404: GenericProblem(
        "No such activation key, license or activation: check what was sent; retrying does "
        "not help.",
        problem(
            404,
            "unknown-activation",
            "Not found",
            "no activation has this id: it was never requested, or it ended and its record "
            "expired; send POST /v1/activations again for its license",
            instance="/v1/activations/act_aarjjopecsae4rvcmoqjvluih7",
        ),
    ),
    406: GenericProblem(
        "The `Accept` header allows none of the answer's representations (JSON, or the license "
        "file as text/plain or application/octet-stream): send one of those, or no `Accept`.",
        problem(
            406,
            "not-acceptable",
            "Not acceptable",
            "this route answers application/json, text/plain or application/octet-stream",
            instance="/v1/licenses/SNGLE-HOST1-DEMO0-00001",
        ),
    ),
    409: GenericProblem(
        "The order's state forbids this (no activations left, deactivation not allowed, a "
        "request with the same Idempotency-Key still running): act on `lac_name`; retrying "
        "unchanged does not help, except for an Idempotency-Key conflict.",
        problem(
            409,
            "lac-license-activation-count-exceeded",
            "Activations have exceeded the allowable limit",
            "the order allows no more activations: free a seat by deactivating a host, or ask "
            "the vendor for more",
            lac=(201, "LAC_LICENSE_ACTIVATION_COUNT_EXCEEDED"),
        ),
    ),
    413: GenericProblem(
        "The body is larger than the gateway accepts: send less (fewer batch items).",
        problem(413, "payload-too-large", "Payload too large", "at most 65536 bytes"),
    ),
    422: GenericProblem(
        "A field is invalid (`errors` names each one), or an Idempotency-Key was reused for "
        "another request: fix the request.",
        problem(
            422,
            "invalid-input",
            "Invalid input",
            "the request body is invalid: hostids must have at least 1 item",
            errors=[{"field": "hostids", "message": "must have at least 1 item"}],
        ),
    ),
    429: GenericProblem(
        "Too many requests from this API key (or address): wait `Retry-After` seconds, then "
        "send the same request again. `RateLimit-*` say how much of the window is left.",
        problem(429, "rate-limited", "Too many requests", "at most 3000 requests per 60 s"),
    ),
    502: GenericProblem(
        "LAC answered something the gateway cannot use (a configuration or upstream error): "
        "retry later; the operator sees it in the logs and metrics.",
        problem(502, "lac-request-rejected", "LAC rejected the request", "LAC refused the call"),
    ),
    503: GenericProblem(
        "LAC or the gateway's Redis is unavailable for now: retry after `Retry-After` seconds "
        "(an issued license is still served from the cache, marked stale).",
        problem(503, "service-unavailable", "Service unavailable", "LAC is unavailable for now"),
    ),
    504: GenericProblem(
        "LAC did not answer in time: retry after `Retry-After` seconds with the same request "
        "(the gateway makes sure a retried activation costs no second seat).",
        problem(
            504,
            "lac-soap-comm-error",
            "A SOAP communication error occurred",
            "LAC did not answer within 8 s",
            lac=(901, "LAC_SOAP_COMM_ERROR"),
        ),
    ),
}
"""Problem statuses and what a product does with them, used where an operation says nothing more."""

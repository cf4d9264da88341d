"""The sandbox's REST side: route setup and the plumbing shared by end-user and vendor REST.

Every REST handler is wrapped by ``endpoint``: the call is counted and its faults applied
(``faults.intercept``) before the state machine is asked anything, so REST sees latency, HTTP
5xx, dropped connections and token expiry exactly as SOAP does. What only REST can render — a
forced LAC code or a malformed body — is rendered here from tables built once at import.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import orjson
from aiohttp import web

from lacsandbox.codetable import Code, code_table, info
from lacsandbox.faults import FaultKind, intercept
from lacsandbox.keys import SANDBOX
from lacsandbox.runtime import Sandbox

TRANSPORT: Final = "rest"
ENDUSER_PREFIX: Final = "/rest/v2"
VENDOR_PREFIX: Final = "/rest/vendor"
"""LAC does not document the vendor REST base URL; the sandbox mounts it here."""
HAL_JSON: Final = "application/hal+json"
JSON: Final = "application/json"

Render = Callable[[web.Request, Sandbox], Awaitable[web.Response]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What a malformed answer without a body of its own carries: JSON cut short.
_MALFORMED_BODY: Final = b'{"_links": {"self": {"href": "'

# The words LAC's REST API uses where they are documented (lac-api.md section 5); other codes
# fall back to the code table's meaning.
_REST_MESSAGES: Final[dict[int, str]] = {
    Code.LAC_WRONG_HOSTID_FORMAT: "Wrong format of HostID.",
    Code.LAC_HOSTIDTYPE_NOT_SUPPORTED: "HostID type is not supported.",
    Code.LAC_ACTIVATION_KEY_INVALID: "Invalid activation key.",
    Code.LAC_HOSTID_VALUE_INVALID: "Wrong format of HostID.",
    Code.LAC_HOSTID_MISSING: "HostID is missing.",
    Code.LAC_INVALID_ORDER_CONFIGURATION: (
        "License cannot be activated with current configuration."
    ),
    Code.LAC_CANNOT_DEACTIVATE_LICENSE: "Cannot deactivate license.",
    Code.LAC_LICENSE_ORDER_DISABLED: "License order is disabled.",
    Code.LAC_LICENSE_GENERATION_WAS_NOT_REQUESTED: "License request was not created.",
    Code.LAC_LICENSE_WAS_NOT_ACTIVATED: "License does not exist.",
    Code.LAC_LICENSE_GENERATOR_NOT_UPLOADED: (
        "License generator was not uploaded for this product."
    ),
}


def dumps(value: object) -> bytes:
    """JSON bytes of ``value``."""
    return orjson.dumps(value)


def json_response(
    value: object, *, status: int = 200, content_type: str = HAL_JSON
) -> web.Response:
    """A JSON response with the given media type."""
    return web.Response(body=dumps(value), status=status, content_type=content_type)


def rest_message(code: int) -> str:
    """The sentence a REST error body carries for a LAC code."""
    text = _REST_MESSAGES.get(code)
    if text is not None:
        return text
    meaning = info(code).meaning
    return f"{meaning[:1].upper()}{meaning[1:]}."


@dataclass(frozen=True, slots=True)
class RestError:
    """How one LAC code reads over REST: HTTP status and body."""

    status: int
    body: bytes


def _enduser_error(code: int) -> RestError:
    row = info(code)
    body: dict[str, object] = {"message": rest_message(code)}
    # v2 error bodies carry LAC's REST code where one is known; the rest stay v1-shaped.
    if row.rest_code is not None:
        body = {"code": row.rest_code, **body}
    if code == Code.LAC_PLEASE_WAIT:
        # REST says "still generating" with a plain 200 (the license-queue answer).
        return RestError(200, dumps(body))
    return RestError(row.rest_status or 500, dumps(body))


# Vendor REST documents 400 for bad credentials and 403 for a bad token; codes without a REST
# status of their own are server-side trouble.
_VENDOR_STATUS: Final[dict[int, int]] = {
    Code.LAC_INVALID_LOGIN_OR_PASSWORD: 400,
    Code.LAC_WRONG_TOKEN: 403,
    Code.LAC_RECORD_DOESNT_EXIST: 404,
    Code.LAC_INVALID_DATA: 400,
}


def _vendor_error(code: int) -> RestError:
    status = _VENDOR_STATUS.get(code) or info(code).rest_status or 500
    return RestError(status, dumps({"message": rest_message(code)}))


_ENDUSER_ERRORS: Final = {code: _enduser_error(code) for code in code_table()}
_VENDOR_ERRORS: Final = {code: _vendor_error(code) for code in code_table()}


def enduser_error(code: int) -> RestError:
    """The end-user REST v2 status and ``{code, message}`` body for a LAC code."""
    return _ENDUSER_ERRORS.get(code) or _enduser_error(code)


def vendor_error(code: int) -> RestError:
    """The vendor REST status and ``{message}`` body for a LAC code."""
    return _VENDOR_ERRORS.get(code) or _vendor_error(code)


def error_response(error: RestError, content_type: str) -> web.Response:
    """An error answer."""
    return web.Response(body=error.body, status=error.status, content_type=content_type)


@dataclass(frozen=True, slots=True)
class RestApi:
    """One REST family: its media type and how it words a LAC code."""

    content_type: str
    error: Callable[[int], RestError]


ENDUSER: Final = RestApi(HAL_JSON, enduser_error)
VENDOR: Final = RestApi(JSON, vendor_error)


def endpoint(api: RestApi, operation: str, render: Render) -> Handler:
    """Wrap ``render`` so the call is counted and its injected faults applied first."""

    async def handle(request: web.Request) -> web.StreamResponse:
        injection = await intercept(request, TRANSPORT, operation)
        kind = injection.kind if injection is not None else None
        # A forced success means "answer normally".
        if kind is FaultKind.CODE and injection is not None and injection.code:
            return error_response(api.error(injection.code), api.content_type)
        response = await render(request, request.app[SANDBOX])
        if kind is FaultKind.MALFORMED:
            return malformed(response, api.content_type)
        return response

    return handle


def malformed(response: web.Response, content_type: str) -> web.Response:
    """The answer cut in half, as SOAP does; a bodiless answer becomes a 200 with a fragment."""
    body = response.body
    if isinstance(body, bytes) and len(body) > 1:
        response.body = body[: len(body) // 2]
        return response
    return web.Response(body=_MALFORMED_BODY, content_type=content_type)


def setup_rest_routes(app: web.Application) -> None:
    """Register the REST v2 routes (end-user and vendor) on ``app``."""
    # Imported here because both route modules build on this module's plumbing.
    from lacsandbox import rest_enduser, rest_vendor  # noqa: PLC0415

    app.router.add_routes(rest_enduser.routes(ENDUSER_PREFIX))
    app.router.add_routes(rest_vendor.routes(VENDOR_PREFIX))

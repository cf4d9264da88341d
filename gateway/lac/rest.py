"""The LAC adapter over end-user REST v2: PUT, then license-queue until a 303 (lac-api.md s5).

PUT and DELETE are idempotent in LAC's REST design (a repeated PUT returns the same license), so
the HTTP stack may resend one once when a kept-alive connection drops before any answer
(RFC 9112 section 9.3.1); a second failure is raised as ``LacAmbiguous``.

REST has no removal-flag calls, so ``removal_requested`` / ``removal_confirm`` go through the
end-user SOAP client given as ``removal`` (the same LAC, another door); without one they are
refused with code 41 (``LAC_SERVICE_DOESNT_EXIST``).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from gateway.codes import Code, code_table
from gateway.lac.base import (
    IssuedLicense,
    Lac,
    LacError,
    LacRejected,
    LacUnavailable,
    OrderSummary,
    PollResult,
    PollState,
)
from gateway.lac.http import LacHttp, Reply
from gateway.lac.license_text import parse_date, parse_license, parse_timestamp
from gateway.metrics import Metrics
from gateway.settings import LacSettings

TRANSPORT = "rest"

_ACCEPT = {"Accept": "application/hal+json, application/json"}

# What an HTTP status means when the body carries no REST code we know: per call where
# lac-api.md section 5 says more, else the first table row with that REST status.
_GENERIC_STATUS = {
    400: Code.INVALID_DATA,
    403: Code.INVALID_ORDER_CONFIGURATION,
    404: Code.RECORD_DOESNT_EXIST,
}
_CREATE_STATUS = _GENERIC_STATUS
_QUEUE_STATUS = {
    **_GENERIC_STATUS,
    403: Code.LICENSE_ORDER_DISABLED,
    404: Code.LICENSE_GENERATION_WAS_NOT_REQUESTED,
}
_FETCH_STATUS = {**_GENERIC_STATUS, 403: Code.LICENSE_ORDER_DISABLED}
_DELETE_STATUS = {
    **_GENERIC_STATUS,
    403: Code.CANNOT_DEACTIVATE_LICENSE,
    404: Code.LICENSE_WAS_NOT_ACTIVATED,
}
_ORDER_STATUS = {**_GENERIC_STATUS, 403: Code.LICENSE_ORDER_DISABLED}


def rest_code_map() -> dict[int, int]:
    """REST v2 error code -> LAC code, from the one code table (each REST code is on one row)."""
    return {rest: row.code for row in code_table().values() for rest in row.rest_codes}


_REST_CODES = rest_code_map()


def lac_code_for(rest_code: object) -> int | None:
    """The LAC code a REST v2 error code stands for, or None when it is not in the table.

    The code alone decides, whatever the status it came with: LAC numbers its REST errors
    uniquely, and a documented code under an undocumented status still says what went wrong.
    """
    if not isinstance(rest_code, int) or isinstance(rest_code, bool):
        return None
    return _REST_CODES.get(rest_code)


@functools.lru_cache(maxsize=1024)  # one activation's PUT, queue and fetch share it
def hostid_segment(hostid: str) -> str:
    """Standard Base64 with padding of the HostID string; ``+`` and ``/`` percent-encoded."""
    encoded = base64.b64encode(hostid.encode("utf-8")).decode("ascii")
    return quote(encoded, safe="=")


def _json(reply: Reply) -> dict[str, Any]:
    try:
        body = orjson.loads(reply.body) if reply.body else {}
    except orjson.JSONDecodeError as exc:
        raise LacUnavailable(Code.SOAP_COMM_ERROR, f"malformed JSON (HTTP {reply.status})") from exc
    if not isinstance(body, dict):
        raise LacUnavailable(Code.SOAP_COMM_ERROR, f"unexpected JSON (HTTP {reply.status})")
    return body


def rest_error(reply: Reply, by_status: Mapping[int, int], operation: str) -> LacRejected:
    """The LAC code for a REST 4xx: the body's v2 code if known, else what the status means."""
    try:
        body = _json(reply)
    except LacUnavailable:
        body = {}
    message = body.get("message")
    text = message if isinstance(message, str) else f"HTTP {reply.status}"
    code = lac_code_for(body.get("code"))
    if code is None:
        code = by_status.get(reply.status, Code.UNKNOWN_ERROR)
    return LacRejected(code, text, operation=operation)


def _no_license(reply: Reply) -> tuple[int, None]:
    """A fetch's 404: no license, unless its v2 code says LAC knows no such activation key."""
    error = rest_error(reply, _FETCH_STATUS, "fetch")
    if error.code == Code.ACTIVATION_KEY_INVALID:
        raise error  # an unknown key is not "no license yet": the caller must fix the key
    return Code.RECORD_DOESNT_EXIST, None


def _unexpected(reply: Reply, operation: str) -> LacUnavailable:
    return LacUnavailable(
        Code.SOAP_COMM_ERROR, f"unexpected HTTP {reply.status}", operation=operation
    )


def license_from_json(body: Mapping[str, Any]) -> IssuedLicense:
    """An ``IssuedLicense`` from a REST license body, the file text filling what it lacks."""
    content = body.get("content")
    if not isinstance(content, str) or not content:
        raise LacUnavailable(Code.SOAP_COMM_ERROR, "license body without content")
    parsed = parse_license(content)
    filename = body.get("filename")
    return IssuedLicense(
        content=content,
        filename=filename if isinstance(filename, str) and filename else parsed.filename,
        activated_at=parse_timestamp(body.get("activationTime")) or parsed.activated_at,
        expires_at=parse_date(body.get("expirationDate")) or parsed.expires_at,
        maintenance_end=parse_date(body.get("maintenanceEndDate")) or parsed.maintenance_end,
    )


def order_from_json(activation_key: str, body: Mapping[str, Any]) -> OrderSummary:
    """An ``OrderSummary`` from a REST license-order body."""
    product = body.get("product")
    name = product.get("name") if isinstance(product, dict) else None
    used = body.get("activatedLicenses")
    allowed = body.get("bulkMax")
    return OrderSummary(
        activation_key=str(body.get("activationKey") or activation_key),
        product=name if isinstance(name, str) else None,
        activations_used=used if isinstance(used, int) else None,
        activations_allowed=allowed if isinstance(allowed, int) else None,
        enabled=True,
    )


class LacRestClient:
    """The ``Lac`` port over end-user REST v2."""

    transport = TRANSPORT

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: LacSettings,
        metrics: Metrics | None = None,
        *,
        removal: Lac | None = None,
        http: LacHttp | None = None,
    ) -> None:
        self._http = http or LacHttp(session, settings, transport=TRANSPORT, metrics=metrics)
        self._base = settings.rest_url.rstrip("/")
        self._removal = removal

    def _url(self, collection: str, activation_key: str, hostid: str | None = None) -> URL:
        path = f"{self._base}/{collection}/{quote(activation_key, safe='')}"
        if hostid is not None:
            path += f"/{hostid_segment(hostid)}"
        # Already percent-encoded: yarl must not encode %2B / %2F a second time.
        return URL(path, encoded=True)

    async def create(self, activation_key: str, hostid: str) -> None:
        """PUT /licenses/{ak}/{hostids}: 202 means queued for generation."""

        def decode(reply: Reply) -> tuple[int, None]:
            if reply.status in (200, 201, 202):
                _json(reply)  # a cut-off body means the answer cannot be trusted
                return 0, None
            if 400 <= reply.status < 500:
                raise rest_error(reply, _CREATE_STATUS, "create")
            raise _unexpected(reply, "create")

        url = self._url("licenses", activation_key, hostid)
        try:
            await self._http.call("create", "PUT", url, decode, mutating=True, headers=_ACCEPT)
        except LacRejected as exc:
            if exc.code != Code.INVALID_ORDER_CONFIGURATION:  # what a bare 403 reads as
                raise
            raise await self._refusal(activation_key, exc) from None

    async def _refusal(self, activation_key: str, refused: LacRejected) -> LacRejected:
        """What a create's bare 403 means. REST has no code for a full order (SOAP answers 200
        or 201) and the status alone reads as a misconfigured one: the order's counts, read
        (nothing changes), tell a full or disabled order apart. Unreadable: as refused."""
        try:
            order = await self.order(activation_key)
        except LacError:
            return refused
        if order is None:
            return refused
        if not order.enabled:
            code: int = Code.LICENSE_ORDER_DISABLED
        elif (
            order.activations_allowed is not None
            and order.activations_used is not None
            and order.activations_used >= order.activations_allowed
        ):
            many = order.activations_allowed > 1
            code = (
                Code.BULK_LICENSE_COUNT_EXCEEDED if many else Code.LICENSE_ACTIVATION_COUNT_EXCEEDED
            )
        else:
            return refused
        return LacRejected(code, refused.message, operation=refused.operation)

    async def poll(self, activation_key: str, hostid: str) -> PollResult:
        """GET /license-queue/...: 200 pending; 303 to the license or to its errors."""

        def decode(reply: Reply) -> tuple[int, str | None]:
            if reply.status == 200:
                return Code.PLEASE_WAIT, None
            if reply.status in (301, 302, 303, 307):
                return 0, URL(reply.headers.get("Location", "")).path
            if 400 <= reply.status < 500:
                raise rest_error(reply, _QUEUE_STATUS, "poll")
            raise _unexpected(reply, "poll")

        url = self._url("license-queue", activation_key, hostid)
        target = await self._http.call("poll", "GET", url, decode, mutating=False, headers=_ACCEPT)
        if target is None:
            return PollResult(PollState.PENDING)
        if "/license-errors/" in target:
            raise await self._generation_errors(activation_key, hostid)
        if "/licenses/" not in target:
            raise LacUnavailable(
                Code.SOAP_COMM_ERROR, "queue redirected elsewhere", operation="poll"
            )
        # The new URL is built from our own base, not taken from Location, so a reply cannot
        # send the gateway to another host.
        issued = await self.fetch(activation_key, hostid)
        if issued is None:
            raise LacUnavailable(
                Code.SOAP_COMM_ERROR, "queue pointed at a missing license", operation="poll"
            )
        return PollResult(PollState.READY, issued)

    async def _generation_errors(self, activation_key: str, hostid: str) -> LacRejected:
        def decode(reply: Reply) -> tuple[int, str]:
            if reply.status == 200:
                errors = _json(reply).get("errors")
                items = errors if isinstance(errors, list) else []
                texts = [str(e.get("message", "")) for e in items if isinstance(e, dict)]
                return Code.LICENSE_GENERATOR_FAILED, "; ".join(t for t in texts if t)
            if reply.status == 404:
                return Code.LICENSE_GENERATOR_FAILED, ""
            if 400 <= reply.status < 500:
                raise rest_error(reply, _FETCH_STATUS, "license_errors")
            raise _unexpected(reply, "license_errors")

        url = self._url("license-errors", activation_key, hostid)
        messages = await self._http.call(
            "license_errors", "GET", url, decode, mutating=False, headers=_ACCEPT
        )
        return LacRejected(
            Code.LICENSE_GENERATOR_FAILED, messages or "license generation failed", operation="poll"
        )

    async def fetch(self, activation_key: str, hostid: str) -> IssuedLicense | None:
        """GET /licenses/...: the license, or None on 404."""

        def decode(reply: Reply) -> tuple[int, IssuedLicense | None]:
            if reply.status == 200:
                return 0, license_from_json(_json(reply))
            if reply.status == 404:
                return _no_license(reply)
            if 400 <= reply.status < 500:
                raise rest_error(reply, _FETCH_STATUS, "fetch")
            raise _unexpected(reply, "fetch")

        url = self._url("licenses", activation_key, hostid)
        return await self._http.call("fetch", "GET", url, decode, mutating=False, headers=_ACCEPT)

    async def deactivate(self, activation_key: str, hostid: str) -> None:
        """DELETE /licenses/...: 204 done; 403 refused (111, or 202 if disabled); 404 -> 205."""

        def decode(reply: Reply) -> tuple[int, None]:
            if reply.status in (200, 202, 204):
                _json(reply)  # a cut-off body means the answer cannot be trusted
                return 0, None
            if 400 <= reply.status < 500:
                raise rest_error(reply, _DELETE_STATUS, "deactivate")
            raise _unexpected(reply, "deactivate")

        url = self._url("licenses", activation_key, hostid)
        await self._http.call("deactivate", "DELETE", url, decode, mutating=True, headers=_ACCEPT)

    async def order(self, activation_key: str) -> OrderSummary | None:
        """GET /license-orders/{ak}: None on 404; a disabled order is reported, not raised."""

        def decode(reply: Reply) -> tuple[int, OrderSummary | None]:
            if reply.status == 200:
                return 0, order_from_json(activation_key, _json(reply))
            if reply.status == 404:
                return Code.ACTIVATION_KEY_INVALID, None
            if 400 <= reply.status < 500:
                error = rest_error(reply, _ORDER_STATUS, "order")
                if error.code == Code.LICENSE_ORDER_DISABLED:
                    return Code.LICENSE_ORDER_DISABLED, OrderSummary(
                        activation_key, None, None, None, False
                    )
                raise error
            raise _unexpected(reply, "order")

        url = self._url("license-orders", activation_key)
        return await self._http.call("order", "GET", url, decode, mutating=False, headers=_ACCEPT)

    async def removal_requested(self, activation_key: str, hostid: str) -> bool:
        """Asked over end-user SOAP: REST has no removal-flag call."""
        return await self._removal_client().removal_requested(activation_key, hostid)

    async def removal_confirm(self, activation_key: str, hostid: str) -> None:
        """Confirmed over end-user SOAP: REST has no removal-flag call."""
        await self._removal_client().removal_confirm(activation_key, hostid)

    def _removal_client(self) -> Lac:
        if self._removal is None:
            raise LacRejected(
                Code.SERVICE_DOESNT_EXIST, "removal needs end-user SOAP", operation="removal"
            )
        return self._removal

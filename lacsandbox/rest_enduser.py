"""End-user REST v2 of the sandbox: HAL+JSON licenses, license queue, errors and orders.

Routes (under ``/rest/v2``, lac-api.md section 5)::

    PUT    /licenses/{ak}/{b64}        202 + Location to the queue; 400 (1600) / 403 refusals
    GET    /license-queue/{ak}/{b64}   200 generating; 303 to the license or its errors
    GET    /licenses/{ak}/{b64}        200 license; 403 disabled; 404 none
    DELETE /licenses/{ak}/{b64}        204; 403 refused (1506) or disabled (1703); 404 none (1711)
    GET    /license-errors/{ak}/{b64}  200 generator output; 404 no errors
    GET    /license-orders/{ak}        200 order; 403 disabled; 404 unknown key
    GET    /licenses/{ak}?state=...    200 the order's licenses in those states

``{b64}`` is the standard Base64 (with padding) of the HostID string; ``+ / =`` may come
percent-encoded, and the URL-safe alphabet and missing padding are tolerated.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from functools import lru_cache
from typing import Final
from urllib.parse import quote

from aiohttp import web

from lacsandbox.codetable import Code, info
from lacsandbox.hostids import HOSTID_TYPES, HostId
from lacsandbox.models import License, LicenseState, Order, OrderSpec
from lacsandbox.rest import (
    ENDUSER,
    HAL_JSON,
    RestError,
    dumps,
    endpoint,
    enduser_error,
    error_response,
    json_response,
)
from lacsandbox.runtime import Sandbox
from lacsandbox.state import Result

OP_PUT: Final = "PUT /licenses"
OP_QUEUE: Final = "GET /license-queue"
OP_LICENSE: Final = "GET /licenses"
OP_DELETE: Final = "DELETE /licenses"
OP_ERRORS: Final = "GET /license-errors"
OP_ORDER: Final = "GET /license-orders"
OP_STATE: Final = "GET /licenses?state"

# Never a valid HostID string (no TYPE before "="), so the state machine answers an
# undecodable path segment with its own HostID-format code after checking the key.
_UNDECODABLE: Final = "="
_URL_SAFE: Final = str.maketrans("-_ ", "+/+")
_STATES: Final[dict[str, LicenseState]] = {
    **{s.value: s for s in LicenseState},
    # The spellings of an early draft of the API.
    "activated": LicenseState.SUCCESS,
    "in-progress": LicenseState.IN_PROGRESS,
}
_HOSTID_CODES: Final = frozenset(
    {
        Code.LAC_WRONG_HOSTID_FORMAT,
        Code.LAC_HOSTIDTYPE_NOT_SUPPORTED,
        Code.LAC_HOSTID_VALUE_INVALID,
        Code.LAC_HOSTID_MISSING,
    }
)


def _not_found(message: str, code: int | None = None) -> RestError:
    body: dict[str, object] = {"message": message}
    if code is not None:
        body = {"code": code, **body}
    return RestError(404, dumps(body))


_NO_REQUEST: Final = _not_found("License request was not created.")
_NO_LICENSE: Final = _not_found("License does not exist.")
# DELETE is the one call whose "License does not exist." carries a v2 code in LAC's docs.
_NOT_DEACTIVATABLE: Final = _not_found(
    "License does not exist.", info(Code.LAC_LICENSE_WAS_NOT_ACTIVATED).rest_code
)
_NO_ERRORS: Final = _not_found("License has no errors.")
_UNKNOWN_KEY: Final = _not_found(
    "Invalid activation key.", info(Code.LAC_ACTIVATION_KEY_INVALID).rest_code
)


# PUT documents one 400 for "activation key invalid or HostID format wrong", its example being
# 1600 "Hostid wrong format."; the code of the invalid-key case is not shown, so the sandbox
# sends LAC's invalid-key code 1712 under PUT's 400 (inferred; 1712 is documented with 404).
_PUT_UNKNOWN_KEY: Final = RestError(
    400,
    dumps(
        {
            "code": info(Code.LAC_ACTIVATION_KEY_INVALID).rest_code,
            "message": "Invalid activation key.",
        }
    ),
)


@lru_cache(maxsize=4096)
def decode_segment(segment: str) -> str | None:
    """The HostID string inside a Base64 path segment, or None when it is not Base64 text."""
    text = segment.strip().translate(_URL_SAFE).rstrip("=")
    if not text:
        return None
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


@lru_cache(maxsize=4096)
def encode_segment(hostid: str) -> str:
    """Standard Base64 with padding of a HostID string, ``+`` and ``/`` percent-encoded."""
    return quote(base64.b64encode(hostid.encode("utf-8")).decode("ascii"), safe="=")


def iso_time(value: datetime | None) -> str | None:
    """ISO-8601 with offset, to the second (``2014-04-29T11:31:51+00:00``)."""
    return None if value is None else value.isoformat(timespec="seconds")


def iso_date(value: date | None) -> str | None:
    """A date as an ISO-8601 timestamp at midnight UTC, as REST dates are written."""
    return None if value is None else f"{value.isoformat()}T00:00:00+00:00"


def hostids_json(hostids: tuple[HostId, ...]) -> list[dict[str, str]]:
    """``[{nameRaw, name, value}]`` of a license's HostIDs."""
    return [{"nameRaw": h.type, "name": h.display_name, "value": h.value} for h in hostids]


def _earliest(dates: list[date | None]) -> date | None:
    known = [d for d in dates if d is not None]
    return min(known) if known else None


@lru_cache(maxsize=1024)
def _order_static(spec: OrderSpec, prefix: str) -> dict[str, object]:
    """The parts of an order body that only change with its spec."""
    types = () if spec.not_locked else (spec.hostid_types or tuple(HOSTID_TYPES))
    return {
        "activationKey": spec.activation_key,
        "customer": {"name": spec.customer_name},
        "product": {
            "name": spec.product_name,
            "version": spec.product_version,
            "template": f"{spec.product_name} {spec.product_version}",
            "licenseGeneratorType": "lm_x",
        },
        "licenseType": spec.license_type,
        "bulkMax": spec.bulk_max,
        "hostid": {
            "types": [
                {
                    "nameRaw": t,
                    "name": HostId(t, "").display_name,
                    "min": 0,
                    "max": spec.max_hostids,
                }
                for t in types
            ],
            "min": 0 if spec.not_locked else spec.min_hostids,
        },
        "_links": {"self": {"href": f"{prefix}/license-orders/{spec.activation_key}"}},
    }


class EndUserRest:
    """The end-user REST v2 handlers, rendering state-machine results as HAL+JSON."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    # -- bodies ----------------------------------------------------------------------------

    def _href(self, collection: str, activation_key: str, hostid: str) -> str:
        return f"{self.prefix}/{collection}/{activation_key}/{encode_segment(hostid)}"

    def order_json(self, order: Order) -> dict[str, object]:
        """The license-order resource."""
        return {
            **_order_static(order.spec, self.prefix),
            "creationTime": iso_time(order.creation_time),
            "activatedLicenses": order.activated_count,
        }

    def queue_json(self, lic: License, order: Order, hostid: str) -> dict[str, object]:
        """The license-queue resource of a license being generated."""
        features = order.spec.features
        return {
            "creationTime": iso_time(lic.creation_time),
            "expirationDate": iso_date(_earliest([f.end for f in features])),
            "maintenanceEndDate": iso_date(_earliest([f.maintenance_end for f in features])),
            "hostids": hostids_json(lic.hostids),
            "_links": {"self": {"href": self._href("license-queue", lic.activation_key, hostid)}},
        }

    def license_json(self, lic: License, order: Order, hostid: str) -> dict[str, object]:
        """The license resource, with its order embedded."""
        key = lic.activation_key
        return {
            "activationKey": key,
            "activationTime": iso_time(lic.activation_time),
            "expirationDate": iso_date(lic.expiration_date),
            "maintenanceEndDate": iso_date(lic.maintenance_end_date),
            "hostids": hostids_json(lic.hostids),
            "content": lic.content,
            "filename": lic.filename,
            "_links": {
                "self": {"href": self._href("licenses", key, hostid)},
                "license-order": {"href": f"{self.prefix}/license-orders/{key}"},
            },
            "_embedded": {"license-orders": [self.order_json(order)]},
        }

    def summary_json(self, lic: License) -> dict[str, object]:
        """One license in the state listing of an order."""
        key, hostid = lic.activation_key, lic.hostid_string
        links: dict[str, object] = {"self": {"href": self._href("licenses", key, hostid)}}
        if lic.state is LicenseState.IN_PROGRESS:
            links["license-queue"] = {"href": self._href("license-queue", key, hostid)}
        elif lic.state is LicenseState.FAILED:
            links["license-errors"] = {"href": self._href("license-errors", key, hostid)}
        return {
            "activationKey": key,
            "state": lic.state.value,
            "creationTime": iso_time(lic.creation_time),
            "activationTime": iso_time(lic.activation_time),
            "expirationDate": iso_date(lic.expiration_date),
            "maintenanceEndDate": iso_date(lic.maintenance_end_date),
            "hostids": hostids_json(lic.hostids),
            "filename": lic.filename or None,
            "_links": links,
        }

    # -- shared refusals -------------------------------------------------------------------

    @staticmethod
    def _refusal(result: Result, not_found: RestError) -> web.Response:
        """A GET/DELETE failure: disabled is 403, anything naming no resource is 404."""
        if result.code == Code.LAC_LICENSE_ORDER_DISABLED:
            return error_response(enduser_error(result.code), HAL_JSON)
        if result.code == Code.LAC_ACTIVATION_KEY_INVALID:
            return error_response(_UNKNOWN_KEY, HAL_JSON)
        if result.code in _HOSTID_CODES or result.code in (
            Code.LAC_LICENSE_GENERATION_WAS_NOT_REQUESTED,
            Code.LAC_LICENSE_WAS_NOT_ACTIVATED,
        ):
            return error_response(not_found, HAL_JSON)
        return error_response(enduser_error(result.code), HAL_JSON)

    @staticmethod
    def _pair(request: web.Request) -> tuple[str, str]:
        """(activation key, HostID string) from the path."""
        hostid = decode_segment(request.match_info["b64"])
        return request.match_info["ak"], _UNDECODABLE if hostid is None else hostid

    # -- handlers --------------------------------------------------------------------------

    async def put_license(self, request: web.Request, sandbox: Sandbox) -> web.Response:
        """``PUT /licenses/{ak}/{b64}``: queue generation, 202 + Location to the queue."""
        key, hostid = self._pair(request)
        result = sandbox.state.create_request(key, hostid)
        if result.code == Code.LAC_ACTIVATION_KEY_INVALID:
            return error_response(_PUT_UNKNOWN_KEY, HAL_JSON)
        if result.license is None:
            return error_response(enduser_error(result.code), HAL_JSON)
        lic = result.license
        order = sandbox.state.orders[lic.activation_key]
        body = self.queue_json(lic, order, hostid)
        response = json_response(body, status=202)
        response.headers["Location"] = self._href("license-queue", lic.activation_key, hostid)
        return response

    async def get_queue(self, request: web.Request, sandbox: Sandbox) -> web.Response:
        """``GET /license-queue/{ak}/{b64}``: 200 generating, 303 once settled."""
        key, hostid = self._pair(request)
        result = sandbox.state.get_license(key, hostid)
        lic = result.license
        if lic is None:
            return self._refusal(result, _NO_REQUEST)
        if lic.state is LicenseState.IN_PROGRESS:
            order = sandbox.state.orders[lic.activation_key]
            return json_response(self.queue_json(lic, order, hostid))
        target = "licenses" if lic.state is LicenseState.SUCCESS else "license-errors"
        location = self._href(target, lic.activation_key, hostid)
        return web.Response(status=303, headers={"Location": location})

    async def get_license(self, request: web.Request, sandbox: Sandbox) -> web.Response:
        """``GET /licenses/{ak}/{b64}``: the license once generated."""
        key, hostid = self._pair(request)
        result = sandbox.state.get_license(key, hostid)
        lic = result.license
        if lic is None:
            return self._refusal(result, _NO_LICENSE)
        if lic.state is not LicenseState.SUCCESS:
            return error_response(_NO_LICENSE, HAL_JSON)
        order = sandbox.state.orders[lic.activation_key]
        return json_response(self.license_json(lic, order, hostid))

    async def delete_license(self, request: web.Request, sandbox: Sandbox) -> web.Response:
        """``DELETE /licenses/{ak}/{b64}``: deactivate, 204."""
        key, hostid = self._pair(request)
        result = sandbox.state.deactivate(key, hostid)
        if not result.ok:
            return self._refusal(result, _NOT_DEACTIVATABLE)
        return web.Response(status=204)

    async def get_errors(self, request: web.Request, sandbox: Sandbox) -> web.Response:
        """``GET /license-errors/{ak}/{b64}``: the generator's output for a failed license."""
        key, hostid = self._pair(request)
        result = sandbox.state.get_license(key, hostid)
        lic = result.license
        if lic is None:
            return self._refusal(result, _NO_ERRORS)
        if not lic.errors:
            return error_response(_NO_ERRORS, HAL_JSON)
        errors = [
            {"message": e.message, "creationTime": iso_time(e.creation_time)} for e in lic.errors
        ]
        links = {
            "self": {"href": self._href("license-errors", lic.activation_key, hostid)},
            "license-order": {"href": f"{self.prefix}/license-orders/{lic.activation_key}"},
        }
        return json_response({"errors": errors, "_links": links})

    async def get_order(self, request: web.Request, sandbox: Sandbox) -> web.Response:
        """``GET /license-orders/{ak}``: the order, also as ``_embedded.license-orders``."""
        result = sandbox.state.order_info(request.match_info["ak"])
        if result.order is None:
            return self._refusal(result, _UNKNOWN_KEY)
        order = self.order_json(result.order)
        return json_response({**order, "_embedded": {"license-orders": [order]}})

    async def get_by_state(self, request: web.Request, sandbox: Sandbox) -> web.Response:
        """``GET /licenses/{ak}?state=s1,s2``: the order's licenses in those states."""
        raw = request.query.get("state", "")
        names = [s.strip().lower() for s in raw.split(",") if s.strip()]
        unknown = [n for n in names if n not in _STATES]
        if unknown:
            message = f"Unknown license state: {unknown[0][:40]}."
            return json_response({"message": message}, status=400)
        states = [_STATES[n] for n in names] or list(LicenseState)
        result = sandbox.state.licenses_by_state(request.match_info["ak"], states)
        if result.order is None:
            return self._refusal(result, _UNKNOWN_KEY)
        order = result.order
        query = f"?state={','.join(names)}" if names else ""
        return json_response(
            {
                "activationKey": order.activation_key,
                "count": len(result.licenses),
                "_embedded": {
                    "licenses": [self.summary_json(lic) for lic in result.licenses],
                    "license-orders": [self.order_json(order)],
                },
                "_links": {
                    "self": {"href": f"{self.prefix}/licenses/{order.activation_key}{query}"},
                    "license-order": {
                        "href": f"{self.prefix}/license-orders/{order.activation_key}"
                    },
                },
            }
        )


def routes(prefix: str) -> list[web.RouteDef]:
    """The end-user REST v2 routes under ``prefix``."""
    api = EndUserRest(prefix)
    pair = "{ak}/{b64:.+}"
    return [
        web.put(f"{prefix}/licenses/{pair}", endpoint(ENDUSER, OP_PUT, api.put_license)),
        web.get(f"{prefix}/licenses/{pair}", endpoint(ENDUSER, OP_LICENSE, api.get_license)),
        web.delete(f"{prefix}/licenses/{pair}", endpoint(ENDUSER, OP_DELETE, api.delete_license)),
        web.get(f"{prefix}/licenses/{{ak}}", endpoint(ENDUSER, OP_STATE, api.get_by_state)),
        web.get(f"{prefix}/license-queue/{pair}", endpoint(ENDUSER, OP_QUEUE, api.get_queue)),
        web.get(f"{prefix}/license-errors/{pair}", endpoint(ENDUSER, OP_ERRORS, api.get_errors)),
        web.get(f"{prefix}/license-orders/{{ak}}", endpoint(ENDUSER, OP_ORDER, api.get_order)),
    ]

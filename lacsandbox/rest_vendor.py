"""Vendor REST of the sandbox: bearer tokens, activation counters, orders and licenses.

Routes (under ``/rest/vendor``; LAC does not document the base URL, lac-api.md section 6.3)::

    POST /auth/tokens                     {"username","password"} -> 200 {"token"}; 400
    GET  /activation-counters             the vendor's activation balance
    GET  /license-orders/{ak}/licenses    the order's licenses (?offset); 404 unknown key
    GET  /licenses                        every license (?offset, ?activation_key)
    GET  /license-orders                  orders (?offset, ?activation_key partial)

Every call but the first needs ``Authorization: Bearer <token>``, with the same tokens and
lifetime as vendor SOAP ``Login``; a wrong or expired one is 403. Plain JSON, times
``YYYY-MM-DD HH:MM:SS``, pages of ``state.PAGE_SIZE``.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime
from typing import Final

import orjson
from aiohttp import web

from lacsandbox.codetable import Code
from lacsandbox.models import ActivationSubscription, License, Order, VendorAccount
from lacsandbox.rest import JSON, VENDOR, endpoint, error_response, json_response, vendor_error
from lacsandbox.runtime import Sandbox
from lacsandbox.state import PAGE_SIZE, Result, normalise_key

OP_TOKENS: Final = "vendor POST /auth/tokens"
OP_COUNTERS: Final = "vendor GET /activation-counters"
OP_ORDER_LICENSES: Final = "vendor GET /license-orders/licenses"
OP_LICENSES: Final = "vendor GET /licenses"
OP_ORDERS: Final = "vendor GET /license-orders"

_BEARER: Final = "bearer "
_BAD_OFFSET: Final = "offset must be a non-negative integer."
_LOGIN_REFUSED: Final = "Body must be a JSON object with username and password."


def vendor_time(value: datetime | date | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS`` for a time, ``YYYY-MM-DD`` for a date."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()


def license_id(lic: License) -> int:
    """A stable numeric id for a license: the same pair always gets the same id."""
    return zlib.crc32(f"{lic.activation_key}|{lic.hostid_string}".encode())


def license_json(lic: License) -> dict[str, object]:
    """A license as vendor REST lists it (``license_text`` and times null until generated)."""
    return {
        "id": license_id(lic),
        "activation_key": lic.activation_key,
        "license_text": lic.content or None,
        "activation_time": vendor_time(lic.activation_time),
        "expiration_date": vendor_time(lic.expiration_date),
        "HostidValues": [{"name": h.type, "value": h.value} for h in lic.hostids],
    }


def subscription_json(sub: ActivationSubscription) -> dict[str, object]:
    """One activation subscription, with ``Soap_ActivationSubscription`` field names."""
    return {
        "start_date": vendor_time(sub.start_date),
        "expiration_date": vendor_time(sub.expiration_date),
        "next_reset_date": vendor_time(sub.next_reset_date),
        "activations_left_count": sub.activations_left_count,
        "default_count": sub.default_count,
    }


def counters_json(account: VendorAccount) -> dict[str, object]:
    """The activation balance, with ``Soap_ActivationCounters`` field names."""
    return {
        "ActivationSubscriptions": [subscription_json(s) for s in account.subscriptions],
        "one_time_activations_left_count": account.one_time_activations_left_count,
        "one_time_activations_expiration_date": vendor_time(
            account.one_time_activations_expiration_date
        ),
    }


def order_json(order: Order) -> dict[str, object]:
    """An order as vendor REST lists it (``Soap_LicenseOrder`` field names)."""
    spec = order.spec
    return {
        "activation_key": order.activation_key,
        "customer_id": spec.customer_id,
        "customer": {"id": spec.customer_id, "name": spec.customer_name},
        "product_template_id": spec.product_template_id,
        "creation_time": vendor_time(order.creation_time),
        "license_type": spec.license_type,
        "min_hostids": spec.min_hostids,
        "activated_licenses_count": order.activated_count,
        "enabled": spec.enabled,
        "description": spec.description,
        "removal": order.removal,
        "removal_request_time": vendor_time(order.removal_request_time),
        "removal_confirmation_time": vendor_time(order.removal_confirmation_time),
        "deactivations_allowed": spec.deactivations_allowed,
        "deactivations_left": order.deactivations_left,
    }


def bearer(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    header = request.headers.get("Authorization", "")
    if header[: len(_BEARER)].lower() != _BEARER:
        return None
    return header[len(_BEARER) :].strip() or None


def _failure(result: Result) -> web.Response:
    return error_response(vendor_error(result.code), JSON)


def _bad_request(message: str) -> web.Response:
    return json_response({"message": message}, status=400, content_type=JSON)


def _offset(request: web.Request) -> int | None:
    raw = request.query.get("offset", "").strip() or "0"
    # Bounded so a caller cannot make the sandbox parse a huge number.
    if not raw.isdigit() or len(raw) > 9:
        return None
    return int(raw)


def _date_filter(request: web.Request) -> tuple[date, date] | str | None:
    """``expiration_date_after`` + ``_before`` (inclusive, only together), or the complaint."""
    after, before = (request.query.get(f"expiration_date_{s}") for s in ("after", "before"))
    if after is None and before is None:
        return None
    if after is None or before is None:
        return "expiration_date_after and expiration_date_before go together."
    try:
        return date.fromisoformat(after), date.fromisoformat(before)
    except ValueError:
        return "Dates must be YYYY-MM-DD."


async def create_token(request: web.Request, sandbox: Sandbox) -> web.Response:
    """``POST /auth/tokens``: log in with the vendor credentials, 200 ``{"token"}``."""
    # aiohttp caps the body at the application's client_max_size (413 beyond it).
    raw = await request.read()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return _bad_request(_LOGIN_REFUSED)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return _bad_request(_LOGIN_REFUSED)
    result = sandbox.state.login(username, password)
    if not result.ok:
        return _failure(result)
    return json_response({"token": result.token}, content_type=JSON)


async def activation_counters(request: web.Request, sandbox: Sandbox) -> web.Response:
    """``GET /activation-counters``: the vendor's activation balance."""
    result = sandbox.state.activation_counters(bearer(request))
    if result.account is None:
        return _failure(result)
    return json_response(counters_json(result.account), content_type=JSON)


async def order_licenses(request: web.Request, sandbox: Sandbox) -> web.Response:
    """``GET /license-orders/{ak}/licenses``: one page of an order's licenses."""
    result = sandbox.state.order_licenses(
        bearer(request), request.match_info["ak"], request.query.get("offset")
    )
    if not result.ok:
        return _failure(result)
    return json_response([license_json(lic) for lic in result.licenses], content_type=JSON)


async def all_licenses(request: web.Request, sandbox: Sandbox) -> web.Response:
    """``GET /licenses``: one page of every license, filtered by key and expiration dates."""
    state = sandbox.state
    if state.check_token(bearer(request)) != Code.LAC_SUCCESS:
        return _failure(Result(Code.LAC_WRONG_TOKEN))
    offset, dates = _offset(request), _date_filter(request)
    if offset is None:
        return _bad_request(_BAD_OFFSET)
    if isinstance(dates, str):
        return _bad_request(dates)
    wanted = request.query.get("activation_key")
    key = normalise_key(wanted) if wanted is not None else None
    if wanted is not None and key is None:
        return json_response([], content_type=JSON)
    found: list[License] = []
    for order_key in sorted(state.orders) if key is None else [key]:
        order = state.orders.get(order_key)
        if order is None:
            continue
        state.settle_order(order)
        found.extend(lic for lic in order.licenses.values() if _expires_within(lic, dates))
    page = found[offset : offset + PAGE_SIZE]
    return json_response([license_json(lic) for lic in page], content_type=JSON)


def _expires_within(lic: License, dates: tuple[date, date] | None) -> bool:
    if dates is None:
        return True
    return lic.expiration_date is not None and dates[0] <= lic.expiration_date <= dates[1]


async def license_orders(request: web.Request, sandbox: Sandbox) -> web.Response:
    """``GET /license-orders``: one page of orders, ``activation_key`` matching partially."""
    result = sandbox.state.find_orders(
        bearer(request), request.query.get("activation_key"), request.query.get("offset")
    )
    if not result.ok:
        return _failure(result)
    return json_response([order_json(order) for order in result.orders], content_type=JSON)


def routes(prefix: str) -> list[web.RouteDef]:
    """The vendor REST routes under ``prefix``."""
    return [
        web.post(f"{prefix}/auth/tokens", endpoint(VENDOR, OP_TOKENS, create_token)),
        web.get(
            f"{prefix}/activation-counters", endpoint(VENDOR, OP_COUNTERS, activation_counters)
        ),
        web.get(
            f"{prefix}/license-orders/{{ak}}/licenses",
            endpoint(VENDOR, OP_ORDER_LICENSES, order_licenses),
        ),
        web.get(f"{prefix}/licenses", endpoint(VENDOR, OP_LICENSES, all_licenses)),
        web.get(f"{prefix}/license-orders", endpoint(VENDOR, OP_ORDERS, license_orders)),
    ]

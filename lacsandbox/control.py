"""The control API under ``/_sandbox/``: orders, counters, faults, clock, tokens, reset (JSON).

Tests and benchmarks drive the sandbox through it; it is neither counted nor faulted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime

from aiohttp import web

from lacsandbox.faults import FaultError, fault_from_mapping
from lacsandbox.keys import SANDBOX
from lacsandbox.models import License, Order
from lacsandbox.seed import MAX_SECONDS, SeedError, order_spec
from lacsandbox.state import normalise_key

PREFIX = "/_sandbox"


def _when(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def license_json(lic: License) -> dict[str, object]:
    """A license as the control API shows it (content included: this is a test tool)."""
    return {
        "activation_key": lic.activation_key,
        "hostid": lic.hostid_string,
        "hostids": [{"type": h.type, "value": h.value} for h in lic.hostids],
        "received": list(lic.received),
        "state": lic.state.value,
        "creation_time": _when(lic.creation_time),
        "ready_time": _when(lic.ready_time),
        "activation_time": _when(lic.activation_time),
        "expiration_date": _when(lic.expiration_date),
        "maintenance_end_date": _when(lic.maintenance_end_date),
        "filename": lic.filename or None,
        "content": lic.content or None,
        "errors": [
            {"message": e.message, "creation_time": _when(e.creation_time)} for e in lic.errors
        ],
    }


def order_json(order: Order) -> dict[str, object]:
    """An order: its spec, its counters and its licenses."""
    spec = order.spec
    return {
        "activation_key": spec.activation_key,
        "product_name": spec.product_name,
        "product_version": spec.product_version,
        "customer_name": spec.customer_name,
        "license_type": spec.license_type,
        "enabled": spec.enabled,
        "bulk_max": spec.bulk_max,
        "hostid_types": list(spec.hostid_types),
        "min_hostids": spec.min_hostids,
        "max_hostids": spec.max_hostids,
        "not_locked": spec.not_locked,
        "generation_delay": spec.generation_delay,
        "generator_failure": spec.generator_failure,
        "generator_uploaded": spec.generator_uploaded,
        "deactivations_allowed": spec.deactivations_allowed,
        "deactivations_left": order.deactivations_left,
        "removal": order.removal,
        "removal_request_time": _when(order.removal_request_time),
        "removal_confirmation_time": _when(order.removal_confirmation_time),
        "activated": order.activated_count,
        "activations_total": order.activations_total,
        "features": [
            {"name": f.name, "version": f.version, "end": _when(f.end)} for f in spec.features
        ],
        "licenses": [license_json(lic) for lic in order.licenses.values()],
    }


def _bad(message: str, status: int = 400) -> web.HTTPException:
    body = json.dumps({"error": message})
    if status == 404:
        return web.HTTPNotFound(text=body, content_type="application/json")
    return web.HTTPBadRequest(text=body, content_type="application/json")


async def _body(request: web.Request) -> dict[str, object]:
    if not request.can_read_body:
        return {}
    try:
        data = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad("body must be JSON") from exc
    if not isinstance(data, dict):
        raise _bad("body must be a JSON object")
    return data


def _order_or_404(request: web.Request) -> Order:
    key = normalise_key(request.match_info["key"])
    order = request.app[SANDBOX].state.orders.get(key or "")
    if order is None:
        raise _bad("no such order", 404)
    return order


async def list_orders(request: web.Request) -> web.Response:
    """``GET /_sandbox/orders``."""
    state = request.app[SANDBOX].state
    for order in state.orders.values():
        state.settle_order(order)
    return web.json_response([order_json(o) for o in state.orders.values()])


async def get_order(request: web.Request) -> web.Response:
    """``GET /_sandbox/orders/{key}``."""
    order = _order_or_404(request)
    request.app[SANDBOX].state.settle_order(order)
    return web.json_response(order_json(order))


async def put_order(request: web.Request) -> web.Response:
    """``PUT /_sandbox/orders/{key}``: create an order, or change the fields given."""
    key = normalise_key(request.match_info["key"])
    if key is None:
        raise _bad("activation key must look like AAAAA-BBBBB-CCCCC-DDDDD")
    state = request.app[SANDBOX].state
    body = await _body(request)
    left = body.pop("deactivations_left", None)
    existing = state.orders.get(key)
    try:
        spec = order_spec({**body, "activation_key": key}, existing.spec if existing else None)
    except SeedError as exc:
        raise _bad(str(exc)) from exc
    order = state.put_order(spec)
    if left is not None:
        if isinstance(left, bool) or not isinstance(left, int) or left < 0:
            raise _bad("deactivations_left must be a non-negative integer")
        order.deactivations_left = left
    return web.json_response(order_json(order), status=200 if existing else 201)


async def get_license(request: web.Request) -> web.Response:
    """``GET /_sandbox/licenses/{key}?hostid=...``: one license as it stands now."""
    lic = request.app[SANDBOX].state.inspect_license(
        request.match_info["key"], request.query.get("hostid", "")
    )
    if lic is None:
        raise _bad("no license for this activation key and HostID", 404)
    return web.json_response(license_json(lic))


async def delete_license(request: web.Request) -> web.Response:
    """``DELETE /_sandbox/licenses/{key}?hostid=...``: the vendor revoked it; LAC has it no more."""
    lic = request.app[SANDBOX].state.revoke_license(
        request.match_info["key"], request.query.get("hostid", "")
    )
    if lic is None:
        raise _bad("no license for this activation key and HostID", 404)
    return web.json_response(license_json(lic))


async def get_counters(request: web.Request) -> web.Response:
    """``GET /_sandbox/counters``: ``{transport: {operation: count}}``."""
    return web.json_response(request.app[SANDBOX].counters.snapshot())


async def get_traceparents(request: web.Request) -> web.Response:
    """``GET /_sandbox/traceparents``: ``[{transport, operation, traceparent}]``, oldest first."""
    return web.json_response(request.app[SANDBOX].counters.traceparents())


async def delete_counters(request: web.Request) -> web.Response:
    """``DELETE /_sandbox/counters``: zero every counter."""
    request.app[SANDBOX].counters.reset()
    return web.json_response({})


async def reset(request: web.Request) -> web.Response:
    """``POST /_sandbox/reset`` ``{"scope": "all" | "counters"}``."""
    scope = (await _body(request)).get("scope", "all")
    if scope not in ("all", "counters"):
        raise _bad('scope must be "all" or "counters"')
    request.app[SANDBOX].reset(counters_only=scope == "counters")
    return web.json_response({"reset": scope})


async def list_faults(request: web.Request) -> web.Response:
    """``GET /_sandbox/faults``."""
    return web.json_response([f.as_dict() for f in request.app[SANDBOX].faults.active()])


async def add_faults(request: web.Request) -> web.Response:
    """``POST /_sandbox/faults``: one fault object, or ``{"faults": [...]}``."""
    body = await _body(request)
    raw = body.get("faults", [body])
    if not isinstance(raw, list) or not all(isinstance(f, Mapping) for f in raw):
        raise _bad("faults must be a list of objects")
    try:
        parsed = [fault_from_mapping(f) for f in raw]
    except (FaultError, ValueError) as exc:
        raise _bad(str(exc)) from exc
    faults = request.app[SANDBOX].faults
    return web.json_response([faults.add(f).as_dict() for f in parsed], status=201)


async def clear_faults(request: web.Request) -> web.Response:
    """``DELETE /_sandbox/faults``: remove every fault."""
    request.app[SANDBOX].faults.clear()
    return web.json_response([])


async def delete_fault(request: web.Request) -> web.Response:
    """``DELETE /_sandbox/faults/{id}``."""
    raw = request.match_info["id"]
    if not raw.isdigit() or not request.app[SANDBOX].faults.remove(int(raw)):
        raise _bad("no such fault", 404)
    return web.json_response({"removed": int(raw)})


async def expire_tokens(request: web.Request) -> web.Response:
    """``POST /_sandbox/tokens/expire``: every vendor token stops working now."""
    return web.json_response({"expired": request.app[SANDBOX].state.expire_tokens()})


def _clock_json(request: web.Request) -> dict[str, object]:
    clock = request.app[SANDBOX].state.clock
    return {"now": clock.now().isoformat(), "offset": clock.offset}


async def get_clock(request: web.Request) -> web.Response:
    """``GET /_sandbox/clock``: the sandbox's time and its offset from wall time."""
    return web.json_response(_clock_json(request))


async def set_clock(request: web.Request) -> web.Response:
    """``POST /_sandbox/clock`` ``{"advance": seconds}`` or ``{"offset": seconds}``."""
    body = await _body(request)
    clock = request.app[SANDBOX].state.clock
    advance, offset = body.get("advance"), body.get("offset")
    value = advance if advance is not None else offset
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad('give "advance" or "offset" as a number of seconds')
    target = clock.offset + value if advance is not None else value
    if not abs(target) <= MAX_SECONDS:
        raise _bad(f"the clock moves at most {MAX_SECONDS:.0f} seconds from wall time")
    clock.offset = float(target)
    return web.json_response(_clock_json(request))


async def get_settings(request: web.Request) -> web.Response:
    """``GET /_sandbox/settings``."""
    sandbox = request.app[SANDBOX]
    return web.json_response(
        {
            "token_ttl": sandbox.state.token_ttl,
            "vendor_requires_https": sandbox.vendor_requires_https,
            "without_get_license": sandbox.without_get_license,
        }
    )


def _flag(body: dict[str, object], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise _bad(f"{name} must be true or false")
    return value


async def patch_settings(request: web.Request) -> web.Response:
    """``PATCH /_sandbox/settings``: token_ttl (s), vendor_requires_https, without_get_license.

    Everything is checked before anything changes: a bad field leaves every setting as it was.
    """
    body = await _body(request)
    sandbox = request.app[SANDBOX]
    ttl = body.get("token_ttl")
    https, without = _flag(body, "vendor_requires_https"), _flag(body, "without_get_license")
    if ttl is not None and (
        isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl <= MAX_SECONDS
    ):
        raise _bad("token_ttl must be a positive number of seconds")
    if isinstance(ttl, int | float):
        sandbox.state.token_ttl = float(ttl)
    if https is not None:
        sandbox.vendor_requires_https = https
    if without is not None:
        sandbox.without_get_license = without
    return await get_settings(request)


def setup_control_routes(app: web.Application) -> None:
    """Register the ``/_sandbox/`` routes."""
    r = app.router
    r.add_get(f"{PREFIX}/orders", list_orders)
    r.add_get(f"{PREFIX}/orders/{{key}}", get_order)
    r.add_put(f"{PREFIX}/orders/{{key}}", put_order)
    r.add_get(f"{PREFIX}/licenses/{{key}}", get_license)
    r.add_delete(f"{PREFIX}/licenses/{{key}}", delete_license)
    r.add_get(f"{PREFIX}/counters", get_counters)
    r.add_delete(f"{PREFIX}/counters", delete_counters)
    r.add_get(f"{PREFIX}/traceparents", get_traceparents)
    r.add_post(f"{PREFIX}/reset", reset)
    r.add_get(f"{PREFIX}/faults", list_faults)
    r.add_post(f"{PREFIX}/faults", add_faults)
    r.add_delete(f"{PREFIX}/faults", clear_faults)
    r.add_delete(f"{PREFIX}/faults/{{id}}", delete_fault)
    r.add_post(f"{PREFIX}/tokens/expire", expire_tokens)
    r.add_get(f"{PREFIX}/clock", get_clock)
    r.add_post(f"{PREFIX}/clock", set_clock)
    r.add_get(f"{PREFIX}/settings", get_settings)
    r.add_patch(f"{PREFIX}/settings", patch_settings)

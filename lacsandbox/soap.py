"""The sandbox's SOAP endpoints: end-user v1 and v2, vendor v4, and their WSDLs.

``POST /soap/type/{kind}/version/{n}`` dispatches on the local name of the operation element,
whatever its prefix or namespace; ``GET ...?wsdl`` serves the WSDL with ``soap:address`` set to
the URL it was fetched from. Every answer is in-band (HTTP 200 with ``result_code``) except
malformed XML and operations the endpoint does not have, which get a ``Client`` SOAP Fault
(HTTP 500), as a SOAP server answers them, and an injected ``soap_fault``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from aiohttp import web

from lacsandbox import soapxml
from lacsandbox.codetable import Code, message
from lacsandbox.faults import FaultKind, Injection, intercept
from lacsandbox.keys import SANDBOX
from lacsandbox.licensetext import Feature
from lacsandbox.models import ActivationSubscription, Order, VendorAccount
from lacsandbox.runtime import Sandbox
from lacsandbox.state import Result

WSDL_DIR = Path(__file__).resolve().parent.parent / "gateway" / "data" / "wsdl"
LAC_BASE = "https://license.x-formation.com/soap/type"
CONTENT_TYPE = "text/xml; charset=utf-8"
GET_LICENSE = "GetLicense"
"""The inferred polling call the ``without_get_license`` flag takes away."""
UNPARSED = "(unparsed)"
"""The operation name malformed requests are counted under."""

RESPONSE = "Soap_Response"
RESPONSE_LOGIN = "Soap_Response_Login"
RESPONSE_COUNTERS = "Soap_Response_ActivationCounters"
RESPONSE_ORDERS = "Soap_Response_List_LicenseOrder"


@dataclass(frozen=True, slots=True)
class Answer:
    """What an operation answers: the state's result and the reply structure to carry it."""

    result: Result
    return_type: str = RESPONSE
    payload: str = ""


Params = Mapping[str, str | None]
Operation = Callable[[Sandbox, Params], Answer]


# -- end-user operations ----------------------------------------------------------------------


def _enduser(call: Callable[[Sandbox, str | None, str | None], Result]) -> Operation:
    def operation(sandbox: Sandbox, params: Params) -> Answer:
        return Answer(call(sandbox, params.get("activationKey"), params.get("hostid")))

    return operation


ENDUSER_V1: Mapping[str, Operation] = MappingProxyType(
    {
        "CreateLicenseRequest": _enduser(lambda s, k, h: s.state.create_request(k, h)),
        "GetLicense": _enduser(lambda s, k, h: s.state.get_license(k, h)),
    }
)
ENDUSER_V2: Mapping[str, Operation] = MappingProxyType(
    {
        **ENDUSER_V1,
        "DeactivateLicense": _enduser(lambda s, k, h: s.state.deactivate(k, h)),
        "LicenseRemovalRequested": _enduser(lambda s, k, h: s.state.removal_requested(k, h)),
        "LicenseRemovalConfirm": _enduser(lambda s, k, h: s.state.removal_confirm(k, h)),
    }
)


# -- vendor operations ------------------------------------------------------------------------


def _subscription_fields(sub: ActivationSubscription) -> str:
    return (
        soapxml.timestamp("start_date", sub.start_date)
        + soapxml.timestamp("expiration_date", sub.expiration_date)
        + soapxml.timestamp("next_reset_date", sub.next_reset_date)
        + soapxml.integer("activations_left_count", sub.activations_left_count)
        + soapxml.integer("default_count", sub.default_count)
    )


def counters_object(account: VendorAccount) -> str:
    """``result_object`` of ``GetActivationCounters``."""
    subs = [_subscription_fields(s) for s in account.subscriptions]
    fields = (
        soapxml.array("ActivationSubscriptions", "Soap_ActivationSubscription", subs)
        + soapxml.integer(
            "one_time_activations_left_count", account.one_time_activations_left_count
        )
        + soapxml.timestamp(
            "one_time_activations_expiration_date", account.one_time_activations_expiration_date
        )
        # LAC's documented example still carries v1's free activations, which the v2+ WSDL no
        # longer declares: a client must read past a field its WSDL does not know.
        + soapxml.integer("free_activations_left_count", 0)
    )
    return soapxml.struct("result_object", "Soap_ActivationCounters", fields)


def _feature_fields(feature: Feature) -> str:
    return (
        soapxml.string("name", feature.name)
        + soapxml.string("version", feature.version)
        + soapxml.string("expiration_type", "fixed" if feature.end else "no_expiration")
        + soapxml.timestamp("expiration_date", feature.end)
        + soapxml.string("issued_type", "not_issued")
        + soapxml.string(
            "maintenance_type", "fixed" if feature.maintenance_end else "no_maintenance"
        )
        + soapxml.boolean("enabled", True)
    )


def _hostid_fields(order: Order) -> list[str]:
    return [
        soapxml.string("name", token)
        + soapxml.integer("min_amount", 0)
        + soapxml.integer("max_amount", order.spec.max_hostids)
        for token in order.spec.hostid_types
    ]


def order_fields(order: Order) -> str:
    """The fields of one ``Soap_LicenseOrder``."""
    spec = order.spec
    return "".join(
        (
            soapxml.integer("customer_id", spec.customer_id),
            soapxml.integer("product_template_id", spec.product_template_id),
            soapxml.string("activation_key", spec.activation_key),
            soapxml.timestamp("creation_time", order.creation_time),
            soapxml.string("license_type", spec.license_type),
            soapxml.string("licensee_type", "customer"),
            soapxml.string("licensee", spec.customer_name),
            soapxml.integer("hostid_match_rate", 100),
            soapxml.integer("min_hostids", 0 if spec.not_locked else spec.min_hostids),
            soapxml.integer("activated_licenses_count", order.activated_count),
            soapxml.boolean("enabled", spec.enabled),
            soapxml.string("description", spec.description),
            soapxml.array("Hostids", "Soap_Hostid", _hostid_fields(order)),
            soapxml.array("Features", "Soap_Feature", [_feature_fields(f) for f in spec.features]),
            soapxml.string("settings_description", None),
            soapxml.boolean("removal", order.removal),
            soapxml.timestamp("removal_request_time", order.removal_request_time),
            soapxml.timestamp("removal_confirmation_time", order.removal_confirmation_time),
            soapxml.integer("deactivations_allowed", spec.deactivations_allowed),
            soapxml.integer("deactivations_left", order.deactivations_left),
        )
    )


def _login(sandbox: Sandbox, params: Params) -> Answer:
    result = sandbox.state.login(params.get("username"), params.get("password"))
    return Answer(result, RESPONSE_LOGIN, soapxml.string("token", result.token))


def _counters(sandbox: Sandbox, params: Params) -> Answer:
    result = sandbox.state.activation_counters(params.get("token"))
    payload = counters_object(result.account) if result.account is not None else ""
    return Answer(result, RESPONSE_COUNTERS, payload)


def _order_list(result: Result) -> Answer:
    items = [order_fields(order) for order in result.orders]
    payload = soapxml.array("result_array", "Soap_LicenseOrder", items) if result.ok else ""
    return Answer(result, RESPONSE_ORDERS, payload)


def _find(sandbox: Sandbox, params: Params) -> Answer:
    token, key = params.get("token"), params.get("activationKey")
    return _order_list(sandbox.state.find_orders(token, key, params.get("offset")))


def _list(sandbox: Sandbox, params: Params) -> Answer:
    return _order_list(sandbox.state.find_orders(params.get("token"), "", params.get("offset")))


def _list_disabled(sandbox: Sandbox, params: Params) -> Answer:
    token, offset = params.get("token"), params.get("offset")
    return _order_list(sandbox.state.find_orders(token, "", offset, disabled_only=True))


def _with_key(call: Callable[[Sandbox, str | None, str | None], Result]) -> Operation:
    def operation(sandbox: Sandbox, params: Params) -> Answer:
        return Answer(call(sandbox, params.get("token"), params.get("activationKey")))

    return operation


VENDOR_V4: Mapping[str, Operation] = MappingProxyType(
    {
        "Login": _login,
        "Logout": lambda s, p: Answer(s.state.logout(p.get("token"))),
        "GetActivationCounters": _counters,
        "FindLicenseOrderByActivationKey": _find,
        "GetLicenseOrderList": _list,
        "GetLicenseOrderDisabled": _list_disabled,
        "ResetDeactivationCounter": _with_key(
            lambda s, t, k: s.state.reset_deactivation_counter(t, k)
        ),
        "DeactivateLicenseOrder": _with_key(lambda s, t, k: s.state.deactivate_order(t, k)),
    }
)

# What each operation answers with when a fault forces a code on it.
RETURN_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "Login": RESPONSE_LOGIN,
        "GetActivationCounters": RESPONSE_COUNTERS,
        "FindLicenseOrderByActivationKey": RESPONSE_ORDERS,
        "GetLicenseOrderList": RESPONSE_ORDERS,
        "GetLicenseOrderDisabled": RESPONSE_ORDERS,
    }
)


# -- endpoints --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One SOAP service: its URL parts, WSDL file and operations."""

    kind: str
    version: str
    operations: Mapping[str, Operation]

    @property
    def namespace(self) -> str:
        """The service namespace LAC documents (the service URL)."""
        return f"{LAC_BASE}/{self.kind}/version/{self.version}"

    @property
    def wsdl_path(self) -> Path:
        """The WSDL file shipped in ``gateway/data/wsdl``."""
        return WSDL_DIR / f"{self.kind}_v{self.version}.wsdl"


ENDPOINTS: Mapping[tuple[str, str], Endpoint] = MappingProxyType(
    {
        ("enduser", "1"): Endpoint("enduser", "1", ENDUSER_V1),
        ("enduser", "2"): Endpoint("enduser", "2", ENDUSER_V2),
        ("vendor", "4"): Endpoint("vendor", "4", VENDOR_V4),
    }
)


@cache
def wsdl_text(path: Path) -> str:
    """A shipped WSDL, read once."""
    return path.read_text(encoding="utf-8")


@cache
def _without_get_license(path: Path) -> str:
    """A shipped WSDL without GetLicense, made once."""
    return soapxml.wsdl_without(wsdl_text(path), GET_LICENSE)


def _xml(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, headers={"Content-Type": CONTENT_TYPE})


def _answer_bytes(namespace: str, operation: str, answer: Answer) -> bytes:
    result = answer.result
    fields = soapxml.result_fields(result.code, result.message) + answer.payload
    return soapxml.reply(namespace, operation, answer.return_type, fields)


def _forced(operation: str, code: int) -> Answer:
    return Answer(Result(code, message(code)), RETURN_TYPES.get(operation, RESPONSE))


def _run(sandbox: Sandbox, endpoint: Endpoint, call: soapxml.SoapCall, secure: bool) -> Answer:
    if endpoint.kind == "vendor" and sandbox.vendor_requires_https and not secure:
        return _forced(call.operation, Code.LAC_SERVICE_REQUIRES_SECURE_CONNECTION)
    return endpoint.operations[call.operation](sandbox, call.params)


def _injected_fault(call: soapxml.SoapCall, injection: Injection) -> bytes:
    text = f"injected {injection.faultcode} fault on {call.operation}"
    if injection.echo:
        # Some SOAP servers quote the offending request in the fault string.
        text += ": " + ", ".join(f"{k}={v}" for k, v in sorted(call.params.items()))
    return soapxml.fault(injection.faultcode, text)


def _withdrawn(request: web.Request, endpoint: Endpoint, call: soapxml.SoapCall) -> bool:
    """Whether the sandbox plays a LAC without GetLicense and this call is GetLicense."""
    sandbox = request.app[SANDBOX]
    return (
        sandbox.without_get_license and endpoint.kind == "enduser" and call.operation == GET_LICENSE
    )


async def handle_post(request: web.Request) -> web.Response:
    """A SOAP call: parse leniently, apply faults, run the operation, answer in-band."""
    call = soapxml.parse_call(await request.read())
    operation = call.operation if call is not None else UNPARSED
    injection = await intercept(request, "soap", operation)
    if call is None:
        return _xml(soapxml.fault("Client", "Bad Request: malformed SOAP envelope"), 500)
    kind, version = request.match_info["kind"], request.match_info["version"]
    endpoint = ENDPOINTS.get((kind, version))
    namespace = call.namespace or f"{LAC_BASE}/{kind}/version/{version}"
    if endpoint is None:
        answer = _forced(call.operation, Code.LAC_SERVICE_DOESNT_EXIST)
    elif call.operation not in endpoint.operations or _withdrawn(request, endpoint, call):
        # What a SOAP server answers for a function its WSDL lacks: the request is at fault.
        text = f'Function ("{call.operation}") is not a valid method for this service'
        return _xml(soapxml.fault("Client", text), 500)
    elif injection is not None and injection.kind is FaultKind.SOAP_FAULT:
        return _xml(_injected_fault(call, injection), 500)
    elif injection is not None and injection.kind is FaultKind.CODE:
        answer = _forced(call.operation, injection.code or 0)
    else:
        answer = _run(request.app[SANDBOX], endpoint, call, request.secure)
    body = _answer_bytes(namespace, call.operation, answer)
    if injection is not None and injection.kind is FaultKind.MALFORMED:
        body = body[: len(body) // 2]
    return _xml(body)


async def handle_get(request: web.Request) -> web.Response:
    """``?wsdl``: the endpoint's WSDL, addressed to the URL it was fetched from."""
    endpoint = ENDPOINTS.get((request.match_info["kind"], request.match_info["version"]))
    if endpoint is None:
        raise web.HTTPNotFound(text=message(Code.LAC_SERVICE_DOESNT_EXIST))
    if "wsdl" not in (key.lower() for key in request.query):
        raise web.HTTPMethodNotAllowed("GET", ["POST"], text="POST SOAP envelopes; GET ?wsdl")
    here = soapxml.attr(f"{request.scheme}://{request.host}{request.path}")
    text = wsdl_text(endpoint.wsdl_path)
    if endpoint.kind == "enduser" and request.app[SANDBOX].without_get_license:
        text = _without_get_license(endpoint.wsdl_path)
    wsdl = text.replace(f'location="{endpoint.namespace}"', f'location="{here}"', 1)
    return web.Response(text=wsdl, content_type="text/xml", charset="utf-8")


def setup_soap_routes(app: web.Application) -> None:
    """Register the SOAP endpoints (any type/version in the URL; unknown ones answer 41)."""
    app.router.add_post("/soap/type/{kind}/version/{version}", handle_post)
    app.router.add_get("/soap/type/{kind}/version/{version}", handle_get)

"""The one table of SOAP operation and field names the gateway uses toward LAC.

``GetLicense`` is inferred (lac-api.md section 3.2): if the live WSDL names it or its
parameters differently, the fix is one line in ``SOAP_OPS`` below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Op(StrEnum):
    """What the gateway wants done; the wire names live in ``SOAP_OPS``."""

    CREATE = "create"
    GET_LICENSE = "get_license"
    DEACTIVATE = "deactivate"
    REMOVAL_REQUESTED = "removal_requested"
    REMOVAL_CONFIRM = "removal_confirm"
    LOGIN = "login"
    LOGOUT = "logout"
    ACTIVATION_COUNTERS = "activation_counters"
    FIND_ORDER = "find_order"


@dataclass(frozen=True, slots=True)
class SoapOp:
    """One SOAP operation: its WSDL name and the wire name of each argument."""

    name: str
    fields: Mapping[str, str]
    mutating: bool = False


_KEY_AND_HOST = MappingProxyType({"activation_key": "activationKey", "hostid": "hostid"})

SOAP_OPS: Mapping[Op, SoapOp] = MappingProxyType(
    {
        # End-user SOAP v2.
        Op.CREATE: SoapOp("CreateLicenseRequest", _KEY_AND_HOST, mutating=True),
        Op.GET_LICENSE: SoapOp("GetLicense", _KEY_AND_HOST),
        Op.DEACTIVATE: SoapOp("DeactivateLicense", _KEY_AND_HOST, mutating=True),
        Op.REMOVAL_REQUESTED: SoapOp("LicenseRemovalRequested", _KEY_AND_HOST),
        Op.REMOVAL_CONFIRM: SoapOp("LicenseRemovalConfirm", _KEY_AND_HOST, mutating=True),
        # Vendor SOAP v4: every call but Login takes the token first.
        Op.LOGIN: SoapOp(
            "Login", MappingProxyType({"username": "username", "password": "password"})
        ),
        Op.LOGOUT: SoapOp("Logout", MappingProxyType({"token": "token"})),
        Op.ACTIVATION_COUNTERS: SoapOp(
            "GetActivationCounters", MappingProxyType({"token": "token"})
        ),
        Op.FIND_ORDER: SoapOp(
            "FindLicenseOrderByActivationKey",
            MappingProxyType(
                {"token": "token", "activation_key": "activationKey", "offset": "offset"}
            ),
        ),
    }
)

# Which WSDL defines each operation: end-user SOAP v2, or vendor SOAP v4.
ENDUSER_OPS = (Op.CREATE, Op.GET_LICENSE, Op.DEACTIVATE, Op.REMOVAL_REQUESTED, Op.REMOVAL_CONFIRM)
VENDOR_OPS = (Op.LOGIN, Op.LOGOUT, Op.ACTIVATION_COUNTERS, Op.FIND_ORDER)

# Fields of the Soap_Response* reply structures (lac-api.md section 2.3).
RESULT_CODE = "result_code"
RESULT_STRING = "result_string"
TOKEN = "token"  # noqa: S105 - the name of a reply field, not a secret
RESULT_OBJECT = "result_object"
RESULT_ARRAY = "result_array"

# Payloads LicenseRemovalRequested carries in result_string (lac-api.md section 3.4).
REMOVAL_YES = "SUCCESS"
REMOVAL_NO = "LICENSE_REMOVAL_NOT_REQUESTED"
REMOVAL_NEVER_GENERATED = "LICENSE_GENERATION_WAS_NOT_REQUESTED"

# Fields of Soap_LicenseOrder read by the vendor client (lac-api.md section 6.2).
ORDER_KEY = "activation_key"
ORDER_ENABLED = "enabled"
ORDER_ACTIVATED = "activated_licenses_count"
ORDER_PRODUCT = "product_template_id"

# Vendor list calls come in pages of this many rows (lac-api.md section 2.3).
PAGE_SIZE = 100

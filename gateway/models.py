"""The JSON API's pydantic models (request and answer bodies, problems).

The domain values behind them (HostIDs, activation keys and ids, their canonical forms) live
in ``gateway.hostids``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
)
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import TypeAliasType

from gateway.hostids import MAX_BATCH_ITEMS, MAX_HOSTID_STRING, MAX_HOSTID_VALUE, MAX_HOSTIDS

# --- JSON API models -------------------------------------------------------------------------

_STRICT = ConfigDict(extra="forbid", strict=True)
_OUT = ConfigDict(extra="forbid")

_KEY_EXAMPLE = "9EFJK-TVJM0-MCDET-EZKXJ"

# Named aliases: the OpenAPI document shows them as schemas of their own (generated clients get
# an ``ActivationState`` enum rather than one named after the field).
ActivationState = TypeAliasType("ActivationState", Literal["pending", "ready", "failed"])
ActivationSource = TypeAliasType("ActivationSource", Literal["cache", "lac", "job"])
_ID_EXAMPLE = "act_aarjjopecsae4rvcmoqjvluih7"


class HostIdObject(BaseModel):
    """A HostID as an object."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"examples": [{"type": "HOSTNAME", "value": "build01"}]},
    )

    type: str = Field(
        min_length=1,
        max_length=32,
        description="HostID type token, case-insensitive (HOSTNAME, ETHERNET, IPADDRESS, ...)",
        examples=["HOSTNAME"],
    )
    value: str = Field(
        max_length=MAX_HOSTID_VALUE,
        description="HostID value; no blanks; A-Z a-z 0-9 _ . * : \\ - (and @ for USERNAME)",
        examples=["build01"],
    )


def _hostid_kind(value: Any) -> str:
    return "string" if isinstance(value, str) else "object"


HostIdInput = Annotated[
    Annotated[
        str,
        Tag("string"),
        Field(
            max_length=MAX_HOSTID_STRING,
            description="LAC HostID string: TYPE=value, or several comma-separated",
            examples=["ETHERNET=AABBCCDDEEFF,IPADDRESS=10.0.0.5"],
        ),
    ]
    | Annotated[HostIdObject, Tag("object")],
    Discriminator(_hostid_kind),
]

HostIdList = Annotated[
    list[HostIdInput],
    Field(
        min_length=1,
        max_length=MAX_HOSTIDS,
        description="The machine's HostIDs; normalised to an order-independent set",
        examples=[["HOSTNAME=build01"], [{"type": "ETHERNET", "value": "48-2C-6A-1E-59-3D"}]],
    ),
]


class ActivationRequest(BaseModel):
    """Activate a license for one machine."""

    model_config = _STRICT

    activation_key: str = Field(
        min_length=1,
        max_length=64,
        description="The license order's activation key (case-insensitive)",
        examples=[_KEY_EXAMPLE],
    )
    hostids: HostIdList


class BatchRequest(BaseModel):
    """Several activations at once; the configured batch limit may be lower than the schema's."""

    model_config = _STRICT

    items: list[ActivationRequest] = Field(
        min_length=1, max_length=MAX_BATCH_ITEMS, description="The activations to perform"
    )


class RemovalConfirmRequest(BaseModel):
    """The host removed its license file."""

    model_config = _STRICT

    hostids: HostIdList


class LicenseBody(BaseModel):
    """An issued license file."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    content: str = Field(description="The license file text (LM-X format)")
    filename: str = Field(
        description="Suggested file name", examples=["license_2024_01_01-12_00.lic"]
    )
    activated_at: datetime | None = Field(default=None, description="When LAC activated it")
    expires_at: date | None = Field(default=None, description="Expiry date, if any")
    maintenance_end: date | None = Field(default=None, description="End of maintenance, if any")


class FieldError(BaseModel):
    """One invalid field of a request."""

    model_config = _OUT

    field: str = Field(description="Path of the field", examples=["hostids[0]"])
    message: str = Field(description="What is wrong with it")


# A member a body does not have is left out, never null; the schema says so by not admitting
# null (SkipJsonSchema) while the model still defaults the member to absent.
_Absent = SkipJsonSchema[None]


def _is_absent(value: object) -> bool:
    return value is None


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # absent, not null: a null default would contradict the type


def _omitted(description: str, **extra: Any) -> Any:
    """A member left out of the answer when it has no value."""
    return Field(
        default=None,
        exclude_if=_is_absent,
        description=description,
        json_schema_extra=_no_default,
        **extra,
    )


class Problem(BaseModel):
    """An RFC 9457 problem detail (application/problem+json); extension members may be added."""

    # RFC 9457 section 3.2: clients must ignore members they do not know, so the schema admits them.
    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="URI naming the problem type: an absolute path, relative to the gateway's "
        "host, whose page (GET) says what the problem means and what to do",
        examples=["/problems/unknown-activation-key"],
        json_schema_extra={"format": "uri-reference"},
    )
    title: str = Field(description="Short summary of the problem type")
    status: int = Field(description="The HTTP status", examples=[404])
    detail: str | _Absent = _omitted("What happened in this occurrence and what to do about it")
    instance: str | _Absent = _omitted("The request path")
    request_id: str | _Absent = _omitted("Echo of X-Request-ID")
    lac_code: int | _Absent = _omitted("LAC return code", examples=[101])
    lac_name: str | _Absent = _omitted(
        "LAC return code name", examples=["LAC_ACTIVATION_KEY_INVALID"]
    )
    lac_message: str | _Absent = _omitted("LAC's own text, when it says more than the code's name")
    errors: list[FieldError] | _Absent = _omitted("Invalid fields (422)")


class ActivationResponse(BaseModel):
    """Where one activation stands."""

    model_config = _OUT

    state: ActivationState = Field(description="Activation state")
    id: str = Field(description="Activation id", examples=[_ID_EXAMPLE])
    license: LicenseBody | None = Field(default=None, description="The license when ready")
    source: ActivationSource | None = Field(
        default=None,
        description="Where the license came from: cache (the gateway's cache), lac (answered "
        "by LAC in this request) or job (finished through a pending activation job)",
    )
    next_check_after: datetime | None = Field(
        default=None,
        description="When the product should ask about its license again (RFC 3339, UTC; also "
        "the Next-Check-After header): from the cache lifetime and revalidation, spread per "
        "activation so that a fleet does not come back at once",
        examples=["2026-01-02T12:00:00Z"],
    )
    stale: bool = Field(
        default=False, description="Served from cache past its freshness while LAC is unreachable"
    )
    error: Problem | _Absent = _omitted("Why the activation failed (only when state is failed)")


class BatchItemResult(BaseModel):
    """The outcome of one batch item."""

    model_config = _OUT

    index: int = Field(ge=0, description="Position of the item in the request")
    status: int = Field(description="The HTTP status this item would have had alone")
    body: ActivationResponse | Problem = Field(description="The item's response body")


class BatchResponse(BaseModel):
    """One result per batch item, in request order."""

    model_config = _OUT

    results: list[BatchItemResult] = Field(description="One result per item")


class OrderResponse(BaseModel):
    """A license order summary."""

    model_config = _OUT

    activation_key: str = Field(description="The order's activation key", examples=[_KEY_EXAMPLE])
    product: str | _Absent = _omitted(
        "Product name (REST only, not over SOAP: LAC's Soap_LicenseOrder has no product name)"
    )
    product_template_id: int | _Absent = _omitted(
        "LAC's product template id (SOAP only: the REST order body names the product instead)"
    )
    activations_used: int | _Absent = _omitted("Licenses activated")
    activations_allowed: int | _Absent = _omitted(
        "Activations allowed (REST only, not over SOAP: LAC's Soap_LicenseOrder has no such count)"
    )
    enabled: bool = Field(description="Whether the order may be activated")
    not_reported: list[str] = Field(
        description="The summary's members LAC did not report for this order (over SOAP "
        "product and activations_allowed, over REST product_template_id): they are left out, "
        "never null",
        examples=[["product", "activations_allowed"]],
    )


class RemovalStatus(BaseModel):
    """Whether the vendor asked this host to remove its license."""

    model_config = _OUT

    removal_requested: bool = Field(description="True when the host should delete its license")


class JobView(BaseModel):
    """A pending generation being polled (admin)."""

    model_config = _OUT

    id: str = Field(description="Activation id", examples=[_ID_EXAMPLE])
    state: str = Field(description="pending (waiting for its next poll) or leased (polling)")
    attempts: int = Field(ge=0, description="Polls started so far")
    created_at: datetime = Field(description="When LAC answered LAC_PLEASE_WAIT")
    next_poll_at: datetime = Field(description="Next poll (or lease end while being polled)")
    deadline_at: datetime = Field(description="When the gateway gives up polling")


class JobList(BaseModel):
    """Jobs in flight (admin)."""

    model_config = _OUT

    total: int = Field(ge=0, description="Jobs pending in all")
    jobs: list[JobView] = Field(description="The soonest due jobs")


class ActivationSubscription(BaseModel):
    """One activation subscription of the vendor account (LAC's ``Soap_ActivationSubscription``)."""

    model_config = _OUT

    start_date: str | None = Field(default=None, description="Start, as LAC writes it")
    expiration_date: str | None = Field(default=None, description="End, as LAC writes it")
    next_reset_date: str | None = Field(
        default=None, description="When the monthly allowance resets, as LAC writes it"
    )
    activations_left_count: int | None = Field(
        default=None, description="Activations left in this subscription"
    )
    default_count: int | None = Field(
        default=None, description="Activations the subscription grants per period"
    )


class ActivationCounters(BaseModel):
    """The vendor account's activation balance (LAC's ``GetActivationCounters``)."""

    model_config = _OUT

    activation_subscriptions: list[ActivationSubscription] = Field(
        default_factory=list, description="Subscriptions (LAC's ActivationSubscriptions)"
    )
    one_time_activations_left_count: int | None = Field(
        default=None, description="One-time activations left"
    )
    one_time_activations_expiration_date: str | None = Field(
        default=None, description="When the one-time activations expire, as LAC writes it"
    )

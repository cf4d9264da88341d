"""Response shapes owned by the HTTP layer: the operations routes, admin purge and audit."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_OUT = ConfigDict(extra="forbid")


class PurgeResult(BaseModel):
    """The outcome of an admin cache purge."""

    model_config = _OUT

    purged: bool = Field(description="true if a cached license was dropped")


class Health(BaseModel):
    """Liveness: the process answers."""

    model_config = _OUT

    status: str = "ok"


class Readiness(BaseModel):
    """Readiness: the gateway can serve (Redis reachable, not draining)."""

    model_config = _OUT

    status: str = "ready"
    checks: dict[str, object] = Field(default_factory=dict, description="what was checked")


class AuditEvent(BaseModel):
    """One audit trail entry: who did what to which activation, and how it ended."""

    model_config = _OUT

    id: str = Field(description="stream entry id; pass as ?before= to page further back")
    at: str = Field(description="when, ISO 8601 UTC")
    action: str = Field(description="activation, deactivation or removal")
    caller: str = Field(description="name of the API key used")
    client: str = Field(
        default="", description="client address (behind a trusted proxy, the forwarded one)"
    )
    key: str = Field(description="the activation key, masked")
    host: str = Field(description="digest of the HostID set (empty when not read)")
    outcome: str = Field(
        description="requested, issued, deactivated, confirmed, failed, or refused (the API "
        "key lacked the scope or did not activate the pair)"
    )
    lac_code: int | None = Field(default=None, description="LAC return code, when known")


class AuditLog(BaseModel):
    """A page of the audit trail, newest first."""

    model_config = _OUT

    events: list[AuditEvent]


class Jwk(BaseModel):
    """One public key (RFC 8037: an Ed25519 key is kty OKP, crv Ed25519)."""

    model_config = _OUT

    kty: str = Field(description="key type, OKP")
    crv: str = Field(description="curve, Ed25519")
    x: str = Field(description="the 32-byte public key, base64url without padding")
    kid: str = Field(description="key id, as in the kid of LAC-Gateway-Signature")
    alg: str = Field(description="EdDSA")
    use: str = Field(description="sig")


class JwkSet(BaseModel):
    """The keys that sign license answers (a JWK Set, RFC 7517)."""

    model_config = _OUT

    keys: list[Jwk]


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document (its top-level members; the rest is OpenAPI's own schema)."""

    model_config = ConfigDict(extra="allow")

    openapi: str = Field(description="the OpenAPI version, 3.1.0")
    info: dict[str, object]
    paths: dict[str, object]


class WebhookDelivery(BaseModel):
    """One delivery of one webhook event to one endpoint."""

    model_config = _OUT

    id: str = Field(description="delivery id: endpoint name and outbox entry id")
    endpoint: str = Field(description="the endpoint's configured name")
    event: str = Field(description="the event type, e.g. activation.issued")
    webhook_id: str = Field(description="the webhook-id header, the same on every attempt")
    status: str = Field(description="pending, delivered or failed (dead-lettered or rejected)")
    attempts: int = Field(description="attempts made")
    tries: int = Field(description="attempts since the delivery was last (re)started")
    last_status: int = Field(description="HTTP status of the last attempt (0: no answer)")
    last_error: str | None = Field(default=None, description="timeout, a connection error, http")
    created: str | None = Field(default=None, description="when the event was recorded")
    next_at: str | None = Field(default=None, description="next attempt, while pending")
    last_attempt_at: str | None = Field(default=None, description="when last attempted")
    delivered_at: str | None = Field(default=None, description="when delivered")


class WebhookDeliveries(BaseModel):
    """A page of webhook deliveries, newest first."""

    model_config = _OUT

    deliveries: list[WebhookDelivery]
    next_cursor: str | None = Field(
        default=None, description="pass as ?cursor= for the next page; null on the last"
    )

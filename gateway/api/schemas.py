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

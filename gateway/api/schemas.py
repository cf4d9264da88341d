"""Response shapes owned by the HTTP layer: the operations routes and the admin purge."""

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

"""What the services share: answers and problems built one way, LAC failures mapped once, audit."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

import structlog
from redis.exceptions import RedisError

from gateway.codes import Code, lookup
from gateway.errors import (
    GatewayError,
    LacRequestRefused,
    ServiceUnavailable,
    lac_problem,
    problem_body,
)
from gateway.hostids import Target, mask_key
from gateway.lac.base import IssuedLicense, LacError, LacRequestRejected
from gateway.lac.resilience import CircuitOpen
from gateway.metrics import Metrics
from gateway.models import ActivationResponse, LicenseBody, Problem
from gateway.settings import AuditSettings
from gateway.store.audit import AuditTrail
from gateway.store.licenses import CachedLicense

log = structlog.get_logger("gateway.service")
T = TypeVar("T")


def license_body(lic: IssuedLicense) -> LicenseBody:
    """The API's license body of a license LAC issued."""
    return LicenseBody(
        content=lic.content,
        filename=lic.filename,
        activated_at=lic.activated_at,
        expires_at=lic.expires_at,
        maintenance_end=lic.maintenance_end,
    )


def problem_model(err: GatewayError) -> Problem:
    """The problem body of a caller-facing failure, for answers that embed one."""
    # The same members as a problem answered alone, less the request's own (instance, id).
    return Problem.model_validate(problem_body(err, request_id=None, instance=None))


def ready(aid: str, body: LicenseBody, source: str, *, stale: bool = False) -> ActivationResponse:
    """A ready activation carrying its license."""
    return ActivationResponse.model_validate(
        {"state": "ready", "id": aid, "license": body, "source": source, "stale": stale}
    )


def rejection(code: int, message: str) -> GatewayError:
    """The failure a recorded rejection stands for (PLEASE_WAIT: the job's deadline passed)."""
    if code == Code.PLEASE_WAIT:  # a job that outlived its deadline while LAC said "wait"
        return GatewayError(504, "License generation timed out", message, type_="timeout")
    return lac_problem(code, message)


def lac_failure(exc: LacError) -> GatewayError:
    """The caller-facing failure of a LAC call."""
    if isinstance(exc, CircuitOpen):
        # Nothing was sent: the caller may come back when the breaker lets a probe through.
        return ServiceUnavailable(
            "LAC is failing; the gateway is not calling it for now",
            title="LAC unavailable",
            type_="lac-circuit-open",
            lac_code=exc.code,
            lac_name=lookup(exc.code).name,
            retry_after=max(1, math.ceil(exc.retry_after)),
        )
    if isinstance(exc, LacRequestRejected):
        # Not LAC's code table: the request never had a chance. The detail names the operation.
        return LacRequestRefused(exc.message)
    return lac_problem(exc.code, exc.message)


async def lac_call(call: Awaitable[T]) -> T:
    """Await a LAC call, its failure mapped to the caller-facing one."""
    try:
        return await call
    except LacError as exc:
        raise lac_failure(exc) from exc


def count_lookup(metrics: Metrics, cached: CachedLicense | None) -> None:
    """Count one license cache lookup: hit, stale or miss."""
    result = "miss" if cached is None else ("hit" if cached.fresh else "stale")
    metrics.cache_lookups.labels("license", result).inc()


def audit_failed(action: str, exc: BaseException | None = None) -> None:
    """Log a lost audit event (the operation it describes stands)."""
    error = type(exc).__name__ if exc is not None else "ResponseError"
    log.warning("audit_write_failed", action=action, error=error)


class Auditor:
    """Writes the audit trail's events; a failed write is logged, never raised."""

    def __init__(
        self, trail: AuditTrail, settings: AuditSettings, clock: Callable[[], float]
    ) -> None:
        self.trail = trail
        self.settings = settings
        self.clock = clock

    def event(
        self, action: str, target: Target, caller: str, outcome: str, code: int | None
    ) -> dict[str, str] | None:
        """One audit trail event, or None when the trail is off."""
        if not self.settings.enabled:
            return None
        return {
            "at": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
            "action": action,
            "caller": caller,
            "key": mask_key(target.key),
            "host": target.host_hash,
            "outcome": outcome,
            "lac_code": "" if code is None else str(code),
        }

    async def record(
        self, action: str, target: Target, caller: str, outcome: str, code: int | None
    ) -> None:
        """Append one event to the audit trail."""
        event = self.event(action, target, caller, outcome, code)
        if event is None:
            return
        try:
            await self.trail.append_audit(event, self.settings.max_events)
        except RedisError as exc:
            # The operation is done at LAC, or refused: losing its trace must not change that.
            audit_failed(action, exc)

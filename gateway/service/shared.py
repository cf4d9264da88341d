"""What the services share: answers and problems built one way, LAC failures mapped once, audit."""

from __future__ import annotations

import functools
import hashlib
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
from gateway.settings import AuditSettings, CacheSettings
from gateway.store.audit import AuditTrail
from gateway.store.licenses import CachedLicense

log = structlog.get_logger("gateway.service")
T = TypeVar("T")
PACE_SPREAD = 0.1  # next_check_after is spread over a tenth of the interval, per activation
SPREADS_KEPT = 65_536  # activations whose spread is kept (a cache hit need not hash again)
RECHECK_SOON = 60.0  # seconds: when to ask again about a license that may change any moment


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


@functools.lru_cache(maxsize=SPREADS_KEPT)
def spread(aid: str) -> float:
    """A factor from 1 to 1 + PACE_SPREAD, fixed for one activation, different across a fleet.

    Drawn from the activation id rather than at random, so that one product is told the same
    time on every answer (its signed body stays the same) while a fleet is spread out.
    """
    fraction = int.from_bytes(hashlib.sha256(aid.encode()).digest()[:4], "big") / 2**32
    return 1.0 + PACE_SPREAD * fraction


def next_check_after(aid: str, cached: CachedLicense, cache: CacheSettings, now: float) -> datetime:
    """When the product should ask about its license again (RFC 3339, whole seconds, UTC).

    When the gateway itself would look again: the license's revalidation age, or the end of its
    freshness if sooner, spread per activation. A license already due (being revalidated, or
    served stale) may change any moment: ask again a minute or so from now.
    """
    factor = spread(aid)
    interval = min(cache.revalidate_after, max(0.0, cached.fresh_until - cached.stored_at))
    due = cached.stored_at + interval * factor
    if due <= now or not cached.fresh:
        due = now + RECHECK_SOON * factor
    return datetime.fromtimestamp(math.ceil(due), UTC)


def ready(
    aid: str,
    cached: CachedLicense,
    source: str,
    cache: CacheSettings,
    now: float,
    *,
    stale: bool = False,
) -> ActivationResponse:
    """A ready activation carrying its license and when to ask about it again."""
    return ActivationResponse.model_validate(
        {
            "state": "ready",
            "id": aid,
            "license": cached.license,
            "source": source,
            "stale": stale,
            "next_check_after": next_check_after(aid, cached, cache, now),
        }
    )


def rejection(code: int, message: str, operation: str = "") -> GatewayError:
    """The failure a recorded rejection stands for (PLEASE_WAIT: the job's deadline passed)."""
    if operation:  # LAC refused the request itself: the same 502 the first caller got
        return LacRequestRefused(message)
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
            # Bound by the API's request context: the address behind any trusted proxy.
            "client": str(structlog.contextvars.get_contextvars().get("client") or ""),
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

"""What operators and the admin routes ask: orders, LAC counters, the audit trail, jobs, health."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

import structlog
from pydantic import ValidationError
from redis.exceptions import RedisError

from gateway.codes import Code
from gateway.errors import ServiceUnavailable, lac_problem, redis_unavailable
from gateway.hostids import normalise_activation_key
from gateway.lac.base import Lac, OrderSummary
from gateway.lac.polling import UNREADY, LacRoute
from gateway.lac.resilience import BreakerState, ResilientLac
from gateway.metrics import Metrics
from gateway.models import ActivationCounters, JobView, OrderResponse
from gateway.service.shared import lac_call
from gateway.store.audit import AuditTrail
from gateway.store.health import Health
from gateway.store.jobs import Job, Jobs
from gateway.store.orders import Orders
from gateway.store.webhooks import WebhookStore
from gateway.webhooks.events import QUOTA_LOW, WebhookEvents

log = structlog.get_logger("gateway.service")


class OrderSource(Protocol):
    """Where order summaries come from (REST end-user API or the vendor SOAP API)."""

    async def order(self, activation_key: str) -> OrderSummary | None:
        """The order, or None when LAC does not know the key."""


class CounterSource(Protocol):
    """The vendor API's activation counters."""

    async def activation_counters(self) -> ActivationCounters:
        """LAC's activation counters."""


class AdminService:
    """Orders (cached), counters, audit events, jobs in flight and readiness."""

    def __init__(
        self,
        lac: Lac,
        metrics: Metrics,
        *,
        order_cache: Orders,
        audit: AuditTrail,
        jobs: Jobs,
        health: Health,
        owner: str,
        orders: OrderSource | None = None,
        counters: CounterSource | None = None,
        route: LacRoute | None = None,
        webhooks: tuple[WebhookStore, WebhookEvents, int] | None = None,
    ) -> None:
        self.lac = lac
        self.route = route
        self.metrics = metrics
        self.order_cache = order_cache
        self.audit = audit
        self.jobs_queue = jobs
        self.health = health
        self.owner = owner
        self.orders = orders
        self.counter_source = counters
        self.webhooks = webhooks

    async def order(self, activation_key: str) -> OrderResponse:
        """An order summary, cached for ``cache.order_ttl``."""
        key = normalise_activation_key(activation_key)
        cached = _cached_order(await self.order_cache.get_order(key))
        if cached is not None:
            self.metrics.cache_lookups.labels("order", "hit").inc()
            return cached
        self.metrics.cache_lookups.labels("order", "miss").inc()
        if self.orders is None:
            raise ServiceUnavailable("order lookups need LAC vendor credentials")
        summary = await lac_call(self.orders.order(key))
        if summary is None:
            # The order lookup finds no order: the key is unknown, as LAC's code 101 says.
            raise lac_problem(Code.ACTIVATION_KEY_INVALID, "")
        body = order_response(summary)
        await self.order_cache.put_order(key, body.model_dump(mode="json"))
        return body

    async def counters(self) -> ActivationCounters:
        """LAC's activation counters for this vendor account."""
        if self.counter_source is None:
            raise ServiceUnavailable("activation counters need LAC vendor credentials")
        counters = await lac_call(self.counter_source.activation_counters())
        left = self.metrics.observe_activation_counters(counters.model_dump())
        await self._quota_reading(left)
        return counters

    async def _quota_reading(self, left: int) -> None:
        """Record the activations left; crossing below the threshold makes ``lac.quota_low``."""
        if self.webhooks is None or not self.webhooks[1].wanted(QUOTA_LOW):
            return
        store, events, threshold = self.webhooks
        try:
            await store.quota_reading(left, threshold, events.quota_low(left, threshold))
        except RedisError:
            # The counters are read again soon: the next reading makes the event.
            log.warning("webhook_quota_reading_failed")

    async def audit_events(self, limit: int, before: str | None = None) -> list[dict[str, str]]:
        """Audit events, newest first; ``before`` is the id of the last event already seen."""
        return [
            {"id": entry, **fields} for entry, fields in await self.audit.read_audit(limit, before)
        ]

    async def jobs(self, limit: int) -> list[JobView]:
        """Jobs in flight, soonest due first."""
        return [_job_view(job) for job in await self.jobs_queue.list_jobs(limit)]

    async def ready(self) -> dict[str, object]:
        """Readiness detail; raises ServiceUnavailable when Redis does not answer or take writes."""
        try:
            # A write, not a PING: a Redis that answers but refuses writes cannot serve either.
            await self.probe_redis()
        except RedisError as exc:
            raise redis_unavailable(exc) from exc
        except Exception as exc:
            raise ServiceUnavailable("Redis does not answer", retry_after=2) from exc
        checks: dict[str, object] = {
            "redis": "ok",
            "transport": self.lac.transport,
            "jobs": await self.jobs_queue.count_jobs(),
            "lac": self._lac_health(),
        }
        if self.route is not None:
            checks["lac_api"] = _lac_api(self.route, checks)
        return checks

    async def probe_redis(self) -> None:
        """The Redis write probe, recorded as ``lacgw_redis_up`` and its round trip."""
        started = time.perf_counter()
        try:
            await self.health.probe_writes(self.owner)
        except Exception:
            self.metrics.observe_redis_probe(None)
            raise
        self.metrics.observe_redis_probe(time.perf_counter() - started)

    def _lac_health(self) -> dict[str, object]:
        """The breaker's view of LAC: an open breaker is degraded service, not unreadiness."""
        if not isinstance(self.lac, ResilientLac):
            return {"status": "unknown"}
        state = self.lac.breaker.state
        status = "ok" if state is BreakerState.CLOSED else "degraded"
        return {"status": status, "breaker": state.value}


def _lac_api(route: LacRoute, checks: dict[str, object]) -> dict[str, object]:
    """LAC's API as loaded (WSDL mismatches, polling route); unready if it cannot activate.

    Degraded (working around a missing or refused call) stays ready: ``status`` says so.
    """
    report = route.report()
    if report["status"] == UNREADY:
        raise ServiceUnavailable(
            f"LAC cannot complete activations: {route.unready_reason()}", retry_after=30
        )
    if report["status"] != "ok":
        checks["status"] = "degraded"
    return report


def _job_view(job: Job) -> JobView:
    def stamp(epoch: float) -> datetime:
        return datetime.fromtimestamp(epoch, UTC)

    return JobView(
        id=job.id,
        state=job.state,
        attempts=job.attempts,
        created_at=stamp(job.created_at),
        next_poll_at=stamp(job.due_at),
        deadline_at=stamp(job.deadline_at),
    )


# The summary's members LAC may leave unreported (SOAP has no product name or quota, REST no
# template id): each is named in ``not_reported`` instead of answering null.
_REPORTED = ("product", "product_template_id", "activations_used", "activations_allowed")


def order_response(summary: OrderSummary) -> OrderResponse:
    """The API's order summary: what LAC reported, and the names of what it did not."""
    values = {name: getattr(summary, name) for name in _REPORTED}
    reported = {name: value for name, value in values.items() if value is not None}
    return OrderResponse.model_validate(
        {
            "activation_key": summary.activation_key,
            "enabled": summary.enabled,
            "not_reported": [name for name in _REPORTED if name not in reported],
            **reported,
        }
    )


def _cached_order(raw: dict[str, object] | None) -> OrderResponse | None:
    """A cached summary; one another version stored in another shape is a miss, not a 500."""
    if raw is None:
        return None
    try:
        return OrderResponse.model_validate(raw)
    except ValidationError:
        return None

"""The activation service: what the API's routes do, in terms of the store, LAC and the jobs.

Exactly once: the job hash in Redis is the single-flight token. Whoever creates it (one caller
among any number of requests, processes and replicas) sends the one ``CreateLicenseRequest``;
everyone else waits for its outcome. The job exists before LAC is called, so a crash or an
ambiguous timeout leaves a job that a poller reconciles by polling first. LAC's "never
requested" (code 300) is the only answer that leads to a second create, and only once no
create can still be on its way: the job records when a create was last sent (``sent_at``,
written before the create leaves), and a 300 within ``jobs.reconcile_window`` of it proves
nothing (LAC may still be inside that create), so the job keeps polling instead.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson
import structlog
from redis.exceptions import RedisError

from gateway.codes import Code, lookup
from gateway.errors import (
    Forbidden,
    GatewayError,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    lac_problem,
    redis_unavailable,
)
from gateway.hostids import (
    Target,
    is_activation_id,
    mask_key,
    normalise_activation_key,
)
from gateway.jobs.backoff import jittered, next_interval
from gateway.jobs.lease import LeaseLost, holding_lease
from gateway.jobs.outcomes import OutcomeHub
from gateway.lac.base import (
    IssuedLicense,
    Lac,
    LacAmbiguous,
    LacError,
    LacRejected,
    LacUnavailable,
    OrderSummary,
    PollState,
)
from gateway.lac.resilience import BreakerState, CircuitOpen, ResilientLac
from gateway.metrics import Metrics
from gateway.models import (
    ActivationRequest,
    ActivationResponse,
    BatchItemResult,
    BatchRequest,
    BatchResponse,
    JobView,
    LicenseBody,
    OrderResponse,
    Problem,
    RemovalConfirmRequest,
)
from gateway.settings import Settings
from gateway.store.activations import ActivationSteps, Start, Started
from gateway.store.activators import Activators
from gateway.store.audit import AuditTrail
from gateway.store.health import Health
from gateway.store.jobs import Job, Jobs, JobState
from gateway.store.licenses import CachedLicense, Licenses
from gateway.store.orders import Orders

log = structlog.get_logger("gateway.service")
T = TypeVar("T")

TRANSIENT_POLLS = 3  # polls answered with a transient code before the job fails with it
TRANSIENT_FAILURE_TTL = 1.0  # seconds a transient failure stays readable by waiters
RECHECK_SECONDS = 5.0  # waiters re-read Redis at least this often, whatever pub/sub says
DEADLINE_MESSAGE = "license generation did not finish within the gateway's deadline"
READY_PAYLOAD = orjson.dumps({"state": "ready"})
HAND_OVER_TRIES = 20  # attempts to give back a job whose creation's answer Redis never gave


class OrderSource(Protocol):
    """Where order summaries come from (REST end-user API or the vendor SOAP API)."""

    async def order(self, activation_key: str) -> OrderSummary | None:
        """The order, or None when LAC does not know the key."""


class CounterSource(Protocol):
    """The vendor API's activation counters."""

    async def activation_counters(self) -> dict[str, Any]:
        """LAC's activation counters as plain data."""


def _audit_failed(action: str, exc: BaseException | None = None) -> None:
    error = type(exc).__name__ if exc is not None else "ResponseError"
    log.warning("audit_write_failed", action=action, error=error)


def _license_body(lic: IssuedLicense) -> LicenseBody:
    return LicenseBody(
        content=lic.content,
        filename=lic.filename,
        activated_at=lic.activated_at,
        expires_at=lic.expires_at,
        maintenance_end=lic.maintenance_end,
    )


def _problem_model(err: GatewayError) -> Problem:
    return Problem(
        type=err.type_uri,
        title=err.title,
        status=err.status,
        detail=err.detail or None,
        lac_code=err.lac_code,
        lac_name=err.lac_name,
    )


def _lac_failure(exc: LacError) -> GatewayError:
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
    return lac_problem(exc.code, exc.message)


class _Unparsed(Target):
    """A refused request's target whose key or HostIDs did not parse: masked key, no host."""

    def __init__(self, activation_key: str) -> None:  # the parse failed: no super().__init__
        try:
            key = normalise_activation_key(activation_key)
        except InvalidInput:
            key = ""  # masked as "*****"
        self.key, self.hostid, self.host_hash, self.aid = key, "", "", ""


class ActivationService:
    """Activations, licenses, removal and orders on top of Redis and LAC."""

    def __init__(
        self,
        lac: Lac,
        settings: Settings,
        metrics: Metrics,
        hub: OutcomeHub,
        *,
        licenses: Licenses,
        activations: ActivationSteps,
        jobs: Jobs,
        activators: Activators,
        order_cache: Orders,
        audit: AuditTrail,
        health: Health,
        orders: OrderSource | None = None,
        counters: CounterSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Each store concern the service uses, and no other.
        self.licenses = licenses
        self.activations = activations
        self.job_queue = jobs
        self.activators = activators
        self.order_cache = order_cache
        self.audit_trail = audit
        self.health = health
        self.lac = lac
        self.settings = settings
        self.metrics = metrics
        self.hub = hub
        self.orders = orders
        self.counter_source = counters
        self.clock = clock
        self.owner = f"gw-{uuid.uuid4().hex[:12]}"
        self._background: set[asyncio.Future[Any]] = set()

    # --- activations ----------------------------------------------------------------------

    async def activate(
        self, req: ActivationRequest, *, wait: float, caller: str = ""
    ) -> ActivationResponse:
        """Return the license if cached or ready within ``wait`` seconds, else a pending state."""
        target = Target(req.activation_key, req.hostids)
        log.debug("activation_requested", key=mask_key(target.key), caller=caller)
        job = self._new_job(target, caller)
        # License, rejection and (finding neither) the job: one round trip on the cold path.
        try:
            start = await self.activations.start(job, now=job.created_at)
        except RedisError:
            self._hand_over_later(job)
            raise
        # A license that a CREATED start carries was read after the lookup missed.
        self._count_lookup(None if start.outcome is Started.CREATED else start.license)
        if start.outcome is Started.REJECTED and start.rejection is not None:
            self.metrics.cache_lookups.labels("negative", "hit").inc()
            raise self._rejection(*start.rejection)
        cached = start.license
        if start.outcome is not Started.CACHED or cached is None:
            return await self._begin(job, target, start, wait, caller)
        if cached.fresh:
            return self._ready(target.aid, cached.license, "cache")
        refreshed = await self._refresh_stale(target, cached)
        if refreshed is not None:
            return refreshed
        return await self._start_or_join(target, wait, caller)

    async def status(self, activation_id: str, *, wait: float) -> ActivationResponse:
        """Where one activation stands; long-polls up to ``wait`` seconds while pending."""
        if not is_activation_id(activation_id):
            raise NotFound(f"no activation {activation_id!r}")
        current, _ = await self._current(activation_id)
        if current is None:
            raise NotFound(f"no activation {activation_id!r}")
        if current.state != "pending" or wait <= 0:
            return current
        return await self._await_outcome(activation_id, wait, raise_failure=False)

    async def batch(self, req: BatchRequest, *, wait: float, caller: str = "") -> BatchResponse:
        """Many activations at once, each with its own status."""
        limit = self.settings.http.batch_max
        if len(req.items) > limit:
            raise InvalidInput.field("items", f"at most {limit} items per batch")
        outcomes = await asyncio.gather(
            *(self.activate(item, wait=wait, caller=caller) for item in req.items),
            return_exceptions=True,
        )
        return BatchResponse(results=[self._batch_item(i, o) for i, o in enumerate(outcomes)])

    def _batch_item(
        self, index: int, outcome: ActivationResponse | BaseException
    ) -> BatchItemResult:
        if isinstance(outcome, ActivationResponse):
            status = 200 if outcome.state == "ready" else 202
            return BatchItemResult(index=index, status=status, body=outcome)
        if isinstance(outcome, GatewayError):
            return BatchItemResult(index=index, status=outcome.status, body=_problem_model(outcome))
        raise outcome  # not a caller-facing failure: let the error middleware log it

    # --- licenses -------------------------------------------------------------------------

    async def fetch(self, activation_key: str, hostids: list[str]) -> ActivationResponse:
        """The issued license for a host: from the cache, else from LAC (then cached)."""
        target = Target(activation_key, hostids)
        cached = await self._cached(target.aid)
        if cached is not None and cached.fresh:
            return self._ready(target.aid, cached.license, "cache")
        try:
            issued = await self.lac.fetch(target.key, target.hostid)
        except LacUnavailable as exc:
            if cached is not None:
                return self._ready(target.aid, cached.license, "cache", stale=True)
            raise _lac_failure(exc) from exc
        except LacRejected as exc:
            raise _lac_failure(exc) from exc
        if issued is None:
            raise NotFound("LAC has no license for this activation key and host")
        body = _license_body(issued)
        await self.licenses.put_license(target.aid, body, now=self.clock())
        return self._ready(target.aid, body, "lac")

    async def deactivate(
        self, activation_key: str, hostids: list[str], *, caller: str = "", any_pair: bool = False
    ) -> None:
        """Deactivate at LAC, then forget the cached license and any job.

        Only the key that activated the pair may, unless ``any_pair`` (admin, deactivate_any).
        """
        target = Target(activation_key, hostids)
        await self._check_activator(target, "deactivation", caller, any_pair=any_pair)
        try:
            await self._lac_call(self.lac.deactivate(target.key, target.hostid))
        except GatewayError as exc:
            await self._audit("deactivation", target, caller, "failed", exc.lac_code)
            raise
        await self._forget(target.aid)
        await self.activators.drop_activator(target.aid)
        await self._audit("deactivation", target, caller, "deactivated", Code.SUCCESS)
        log.info("license_deactivated", key=mask_key(target.key), caller=caller)

    async def removal_requested(self, activation_key: str, hostids: list[str]) -> bool:
        """Whether the vendor asked this host to remove its license."""
        target = Target(activation_key, hostids)
        return await self._lac_call(self.lac.removal_requested(target.key, target.hostid))

    async def removal_confirm(
        self,
        req: RemovalConfirmRequest,
        activation_key: str,
        *,
        caller: str = "",
        any_pair: bool = False,
    ) -> None:
        """Tell LAC the host removed its license file; drop the cached copy.

        Only the key that activated the pair may, unless ``any_pair`` (admin, deactivate_any).
        """
        target = Target(activation_key, req.hostids)
        await self._check_activator(target, "removal", caller, any_pair=any_pair)
        try:
            await self._lac_call(self.lac.removal_confirm(target.key, target.hostid))
        except GatewayError as exc:
            await self._audit("removal", target, caller, "failed", exc.lac_code)
            raise
        await self._forget(target.aid)
        await self.activators.drop_activator(target.aid)
        await self._audit("removal", target, caller, "confirmed", Code.SUCCESS)
        log.info("license_removal_confirmed", key=mask_key(target.key), caller=caller)

    async def _check_activator(
        self, target: Target, action: str, caller: str, *, any_pair: bool
    ) -> None:
        """Forbidden (audited) unless ``caller`` activated the pair or may act on any pair."""
        if any_pair:
            return
        activator = await self.activators.activator(target.aid)
        # A pair with no recorded activator (activated before activators were recorded, or
        # outside the gateway) is nobody's: only admin or deactivate_any keys may withdraw it.
        if caller and activator == caller:
            return
        await self._audit(action, target, caller, "refused", None)
        log.info("activator_mismatch", action=action, key=mask_key(target.key), caller=caller)
        raise Forbidden(
            "only the API key that activated this license may do this, "
            "or a key with the deactivate_any or admin scope",
            type_="not-activator",
        )

    async def record_refusal(
        self, action: str, activation_key: str, hostids: Sequence[str], caller: str
    ) -> None:
        """Audit a request refused for its API key's scopes (best effort; never raises)."""
        try:
            target = Target(activation_key, hostids)
        except InvalidInput:
            # Refused before its input was checked: the trail keeps what can be read safely.
            target = _Unparsed(activation_key)
        await self._audit(action, target, caller, "refused", None)

    async def purge(self, activation_key: str, hostids: list[str]) -> bool:
        """Drop the cached license and rejection of one activation (admin)."""
        target = Target(activation_key, hostids)
        return await self.licenses.purge(target.aid) > 0

    # --- orders, admin, health ------------------------------------------------------------

    async def order(self, activation_key: str) -> OrderResponse:
        """An order summary, cached for ``cache.order_ttl``."""
        key = normalise_activation_key(activation_key)
        cached = await self.order_cache.get_order(key)
        if cached is not None:
            self.metrics.cache_lookups.labels("order", "hit").inc()
            return OrderResponse.model_validate(cached)
        self.metrics.cache_lookups.labels("order", "miss").inc()
        if self.orders is None:
            raise ServiceUnavailable("order lookups need LAC vendor credentials")
        summary = await self._lac_call(self.orders.order(key))
        if summary is None:
            raise NotFound("LAC knows no order with this activation key")
        body = OrderResponse(
            activation_key=summary.activation_key,
            product=summary.product,
            activations_used=summary.activations_used,
            activations_allowed=summary.activations_allowed,
            enabled=summary.enabled,
        )
        await self.order_cache.put_order(key, body.model_dump(mode="json"))
        return body

    async def counters(self) -> dict[str, object]:
        """LAC's activation counters for this vendor account."""
        if self.counter_source is None:
            raise ServiceUnavailable("activation counters need LAC vendor credentials")
        counters = dict(await self._lac_call(self.counter_source.activation_counters()))
        self.metrics.observe_activation_counters(counters)
        return counters

    async def audit_events(self, limit: int, before: str | None = None) -> list[dict[str, str]]:
        """Audit events, newest first; ``before`` is the id of the last event already seen."""
        return [
            {"id": entry, **fields}
            for entry, fields in await self.audit_trail.read_audit(limit, before)
        ]

    def _audit_event(
        self, action: str, target: Target, caller: str, outcome: str, code: int | None
    ) -> dict[str, str] | None:
        """One audit trail event, or None when the trail is off."""
        if not self.settings.audit.enabled:
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

    async def _audit(
        self, action: str, target: Target, caller: str, outcome: str, code: int | None
    ) -> None:
        """Append one event to the audit trail; a failed write is logged, never raised."""
        event = self._audit_event(action, target, caller, outcome, code)
        if event is None:
            return
        try:
            await self.audit_trail.append_audit(event, self.settings.audit.max_events)
        except RedisError as exc:
            # The operation is done at LAC, or refused: losing its trace must not change that.
            _audit_failed(action, exc)

    async def jobs(self, limit: int) -> list[JobView]:
        """Jobs in flight, soonest due first."""
        return [self._job_view(job) for job in await self.job_queue.list_jobs(limit)]

    async def ready(self) -> dict[str, object]:
        """Readiness detail; raises ServiceUnavailable when Redis does not answer or take writes."""
        try:
            # A write, not a PING: a Redis that answers but refuses writes cannot serve either.
            await self.health.probe_writes(self.owner)
        except RedisError as exc:
            raise redis_unavailable(exc) from exc
        except Exception as exc:
            raise ServiceUnavailable("Redis does not answer", retry_after=2) from exc
        return {
            "redis": "ok",
            "transport": self.lac.transport,
            "jobs": await self.job_queue.count_jobs(),
            "lac": self._lac_health(),
        }

    def _lac_health(self) -> dict[str, object]:
        """The breaker's view of LAC: an open breaker is degraded service, not unreadiness."""
        if not isinstance(self.lac, ResilientLac):
            return {"status": "unknown"}
        state = self.lac.breaker.state
        status = "ok" if state is BreakerState.CLOSED else "degraded"
        return {"status": status, "breaker": state.value}

    @staticmethod
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

    # --- internals: state ----------------------------------------------------------------

    async def _cached(self, aid: str) -> CachedLicense | None:
        cached = await self.licenses.get_license(aid, now=self.clock())
        self._count_lookup(cached)
        return cached

    def _count_lookup(self, cached: CachedLicense | None) -> None:
        result = "miss" if cached is None else ("hit" if cached.fresh else "stale")
        self.metrics.cache_lookups.labels("license", result).inc()

    def _ready(
        self, aid: str, body: LicenseBody, source: str, *, stale: bool = False
    ) -> ActivationResponse:
        return ActivationResponse.model_validate(
            {"state": "ready", "id": aid, "license": body, "source": source, "stale": stale}
        )

    @staticmethod
    def _rejection(code: int, message: str) -> GatewayError:
        if code == Code.PLEASE_WAIT:  # a job that outlived its deadline while LAC said "wait"
            return GatewayError(504, "License generation timed out", message, type_="timeout")
        return lac_problem(code, message)

    async def _current(self, aid: str) -> tuple[ActivationResponse | None, GatewayError | None]:
        """The activation's state, and the failure to raise when it failed (one round trip)."""
        state = await self.activations.read_state(aid, now=self.clock())
        pending, cached, negative = state.pending, state.license, state.rejection
        if cached is not None:
            return self._ready(aid, cached.license, "cache", stale=not cached.fresh), None
        if negative is not None:
            failure = self._rejection(*negative)
            failed = ActivationResponse(state="failed", id=aid, error=_problem_model(failure))
            return failed, failure
        if pending:
            return ActivationResponse(state="pending", id=aid), None
        return None, None

    async def _forget(self, aid: str) -> None:
        await self.licenses.purge(aid)
        await self.job_queue.finish_job(aid)

    async def _lac_call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except LacError as exc:
            raise _lac_failure(exc) from exc

    async def _refresh_stale(
        self, target: Target, cached: CachedLicense
    ) -> ActivationResponse | None:
        """Fetch a stale license again (never a new create); serve it stale if LAC fails."""
        try:
            issued = await self.lac.fetch(target.key, target.hostid)
        except LacUnavailable:
            return self._ready(target.aid, cached.license, "cache", stale=True)
        except LacRejected:
            return None
        if issued is None:
            return None
        body = _license_body(issued)
        await self.licenses.put_license(target.aid, body, now=self.clock())
        return self._ready(target.aid, body, "lac")

    # --- internals: the single flight -----------------------------------------------------

    def _new_job(self, target: Target, caller: str = "") -> Job:
        """The job this request creates if it is the first: leased to us while we call LAC.

        ``caller`` becomes the pair's activator if this job is the one that yields its license.
        """
        now = self.clock()
        jobs = self.settings.jobs
        return Job(
            id=target.aid,
            activation_key=target.key,
            hostid=target.hostid,
            created_at=now,
            due_at=now + jobs.lease,
            deadline_at=now + jobs.deadline,
            owner=self.owner,
            lease_until=now + jobs.lease,
            state=JobState.LEASED,
            # Recorded as sent from the start: the creator sends it next, and a crash in
            # between leaves a job that is reconciled as if it had been sent.
            sent_at=now,
            creator=uuid.uuid4().hex,
            activated_by=caller,
        )

    def _hand_over_later(self, job: Job) -> None:
        """Give back, in the background, a job our failed first step may have created.

        Redis may run a script whose answer never reached us (it stalled, then resumed): the
        job is then leased to a request that has given up and will never send its create.
        """
        self._in_background(asyncio.ensure_future(self._hand_over(job)))

    def _in_background(self, task: asyncio.Future[Any]) -> None:
        """Keep ``task`` alive until done; a failure nobody awaited any more is logged."""
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Future[Any]) -> None:
        self._background.discard(task)
        if task.cancelled():
            return
        exc = task.exception()  # retrieved here too: its caller may have hung up
        if exc is not None and not isinstance(exc, GatewayError | LeaseLost):
            # Redis failed after the caller left: the job's lease runs out and it reconciles.
            log.warning("background_step_failed", error=type(exc).__name__)

    async def _hand_over(self, job: Job) -> None:
        delay = 0.1
        for _ in range(HAND_OVER_TRIES):
            try:
                if await self.job_queue.hand_over_job(
                    job.id, self.owner, job.creator, self.clock()
                ):
                    log.info("job_handed_over", job=job.id)
                return
            except RedisError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        # Redis stayed away: the lease runs out and the job is reconciled as if sent.
        log.warning("job_hand_over_failed", job=job.id)

    async def _start_or_join(
        self, target: Target, wait: float, caller: str = ""
    ) -> ActivationResponse:
        job = self._new_job(target, caller)
        try:
            start = await self.activations.create(job, now=job.created_at)
        except RedisError:
            self._hand_over_later(job)
            raise
        return await self._begin(job, target, start, wait, caller)

    async def _begin(
        self, job: Job, target: Target, start: Start, wait: float, caller: str
    ) -> ActivationResponse:
        """Act on a start that CREATED or JOINED ``job``."""
        created = start.outcome is Started.CREATED
        if created and start.license is not None:
            self.metrics.jobs.labels("created").inc()
            return await self._finished_meanwhile(job, start.license)
        return await self._lead_or_join(job, target, created, wait, caller)

    async def _lead_or_join(
        self, job: Job, target: Target, created: bool, wait: float, caller: str
    ) -> ActivationResponse:
        """Send the one create for a job we created, or wait for the job someone else did."""
        if not created:
            self.metrics.coalesced.labels("activation").inc()
            return await self._await_outcome(target.aid, wait, raise_failure=True)
        self.metrics.jobs.labels("created").inc()
        self.hub.event(target.aid)  # listen before acting, so no outcome slips by
        # Shielded: a caller who hangs up must not cancel a create already on its way to LAC.
        # An "issued" audit event travels with the completion (one round trip).
        issued = self._audit_event("activation", target, caller, "issued", Code.SUCCESS)
        submit = asyncio.ensure_future(self._submit_holding_lease(job, issued))
        self._in_background(submit)
        try:
            outcome = await asyncio.shield(submit)
        except GatewayError as exc:
            await self._audit("activation", target, caller, "failed", exc.lac_code)
            raise
        except LeaseLost:
            # Redis was so slow that our lease ran out before the create was sent: whoever
            # holds the job now sends it; we wait like any other caller.
            return await self._await_outcome(target.aid, wait, raise_failure=True)
        if outcome is not None:
            return outcome
        # Sent, or ambiguous: the job settles it, and the trail says only "requested".
        await self._audit("activation", target, caller, "requested", None)
        return await self._await_outcome(target.aid, wait, raise_failure=True)

    async def _finished_meanwhile(self, job: Job, cached: CachedLicense) -> ActivationResponse:
        """A job that finished between our cache miss and our create_job left its license."""
        await self.job_queue.finish_job(job.id, self.owner)
        await self.job_queue.publish_outcome(job.id, READY_PAYLOAD)
        return self._ready(job.id, cached.license, "cache", stale=not cached.fresh)

    async def _submit_holding_lease(
        self, job: Job, issued: dict[str, str] | None
    ) -> ActivationResponse | None:
        """``_submit`` with the job's lease renewed while it works (LeaseLost when taken)."""
        lease = self.settings.jobs.lease
        now = self.clock()
        if now - job.created_at > lease / 3 and not await self.job_queue.renew_lease(
            job.id, self.owner, now + lease
        ):
            # The first step took so long that the lease may have run out and the job been
            # claimed: the create is sent only by whoever holds the job.
            raise LeaseLost(job.id)
        return await holding_lease(
            self.job_queue, job.id, self.owner, lease, self._submit(job, issued), clock=self.clock
        )

    async def _submit(
        self, job: Job, issued: dict[str, str] | None = None
    ) -> ActivationResponse | None:
        """Send the one create for ``job``, then poll once; None while still pending.

        ``issued`` is the audit event written with the license if this poll finds it ready.
        """
        try:
            await self.lac.create(job.activation_key, job.hostid)
        except LacAmbiguous as exc:
            log.warning("lac_create_ambiguous", job=job.id, code=exc.code)
            await self._reschedule(job, self.owner, delay=0.0, interval=0.0)
            return None
        except LacRejected as exc:
            if not lookup(exc.code).retryable:
                await self._fail(job, self.owner, exc.code, exc.message, cache=True)
                raise _lac_failure(exc) from exc
            # LAC answered with a transient code: nothing was created. The poller reconciles
            # (a poll, then one re-submit on "never requested") instead of caching the failure.
            await self._backoff(job, self.owner, sent_at=0.0)
            return None
        except LacError as exc:
            # Nothing reached LAC: callers waiting on this job read the failure for a moment.
            await self._fail(job, self.owner, exc.code, exc.message, cache=True)
            raise _lac_failure(exc) from exc
        return await self.settle(job, self.owner, issued=issued)

    async def settle(
        self, job: Job, owner: str, *, issued: dict[str, str] | None = None
    ) -> ActivationResponse | None:
        """Poll LAC for ``job`` once and act on the answer; the poller's job handler.

        Returns the ready response, raises the caller-facing failure, or None while pending.
        ``issued`` is an audit event to append with the license when it is ready.
        """
        try:
            result = await self.lac.poll(job.activation_key, job.hostid)
        except LacRejected as exc:
            if exc.code == Code.LICENSE_GENERATION_WAS_NOT_REQUESTED:
                if self._create_may_be_in_flight(job):
                    log.info("lac_create_unconfirmed", job=job.id)
                    await self._backoff(job, owner)
                else:
                    await self._resubmit(job, owner)
                return None
            if lookup(exc.code).retryable and job.attempts < TRANSIENT_POLLS:
                await self._backoff(job, owner)
                return None
            await self._fail(job, owner, exc.code, exc.message, cache=True)
            raise _lac_failure(exc) from exc
        except LacUnavailable:
            await self._backoff(job, owner)
            return None
        if result.state is PollState.READY and result.license is not None:
            return await self._complete(job, owner, _license_body(result.license), issued)
        if self.clock() >= job.deadline_at:
            await self._fail(job, owner, Code.PLEASE_WAIT, DEADLINE_MESSAGE, cache=True)
            raise self._rejection(Code.PLEASE_WAIT, DEADLINE_MESSAGE)
        await self._backoff(job, owner)
        return None

    async def handle_job(self, job: Job, owner: str) -> None:
        """The poller's handler: settle the job, swallowing caller-facing failures."""
        self.metrics.jobs.labels("claimed").inc()
        try:
            await self.settle(job, owner)
        except GatewayError:
            return  # recorded in Redis and announced to waiters by settle

    def _create_may_be_in_flight(self, job: Job) -> bool:
        """Whether a create sent for ``job`` may still land at LAC (so a 300 proves nothing).

        A create times out long before the reconcile window ends; until then LAC can still be
        inside it, answering "never requested" to every poll.
        """
        if job.sent_at <= 0:
            return False
        return self.clock() - job.sent_at < self.settings.jobs.reconcile_window

    async def _resubmit(self, job: Job, owner: str) -> None:
        # LAC never received the create (crash or a create lost before it landed): send it,
        # recorded as sent first, so that a crash mid-call is reconciled like an ambiguity.
        now = self.clock()
        if not await self.job_queue.renew_lease(
            job.id, owner, now + self.settings.jobs.lease, sent_at=now
        ):
            log.warning("job_lease_lost", job=job.id, owner=owner)
            return
        log.info("lac_create_reconciled", job=job.id)
        try:
            await self.lac.create(job.activation_key, job.hostid)
        except LacAmbiguous:
            await self._reschedule(job, owner, delay=0.0, interval=job.interval)
            return
        except LacRejected as exc:
            await self._fail(job, owner, exc.code, exc.message, cache=True)
            raise _lac_failure(exc) from exc
        except LacUnavailable:  # it never left: nothing can land later
            await self._reschedule(job, owner, delay=0.0, interval=job.interval, sent_at=0.0)
            return
        await self._reschedule(job, owner, delay=self.settings.jobs.first_poll, interval=0.0)

    async def _backoff(self, job: Job, owner: str, *, sent_at: float | None = None) -> None:
        interval = next_interval(job.interval, self.settings.jobs)
        delay = jittered(interval, self.settings.jobs)
        await self._reschedule(job, owner, delay=delay, interval=interval, sent_at=sent_at)

    async def _reschedule(
        self,
        job: Job,
        owner: str,
        *,
        delay: float,
        interval: float,
        sent_at: float | None = None,
    ) -> None:
        await self.job_queue.reschedule_job(
            job.id, owner, self.clock() + delay, interval, sent_at=sent_at
        )
        self.metrics.jobs.labels("rescheduled").inc()

    async def _complete(
        self, job: Job, owner: str, body: LicenseBody, issued: dict[str, str] | None = None
    ) -> ActivationResponse:
        now = self.clock()
        if issued is not None:  # the event is dated when the license is stored
            issued = {**issued, "at": datetime.fromtimestamp(now, UTC).isoformat()}
        audited = await self.activations.complete(
            job.id,
            owner,
            body,
            READY_PAYLOAD,
            now=now,
            audit=issued,
            audit_max=self.settings.audit.max_events,
        )
        if not audited:
            # The license is stored and announced: losing its trace must not fail the caller.
            _audit_failed("activation")
        self.metrics.jobs.labels("completed").inc()
        self.metrics.job_time_to_license.observe(max(now - job.created_at, 0.0))
        log.info("license_ready", job=job.id, key=mask_key(job.activation_key))
        return self._ready(job.id, body, "lac")

    async def _fail(self, job: Job, owner: str, code: int, message: str, *, cache: bool) -> None:
        if cache:
            # A transient code is kept just long enough for this job's waiters to read it: the
            # negative cache is for permanent rejections, not for LAC's bad minutes.
            ttl = TRANSIENT_FAILURE_TTL if lookup(code).retryable else None
            await self.licenses.put_negative(job.id, code, message, ttl)
        await self.job_queue.finish_job(job.id, owner)
        await self.job_queue.publish_outcome(
            job.id, orjson.dumps({"state": "failed", "code": code})
        )
        self.metrics.jobs.labels("failed").inc()
        log.info("activation_failed", job=job.id, key=mask_key(job.activation_key), lac_code=code)

    async def _await_outcome(
        self, aid: str, wait: float, *, raise_failure: bool
    ) -> ActivationResponse:
        loop = asyncio.get_running_loop()
        until = loop.time() + wait
        while True:
            event = self.hub.event(aid)
            current, failure = await self._current(aid)
            if current is None:
                # The job vanished without an outcome (deactivated meanwhile): ask again.
                raise NotFound(f"activation {aid} was withdrawn; request it again")
            if failure is not None and raise_failure:
                raise failure
            remaining = until - loop.time()
            if current.state != "pending" or remaining <= 0:
                return current
            try:
                await asyncio.wait_for(event.wait(), min(remaining, RECHECK_SECONDS))
            except TimeoutError:
                continue

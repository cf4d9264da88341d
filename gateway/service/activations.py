"""Activations: what ``POST /v1/activations``, its batch and ``GET /v1/activations/{id}`` do.

A request reads its pair's license and rejection and, finding neither, creates its job in one
step; the request that created the job sends the create (through the job runner), every other
one waits for the job's outcome, woken on any replica over pub/sub.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog
from redis.exceptions import RedisError

from gateway.codes import Code
from gateway.errors import GatewayError, InvalidInput, NotFound
from gateway.hostids import Target, is_activation_id, mask_key
from gateway.jobs.lease import LeaseLost
from gateway.jobs.outcomes import OutcomeHub
from gateway.lac.base import Lac, LacRejected, LacUnavailable
from gateway.metrics import Metrics
from gateway.models import (
    ActivationRequest,
    ActivationResponse,
    BatchItemResult,
    BatchRequest,
    BatchResponse,
)
from gateway.service.revalidation import Revalidator
from gateway.service.runner import JobRunner
from gateway.service.shared import (
    Auditor,
    count_lookup,
    license_body,
    problem_model,
    ready,
    rejection,
)
from gateway.settings import Settings
from gateway.store.activations import ActivationSteps, Start, Started
from gateway.store.jobs import Job
from gateway.store.licenses import JOB_ORIGIN, CachedLicense, Licenses

log = structlog.get_logger("gateway.service")

RECHECK_SECONDS = 5.0  # waiters re-read Redis at least this often, whatever pub/sub says


class ActivationService:
    """Activate, batch and status, on the store's activation steps and the job runner."""

    def __init__(
        self,
        lac: Lac,
        settings: Settings,
        metrics: Metrics,
        hub: OutcomeHub,
        *,
        runner: JobRunner,
        steps: ActivationSteps,
        licenses: Licenses,
        auditor: Auditor,
        revalidator: Revalidator,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lac = lac
        self.settings = settings
        self.metrics = metrics
        self.hub = hub
        self.runner = runner
        self.steps = steps
        self.licenses = licenses
        self.auditor = auditor
        self.revalidator = revalidator
        self.clock = clock

    async def activate(
        self, req: ActivationRequest, *, wait: float, caller: str = ""
    ) -> ActivationResponse:
        """Return the license if cached or ready within ``wait`` seconds, else a pending state."""
        target = Target(req.activation_key, req.hostids)
        log.debug("activation_requested", key=mask_key(target.key), caller=caller)
        job = self.runner.new_job(target, caller)
        # License, rejection and (finding neither) the job: one round trip on the cold path.
        try:
            start = await self.steps.start(job, now=job.created_at)
        except RedisError:
            self.runner.hand_over_later(job)
            raise
        # A license that a CREATED start carries was read after the lookup missed.
        count_lookup(self.metrics, None if start.outcome is Started.CREATED else start.license)
        if start.outcome is Started.REJECTED and start.rejection is not None:
            self.metrics.cache_lookups.labels("negative", "hit").inc()
            raise rejection(*start.rejection)
        cached = start.license
        if start.outcome is not Started.CACHED or cached is None:
            return await self._begin(job, target, start, wait, caller)
        if cached.fresh:
            self.revalidator.consider(target, cached)
            return self._ready(target.aid, cached, "cache")
        refreshed = await self._refresh_stale(target, cached)
        if refreshed is not None:
            return refreshed
        return await self._start_or_join(target, wait, caller)

    async def status(self, activation_id: str, *, wait: float) -> ActivationResponse:
        """Where one activation stands; long-polls up to ``wait`` seconds while pending."""
        if not is_activation_id(activation_id):
            raise unknown_activation()
        current, _ = await self._current(activation_id)
        if current is None:
            raise unknown_activation()
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
        return BatchResponse(results=[_batch_item(i, o) for i, o in enumerate(outcomes)])

    # --- internals ------------------------------------------------------------------------

    def _ready(
        self, aid: str, cached: CachedLicense, source: str, *, stale: bool = False
    ) -> ActivationResponse:
        return ready(aid, cached, source, self.settings.cache, self.clock(), stale=stale)

    async def _current(
        self, aid: str, *, waited: bool = False
    ) -> tuple[ActivationResponse | None, GatewayError | None]:
        """The activation's state, and the failure to raise when it failed (one round trip).

        A license read after waiting for the job, or one that a job left, came through a job.
        """
        state = await self.steps.read_state(aid, now=self.clock())
        pending, cached, negative = state.pending, state.license, state.rejection
        if cached is not None:
            source = "job" if waited or cached.origin == JOB_ORIGIN else "cache"
            return self._ready(aid, cached, source, stale=not cached.fresh), None
        if negative is not None:
            failure = rejection(*negative)
            failed = ActivationResponse(state="failed", id=aid, error=problem_model(failure))
            return failed, failure
        if pending:
            return ActivationResponse(state="pending", id=aid), None
        return None, None

    async def _refresh_stale(
        self, target: Target, cached: CachedLicense
    ) -> ActivationResponse | None:
        """Fetch a stale license again (never a new create); serve it stale if LAC fails."""
        try:
            issued = await self.lac.fetch(target.key, target.hostid)
        except LacUnavailable:
            return self._ready(target.aid, cached, "cache", stale=True)
        except LacRejected:
            return None
        if issued is None:
            return None
        body, now = license_body(issued), self.clock()
        await self.licenses.put_license(target.aid, body, now=now)
        return self._ready(target.aid, self.licenses.as_stored(body, now), "lac")

    async def _start_or_join(
        self, target: Target, wait: float, caller: str = ""
    ) -> ActivationResponse:
        job = self.runner.new_job(target, caller)
        try:
            start = await self.steps.create(job, now=job.created_at)
        except RedisError:
            self.runner.hand_over_later(job)
            raise
        return await self._begin(job, target, start, wait, caller)

    async def _begin(
        self, job: Job, target: Target, start: Start, wait: float, caller: str
    ) -> ActivationResponse:
        """Act on a start that CREATED or JOINED ``job``."""
        created = start.outcome is Started.CREATED
        if created and start.license is not None:
            # A job that finished between our cache miss and our create left its license.
            self.metrics.jobs.labels("created").inc()
            await self.runner.finish_found(job)
            return self._ready(job.id, start.license, "job", stale=not start.license.fresh)
        if not created:
            self.metrics.coalesced.labels("activation").inc()
            return await self._await_outcome(target.aid, wait, raise_failure=True)
        return await self._lead(job, target, wait, caller)

    async def _lead(self, job: Job, target: Target, wait: float, caller: str) -> ActivationResponse:
        """Send the one create for a job we created, then wait for its outcome."""
        self.metrics.jobs.labels("created").inc()
        self.hub.event(target.aid)  # listen before acting, so no outcome slips by
        # Shielded: a caller who hangs up must not cancel a create already on its way to LAC.
        # An "issued" audit event travels with the completion (one round trip).
        issued = self.auditor.event("activation", target, caller, "issued", Code.SUCCESS)
        submit = self.runner.start_submit(job, issued)
        try:
            outcome = await asyncio.shield(submit)
        except GatewayError as exc:
            await self.auditor.record("activation", target, caller, "failed", exc.lac_code)
            raise
        except LeaseLost:
            # Redis was so slow that our lease ran out before the create was sent: whoever
            # holds the job now sends it; we wait like any other caller.
            return await self._await_outcome(target.aid, wait, raise_failure=True)
        if outcome is not None:
            return outcome
        # Sent, or ambiguous: the job settles it, and the trail says only "requested".
        await self.auditor.record("activation", target, caller, "requested", None)
        return await self._await_outcome(target.aid, wait, raise_failure=True)

    async def _await_outcome(
        self, aid: str, wait: float, *, raise_failure: bool
    ) -> ActivationResponse:
        loop = asyncio.get_running_loop()
        until = loop.time() + wait
        while True:
            event = self.hub.event(aid)
            current, failure = await self._current(aid, waited=True)
            if current is None:
                # The job vanished without an outcome (deactivated meanwhile): ask again.
                raise NotFound(
                    "the activation was withdrawn meanwhile; send POST /v1/activations again",
                    type_="unknown-activation",
                )
            if failure is not None and raise_failure:
                raise failure
            remaining = until - loop.time()
            if current.state != "pending" or remaining <= 0:
                return current
            try:
                await asyncio.wait_for(event.wait(), min(remaining, RECHECK_SECONDS))
            except TimeoutError:
                continue


def _batch_item(index: int, outcome: ActivationResponse | BaseException) -> BatchItemResult:
    if isinstance(outcome, ActivationResponse):
        status = 200 if outcome.state == "ready" else 202
        return BatchItemResult(index=index, status=status, body=outcome)
    if isinstance(outcome, GatewayError):
        return BatchItemResult(index=index, status=outcome.status, body=problem_model(outcome))
    raise outcome  # not a caller-facing failure: let the error middleware log it


def unknown_activation() -> NotFound:
    """The 404 for an activation id the gateway holds nothing for (not an unknown route)."""
    return NotFound(
        "no activation has this id: it was never requested, or it ended and its record expired;"
        " send POST /v1/activations again for its license",
        type_="unknown-activation",
    )

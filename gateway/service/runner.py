"""The job runner: sends a job's create, polls LAC for it, reschedules, completes or fails it.

Exactly once: the job hash in Redis is the single-flight token. Whoever creates it (one caller
among any number of requests, processes and replicas) sends the one ``CreateLicenseRequest``;
everyone else waits for its outcome. The job exists before LAC is called, so a crash or an
ambiguous timeout leaves a job that a poller reconciles by polling first. LAC's "never
requested" (code 300) is the only answer that leads to a second create, and only once no
create can still be on its way: the job records when a create was last sent (``sent_at``,
written before the create leaves), and a 300 within ``jobs.reconcile_window`` of it proves
nothing (LAC may still be inside that create), so the job keeps polling instead.

The creating request drives its job through ``start_submit``; the poller drives every other
step through ``handle_job``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from redis.exceptions import RedisError

from gateway.codes import Code, lookup
from gateway.errors import GatewayError
from gateway.hostids import Target, mask_key
from gateway.jobs.lease import LeaseLost, holding_lease
from gateway.lac.base import (
    Lac,
    LacAmbiguous,
    LacError,
    LacRejected,
    LacRequestRejected,
    LacUnavailable,
    PollState,
)
from gateway.lac.resilience import CircuitOpen
from gateway.metrics import Metrics
from gateway.models import ActivationResponse, LicenseBody
from gateway.service.backoff import jittered, next_interval
from gateway.service.shared import audit_failed, lac_failure, license_body, ready, rejection
from gateway.settings import Settings
from gateway.store.activations import ActivationSteps
from gateway.store.jobs import Job, Jobs, JobState
from gateway.store.licenses import JOB_ORIGIN, Licenses
from gateway.store.values import ms
from gateway.webhooks.events import WebhookEvents

log = structlog.get_logger("gateway.service")

TRANSIENT_POLLS = 3  # polls answered with a transient code before the job fails with it
TRANSIENT_FAILURE_TTL = 1.0  # seconds a transient failure stays readable by waiters
DEADLINE_MESSAGE = "license generation did not finish within the gateway's deadline"
READY_PAYLOAD = orjson.dumps({"state": "ready"})
HAND_OVER_TRIES = 20  # attempts to give back a job whose creation's answer Redis never gave


class JobRunner:
    """Drives pending generations to their end; ``owner`` is this process's lease holder id."""

    def __init__(
        self,
        lac: Lac,
        settings: Settings,
        metrics: Metrics,
        *,
        steps: ActivationSteps,
        licenses: Licenses,
        jobs: Jobs,
        owner: str,
        events: WebhookEvents,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lac = lac
        self.events = events
        self.settings = settings
        self.metrics = metrics
        self.steps = steps
        self.licenses = licenses
        self.jobs = jobs
        self.owner = owner
        self.clock = clock
        self._background: set[asyncio.Future[Any]] = set()

    # --- a new job ------------------------------------------------------------------------

    def new_job(self, target: Target, caller: str = "") -> Job:
        """The job a request creates if it is the first: leased to us while we call LAC.

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
            creator=secrets.token_hex(8),
            activated_by=caller,
        )

    def start_submit(
        self, job: Job, issued: dict[str, str] | None
    ) -> asyncio.Future[ActivationResponse | None]:
        """Send the create of a job we created, in a task of its own (a caller may hang up).

        The result is the ready answer, None while pending; LeaseLost when the job was taken.
        """
        submit = asyncio.ensure_future(self._submit_holding_lease(job, issued))
        self._keep(submit)
        return submit

    async def finish_found(self, job: Job) -> None:
        """Finish a job we created whose license another job left meanwhile."""
        await self.jobs.finish_job(job.id, self.owner)
        await self.jobs.publish_outcome(job.id, READY_PAYLOAD)

    def hand_over_later(self, job: Job) -> None:
        """Give back, in the background, a job our failed first step may have created.

        Redis may run a script whose answer never reached us (it stalled, then resumed): the
        job is then leased to a request that has given up and will never send its create.
        """
        self._keep(asyncio.ensure_future(self._hand_over(job)))

    # --- the poller's step ----------------------------------------------------------------

    async def handle_job(self, job: Job, owner: str) -> None:
        """The poller's handler: settle the job, swallowing caller-facing failures."""
        self.metrics.jobs.labels("claimed").inc()
        try:
            await self.settle(job, owner)
        except GatewayError:
            return  # recorded in Redis and announced to waiters by settle

    async def settle(
        self, job: Job, owner: str, *, issued: dict[str, str] | None = None
    ) -> ActivationResponse | None:
        """Poll LAC for ``job`` once and act on the answer.

        Returns the ready response, raises the caller-facing failure, or None while pending.
        ``issued`` is an audit event to append with the license when it is ready.
        """
        try:
            result = await self.lac.poll(job.activation_key, job.hostid)
        except LacRejected as exc:
            await self._rejected_poll(job, owner, exc)
            return None
        except CircuitOpen as exc:
            # Nothing was sent; LAC (or the breaker) named when to come back.
            await self._backoff(job, owner, at_least=exc.retry_after)
            return None
        except LacUnavailable:
            await self._backoff(job, owner)
            return None
        if result.state is PollState.READY and result.license is not None:
            return await self._complete(job, owner, license_body(result.license), issued)
        if self.clock() >= job.deadline_at:
            await self._fail(job, owner, Code.PLEASE_WAIT, DEADLINE_MESSAGE)
            raise rejection(Code.PLEASE_WAIT, DEADLINE_MESSAGE)
        await self._backoff(job, owner)
        return None

    # --- internals ------------------------------------------------------------------------

    def _keep(self, task: asyncio.Future[Any]) -> None:
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
                if await self.jobs.hand_over_job(job.id, self.owner, job.creator, self.clock()):
                    log.info("job_handed_over", job=job.id)
                return
            except RedisError:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        # Redis stayed away: the lease runs out and the job is reconciled as if sent.
        log.warning("job_hand_over_failed", job=job.id)

    async def _submit_holding_lease(
        self, job: Job, issued: dict[str, str] | None
    ) -> ActivationResponse | None:
        """``_submit`` with the job's lease renewed while it works (LeaseLost when taken)."""
        lease = self.settings.jobs.lease
        now = self.clock()
        if now - job.created_at > lease / 3 and not await self.jobs.renew_lease(
            job.id, self.owner, now + lease
        ):
            # The first step took so long that the lease may have run out and the job been
            # claimed: the create is sent only by whoever holds the job.
            raise LeaseLost(job.id)
        return await holding_lease(
            self.jobs, job.id, self.owner, lease, self._submit(job, issued), clock=self.clock
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
                await self._fail_lac(job, self.owner, exc)
                raise lac_failure(exc) from exc
            # LAC answered with a transient code: nothing was created. The poller reconciles
            # (a poll, then one re-submit on "never requested") instead of caching the failure.
            await self._backoff(job, self.owner, sent_at=0.0)
            return None
        except LacError as exc:
            # Nothing reached LAC: callers waiting on this job read the failure for a moment.
            await self._fail_lac(job, self.owner, exc)
            raise lac_failure(exc) from exc
        return await self.settle(job, self.owner, issued=issued)

    async def _rejected_poll(self, job: Job, owner: str, exc: LacRejected) -> None:
        if exc.code == Code.LICENSE_GENERATION_WAS_NOT_REQUESTED:
            if self._create_may_be_in_flight(job):
                log.info("lac_create_unconfirmed", job=job.id)
                await self._backoff(job, owner)
            else:
                await self._resubmit(job, owner)
            return
        if lookup(exc.code).retryable and job.attempts < TRANSIENT_POLLS:
            await self._backoff(job, owner)
            return
        await self._fail_lac(job, owner, exc)
        raise lac_failure(exc) from exc

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
        if not await self.jobs.renew_lease(
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
            await self._fail_lac(job, owner, exc)
            raise lac_failure(exc) from exc
        except LacUnavailable as exc:  # it never left: nothing can land later
            # Sent again at once, unless LAC (or the breaker) named when to come back.
            delay = exc.retry_after if isinstance(exc, CircuitOpen) else 0.0
            await self._reschedule(job, owner, delay=delay, interval=job.interval, sent_at=0.0)
            return
        await self._reschedule(job, owner, delay=self.settings.jobs.first_poll, interval=0.0)

    async def _backoff(
        self, job: Job, owner: str, *, sent_at: float | None = None, at_least: float = 0.0
    ) -> None:
        interval = next_interval(job.interval, self.settings.jobs)
        delay = max(jittered(interval, self.settings.jobs), at_least)
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
        await self.jobs.reschedule_job(
            job.id, owner, self.clock() + delay, interval, sent_at=sent_at
        )
        self.metrics.jobs.labels("rescheduled").inc()

    async def _complete(
        self, job: Job, owner: str, body: LicenseBody, issued: dict[str, str] | None = None
    ) -> ActivationResponse:
        now = self.clock()
        if issued is not None:  # the event is dated when the license is stored
            issued = {**issued, "at": datetime.fromtimestamp(now, UTC).isoformat()}
        audited = await self.steps.complete(
            job.id,
            owner,
            body,
            READY_PAYLOAD,
            now=now,
            audit=issued,
            audit_max=self.settings.audit.max_events,
            event=self.events.issued(job.id, job.activation_key, job.hostid, body),
        )
        if not audited:
            # The license is stored and announced: losing its trace must not fail the caller.
            audit_failed("activation")
        self.metrics.jobs.labels("completed").inc()
        self.metrics.job_time_to_license.observe(max(now - job.created_at, 0.0))
        log.info("license_ready", job=job.id, key=mask_key(job.activation_key))
        stored = self.licenses.as_stored(body, now, origin=JOB_ORIGIN)
        return ready(job.id, stored, "lac", self.settings.cache, now)

    def _failure_event(self, job: Job, code: int, message: str, *, definitive: bool) -> list[str]:
        """The webhook event of a failed job: expired past its deadline, or LAC's rejection.

        A transient failure (LAC's bad minutes, a request LAC refused) is no verdict on the
        activation: it makes no event.
        """
        if code == Code.PLEASE_WAIT:
            return self.events.expired(job.id, job.activation_key, job.hostid, job.deadline_at)
        if not definitive:
            return []
        return self.events.failed(job.id, job.activation_key, job.hostid, code, message)

    async def _fail_lac(self, job: Job, owner: str, exc: LacError) -> None:
        """Fail ``job`` with a LAC failure; a refused request ends it, never polled again."""
        refused = exc.operation if isinstance(exc, LacRequestRejected) else ""
        await self._fail(job, owner, exc.code, exc.message, refused=refused)

    async def _fail(
        self, job: Job, owner: str, code: int, message: str, *, refused: str = ""
    ) -> None:
        # A transient code is kept just long enough for this job's waiters to read it: the
        # negative cache is for permanent rejections, not for LAC's bad minutes. So is a
        # request LAC refused (``refused`` names its operation): the gateway's configuration,
        # fixed by an operator, not a verdict on this activation.
        ttl = TRANSIENT_FAILURE_TTL if refused or lookup(code).retryable else None
        record: dict[str, object] = {"code": code, "message": message}
        if refused:
            record["operation"] = refused
        negative = orjson.dumps(record)
        outcome = orjson.dumps({"state": "failed", "code": code})
        ttl_ms = ms(self.settings.cache.negative_ttl if ttl is None else ttl)
        event = self._failure_event(job, code, message, definitive=ttl is None)
        await self.steps.fail(job.id, owner, negative, ttl_ms, outcome, event=event)
        self.metrics.jobs.labels("failed").inc()
        log.info("activation_failed", job=job.id, key=mask_key(job.activation_key), lac_code=code)

"""The steps of an activation that span several concerns: start, read its state, complete.

On a single server each step is one script or one pipeline, so nothing can happen between its
parts. A Redis Cluster keeps a license, its job and the audit stream in different slots, so
``ClusterActivationSteps`` takes the same steps one command after the other, in an order that
keeps the same guarantees (see each method).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.typing import EncodableT

from gateway.models import LicenseBody
from gateway.store import scripts
from gateway.store.activators import activator_ttl
from gateway.store.audit import AuditTrail
from gateway.store.batch import Batch
from gateway.store.jobs import Job, Jobs, create_args
from gateway.store.keys import OUTBOX_MAX_EVENTS, Keys
from gateway.store.licenses import JOB_ORIGIN, CachedLicense, Licenses, Rejection, rejection


class Started(StrEnum):
    """What starting an activation's job found."""

    CACHED = "cached"  # a license is cached (fresh, or stale with no rejection): no job
    REJECTED = "rejected"  # LAC's rejection is cached and no fresh license: no job
    CREATED = "created"  # this request created the job: it sends the create
    JOINED = "joined"  # another request's job is in flight: wait for its outcome


@dataclass(frozen=True, slots=True)
class Start:
    """The outcome of ``start`` or ``create``.

    ``license`` is the cached license when CACHED (a stale one may come with REJECTED too), and
    when CREATED only if a job finished between the caller's cache miss and its create (the
    new job is then not needed). ``rejection`` is the cached (code, message) when REJECTED.
    """

    outcome: Started
    license: CachedLicense | None = None
    rejection: Rejection | None = None


def found(cached: CachedLicense | None, negative: Rejection | None) -> Start | None:
    """The outcome of a lookup that found a license or a rejection; None when it found neither."""
    if cached is not None and (cached.fresh or negative is None):
        return Start(Started.CACHED, license=cached)
    if negative is not None:
        return Start(Started.REJECTED, license=cached, rejection=negative)
    return None


@dataclass(frozen=True, slots=True)
class State:
    """An activation as read in one step: its job in flight, cached license and rejection."""

    pending: bool
    license: CachedLicense | None
    rejection: Rejection | None


class ActivationSteps:
    """A single server's activation steps: one script or pipeline each."""

    def __init__(
        self,
        redis: Redis | RedisCluster,
        keys: Keys,
        batch: Batch,
        *,
        licenses: Licenses,
        jobs: Jobs,
        audit: AuditTrail,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.batch = batch
        self.licenses = licenses
        self.jobs = jobs
        self.audit = audit
        self._lookup_or_create = scripts.register(redis, "lookup_or_create_job-4")
        self._complete = scripts.register(redis, "complete_job-7")
        self._fail = scripts.register(redis, "fail_job-4")
        self._withdraw = scripts.register(redis, "withdraw_license-6")
        self._first_report = scripts.register(redis, "first_report-1")

    async def start(self, job: Job, *, now: float) -> Start:
        """An activation request's first step: its cached license or rejection, else its job.

        A fresh license in the near cache answers without Redis. Otherwise one script reads
        both entries and, finding neither, creates ``job`` unless one exists: one round trip,
        and no job can finish between the read and the create.
        """
        kept, generation = self.licenses.recall(job.id)
        if kept is not None and now < kept.fresh_until:
            return Start(Started.CACHED, license=kept.at(now))
        keys, args = create_args(self.keys, job)
        keys = [self.keys.license(job.id), self.keys.negative(job.id), *keys]
        state, raw_license, raw_negative = await self._lookup_or_create(keys=keys, args=args)
        record = self.licenses.keep(job.id, raw_license, generation)
        if int(state) >= 0:
            return Start(Started.CREATED if int(state) else Started.JOINED)
        cached = None if record is None else record.at(now)
        # Neither entry readable (an unreadable one is a miss): create as if none was there.
        return found(cached, rejection(raw_negative)) or await self.create(job, now=now)

    async def create(self, job: Job, *, now: float) -> Start:
        """Create ``job`` unless one exists (CREATED or JOINED), then read the cached license.

        The read follows the create, so a job that finished between the caller's cache miss
        and this create is seen by its license (see the service).
        """
        created = await self.jobs.create_job(job)
        cached = await self.licenses.get_license(job.id, now=now)
        if not created:
            return Start(Started.JOINED)
        return Start(Started.CREATED, license=cached)

    async def read_state(self, aid: str, *, now: float) -> State:
        """Whether a job is in flight, the cached license and the rejection.

        The job is read first, so a job found gone guarantees the reads after it see whatever
        it left (a job is finished only after its outcome is written): one pipeline on a single
        server, two commands in that order on a cluster.
        """
        _, generation = self.licenses.recall(aid)
        exists, (raw_license, raw_negative) = await self.batch(
            ("EXISTS", self.keys.job(aid)),
            ("MGET", self.keys.license(aid), self.keys.negative(aid)),
        )
        record = self.licenses.keep(aid, raw_license, generation)
        cached = None if record is None else record.at(now)
        return State(bool(exists), cached, rejection(raw_negative))

    async def complete(
        self,
        aid: str,
        owner: str,
        lic: LicenseBody,
        payload: bytes,
        *,
        now: float,
        audit: Mapping[str, str] | None = None,
        audit_max: int = 0,
        event: Sequence[str] = (),
    ) -> bool:
        """Cache the license, drop any rejection, finish the job, announce it: one script.

        The activator recorded in the job is kept with the license, the webhook ``event`` is
        appended to the outbox first, and an ``audit`` event is appended too (stream trimmed to
        about ``audit_max``). Returns False when the audit event could not be written;
        everything else is done or raised.
        """
        self.licenses.forget_near(aid)
        entry = self.licenses.entry(lic, None, now, origin=JOB_ORIGIN)
        value, px = entry if entry is not None else (b"", 0)
        args: list[EncodableT] = [aid, owner, value, px, payload, self.keys.outcome(aid)]
        args += [self.keys.licenses_changed, audit_max, activator_ttl(lic, now)]
        args += [OUTBOX_MAX_EVENTS, len(event), *event]
        for name, field in (audit or {}).items():
            args += [name, field]
        keys = [self.keys.license(aid), self.keys.negative(aid), self.keys.due, self.keys.job(aid)]
        keys += [self.keys.audit, self.keys.activator(aid), self.keys.outbox]
        audited = await self._complete(keys=keys, args=args)
        return audit is None or bool(audited)

    async def fail(
        self,
        aid: str,
        owner: str,
        negative: bytes,
        ttl_ms: int,
        payload: bytes,
        *,
        event: Sequence[str] = (),
    ) -> None:
        """Cache the rejection, finish the job, announce the outcome, with its webhook event."""
        keys = [self.keys.negative(aid), self.keys.due, self.keys.job(aid), self.keys.outbox]
        args: list[EncodableT] = [aid, owner, negative, ttl_ms, payload, self.keys.outcome(aid)]
        await self._fail(keys=keys, args=[*args, OUTBOX_MAX_EVENTS, *event])

    async def withdraw(self, aid: str, *, event: Sequence[str] = ()) -> int:
        """Forget a withdrawn pair (license, rejection, job, activator), with its webhook event.

        Returns the number of cached entries (license, rejection) removed.
        """
        self.licenses.forget_near(aid)
        keys = [self.keys.license(aid), self.keys.negative(aid), self.keys.due, self.keys.job(aid)]
        keys += [self.keys.activator(aid), self.keys.outbox]
        args: list[EncodableT] = [aid, self.keys.licenses_changed, OUTBOX_MAX_EVENTS, *event]
        return int(await self._withdraw(keys=keys, args=args))


class ClusterActivationSteps(ActivationSteps):
    """A Redis Cluster's activation steps: the same effects, one command after the other."""

    async def start(self, job: Job, *, now: float) -> Start:
        """The lookup (one slot), then, finding nothing, ``create``: two slots, two steps."""
        kept, _ = self.licenses.recall(job.id)
        if kept is not None and now < kept.fresh_until:
            return Start(Started.CACHED, license=kept.at(now))
        cached, negative = await self.licenses.lookup(job.id, now=now)
        return found(cached, negative) or await self.create(job, now=now)

    async def complete(
        self,
        aid: str,
        owner: str,
        lic: LicenseBody,
        payload: bytes,
        *,
        now: float,
        audit: Mapping[str, str] | None = None,
        audit_max: int = 0,
        event: Sequence[str] = (),
    ) -> bool:
        """The completion script's steps in its order, so a woken waiter finds the license."""
        await self._append_event(event, job=aid)
        self.licenses.forget_near(aid)
        entry = self.licenses.entry(lic, None, now, origin=JOB_ORIGIN)
        if entry is None:
            await self.redis.delete(self.keys.license(aid))
        else:
            await self.redis.set(self.keys.license(aid), entry[0], px=entry[1])
        await self.redis.delete(self.keys.negative(aid))
        await self._keep_activator(aid, activator_ttl(lic, now))
        await self.jobs.finish_job(aid, owner)
        await self.redis.publish(self.keys.outcome(aid), payload)
        await self.redis.publish(self.keys.licenses_changed, aid)
        return audit is None or await self.audit.append_quietly(audit, audit_max)

    async def fail(
        self,
        aid: str,
        owner: str,
        negative: bytes,
        ttl_ms: int,
        payload: bytes,
        *,
        event: Sequence[str] = (),
    ) -> None:
        """The failure script's steps in its order: event, rejection, job, outcome."""
        await self._append_event(event, job=aid)
        await self.redis.set(self.keys.negative(aid), negative, px=ttl_ms)
        await self.jobs.finish_job(aid, owner or None)
        await self.redis.publish(self.keys.outcome(aid), payload)

    async def withdraw(self, aid: str, *, event: Sequence[str] = ()) -> int:
        """The withdrawal script's steps in its order: event, cache entries, job, activator."""
        await self._append_event(event)
        removed = await self.licenses.purge(aid)
        await self.jobs.finish_job(aid)
        await self.redis.delete(self.keys.activator(aid))
        return removed

    async def _append_event(self, event: Sequence[str], *, job: str | None = None) -> None:
        """Append the webhook event before the change (a crash between them: an event too many).

        With ``job``, only on the first report of that job's end, as the scripts do.
        """
        if event and job is not None and not await self._first_report(keys=[self.keys.job(job)]):
            return
        if event:
            fields: dict[EncodableT, EncodableT] = dict(zip(event[::2], event[1::2], strict=True))
            await self.redis.xadd(
                self.keys.outbox, fields, maxlen=OUTBOX_MAX_EVENTS, approximate=True
            )

    async def _keep_activator(self, aid: str, ttl_ms: str) -> None:
        """Copy the job's activator to its own key (the script does it on a single server)."""
        activator = await self.redis.hget(self.keys.job(aid), "activated_by")
        if not activator or not ttl_ms:
            return
        await self.redis.set(self.keys.activator(aid), activator, px=int(ttl_ms) or None)

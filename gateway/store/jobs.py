"""Jobs: one Redis hash per pending generation, scheduled in one sorted set by next poll time.

A poller claims due jobs with a lease (their due time becomes the lease end, so the job of a
poller that died is simply due again then); only the lease holder reschedules, renews or
finishes a job. Times are epoch seconds passed in by the caller, so the job logic can be driven
by a test clock; a job keeps them to the millisecond.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.typing import EncodableT

from gateway.store import scripts
from gateway.store.keys import JOB_RETENTION, Keys
from gateway.store.values import instant, ms, num, text


class JobState(StrEnum):
    """Where a job stands; the scripts are handed these names."""

    PENDING = "pending"
    LEASED = "leased"


# What the claim script reads back from each job it leases, in order (fewer bytes to parse).
CLAIMED_FIELDS = (
    *("id", "activation_key", "hostid", "created_at"),
    *("due_at", "deadline_at", "attempts", "interval", "sent_at"),
)


@dataclass(slots=True)
class Job:
    """A pending license generation that a poller drives to completion."""

    id: str
    activation_key: str
    hostid: str
    created_at: float
    due_at: float
    deadline_at: float
    attempts: int = 0
    interval: float = 0.0
    owner: str = ""
    lease_until: float = 0.0
    state: str = JobState.PENDING
    # When a create for this job was last (possibly) sent to LAC; 0 when certainly never.
    sent_at: float = 0.0
    # A nonce of the request that created the job (tells its own re-sent script apart).
    creator: str = ""
    activated_by: str = ""  # the requesting API key's name, kept with the license it yields

    def to_fields(self) -> list[str]:
        """Flat field/value list for HSET."""
        out: list[str] = []
        # Not dataclasses.asdict: it deep-copies every value, on every activation's cold path.
        for name in _JOB_FIELDS:
            value = getattr(self, name)
            out += [name, instant(value) if isinstance(value, float) else str(value)]
        return out

    @classmethod
    def from_fields(cls, raw: Mapping[Any, Any]) -> Job:
        """The Job stored in a hash (bytes or str field names and values)."""
        f = {text(k): text(v) for k, v in raw.items()}
        return cls(
            id=f["id"],
            activation_key=f["activation_key"],
            hostid=f["hostid"],
            created_at=float(f["created_at"]),
            due_at=float(f["due_at"]),
            deadline_at=float(f["deadline_at"]),
            attempts=int(f.get("attempts") or 0),
            interval=float(f.get("interval") or 0),
            owner=f.get("owner", ""),
            lease_until=float(f.get("lease_until") or 0),
            state=f.get("state") or JobState.PENDING,
            sent_at=float(f.get("sent_at") or 0),
            creator=f.get("creator", ""),
            activated_by=f.get("activated_by", ""),
        )


_JOB_FIELDS = tuple(field.name for field in fields(Job))


@dataclass(frozen=True, slots=True)
class Claim:
    """Jobs just leased to a poller, and the earliest time left in the schedule (None: empty)."""

    jobs: list[Job]
    next_due: float | None


def create_args(keys: Keys, job: Job) -> tuple[list[str], list[EncodableT]]:
    """KEYS and ARGV of the ``create_job`` piece for ``job``."""
    retention = max(job.deadline_at - job.created_at, 0.0) + JOB_RETENTION
    args: list[EncodableT] = [
        *(job.id, instant(job.due_at), ms(retention), job.creator),
        *job.to_fields(),
    ]
    return [keys.due, keys.job(job.id)], args


def _sent(sent_at: float | None) -> str:
    return "" if sent_at is None else num(sent_at)


class Jobs:
    """The job queue: create, claim, reschedule, renew, hand over, finish, release, list."""

    def __init__(self, redis: Redis | RedisCluster, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._create = scripts.register(redis, "create_job-2")
        self._claim = scripts.register(redis, "claim_jobs-1")
        self._reschedule = scripts.register(redis, "reschedule_job-2")
        self._renew = scripts.register(redis, "renew_lease-2")
        self._hand_over = scripts.register(redis, "hand_over_job-2")
        self._finish = scripts.register(redis, "finish_job-2")
        self._release = scripts.register(redis, "release_jobs-1")

    async def create_job(self, job: Job) -> bool:
        """Store and schedule ``job`` unless one exists for the same activation."""
        keys, args = create_args(self.keys, job)
        return bool(await self._create(keys=keys, args=args))

    async def claim_due(self, owner: str, now: float, lease: float, limit: int) -> Claim:
        """Atomically lease up to ``limit`` due jobs to ``owner`` until ``now + lease``.

        A claimed job's due time becomes the lease end, so if ``owner`` dies the job is simply
        due again then. Each claim counts as an attempt. Also says when the earliest job left
        in the schedule comes due.
        """
        if limit <= 0:
            return Claim([], None)  # Redis reads a zero or negative LIMIT count as "no limit"
        until = num(now + lease)
        args: list[EncodableT] = [self.keys.job_prefix, num(now), until, limit, owner]
        args += [JobState.LEASED, *CLAIMED_FIELDS]
        rows, head = await self._claim(keys=[self.keys.due], args=args)
        known = {"owner": owner, "lease_until": until, "state": JobState.LEASED}
        jobs = [
            Job.from_fields({**dict(zip(CLAIMED_FIELDS, row, strict=True)), **known})
            for row in rows
        ]
        return Claim(jobs, None if head is None else float(head))

    async def reschedule_job(
        self,
        aid: str,
        owner: str,
        due_at: float,
        interval: float,
        *,
        sent_at: float | None = None,
    ) -> bool:
        """Schedule the next poll, only if ``owner`` still holds the job's lease.

        ``sent_at`` records when a create was last sent (0: none is in flight); None keeps it.
        """
        if not owner:
            raise ValueError("owner must not be empty")
        keys = [self.keys.due, self.keys.job(aid)]
        args = [aid, owner, num(due_at), num(interval), _sent(sent_at), JobState.PENDING]
        return bool(await self._reschedule(keys=keys, args=args))

    async def renew_lease(
        self, aid: str, owner: str, until: float, *, sent_at: float | None = None
    ) -> bool:
        """Extend ``owner``'s lease to ``until``; False when it no longer holds the job.

        With ``sent_at``, also record that a create is about to be sent (before it is sent,
        so that whoever takes the job over later knows one may be in flight).
        """
        keys = [self.keys.due, self.keys.job(aid)]
        return bool(await self._renew(keys=keys, args=[aid, owner, num(until), _sent(sent_at)]))

    async def hand_over_job(self, aid: str, owner: str, creator: str, now: float) -> bool:
        """Give back a job whose create was never sent: due at ``now``, marked as never sent.

        Only the request that created the job (``creator``), while it still holds the lease.
        """
        keys = [self.keys.due, self.keys.job(aid)]
        args = [aid, owner, num(now), creator, JobState.PENDING]
        return bool(await self._hand_over(keys=keys, args=args))

    async def finish_job(self, aid: str, owner: str | None = None) -> bool:
        """Remove a job (done or failed); with ``owner``, only if that owner holds it."""
        keys = [self.keys.due, self.keys.job(aid)]
        return bool(await self._finish(keys=keys, args=[aid, owner or ""]))

    async def release_jobs(self, owner: str, now: float) -> int:
        """Make every job leased by ``owner`` due at ``now`` (graceful shutdown)."""
        if not owner:
            raise ValueError("owner must not be empty")
        args = [self.keys.job_prefix, owner, num(now), JobState.PENDING]
        return int(await self._release(keys=[self.keys.due], args=args))

    async def list_jobs(self, limit: int = 100) -> list[Job]:
        """Up to ``limit`` jobs, soonest due first."""
        ids = cast(list[bytes], await self.redis.zrange(self.keys.due, 0, max(limit, 1) - 1))
        if not ids:
            return []
        # All in the {jobs} slot: one pipeline on a cluster too.
        async with self.redis.pipeline(transaction=False) as pipe:
            for aid in ids:
                pipe.hgetall(self.keys.job(text(aid)))
            rows = await pipe.execute()
        return [Job.from_fields(row) for row in rows if row]

    async def count_jobs(self) -> int:
        """How many jobs are pending or leased."""
        return int(await self.redis.zcard(self.keys.due))

    async def publish_outcome(self, aid: str, payload: bytes) -> int:
        """Announce an outcome to every waiter on every replica; how many received it."""
        return int(await self.redis.publish(self.keys.outcome(aid), payload))

"""Every Redis key of the gateway, behind one class: caches, token, locks, jobs, idempotency.

Key layout (``P`` is the configured prefix; the part in braces is the Redis Cluster hash tag, so
keys that one command or script touches together live in one slot)::

    P:{<aid>}:license          string  cached license JSON        fresh TTL + stale window
    P:{<aid>}:negative         string  LAC rejection (code, text)  cache.negative_ttl
    P:{<aid>}:lock             string  single-flight owner token   caller's ttl
    P:{<aid>}:outcome          channel job outcome for waiters (pub/sub)
    P:{<aid>}:activator        string  name of the API key whose   until the license expires
                                       request created the license (none: perpetual)
    P:{licenses}:changed       channel aid of a license changed or removed (near caches)
    P:{order.<sha>}:order      string  order summary JSON          cache.order_ttl
    P:{vendor}:token           string  LAC vendor login token      caller's ttl
    P:{vendor}:token-lock      string  coalesces token refreshes   caller's ttl
    P:{jobs}:due               zset    job id -> next poll time (or lease end while claimed)
    P:{jobs}:job:<aid>         hash    one pending generation      deadline span + retention
    P:{idem.<sha>}:idempotency hash    one Idempotency-Key record  lock TTL, then idempotency_ttl
    P:{rate.<sha>}:rate        string  requests in the current window of one caller or IP
                                                                   limits.window
    P:{audit}:events           stream  audit trail of activations, deactivations, removals
                                                                   trimmed to audit.max_events
    P:{health}:write-probe     string  written by /readyz to learn whether Redis takes writes
                                                                   WRITE_PROBE_TTL

Activation keys, idempotency keys and rate-limit scopes appear in key names only as SHA-256
digests. Times are epoch seconds passed in by the caller, so the job logic can be driven by a
test clock.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

import orjson
from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError
from redis.typing import EncodableT

from gateway.models import LicenseBody
from gateway.nearcache import NearCache
from gateway.settings import CacheSettings

DEFAULT_STALE_WINDOW = 3 * 24 * 3600.0  # how long past freshness a license may be served stale
IDEMPOTENCY_LOCK_TTL = 120.0  # an in-progress record outlives no crashed request by more
JOB_RETENTION = 24 * 3600.0  # a job hash outlives its deadline by this much, then expires
WRITE_PROBE_TTL = 10.0  # seconds; the probe key is one small string, rewritten by each probe
JOB_PENDING = "pending"
JOB_LEASED = "leased"
# What the claim script reads back from each job it leases, in order (fewer bytes to parse).
CLAIMED_FIELDS = (
    *("id", "activation_key", "hostid", "created_at"),
    *("due_at", "deadline_at", "attempts", "interval", "sent_at"),
)

# Deletes KEYS[1] only while it still holds ARGV[1]: nobody removes a lock or token they
# do not own (the holder may have expired and been replaced meanwhile).
_COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# ARGV: id, due time, retention (ms), the creating request's nonce, then the job's fields.
# A job already there with this nonce is this request's own (redis-py re-sends a command
# whose answer timed out, and Redis may have run the first one): it counts as created.
_CREATE_JOB = """
if redis.call('EXISTS', KEYS[2]) == 1 then
  if ARGV[4] ~= '' and redis.call('HGET', KEYS[2], 'creator') == ARGV[4] then return 1 end
  return 0
end
redis.call('HSET', KEYS[2], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""

# An activation request's first step, atomically: its cached license and rejection, and, when
# there is neither, its job created unless one exists (-1 found, 0 job exists, 1 created).
# KEYS: license, negative, due set, job (two hash tags: single-server deployments only).
_LOOKUP_OR_CREATE_JOB = """
local found = redis.call('MGET', KEYS[1], KEYS[2])
if found[1] or found[2] then return {-1, found[1], found[2]} end
if redis.call('EXISTS', KEYS[4]) == 1 then
  if ARGV[4] ~= '' and redis.call('HGET', KEYS[4], 'creator') == ARGV[4] then
    return {1, false, false}
  end
  return {0, false, false}
end
redis.call('HSET', KEYS[4], unpack(ARGV, 5))
redis.call('PEXPIRE', KEYS[4], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return {1, false, false}
"""

# A finished generation, in this order: its license cached (or dropped when ARGV[3] is empty,
# an expired license), its rejection dropped, the job's activated_by copied to the activator
# key for ARGV[9] ms (0: no expiry, empty: not kept), its job finished if ARGV[2] still owns
# it, the outcome published on channel ARGV[6], the license change on channel ARGV[7] (near
# caches), and an audit event (ARGV[10]...) appended to the stream trimmed to about ARGV[8]
# entries. Returns 1, or 0 when the audit event could not be written.
# KEYS: license, negative, due set, job, audit stream, activator (several hash tags: single
# server only).
_COMPLETE_JOB = """
if ARGV[3] == '' then redis.call('DEL', KEYS[1])
else redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) end
redis.call('DEL', KEYS[2])
local activator = redis.call('HGET', KEYS[4], 'activated_by')
if activator and activator ~= '' and ARGV[9] ~= '' then
  if ARGV[9] == '0' then redis.call('SET', KEYS[6], activator)
  else redis.call('SET', KEYS[6], activator, 'PX', ARGV[9]) end
end
if ARGV[2] == '' or redis.call('HGET', KEYS[4], 'owner') == ARGV[2] then
  redis.call('DEL', KEYS[4])
  redis.call('ZREM', KEYS[3], ARGV[1])
end
redis.call('PUBLISH', ARGV[6], ARGV[5])
redis.call('PUBLISH', ARGV[7], ARGV[1])
if #ARGV > 9 then
  local added = redis.pcall('XADD', KEYS[5], 'MAXLEN', '~', ARGV[8], '*', unpack(ARGV, 10))
  if type(added) == 'table' and added.err then return 0 end
end
return 1
"""

# Job hashes are addressed from ARGV[1] (their common prefix): they share the {jobs} hash tag
# with KEYS[1], so on a cluster they live in the same slot as the declared key.
_CLAIM_JOBS = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[4]))
local claimed = {}
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  if redis.call('EXISTS', key) == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    redis.call('HSET', key, 'owner', ARGV[5], 'lease_until', ARGV[3], 'state', 'leased')
    redis.call('HINCRBY', key, 'attempts', 1)
    -- The fields of CLAIMED_FIELDS, in order; owner, lease end and state the caller knows.
    claimed[#claimed + 1] = redis.call('HMGET', key, 'id', 'activation_key', 'hostid', 'created_at',
                                       'due_at', 'deadline_at', 'attempts', 'interval',
                                       'sent_at')
  end
end
-- The earliest time left in the schedule (a due time or a lease end), so the poller can sleep
-- until then instead of a fixed tick.
local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {claimed, head[2] or false}
"""

# ARGV: id, owner, due time, interval, and when a create was last sent ('' leaves it as is).
_RESCHEDULE_JOB = """
if redis.call('HGET', KEYS[2], 'owner') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], 'owner', '', 'lease_until', '0', 'state', 'pending',
           'due_at', ARGV[3], 'interval', ARGV[4])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'sent_at', ARGV[5]) end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

# Extends the lease of ARGV[2] to ARGV[3] (the job's due time follows it), and records a
# create about to be sent at ARGV[4] unless it is ''. 0 when the lease is no longer held.
_RENEW_LEASE = """
if redis.call('HGET', KEYS[2], 'owner') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], 'lease_until', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], 'sent_at', ARGV[4]) end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

# A request that created a job and never sent its create gives it back, due now (ARGV[3]),
# marked as never sent: only while the job is still the one that request created (ARGV[4])
# and still leased to it (ARGV[2]).
_HAND_OVER_JOB = """
if redis.call('HGET', KEYS[2], 'owner') ~= ARGV[2] then return 0 end
if ARGV[4] == '' or redis.call('HGET', KEYS[2], 'creator') ~= ARGV[4] then return 0 end
redis.call('HSET', KEYS[2], 'owner', '', 'lease_until', '0', 'state', 'pending',
           'due_at', ARGV[3], 'sent_at', '0')
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

_FINISH_JOB = """
if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], 'owner') ~= ARGV[2] then return 0 end
local removed = redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return removed
"""

# Walks every job: graceful shutdown is rare and the number of pending generations is small.
_RELEASE_JOBS = """
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local released = 0
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'owner') == ARGV[2] then
    redis.call('HSET', key, 'owner', '', 'lease_until', '0', 'state', 'pending', 'due_at', ARGV[3])
    redis.call('ZADD', KEYS[1], ARGV[3], id)
    released = released + 1
  end
end
return released
"""

_IDEM_BEGIN = """
local rec = redis.call('HMGET', KEYS[1], 'state', 'fp', 'status', 'headers', 'body')
if not rec[1] then
  redis.call('HSET', KEYS[1], 'state', 'in_progress', 'fp', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {'new'}
end
if rec[2] ~= ARGV[1] then return {'mismatch'} end
if rec[1] ~= 'done' then return {'in_progress'} end
return {'done', rec[3], rec[4], rec[5]}
"""

_IDEM_COMPLETE = """
local fp = redis.call('HGET', KEYS[1], 'fp')
if fp and fp ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'fp', ARGV[1], 'status', ARGV[2],
           'headers', ARGV[3], 'body', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
"""

# A fixed window: the first requests of a window start its clock; the count and the time left
# come back in one round trip, so every replica shares the same window. ARGV[2] requests are
# added at once (a replica sends its counts in batches).
_RATE_HIT = """
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if n == tonumber(ARGV[2]) or ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""

_IDEM_ABANDON = """
if redis.call('HGET', KEYS[1], 'state') == 'in_progress' then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


def _num(value: float) -> str:
    return repr(float(value))


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


class Keys:
    """Builds every key and channel name; the one place the layout above is spelled out."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.due = f"{prefix}:{{jobs}}:due"
        self.job_prefix = f"{prefix}:{{jobs}}:job:"
        self.token = f"{prefix}:{{vendor}}:token"
        self.token_lock = f"{prefix}:{{vendor}}:token-lock"
        self.licenses_changed = f"{prefix}:{{licenses}}:changed"
        self.write_probe = f"{prefix}:{{health}}:write-probe"

    def license(self, aid: str) -> str:
        """The cached license of an activation."""
        return f"{self.prefix}:{{{aid}}}:license"

    def negative(self, aid: str) -> str:
        """The cached LAC rejection of an activation."""
        return f"{self.prefix}:{{{aid}}}:negative"

    def lock(self, aid: str) -> str:
        """The cross-replica single-flight lock of an activation."""
        return f"{self.prefix}:{{{aid}}}:lock"

    def outcome(self, aid: str) -> str:
        """The pub/sub channel announcing an activation's outcome."""
        return f"{self.prefix}:{{{aid}}}:outcome"

    def job(self, aid: str) -> str:
        """The hash of an activation's pending job."""
        return self.job_prefix + aid

    def activator(self, aid: str) -> str:
        """The name of the API key that activated a pair (outlives its cached license)."""
        return f"{self.prefix}:{{{aid}}}:activator"

    def order(self, activation_key: str) -> str:
        """The cached summary of an order."""
        return f"{self.prefix}:{{order.{_digest(activation_key)}}}:order"

    def idempotency(self, scope: str, key: str) -> str:
        """The record of one Idempotency-Key within a caller's scope."""
        return f"{self.prefix}:{{idem.{_digest(scope, key)}}}:idempotency"

    def rate(self, scope: str) -> str:
        """The request counter of one rate-limit scope (an API key's name or a client IP)."""
        return f"{self.prefix}:{{rate.{_digest(scope)}}}:rate"

    @property
    def audit(self) -> str:
        """The audit trail stream."""
        return f"{self.prefix}:{{audit}}:events"


@dataclass(frozen=True, slots=True)
class CachedLicense:
    """A license read from the cache; ``fresh`` is False inside the stale window."""

    license: LicenseBody
    stored_at: float
    fresh: bool


@dataclass(frozen=True, slots=True)
class LicenseRecord:
    """A cache entry as stored: the license, when it was stored and until when it is fresh."""

    license: LicenseBody
    stored_at: float
    fresh_until: float

    def at(self, now: float) -> CachedLicense:
        """The entry as read at ``now``."""
        return CachedLicense(self.license, self.stored_at, now < self.fresh_until)


@dataclass(frozen=True, slots=True)
class Lookup:
    """What an activation request found in Redis, and whether it created the job.

    ``created`` is None when no job was attempted (a license or a rejection was found, or the
    deployment cannot do both in one step), False when another caller's job is in flight.
    """

    license: CachedLicense | None
    negative: tuple[int, str] | None
    created: bool | None


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
    state: str = JOB_PENDING
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
            out += [name, _num(value) if isinstance(value, float) else str(value)]
        return out

    @classmethod
    def from_fields(cls, raw: Mapping[Any, Any]) -> Job:
        """The Job stored in a hash (bytes or str field names and values)."""
        f = {_text(k): _text(v) for k, v in raw.items()}
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
            state=f.get("state") or JOB_PENDING,
            sent_at=float(f.get("sent_at") or 0),
            creator=f.get("creator", ""),
            activated_by=f.get("activated_by", ""),
        )


@dataclass(frozen=True, slots=True)
class Claim:
    """Jobs just leased to a poller, and the earliest time left in the schedule (None: empty)."""

    jobs: list[Job]
    next_due: float | None


_JOB_FIELDS = tuple(field.name for field in fields(Job))


class IdemKind(StrEnum):
    """What ``begin_idempotent`` found."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    MISMATCH = "mismatch"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The response kept for a completed idempotent request."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class IdemState:
    """The state of an Idempotency-Key; ``response`` is set when ``kind`` is DONE."""

    kind: IdemKind
    response: StoredResponse | None = None


def _expiry_epoch(expires_at: date | None) -> float | None:
    # A license is valid through its END date, so it is cacheable until that day is over (UTC).
    if expires_at is None:
        return None
    end = datetime(expires_at.year, expires_at.month, expires_at.day, tzinfo=UTC)
    return (end + timedelta(days=1)).timestamp()


def _activator_ttl(lic: LicenseBody, now: float) -> str:
    """How long the activator of ``lic`` is kept, in ms: until the license expires, "0" for a
    perpetual one (deactivating a seat matters as long as the license runs), "" for none."""
    expiry = _expiry_epoch(lic.expires_at)
    if expiry is None:
        return "0"
    return str(_ms(expiry - now)) if expiry > now else ""


def _license_record(raw: bytes | str | None) -> LicenseRecord | None:
    """A cache entry as stored; None when absent or unreadable (a miss)."""
    if raw is None:
        return None
    try:
        entry = orjson.loads(raw)
        body = LicenseBody.model_validate(entry["license"])
        return LicenseRecord(body, float(entry["stored_at"]), float(entry["fresh_until"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, ValidationError):
        return None  # an unreadable entry is a miss; the next put overwrites it


def _cached_license(raw: bytes | str | None, now: float) -> CachedLicense | None:
    """A cache entry as read at ``now``; None when absent or unreadable (a miss)."""
    record = _license_record(raw)
    return None if record is None else record.at(now)


def _negative(raw: bytes | str | None) -> tuple[int, str] | None:
    """A cached rejection as (code, message); None when absent or unreadable."""
    if raw is None:
        return None
    try:
        record = orjson.loads(raw)
        return int(record["code"]), str(record["message"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


class Store:
    """The gateway's Redis: every read and write goes through here."""

    def __init__(
        self,
        redis: Redis | RedisCluster,
        prefix: str,
        cache: CacheSettings,
        *,
        stale_window: float = DEFAULT_STALE_WINDOW,
        idempotency_lock_ttl: float = IDEMPOTENCY_LOCK_TTL,
        near: NearCache[LicenseRecord] | None = None,
    ) -> None:
        if isinstance(redis, RedisCluster):
            options = redis.get_connection_kwargs()
        else:
            options = redis.connection_pool.connection_kwargs
        if options.get("decode_responses"):
            # Idempotent responses and license JSON are stored as bytes; decoding would mangle them.
            raise ValueError("Store needs a Redis client with decode_responses=False")
        self.redis = redis
        self.keys = Keys(prefix)
        self.cache = cache
        self.stale_window = stale_window
        self.idempotency_lock_ttl = idempotency_lock_ttl
        # Licenses read lately, kept in this process while its listener drops the changed ones.
        self.near = near
        self._cad = redis.register_script(_COMPARE_AND_DELETE)
        self._create_job = redis.register_script(_CREATE_JOB)
        self._lookup_or_create = redis.register_script(_LOOKUP_OR_CREATE_JOB)
        self._complete = redis.register_script(_COMPLETE_JOB)
        self._claim = redis.register_script(_CLAIM_JOBS)
        self._reschedule = redis.register_script(_RESCHEDULE_JOB)
        self._renew = redis.register_script(_RENEW_LEASE)
        self._hand_over = redis.register_script(_HAND_OVER_JOB)
        self._finish = redis.register_script(_FINISH_JOB)
        self._release = redis.register_script(_RELEASE_JOBS)
        self._idem_begin = redis.register_script(_IDEM_BEGIN)
        self._idem_complete = redis.register_script(_IDEM_COMPLETE)
        self._idem_abandon = redis.register_script(_IDEM_ABANDON)
        self._rate_hit = redis.register_script(_RATE_HIT)

    # --- licenses ------------------------------------------------------------------------

    async def get_license(self, aid: str, *, now: float | None = None) -> CachedLicense | None:
        """The cached license (fresh or stale): from the near cache, else one round trip."""
        now = time.time() if now is None else now
        kept, generation = self._near_get(aid)
        if kept is not None:
            return kept.at(now)
        record = _license_record(await self.redis.get(self.keys.license(aid)))
        self._near_keep(aid, record, generation)
        return None if record is None else record.at(now)

    def _near_get(self, aid: str) -> tuple[LicenseRecord | None, int]:
        """The near cache's copy of ``aid``'s license, and the generation to keep a read at."""
        if self.near is None:
            return None, 0
        return self.near.get(aid), self.near.generation

    def _near_keep(self, aid: str, record: LicenseRecord | None, generation: int) -> None:
        """Keep a license read from Redis at ``generation`` in the near cache."""
        if record is not None and self.near is not None:
            self.near.put(aid, record, generation)

    async def put_license(
        self,
        aid: str,
        lic: LicenseBody | Mapping[str, Any],
        ttl: float | None = None,
        *,
        now: float | None = None,
    ) -> bool:
        """Cache a license: fresh for ``ttl``, then stale for the stale window, never past expiry.

        Returns False (and caches nothing) when the license has already expired.
        """
        entry = self._license_entry(lic, ttl, time.time() if now is None else now)
        if entry is None:
            await self._change_licenses(aid, "DEL", self.keys.license(aid))
            return False
        await self._change_licenses(aid, "SET", self.keys.license(aid), entry[0], "PX", entry[1])
        return True

    async def _change_licenses(self, aid: str, *command: EncodableT) -> Any:
        """Run a command that changes ``aid``'s cached license, then announce the change.

        One round trip on a single server; a cluster pipeline cannot mix slots, so there the
        announcement follows. Either way it is published after the change is made, so a near
        cache that drops its copy and reads again finds the new state.
        """
        if self.near is not None:
            self.near.drop(aid)
        if isinstance(self.redis, RedisCluster):
            result = await self.redis.execute_command(*command)
            await self.redis.publish(self.keys.licenses_changed, aid)
            return result
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.execute_command(*command)
            pipe.publish(self.keys.licenses_changed, aid)
            result, _ = await pipe.execute()
        return result

    def _license_entry(
        self, lic: LicenseBody | Mapping[str, Any], ttl: float | None, now: float
    ) -> tuple[bytes, int] | None:
        """The cache record and its lifetime in ms; None when the license has expired."""
        body = lic if isinstance(lic, LicenseBody) else LicenseBody.model_validate(lic)
        fresh = self.cache.license_ttl if ttl is None else ttl
        keep = fresh + self.stale_window
        expiry = _expiry_epoch(body.expires_at)
        if expiry is not None:
            fresh, keep = min(fresh, expiry - now), min(keep, expiry - now)
        if keep <= 0:
            return None
        record = {"license": body.model_dump(mode="json"), "stored_at": now}
        record["fresh_until"] = now + fresh
        return orjson.dumps(record), _ms(keep)

    async def drop_license(self, aid: str) -> None:
        """Forget the cached license."""
        await self._change_licenses(aid, "DEL", self.keys.license(aid))

    # --- negative cache -------------------------------------------------------------------

    async def get_negative(self, aid: str) -> tuple[int, str] | None:
        """The LAC rejection cached for this activation, as (code, message)."""
        return _negative(await self.redis.get(self.keys.negative(aid)))

    async def lookup(
        self, aid: str, *, now: float
    ) -> tuple[CachedLicense | None, tuple[int, str] | None]:
        """The cached license and the cached rejection of an activation: one MGET.

        Both keys share the activation's hash tag, so this is one command on a cluster too.
        """
        raw_license, raw_negative = await self.redis.mget(
            self.keys.license(aid), self.keys.negative(aid)
        )
        return _cached_license(raw_license, now), _negative(raw_negative)

    async def put_negative(
        self, aid: str, code: int, message: str, ttl: float | None = None
    ) -> None:
        """Remember a permanent LAC rejection for a short while."""
        ttl = self.cache.negative_ttl if ttl is None else ttl
        value = orjson.dumps({"code": code, "message": message})
        await self.redis.set(self.keys.negative(aid), value, px=_ms(ttl))

    async def drop_negative(self, aid: str) -> None:
        """Forget the cached rejection."""
        await self.redis.delete(self.keys.negative(aid))

    async def purge(self, aid: str) -> int:
        """Drop the license and rejection cached for an activation; the number removed."""
        keys = (self.keys.license(aid), self.keys.negative(aid))
        return int(await self._change_licenses(aid, "DEL", *keys))

    # --- orders ---------------------------------------------------------------------------

    async def get_order(self, activation_key: str) -> dict[str, Any] | None:
        """The cached order summary."""
        raw = await self.redis.get(self.keys.order(activation_key))
        if raw is None:
            return None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None

    async def put_order(
        self, activation_key: str, data: Mapping[str, Any] | BaseModel, ttl: float | None = None
    ) -> None:
        """Cache an order summary."""
        ttl = self.cache.order_ttl if ttl is None else ttl
        plain = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data)
        await self.redis.set(self.keys.order(activation_key), orjson.dumps(plain), px=_ms(ttl))

    # --- vendor token (gateway.lac.base.TokenCache) ---------------------------------------

    async def get_token(self) -> str | None:
        """The cached vendor token."""
        raw = await self.redis.get(self.keys.token)
        return None if raw is None else _text(raw)

    async def set_token(self, token: str, ttl: float) -> None:
        """Store the vendor token for ``ttl`` seconds."""
        await self.redis.set(self.keys.token, token, px=_ms(ttl))

    async def drop_token(self, token: str) -> None:
        """Forget ``token`` unless another replica already replaced it."""
        await self._cad(keys=[self.keys.token], args=[token])

    async def acquire_token_lock(self, owner: str, ttl: float) -> bool:
        """Become the one replica refreshing the token, for at most ``ttl`` seconds."""
        return bool(await self.redis.set(self.keys.token_lock, owner, nx=True, px=_ms(ttl)))

    async def release_token_lock(self, owner: str) -> bool:
        """Give up the token lock if ``owner`` still holds it."""
        return bool(await self._cad(keys=[self.keys.token_lock], args=[owner]))

    # --- single flight --------------------------------------------------------------------

    async def acquire_activation_lock(self, aid: str, owner: str, ttl: float) -> bool:
        """Become the one caller talking to LAC for this activation, for at most ``ttl``."""
        return bool(await self.redis.set(self.keys.lock(aid), owner, nx=True, px=_ms(ttl)))

    async def release_activation_lock(self, aid: str, owner: str) -> bool:
        """Release the activation lock if ``owner`` still holds it."""
        return bool(await self._cad(keys=[self.keys.lock(aid)], args=[owner]))

    # --- jobs -----------------------------------------------------------------------------

    async def create_job(self, job: Job) -> bool:
        """Store and schedule ``job`` unless one exists for the same activation."""
        keys, args = self._create_job_call(job)
        return bool(await self._create_job(keys=keys, args=args))

    async def lookup_or_create_job(self, job: Job, *, now: float) -> Lookup:
        """An activation request's first step: its cached license and rejection, else its job.

        A fresh license in the near cache answers without Redis. Otherwise one script reads
        both entries and, finding neither, creates ``job`` unless one exists: one round trip,
        and no job can finish between the read and the create. On a cluster the keys live in
        two slots, so only the read is done here (``created`` None).
        """
        kept, generation = self._near_get(job.id)
        if kept is not None and now < kept.fresh_until:
            return Lookup(kept.at(now), None, None)
        if isinstance(self.redis, RedisCluster):
            cached, negative = await self.lookup(job.id, now=now)
            return Lookup(cached, negative, None)
        keys, args = self._create_job_call(job)
        keys = [self.keys.license(job.id), self.keys.negative(job.id), *keys]
        state, raw_license, raw_negative = await self._lookup_or_create(keys=keys, args=args)
        record = _license_record(raw_license)
        self._near_keep(job.id, record, generation)
        created = None if int(state) < 0 else bool(int(state))
        cached = None if record is None else record.at(now)
        return Lookup(cached, _negative(raw_negative), created)

    async def create_job_or_find_license(
        self, job: Job, *, now: float
    ) -> tuple[bool, CachedLicense | None]:
        """``create_job``, then read the activation's cached license.

        The read follows the create, so a job that finished between the caller's cache miss
        and this create is seen by its license (see the service).
        """
        return await self.create_job(job), await self.get_license(job.id, now=now)

    def _create_job_call(self, job: Job) -> tuple[list[str], list[EncodableT]]:
        retention = max(job.deadline_at - job.created_at, 0.0) + JOB_RETENTION
        args: list[EncodableT] = [
            *(job.id, _num(job.due_at), _ms(retention), job.creator),
            *job.to_fields(),
        ]
        return [self.keys.due, self.keys.job(job.id)], args

    async def read_state(
        self, aid: str, *, now: float
    ) -> tuple[bool, CachedLicense | None, tuple[int, str] | None]:
        """Whether a job is in flight, the cached license and the rejection: one round trip.

        The job is read first, so a job found gone guarantees the reads after it see whatever
        it left (a job is finished only after its outcome is written). A single server takes
        the three reads in one pipeline; a cluster (two slots) one after the other.
        """
        _, generation = self._near_get(aid)
        job_key, license_key = self.keys.job(aid), self.keys.license(aid)
        if isinstance(self.redis, RedisCluster):
            exists = await self.redis.exists(job_key)
            raw_license, raw_negative = await self.redis.mget(license_key, self.keys.negative(aid))
        else:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.exists(job_key)
                pipe.get(license_key)
                pipe.get(self.keys.negative(aid))
                exists, raw_license, raw_negative = await pipe.execute()
        record = _license_record(raw_license)
        self._near_keep(aid, record, generation)
        cached = None if record is None else record.at(now)
        return bool(exists), cached, _negative(raw_negative)

    async def get_job(self, aid: str) -> Job | None:
        """The job of an activation, if one is pending."""
        raw = await self.redis.hgetall(self.keys.job(aid))
        return Job.from_fields(raw) if raw else None

    async def claim_due_jobs(self, owner: str, now: float, lease: float, limit: int) -> list[Job]:
        """Atomically lease up to ``limit`` due jobs to ``owner`` until ``now + lease``.

        A claimed job's due time becomes the lease end, so if ``owner`` dies the job is simply
        due again then. Each claim counts as an attempt.
        """
        return (await self.claim_due(owner, now, lease, limit)).jobs

    async def claim_due(self, owner: str, now: float, lease: float, limit: int) -> Claim:
        """``claim_due_jobs``, plus when the earliest job left in the schedule comes due."""
        if limit <= 0:
            return Claim([], None)  # Redis reads a zero or negative LIMIT count as "no limit"
        args: list[EncodableT] = [self.keys.job_prefix, _num(now), _num(now + lease), limit, owner]
        rows, head = await self._claim(keys=[self.keys.due], args=args)
        known = {"owner": owner, "lease_until": args[2], "state": JOB_LEASED}
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
        sent = "" if sent_at is None else _num(sent_at)
        args = [aid, owner, _num(due_at), _num(interval), sent]
        return bool(await self._reschedule(keys=keys, args=args))

    async def renew_lease(
        self, aid: str, owner: str, until: float, *, sent_at: float | None = None
    ) -> bool:
        """Extend ``owner``'s lease to ``until``; False when it no longer holds the job.

        With ``sent_at``, also record that a create is about to be sent (before it is sent,
        so that whoever takes the job over later knows one may be in flight).
        """
        keys = [self.keys.due, self.keys.job(aid)]
        sent = "" if sent_at is None else _num(sent_at)
        return bool(await self._renew(keys=keys, args=[aid, owner, _num(until), sent]))

    async def hand_over_job(self, aid: str, owner: str, creator: str, now: float) -> bool:
        """Give back a job whose create was never sent: due at ``now``, marked as never sent.

        Only the request that created the job (``creator``), while it still holds the lease.
        """
        keys = [self.keys.due, self.keys.job(aid)]
        return bool(await self._hand_over(keys=keys, args=[aid, owner, _num(now), creator]))

    async def finish_job(self, aid: str, owner: str | None = None) -> bool:
        """Remove a job (done or failed); with ``owner``, only if that owner holds it."""
        keys = [self.keys.due, self.keys.job(aid)]
        return bool(await self._finish(keys=keys, args=[aid, owner or ""]))

    async def complete_job(
        self,
        aid: str,
        owner: str,
        lic: LicenseBody,
        payload: bytes,
        *,
        now: float,
        audit: Mapping[str, str] | None = None,
        audit_max: int = 0,
    ) -> bool:
        """Cache the license, drop any rejection, finish the job, announce it: one round trip.

        One script on a single server (so a waiter woken by the announcement finds the
        license); on a cluster the same steps one after the other. An ``audit`` event is
        appended too (stream trimmed to about ``audit_max``). Returns False when that event
        could not be written; everything else is done or raised.
        """
        entry = self._license_entry(lic, None, now)
        keys, args = [self.keys.due, self.keys.job(aid)], [aid, owner]
        if self.near is not None:
            self.near.drop(aid)
        if isinstance(self.redis, RedisCluster):
            # A cluster pipeline cannot carry a script: the same calls, one after the other.
            if entry is None:
                await self.redis.delete(self.keys.license(aid))
            else:
                await self.redis.set(self.keys.license(aid), entry[0], px=entry[1])
            await self.redis.delete(self.keys.negative(aid))
            await self._keep_activator(aid, _activator_ttl(lic, now))
            await self._finish(keys=keys, args=args)
            await self.redis.publish(self.keys.outcome(aid), payload)
            await self.redis.publish(self.keys.licenses_changed, aid)
            return audit is None or await self._append_audit_quietly(audit, audit_max)
        value, px = entry if entry is not None else (b"", 0)
        channels = [self.keys.outcome(aid), self.keys.licenses_changed]
        script_args: list[EncodableT] = [aid, owner, value, px, payload, *channels, audit_max]
        script_args.append(_activator_ttl(lic, now))
        for name, text in (audit or {}).items():
            script_args += [name, text]
        keys = [self.keys.license(aid), self.keys.negative(aid), *keys, self.keys.audit]
        keys.append(self.keys.activator(aid))
        audited = await self._complete(keys=keys, args=script_args)
        return audit is None or bool(audited)

    async def _keep_activator(self, aid: str, ttl_ms: str) -> None:
        """Cluster path of the completion script: copy the job's activator to its own key."""
        activator = await self.redis.hget(self.keys.job(aid), "activated_by")
        if not activator or not ttl_ms:
            return
        px = int(ttl_ms) or None
        await self.redis.set(self.keys.activator(aid), activator, px=px)

    async def activator(self, aid: str) -> str | None:
        """The API key name that activated the pair, or that requested its pending job."""
        recorded, pending = self.keys.activator(aid), self.keys.job(aid)
        if isinstance(self.redis, RedisCluster):
            # Two slots: the recorded name first, then the job of a generation still running.
            found = await self.redis.get(recorded) or await self.redis.hget(pending, "activated_by")
        else:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.get(recorded)
                pipe.hget(pending, "activated_by")
                kept, requested = await pipe.execute()
            found = kept or requested
        return _text(found) or None

    async def drop_activator(self, aid: str) -> None:
        """Forget who activated the pair (it was deactivated or removed)."""
        await self.redis.delete(self.keys.activator(aid))

    async def release_jobs(self, owner: str, now: float) -> int:
        """Make every job leased by ``owner`` due at ``now`` (graceful shutdown)."""
        if not owner:
            raise ValueError("owner must not be empty")
        args = [self.keys.job_prefix, owner, _num(now)]
        return int(await self._release(keys=[self.keys.due], args=args))

    async def list_jobs(self, limit: int = 100) -> list[Job]:
        """Up to ``limit`` jobs, soonest due first."""
        ids = cast(list[bytes], await self.redis.zrange(self.keys.due, 0, max(limit, 1) - 1))
        if not ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for aid in ids:
                pipe.hgetall(self.keys.job(_text(aid)))
            rows = await pipe.execute()
        return [Job.from_fields(row) for row in rows if row]

    async def count_jobs(self) -> int:
        """How many jobs are pending or leased."""
        return int(await self.redis.zcard(self.keys.due))

    # --- outcomes -------------------------------------------------------------------------

    def outcome_channel(self, aid: str) -> str:
        """The pub/sub channel on which an activation's outcome is announced."""
        return self.keys.outcome(aid)

    async def publish_outcome(self, aid: str, payload: bytes) -> int:
        """Announce an outcome to every waiter on every replica; how many received it."""
        return int(await self.redis.publish(self.keys.outcome(aid), payload))

    # --- idempotency ----------------------------------------------------------------------

    async def begin_idempotent(self, scope: str, key: str, fingerprint: str) -> IdemState:
        """Start a request under an Idempotency-Key, or say why it cannot start."""
        keys = [self.keys.idempotency(scope, key)]
        args: list[EncodableT] = [fingerprint, _ms(self.idempotency_lock_ttl)]
        reply = await self._idem_begin(keys=keys, args=args)
        kind = IdemKind(_text(reply[0]))
        if kind is not IdemKind.DONE:
            return IdemState(kind)
        headers = {str(k): str(v) for k, v in orjson.loads(reply[2]).items()}
        body = reply[3] if isinstance(reply[3], bytes) else _text(reply[3]).encode()
        return IdemState(kind, StoredResponse(int(reply[1]), headers, body))

    async def complete_idempotent(  # noqa: PLR0917 - positional order mirrors the HTTP response
        self,
        scope: str,
        key: str,
        fingerprint: str,
        status: int,
        body: bytes,
        headers: Mapping[str, str],
    ) -> bool:
        """Keep the response for ``cache.idempotency_ttl``; False if the key has another body."""
        keys = [self.keys.idempotency(scope, key)]
        ttl = _ms(self.cache.idempotency_ttl)
        args: list[EncodableT] = [fingerprint, status, orjson.dumps(dict(headers)), body, ttl]
        return bool(await self._idem_complete(keys=keys, args=args))

    async def abandon_idempotent(self, scope: str, key: str) -> bool:
        """Release an in-progress key (the request failed before producing an answer)."""
        return bool(await self._idem_abandon(keys=[self.keys.idempotency(scope, key)]))

    # --- rate limits and audit -------------------------------------------------------------

    async def rate_hit(self, scope: str, window: float, count: int = 1) -> tuple[int, float]:
        """Count ``count`` requests of ``scope``; (requests in this window, seconds left)."""
        args = [_ms(window), count]
        total, ttl_ms = await self._rate_hit(keys=[self.keys.rate(scope)], args=args)
        return int(total), int(ttl_ms) / 1000

    async def append_audit(self, event: Mapping[str, str], max_events: int) -> str:
        """Append one audit event; the stream is trimmed to about ``max_events`` entries."""
        fields: dict[EncodableT, EncodableT] = {name: value for name, value in event.items()}
        entry = await self.redis.xadd(self.keys.audit, fields, maxlen=max_events, approximate=True)
        return _text(entry)

    async def _append_audit_quietly(self, event: Mapping[str, str], max_events: int) -> bool:
        try:
            await self.append_audit(event, max_events)
        except RedisError:
            return False
        return True

    async def read_audit(
        self, count: int, before: str | None = None
    ) -> list[tuple[str, dict[str, str]]]:
        """Audit events, newest first, at most ``count``, older than entry ``before``."""
        high = f"({before}" if before else "+"
        entries = await self.redis.xrevrange(self.keys.audit, max=high, min="-", count=count)
        return [
            (_text(entry), {_text(k): _text(v) for k, v in (fields or {}).items()})
            for entry, fields in entries or []
        ]

    # --- health ---------------------------------------------------------------------------

    async def ping(self) -> bool:
        """Whether Redis answers."""
        return bool(await self.redis.ping())

    async def probe_writes(self, owner: str) -> None:
        """Write the probe key; raises the RedisError of a Redis that refuses writes.

        A real write is the one check that sees every reason Redis refuses them (out of memory
        under noeviction, a read-only replica after a failover, a failed snapshot with
        stop-writes-on-bgsave-error, too few replicas); comparing INFO's used_memory with
        maxmemory would catch only the first, and not exactly as Redis decides it.
        """
        await self.redis.set(self.keys.write_probe, owner, px=_ms(WRITE_PROBE_TTL))

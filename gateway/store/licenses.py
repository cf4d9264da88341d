"""Cached licenses and LAC rejections of activations, with this process's near cache in front.

Whoever changes or drops a cached license publishes its activation id on the
``licenses_changed`` channel, after the change, so that every near cache drops its copy and a
re-read finds the new state.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.typing import EncodableT

from gateway.models import LicenseBody
from gateway.nearcache import NearCache
from gateway.settings import CacheSettings
from gateway.store.batch import Batch, Gathered
from gateway.store.keys import Keys
from gateway.store.values import ms

# A cached LAC rejection: (code, message, operation). ``operation`` names the LAC operation
# when LAC refused the request itself (a SOAP ``Client`` fault), else it is empty: such a
# failure is not LAC's verdict on its code, so its other callers must read it as refused too.
Rejection = tuple[int, str, str]


JOB_ORIGIN = "job"  # the origin of a license that a job finished (``LicenseRecord.origin``)


@dataclass(frozen=True, slots=True)
class CachedLicense:
    """A license read from the cache; ``fresh`` is False inside the stale window.

    ``origin`` is ``JOB_ORIGIN`` for a license a pending job finished, else empty.
    """

    license: LicenseBody
    stored_at: float
    fresh: bool
    fresh_until: float = 0.0
    origin: str = ""


@dataclass(frozen=True, slots=True)
class LicenseRecord:
    """A cache entry as stored: the license, when it was stored, until when it is fresh."""

    license: LicenseBody
    stored_at: float
    fresh_until: float
    origin: str = ""
    # A digest of the stored bytes: whether Redis still stores this very entry, without
    # decoding it again (``Licenses.still_held``).
    digest: bytes = field(default=b"", compare=False, repr=False)

    def at(self, now: float) -> CachedLicense:
        """The entry as read at ``now``."""
        fresh = now < self.fresh_until
        return CachedLicense(self.license, self.stored_at, fresh, self.fresh_until, self.origin)


def expiry_epoch(expires_at: date | None) -> float | None:
    """When a license ending on ``expires_at`` stops being valid (None: perpetual)."""
    # A license is valid through its END date, so it is cacheable until that day is over (UTC).
    if expires_at is None:
        return None
    end = datetime(expires_at.year, expires_at.month, expires_at.day, tzinfo=UTC)
    return (end + timedelta(days=1)).timestamp()


def license_record(raw: bytes | str | None) -> LicenseRecord | None:
    """A cache entry as stored; None when absent or unreadable (a miss)."""
    if raw is None:
        return None
    try:
        entry = orjson.loads(raw)
        body = LicenseBody.model_validate(entry["license"])
        origin = str(entry.get("origin", ""))
        stored_at, fresh_until = float(entry["stored_at"]), float(entry["fresh_until"])
        return LicenseRecord(body, stored_at, fresh_until, origin, entry_digest(raw))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, ValidationError):
        return None  # an unreadable entry is a miss; the next put overwrites it


def entry_digest(raw: bytes | str) -> bytes:
    """A digest of a stored entry's bytes: equal for the same bytes, compared instead of them."""
    return hashlib.blake2b(raw.encode() if isinstance(raw, str) else raw, digest_size=16).digest()


def rejection(raw: bytes | str | None) -> Rejection | None:
    """A cached rejection as (code, message, operation); None when absent or unreadable."""
    if raw is None:
        return None
    try:
        record = orjson.loads(raw)
        return int(record["code"]), str(record["message"]), str(record.get("operation", ""))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


class Licenses:
    """The license and rejection cached for each activation."""

    def __init__(
        self,
        redis: Redis | RedisCluster,
        keys: Keys,
        batch: Batch,
        cache: CacheSettings,
        *,
        near: NearCache[LicenseRecord] | None = None,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.batch = batch
        self.cache = cache
        # Licenses read lately, kept in this process while its listener drops the changed ones.
        self.near = near
        self._confirming = Gathered(redis, batch)  # lapsed entries confirmed together

    async def get_license(self, aid: str, *, now: float | None = None) -> CachedLicense | None:
        """The cached license (fresh or stale): from the near cache, else one round trip."""
        now = time.time() if now is None else now
        kept, generation = self.recall(aid)
        if kept is not None:
            return kept.at(now)
        record = self.keep(aid, await self.redis.get(self.keys.license(aid)), generation)
        return None if record is None else record.at(now)

    async def still_held(self, aid: str, held: LicenseRecord) -> bool:
        """Whether Redis still stores ``held`` for ``aid``; if so, the near cache keeps that very
        object for another ``near_ttl`` (what was derived from it stays valid), and True.

        For an entry whose near-cache time ran out while nothing changed: one read (shared
        with the other entries confirmed meanwhile), compared by digest, no decode of a new
        record into everything made from it.
        """
        if self.near is None:
            return False
        generation = self.near.generation
        raw = await self._confirming.get(self.keys.license(aid))
        if raw is None or entry_digest(raw) != held.digest:
            return False
        self.near.put(aid, held, generation)  # not kept if a drop came meanwhile
        return self.near.get(aid) is held

    def recall(self, aid: str) -> tuple[LicenseRecord | None, int]:
        """The near cache's copy of ``aid``'s license, and the generation to keep a read at."""
        if self.near is None:
            return None, 0
        return self.near.get(aid), self.near.generation

    def keep(self, aid: str, raw: bytes | str | None, generation: int) -> LicenseRecord | None:
        """The entry ``raw`` read from Redis at ``generation``, kept in the near cache."""
        record = license_record(raw)
        if record is not None and self.near is not None:
            self.near.put(aid, record, generation)
        return record

    def forget_near(self, aid: str) -> None:
        """Drop this process's copy of ``aid``'s license (it is about to change)."""
        if self.near is not None:
            self.near.drop(aid)

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
        entry = self.entry(lic, ttl, time.time() if now is None else now)
        if entry is None:
            await self._change(aid, ("DEL", self.keys.license(aid)))
            return False
        await self._change(aid, ("SET", self.keys.license(aid), entry[0], "PX", entry[1]))
        return True

    async def _change(self, aid: str, command: tuple[EncodableT, ...]) -> Any:
        """Run a command that changes ``aid``'s cached license, then announce the change."""
        self.forget_near(aid)
        result, _ = await self.batch(command, ("PUBLISH", self.keys.licenses_changed, aid))
        return result

    def entry(
        self,
        lic: LicenseBody | Mapping[str, Any],
        ttl: float | None,
        now: float,
        *,
        origin: str = "",
    ) -> tuple[bytes, int] | None:
        """The cache record and its lifetime in ms; None when the license has expired."""
        body = lic if isinstance(lic, LicenseBody) else LicenseBody.model_validate(lic)
        fresh = self.cache.license_ttl if ttl is None else ttl
        keep = fresh + self.cache.stale_window
        expiry = expiry_epoch(body.expires_at)
        if expiry is not None:
            fresh, keep = min(fresh, expiry - now), min(keep, expiry - now)
        if keep <= 0:
            return None
        record: dict[str, object] = {"license": body.model_dump(mode="json"), "stored_at": now}
        record["fresh_until"] = now + fresh
        if origin:
            record["origin"] = origin
        return orjson.dumps(record), ms(keep)

    def as_stored(self, lic: LicenseBody, now: float, *, origin: str = "") -> CachedLicense:
        """``lic`` as a read would find it right after it was cached at ``now``."""
        fresh_until = now + self.cache.license_ttl
        expiry = expiry_epoch(lic.expires_at)
        if expiry is not None:
            fresh_until = min(fresh_until, expiry)
        return CachedLicense(lic, now, now < fresh_until, fresh_until, origin)

    async def lookup(
        self, aid: str, *, now: float
    ) -> tuple[CachedLicense | None, Rejection | None]:
        """The cached license and the cached rejection of an activation: one MGET.

        Both keys share the activation's hash tag, so this is one command on a cluster too.
        """
        raw_license, raw_negative = await self.redis.mget(
            self.keys.license(aid), self.keys.negative(aid)
        )
        record = license_record(raw_license)
        return (None if record is None else record.at(now)), rejection(raw_negative)

    async def put_negative(
        self, aid: str, code: int, message: str, ttl: float | None = None, *, operation: str = ""
    ) -> None:
        """Remember a LAC rejection for a short while (``operation``: a request LAC refused)."""
        ttl = self.cache.negative_ttl if ttl is None else ttl
        record: dict[str, object] = {"code": code, "message": message}
        if operation:
            record["operation"] = operation
        value = orjson.dumps(record)
        await self.redis.set(self.keys.negative(aid), value, px=ms(ttl))

    async def purge(self, aid: str) -> int:
        """Drop the license and rejection cached for an activation; the number removed."""
        command = ("DEL", self.keys.license(aid), self.keys.negative(aid))
        return int(await self._change(aid, command))

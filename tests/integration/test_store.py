"""The Redis stores against a real Redis: TTLs, stale window, leases, locks, idempotency, slots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files

import pytest
import redis.asyncio as aioredis
from redis.crc import key_slot

from gateway.models import LicenseBody
from gateway.settings import CacheSettings
from gateway.store import Stores, create_stores, scripts
from gateway.store.idempotency import IdemKind
from gateway.store.jobs import Job, JobState
from gateway.store.keys import WRITE_PROBE_TTL

STALE = 120.0
CACHE = CacheSettings(
    license_ttl=60, negative_ttl=30, order_ttl=45, idempotency_ttl=600, stale_window=STALE
)
AID = "act_aarjjopecsae4rvcmoqjvluih7"
KEY = "9EFJK-TVJM0-MCDET-EZKXJ"
T0 = 1_000_000.0  # a test clock for the job logic; Redis TTLs never depend on it


@pytest.fixture
async def store(redis_client: aioredis.Redis) -> Stores:
    return create_stores(redis_client, "t", CACHE, idempotency_lock_ttl=90)


@pytest.fixture
async def stats_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


def a_license(expires_at: date | None = None) -> LicenseBody:
    return LicenseBody(
        content="FEATURE f\n{\nVENDOR=ACME\n}\n",
        filename="license_2026_01_01-12_00.lic",
        activated_at=datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
        expires_at=expires_at,
    )


async def claimed(store: Stores, owner: str, now: float, *, lease: float, limit: int) -> list[Job]:
    return (await store.jobs.claim_due(owner, now, lease, limit)).jobs


async def job_of(store: Stores, aid: str) -> Job | None:
    """The job of ``aid`` as the admin listing reads it back."""
    return next((job for job in await store.jobs.list_jobs() if job.id == aid), None)


async def rejection_of(store: Stores, aid: str) -> tuple[int, str, str] | None:
    return (await store.licenses.lookup(aid, now=T0))[1]


def a_job(aid: str, *, due_at: float = T0) -> Job:
    return Job(
        id=aid,
        activation_key=KEY,
        hostid="HOSTNAME=BUILD01",
        created_at=T0,
        due_at=due_at,
        deadline_at=T0 + 900,
        interval=2.0,
    )


# --- licenses -----------------------------------------------------------------------------


async def test_license_round_trips_with_ttl_of_fresh_time_plus_stale_window(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    lic = a_license(date(2099, 12, 31))
    assert await store.licenses.put_license(AID, lic)
    cached = await store.licenses.get_license(AID)
    assert cached is not None
    assert cached.license == lic
    assert cached.fresh
    pttl = await redis_client.pttl(store.keys.license(AID))
    assert (CACHE.license_ttl + STALE - 5) * 1000 < pttl <= (CACHE.license_ttl + STALE) * 1000


async def test_license_is_served_stale_after_its_fresh_ttl_until_the_window_ends(
    store: Stores,
) -> None:
    now = datetime.now(UTC).timestamp()
    await store.licenses.put_license(AID, a_license(), ttl=10, now=now)
    within = await store.licenses.get_license(AID, now=now + 9)
    past = await store.licenses.get_license(AID, now=now + 11)
    assert within is not None
    assert within.fresh
    assert past is not None
    assert not past.fresh
    assert past.stored_at == now


async def test_license_is_never_kept_past_its_own_expiry(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    today = datetime.now(UTC).date()
    end_of_today = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    assert await store.licenses.put_license(AID, a_license(today), ttl=7 * 86400)
    pttl = await redis_client.pttl(store.keys.license(AID))
    assert 0 < pttl <= (end_of_today - datetime.now(UTC)).total_seconds() * 1000 + 1000
    after_expiry = await store.licenses.get_license(AID, now=end_of_today.timestamp() + 1)
    assert after_expiry is not None
    assert not after_expiry.fresh


async def test_expired_license_is_not_cached_and_replaces_an_older_entry(store: Stores) -> None:
    await store.licenses.put_license(AID, a_license())
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert not await store.licenses.put_license(AID, a_license(yesterday))
    assert await store.licenses.get_license(AID) is None


async def test_license_accepts_a_plain_mapping(store: Stores) -> None:
    await store.licenses.put_license(
        AID, {"content": "x", "filename": "a.lic", "expires_at": "2099-01-01"}
    )
    cached = await store.licenses.get_license(AID)
    assert cached is not None
    assert cached.license.expires_at == date(2099, 1, 1)


async def test_cache_hit_costs_one_redis_command(
    store: Stores, stats_client: aioredis.Redis
) -> None:
    await store.licenses.put_license(AID, a_license())  # opens the connection before counting
    await stats_client.config_resetstat()
    assert await store.licenses.get_license(AID) is not None
    stats = await stats_client.info("commandstats")
    # the stats client's own CONFIG RESETSTAT and INFO are counted too
    ignored = {"cmdstat_info", "cmdstat_config"}
    counted = {name: row["calls"] for name, row in stats.items() if name not in ignored}
    assert counted == {"cmdstat_get": 1}


async def test_unreadable_license_entry_is_a_miss(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    await redis_client.set(store.keys.license(AID), b"not json")
    assert await store.licenses.get_license(AID) is None


async def test_purge_removes_a_license_alone(store: Stores) -> None:
    await store.licenses.put_license(AID, a_license())
    assert await store.licenses.purge(AID) == 1
    assert await store.licenses.get_license(AID) is None


# --- negative cache, purge, orders -----------------------------------------------------------


async def test_negative_cache_keeps_code_and_message_for_its_ttl(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    await store.licenses.put_negative(AID, 101, "invalid activation key")
    assert await rejection_of(store, AID) == (101, "invalid activation key", "")
    pttl = await redis_client.pttl(store.keys.negative(AID))
    assert (CACHE.negative_ttl - 5) * 1000 < pttl <= CACHE.negative_ttl * 1000
    assert await store.licenses.purge(AID) == 1
    assert await rejection_of(store, AID) is None


async def test_purge_drops_license_and_negative_entry(store: Stores) -> None:
    await store.licenses.put_license(AID, a_license())
    await store.licenses.put_negative(AID, 105, "record doesn't exist")
    assert await store.licenses.purge(AID) == 2
    assert await store.licenses.get_license(AID) is None
    assert await rejection_of(store, AID) is None


async def test_order_cache_round_trips_without_the_key_in_the_redis_key_name(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    order = {"activation_key": KEY, "product": "Demo", "activations_used": 1, "enabled": True}
    await store.orders.put_order(KEY, order)
    assert await store.orders.get_order(KEY) == order
    [name] = await redis_client.keys("*")
    assert KEY.encode() not in name
    pttl = await redis_client.pttl(name)
    assert (CACHE.order_ttl - 5) * 1000 < pttl <= CACHE.order_ttl * 1000
    assert await store.orders.get_order("AAAAA-BBBBB-CCCCC-DDDDD") is None


# --- token and locks ---------------------------------------------------------------------


async def test_token_is_stored_with_its_ttl(store: Stores, redis_client: aioredis.Redis) -> None:
    assert await store.tokens.get_token() is None
    await store.tokens.set_token("tok-1", 3600)
    assert await store.tokens.get_token() == "tok-1"
    pttl = await redis_client.pttl(store.keys.token)
    assert 3595_000 < pttl <= 3600_000


async def test_drop_token_leaves_a_token_another_replica_already_replaced(store: Stores) -> None:
    await store.tokens.set_token("fresh", 3600)
    await store.tokens.drop_token("expired")
    assert await store.tokens.get_token() == "fresh"
    await store.tokens.drop_token("fresh")
    assert await store.tokens.get_token() is None


async def test_token_lock_is_exclusive_and_released_only_by_its_owner(store: Stores) -> None:
    assert await store.tokens.acquire_token_lock("a", 5)
    assert not await store.tokens.acquire_token_lock("b", 5)
    assert not await store.tokens.release_token_lock("b")
    assert await store.tokens.release_token_lock("a")
    assert await store.tokens.acquire_token_lock("b", 5)


# --- jobs ----------------------------------------------------------------------------------


async def test_create_job_only_if_absent_and_read_it_back(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    job = a_job(AID)
    assert await store.jobs.create_job(job)
    assert not await store.jobs.create_job(a_job(AID, due_at=T0 + 50))
    assert await job_of(store, AID) == job
    assert await store.jobs.count_jobs() == 1
    assert await redis_client.zscore(store.keys.due, AID) == T0
    assert await redis_client.pttl(store.keys.job(AID)) > 0  # an abandoned job cannot leak


async def test_a_job_keeps_its_times_to_the_millisecond_in_its_hash_and_its_schedule(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    job = a_job(AID, due_at=T0 + 2.123456789)
    await store.jobs.create_job(job)
    kept = await job_of(store, AID)
    assert kept is not None
    assert kept.due_at == T0 + 2.123  # not a hash of 18-byte stamps for every pending job
    assert await redis_client.zscore(store.keys.due, AID) == kept.due_at


async def test_an_unknown_activation_has_no_job(store: Stores) -> None:
    assert await job_of(store, AID) is None


async def test_claim_takes_only_due_jobs_and_leases_them(store: Stores) -> None:
    await store.jobs.create_job(a_job("act_due"))
    await store.jobs.create_job(a_job("act_later", due_at=T0 + 100))
    [job] = await claimed(store, "w1", T0, lease=30, limit=10)
    assert job.id == "act_due"
    assert (job.owner, job.lease_until, job.attempts, job.state) == (
        "w1",
        T0 + 30,
        1,
        JobState.LEASED,
    )
    assert await job_of(store, "act_due") == job
    assert await claimed(store, "w2", T0 + 1, lease=30, limit=10) == []


async def test_claim_respects_the_limit(store: Stores) -> None:
    for i in range(5):
        await store.jobs.create_job(a_job(f"act_{i}"))
    assert len(await claimed(store, "w", T0, lease=30, limit=3)) == 3
    assert len(await claimed(store, "w", T0, lease=30, limit=3)) == 2
    await store.jobs.create_job(a_job("act_5"))
    assert await claimed(store, "w", T0, lease=30, limit=0) == []


async def test_concurrent_claimers_each_job_claimed_exactly_once(
    store: Stores, redis_url: str
) -> None:
    ids = [f"act_{i:03}" for i in range(60)]
    for aid in ids:
        await store.jobs.create_job(a_job(aid))
    clients = [aioredis.Redis.from_url(redis_url) for _ in range(20)]
    try:
        stores = [create_stores(c, "t", CACHE) for c in clients]
        batches = await asyncio.gather(
            *(claimed(s, f"w{i}", T0, lease=30, limit=7) for i, s in enumerate(stores))
        )
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    taken = [job.id for batch in batches for job in batch]
    assert sorted(taken) == ids
    assert all(job.attempts == 1 for batch in batches for job in batch)


async def test_expired_lease_makes_the_job_due_again_for_another_owner(store: Stores) -> None:
    await store.jobs.create_job(a_job(AID))
    await claimed(store, "dead", T0, lease=30, limit=10)
    assert await claimed(store, "alive", T0 + 29, lease=30, limit=10) == []
    [job] = await claimed(store, "alive", T0 + 30, lease=30, limit=10)
    assert (job.owner, job.attempts) == ("alive", 2)
    assert not await store.jobs.reschedule_job(AID, "dead", T0 + 60, 4.0)


async def test_reschedule_only_by_the_lease_owner(store: Stores) -> None:
    await store.jobs.create_job(a_job(AID))
    await claimed(store, "w1", T0, lease=30, limit=10)
    assert not await store.jobs.reschedule_job(AID, "w2", T0 + 4, 4.0)
    assert await store.jobs.reschedule_job(AID, "w1", T0 + 4, 4.0)
    job = await job_of(store, AID)
    assert job is not None
    assert (job.due_at, job.interval, job.owner, job.state) == (T0 + 4, 4.0, "", JobState.PENDING)
    assert await claimed(store, "w2", T0 + 3, lease=30, limit=10) == []
    [again] = await claimed(store, "w2", T0 + 4, lease=30, limit=10)
    assert again.owner == "w2"


async def test_reschedule_of_a_missing_job_fails(store: Stores) -> None:
    assert not await store.jobs.reschedule_job(AID, "w1", T0, 2.0)


async def test_finish_job_by_owner_removes_hash_and_schedule(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    await store.jobs.create_job(a_job(AID))
    await claimed(store, "w1", T0, lease=30, limit=10)
    assert not await store.jobs.finish_job(AID, "w2")
    assert await job_of(store, AID) is not None
    assert await store.jobs.finish_job(AID, "w1")
    assert await job_of(store, AID) is None
    assert await redis_client.zscore(store.keys.due, AID) is None
    assert not await store.jobs.finish_job(AID)


async def test_finish_job_without_owner_removes_it_whoever_holds_it(store: Stores) -> None:
    await store.jobs.create_job(a_job(AID))
    await claimed(store, "w1", T0, lease=30, limit=10)
    assert await store.jobs.finish_job(AID)
    assert await store.jobs.count_jobs() == 0


async def test_release_jobs_makes_only_that_owners_jobs_due_now(store: Stores) -> None:
    for aid in ("act_a1", "act_a2", "act_b1"):
        await store.jobs.create_job(a_job(aid))
    await claimed(store, "a", T0, lease=30, limit=2)
    await claimed(store, "b", T0, lease=30, limit=10)
    assert await store.jobs.release_jobs("a", T0 + 1) == 2
    reclaimed = await claimed(store, "c", T0 + 1, lease=30, limit=10)
    assert sorted(j.id for j in reclaimed) == ["act_a1", "act_a2"]
    b_job = await job_of(store, "act_b1")
    assert b_job is not None
    assert b_job.owner == "b"


async def test_claim_drops_schedule_entries_whose_job_hash_is_gone(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    await store.jobs.create_job(a_job(AID))
    await redis_client.delete(store.keys.job(AID))
    assert await claimed(store, "w", T0, lease=30, limit=10) == []
    assert await store.jobs.count_jobs() == 0


async def test_list_jobs_soonest_first(store: Stores) -> None:
    await store.jobs.create_job(a_job("act_late", due_at=T0 + 20))
    await store.jobs.create_job(a_job("act_soon", due_at=T0 + 10))
    await store.jobs.create_job(a_job("act_mid", due_at=T0 + 15))
    assert [j.id for j in await store.jobs.list_jobs()] == ["act_soon", "act_mid", "act_late"]
    assert [j.id for j in await store.jobs.list_jobs(limit=2)] == ["act_soon", "act_mid"]
    assert await store.jobs.count_jobs() == 3


# --- outcomes ------------------------------------------------------------------------------


async def test_published_outcome_reaches_a_subscriber(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    async with redis_client.pubsub() as pubsub:
        await pubsub.subscribe(store.keys.outcome(AID))
        assert await store.jobs.publish_outcome(AID, b'{"state":"ready"}') == 1
        message = None
        while message is None:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
        assert message["data"] == b'{"state":"ready"}'


# --- idempotency ---------------------------------------------------------------------------


async def test_idempotency_key_lifecycle(store: Stores, redis_client: aioredis.Redis) -> None:
    name = store.keys.idempotency("fleet-eu", "k1")
    assert (await store.idempotency.begin_idempotent("fleet-eu", "k1", "fp1")).kind is IdemKind.NEW
    assert 0 < await redis_client.pttl(name) <= 90_000
    assert (
        await store.idempotency.begin_idempotent("fleet-eu", "k1", "fp1")
    ).kind is IdemKind.IN_PROGRESS
    assert (
        await store.idempotency.begin_idempotent("fleet-eu", "k1", "fp2")
    ).kind is IdemKind.MISMATCH
    body = b'{"state":"ready"}\x00\xff'
    headers = {"Content-Type": "application/json", "Location": "/v1/activations/x"}
    assert await store.idempotency.complete_idempotent("fleet-eu", "k1", "fp1", 201, body, headers)
    assert (CACHE.idempotency_ttl - 5) * 1000 < await redis_client.pttl(name)
    done = await store.idempotency.begin_idempotent("fleet-eu", "k1", "fp1")
    assert done.kind is IdemKind.DONE
    assert done.response is not None
    assert (done.response.status, done.response.headers, done.response.body) == (
        201,
        headers,
        body,
    )
    assert (
        await store.idempotency.begin_idempotent("fleet-eu", "k1", "fp2")
    ).kind is IdemKind.MISMATCH


async def test_idempotency_keys_are_scoped_per_api_key(store: Stores) -> None:
    await store.idempotency.begin_idempotent("fleet-eu", "k1", "fp1")
    assert (await store.idempotency.begin_idempotent("fleet-us", "k1", "fp2")).kind is IdemKind.NEW


async def test_abandoned_key_can_start_again_but_a_done_one_is_kept(store: Stores) -> None:
    await store.idempotency.begin_idempotent("s", "k1", "fp1")
    assert await store.idempotency.abandon_idempotent("s", "k1")
    assert (await store.idempotency.begin_idempotent("s", "k1", "fp2")).kind is IdemKind.NEW
    await store.idempotency.complete_idempotent("s", "k1", "fp2", 200, b"{}", {})
    assert not await store.idempotency.abandon_idempotent("s", "k1")
    assert (await store.idempotency.begin_idempotent("s", "k1", "fp2")).kind is IdemKind.DONE


async def test_complete_refuses_a_key_now_holding_another_body(store: Stores) -> None:
    await store.idempotency.begin_idempotent("s", "k1", "fp1")
    assert not await store.idempotency.complete_idempotent("s", "k1", "fp2", 200, b"{}", {})
    assert (await store.idempotency.begin_idempotent("s", "k1", "fp1")).kind is IdemKind.IN_PROGRESS


# --- key layout ------------------------------------------------------------------------------


async def test_keys_that_belong_together_hash_to_one_cluster_slot(store: Stores) -> None:
    k = store.keys
    per_activation = [k.license(AID), k.negative(AID), k.activator(AID), k.outcome(AID)]
    jobs = [k.due, k.job(AID), k.job("act_other")]
    vendor = [k.token, k.token_lock]
    for group in (per_activation, jobs, vendor):
        assert len({key_slot(name.encode()) for name in group}) == 1, group
    assert key_slot(k.license(AID).encode()) != key_slot(k.license("act_other").encode())


async def test_every_key_written_carries_a_hash_tag_and_the_prefix(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    await store.licenses.put_license(AID, a_license())
    await store.licenses.put_negative(AID, 101, "x")
    await store.orders.put_order(KEY, {"enabled": True})
    await store.tokens.set_token("t", 60)
    await store.tokens.acquire_token_lock("o", 60)
    await store.jobs.create_job(a_job(AID))
    await store.idempotency.begin_idempotent("s", "k", "fp")
    names = [n.decode() if isinstance(n, bytes) else n for n in await redis_client.keys("*")]
    assert len(names) == 8
    for name in names:
        assert name.startswith("t:{"), name
        assert name.index("}") > name.index("{") + 1, name


async def test_store_refuses_a_client_that_decodes_responses(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        with pytest.raises(ValueError, match="decode_responses"):
            create_stores(client, "t", CACHE)
    finally:
        await client.aclose()


async def test_the_write_probe_leaves_one_short_lived_key(
    store: Stores, redis_client: aioredis.Redis
) -> None:
    await store.health.probe_writes("gw-probe")
    assert await redis_client.get(store.keys.write_probe) == b"gw-probe"
    assert 0 < await redis_client.pttl(store.keys.write_probe) <= WRITE_PROBE_TTL * 1000


async def test_every_script_compiles_on_redis(redis_client: aioredis.Redis) -> None:
    lua = files("gateway.store") / "lua"
    names = sorted(entry.name.removesuffix(".lua") for entry in lua.iterdir() if entry.is_file())
    assert len(names) >= 14
    for name in names:
        assert await redis_client.script_load(scripts.source(name)), name

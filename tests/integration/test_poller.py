"""The poller one step at a time: claims due jobs once, hands them over, gives leases back."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis

from gateway.jobs.poller import CLAIM_GAP, Poller
from gateway.metrics import Metrics
from gateway.service.backoff import jittered, next_interval, schedule
from gateway.settings import CacheSettings, JobSettings
from gateway.store import create_stores
from gateway.store.jobs import Job

NOW = 1_000_000.0


def _job(aid: str, due: float) -> Job:
    return Job(id=aid, activation_key="AAAAA-BBBBB-CCCCC-DDDDD", hostid="HOSTNAME=X",
               created_at=NOW, due_at=due, deadline_at=NOW + 900)  # fmt: skip


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


async def test_run_once_hands_each_due_job_to_one_poller(redis_client: aioredis.Redis) -> None:
    store = create_stores(redis_client, "tp", CacheSettings())
    for n in range(5):
        await store.jobs.create_job(_job(f"due{n}", NOW - 1))
    await store.jobs.create_job(_job("later", NOW + 60))
    seen: list[str] = []

    async def handler(job: Job, owner: str) -> None:
        seen.append(job.id)
        await store.jobs.reschedule_job(job.id, owner, NOW + 10, 1.0)

    clock = Clock()
    settings = JobSettings(lease=5)
    pollers = [Poller(store.jobs, handler, settings, clock=clock) for _ in range(3)]
    claimed = await asyncio.gather(*(p.run_once() for p in pollers))
    for p in pollers:
        await p.drain()
    assert sum(claimed) == 5
    assert sorted(seen) == [f"due{n}" for n in range(5)]
    clock.now = NOW + 11  # rescheduled jobs come due again; "later" not yet
    assert await pollers[0].run_once() == 5


async def test_a_dead_pollers_lease_expires_and_stop_releases_at_once(
    redis_client: aioredis.Redis,
) -> None:
    store = create_stores(redis_client, "tp2", CacheSettings())
    await store.jobs.create_job(_job("a", NOW))
    blocked = asyncio.Event()

    async def stuck(job: Job, owner: str) -> None:
        await blocked.wait()

    clock = Clock()
    settings = JobSettings(lease=30)
    first = Poller(store.jobs, stuck, settings, clock=clock)
    assert await first.run_once() == 1
    second = Poller(store.jobs, stuck, settings, clock=clock)
    assert await second.run_once() == 0  # leased by the first
    await first.stop()  # gives the lease back without waiting for it to expire
    assert await second.run_once() == 1
    clock.now = NOW + 31  # the second never finishes: its lease runs out
    third = Poller(store.jobs, stuck, settings, clock=clock)
    assert await third.run_once() == 1
    blocked.set()
    await second.drain()
    await third.drain()


async def test_pending_gauge_counts_jobs(redis_client: aioredis.Redis) -> None:
    store = create_stores(redis_client, "tp3", CacheSettings())
    for n in range(3):
        await store.jobs.create_job(_job(f"g{n}", NOW + 100))
    metrics = Metrics()
    poller = Poller(store.jobs, lambda job, owner: asyncio.sleep(0), JobSettings(), metrics=metrics)
    await poller._refresh_gauge()
    assert metrics.registry.get_sample_value("lacgw_jobs_pending") == 3


def test_backoff_grows_by_the_factor_up_to_the_cap() -> None:
    settings = JobSettings(first_poll=2, backoff_factor=2, max_interval=30, jitter=0.1)
    assert next_interval(0, settings) == 2
    assert next_interval(2, settings) == 4
    assert next_interval(20, settings) == 30
    assert schedule(settings, 60) == [2, 6, 14, 30, 60]
    for _ in range(100):
        assert 3.6 <= jittered(4, settings) <= 4.4


async def test_a_full_hand_takes_more_jobs_as_soon_as_one_finishes(
    redis_client: aioredis.Redis,
) -> None:
    store = create_stores(redis_client, "tp3", CacheSettings())
    for n in range(6):
        await store.jobs.create_job(_job(f"j{n}", NOW - 1))
    seen: list[str] = []
    all_seen = asyncio.Event()

    async def handler(job: Job, owner: str) -> None:
        seen.append(job.id)
        await store.jobs.reschedule_job(job.id, owner, NOW + 1000, 1.0)
        if len(seen) == 6:
            all_seen.set()

    # A tick far longer than the wait below: only waking when a slot frees up gets through.
    settings = JobSettings(batch=2, poll_tick=600, lease=30)
    poller = Poller(store.jobs, handler, settings, clock=Clock())
    poller.start()
    try:
        await asyncio.wait_for(all_seen.wait(), timeout=30)
    finally:
        await poller.stop()
    assert sorted(seen) == [f"j{n}" for n in range(6)]


async def test_claim_tells_when_the_earliest_job_left_comes_due(
    redis_client: aioredis.Redis,
) -> None:
    store = create_stores(redis_client, "tp4", CacheSettings())
    assert (await store.jobs.claim_due("w", NOW, lease=30, limit=10)).next_due is None
    await store.jobs.create_job(_job("now", NOW - 1))
    await store.jobs.create_job(_job("soon", NOW + 7))
    claim = await store.jobs.claim_due("w", NOW, lease=30, limit=10)
    assert [job.id for job in claim.jobs] == ["now"]
    assert claim.next_due == NOW + 7
    await store.jobs.reschedule_job("now", "w", NOW + 3, 2.0)
    assert (await store.jobs.claim_due("w", NOW, lease=30, limit=10)).next_due == NOW + 3
    # A leased job's lease end is in the schedule too: a dead owner's job comes due then.
    claim = await store.jobs.claim_due("w", NOW + 7, lease=30, limit=1)
    assert [job.id for job in claim.jobs] == ["now"]
    assert claim.next_due == NOW + 7  # "soon", due and left behind by the limit


async def test_poller_wakes_when_the_next_job_comes_due_not_a_tick_later(
    redis_client: aioredis.Redis,
) -> None:
    store = create_stores(redis_client, "tp5", CacheSettings())
    seen = asyncio.Event()

    async def handler(job: Job, owner: str) -> None:
        await store.jobs.finish_job(job.id, owner)
        seen.set()

    # A tick far longer than the wait below: only sleeping until the job's due time gets there.
    settings = JobSettings(poll_tick=600, lease=30)
    poller = Poller(store.jobs, handler, settings)
    await store.jobs.create_job(_job("due-soon", time.time() + 0.5))
    poller.start()
    try:
        await asyncio.wait_for(seen.wait(), timeout=30)
    finally:
        await poller.stop()
    assert await store.jobs.count_jobs() == 0


async def test_a_claim_that_fills_the_hand_is_followed_at_once_by_another(
    redis_client: aioredis.Redis,
) -> None:
    store = create_stores(redis_client, "tp6", CacheSettings())
    for n in range(7):
        await store.jobs.create_job(_job(f"b{n}", time.time() - 1))
    seen: list[str] = []
    all_seen = asyncio.Event()

    async def handler(job: Job, owner: str) -> None:
        seen.append(job.id)
        await store.jobs.finish_job(job.id, owner)
        if len(seen) == 7:
            all_seen.set()

    # Seven due jobs, three at a time, a tick far longer than the wait: more than one claim
    # per tick is what gets them all handled.
    poller = Poller(store.jobs, handler, JobSettings(batch=3, poll_tick=600, lease=30))
    poller.start()
    try:
        await asyncio.wait_for(all_seen.wait(), timeout=30)
    finally:
        await poller.stop()
    assert sorted(seen) == [f"b{n}" for n in range(7)]


async def test_sleep_lasts_until_the_next_due_job_within_the_gap_and_the_tick(
    redis_client: aioredis.Redis,
) -> None:
    store = create_stores(redis_client, "tp7", CacheSettings())
    clock = Clock()
    poller = Poller(
        store.jobs, lambda job, owner: asyncio.sleep(0), JobSettings(poll_tick=2), clock=clock
    )
    assert 1.6 <= poller._sleep_for() <= 2.4  # nothing known: a jittered tick
    await store.jobs.create_job(_job("in-a-second", NOW + 1))
    assert await poller.run_once() == 0
    assert poller._sleep_for() == 1.0
    clock.now = NOW + 0.99  # due in 10 ms: still at least the gap, so claims are batched
    assert poller._sleep_for() == CLAIM_GAP
    await store.jobs.create_job(_job("in-a-minute", NOW + 60))
    clock.now = NOW
    await store.jobs.finish_job("in-a-second")
    assert await poller.run_once() == 0
    assert 1.6 <= poller._sleep_for() <= 2.4  # a minute away: a tick, to see jobs added meanwhile


async def test_a_job_handled_longer_than_its_lease_is_never_claimed_by_another_poller(
    redis_client: aioredis.Redis,
) -> None:
    # Handling takes over three leases (a slow create and a slow poll would): the first
    # poller renews its lease meanwhile, so the second never gets the job.
    store = create_stores(redis_client, "tp-renew", CacheSettings())
    start = time.time()
    await store.jobs.create_job(_job("slow", start - 1))
    lease = 0.3
    handled: list[str] = []

    async def slow(job: Job, owner: str) -> None:
        await asyncio.sleep(lease * 3.5)
        handled.append(owner)
        await store.jobs.reschedule_job(job.id, owner, time.time() + 60, 1.0)

    settings = JobSettings(lease=lease)
    first, second = Poller(store.jobs, slow, settings), Poller(store.jobs, slow, settings)
    assert await first.run_once() == 1
    claims = 0
    while not handled:
        claims += await second.run_once()
        await asyncio.sleep(lease / 10)
    await first.drain()
    await second.drain()
    assert claims == 0
    assert handled == [first.owner]


async def test_a_poller_that_lost_its_lease_stops_acting_on_the_job(
    redis_client: aioredis.Redis,
) -> None:
    # The first poller stalls past its lease and a second one takes the job over: the first
    # one's handler is cancelled at its next renewal, before it can act on the job.
    store = create_stores(redis_client, "tp-lost", CacheSettings())
    await store.jobs.create_job(_job("taken", time.time() - 1))
    lease = 0.3
    acted: list[str] = []
    cancelled = asyncio.Event()

    async def handler(job: Job, owner: str) -> None:
        try:
            await asyncio.sleep(lease * 10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        acted.append(owner)

    settings = JobSettings(lease=lease)
    first = Poller(store.jobs, handler, settings)
    assert await first.run_once() == 1
    later = Clock()
    later.now = time.time() + lease * 2  # for the second poller, the first's lease ran out
    second = Poller(store.jobs, handler, settings, clock=later)
    assert await second.run_once() == 1
    await asyncio.wait_for(cancelled.wait(), lease * 5)
    await first.drain()
    assert acted == []
    await second.stop()

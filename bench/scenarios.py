"""The five scenarios of the performance issue, each measured against a baseline of the same run.

Every scenario starts the gateway processes it needs (``python -m gateway serve`` with auth on
and the JSON access log written to a file, as in production) toward one Redis and one sandbox,
and drives them from this process or from a load-generator process (wrk or ``bench.loadgen``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import orjson
from redis.asyncio import Redis

from bench.direct import DirectRest, DirectSoap
from bench.loadgen import LoadResult, run_load
from bench.nginx import available as nginx_available
from bench.nginx import license_path, start_nginx
from bench.procs import AUTH, Process, gateway_env, start_bare, start_floor, start_gateway

INSTANT = "BENCH-BULKX-DEMO0-00003"
DELAYED = "BENCH-DELAY-TWOSC-00001"
PENDING = "BENCH-PENDG-HOURX-00001"
# Past Redis's zset-max-listpack-entries (128): the due set's one-off conversion to a skiplist
# happens during the warm-up, not in the measured jobs.
WARM_JOBS = 256
SANDBOX_DELAY = 2.0  # generation_delay of DELAYED in bench/sandbox.toml
JSON_HEADERS = {"Authorization": AUTH, "Content-Type": "application/json"}

# Production job timings (the gateway's defaults), spelled out to compute the poll schedule.
FIRST_POLL, BACKOFF, MAX_INTERVAL, JITTER, POLL_TICK = 2.0, 2.0, 30.0, 0.1, 0.5

Result = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much each scenario does: the full run and the quick one differ only here."""

    cached: int  # distinct cached licenses read in the cache-hit scenarios
    rounds: int  # measurement rounds per target, interleaved
    seconds: float  # length of one load run
    connections: int  # connections the load generator keeps busy
    cold: int  # sequential activations per client in the cold scenario
    amp_requests: int
    amp_pairs: int
    pending: int  # jobs left pending at once
    observe: float  # seconds the poller is watched with every job pending


# Scenario 1's goals, as ratios to the bare handler in the same run: the CPU a request costs
# (what limits requests/s), the p99 (queueing follows the CPU), and /healthz's CPU.
HIT_GOAL = {"cpu_ratio_max": 2.5, "p99_ratio_max": 3.0, "healthz_cpu_ratio_max": 1.2}
HIT_STRETCH = {"cpu_ratio_max": 1.7, "p99_ratio_max": 2.0, "rps_ratio_min": 0.6}
COLD_GOAL, COLD_STRETCH = 1.5, 1.2  # cold activation p50 ÷ a direct client's

FULL = Sizes(1000, 3, 8.0, 32, 100, 1000, 50, 10000, 30.0)
QUICK = Sizes(200, 1, 2.0, 32, 15, 200, 10, 500, 4.0)


@dataclass(slots=True)
class Env:
    """What every scenario shares: where things run and how big they are."""

    sizes: Sizes
    redis_url: str
    sandbox: Process
    logs: Path
    work: Path
    http: aiohttp.ClientSession


def hostid(tag: str, i: int) -> str:
    """A HostID string unique to ``tag`` and ``i``."""
    return f"HOSTNAME=BENCH-{tag}-{i:05d}"


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


@contextlib.asynccontextmanager
async def gateway(env: Env, name: str, prefix: str, **extra: str) -> AsyncIterator[Process]:
    """A gateway process for the length of the block."""
    proc = start_gateway(
        env.logs, gateway_env(env.redis_url, env.sandbox.url, prefix, **extra), name
    )
    try:
        await proc.wait_healthy("/readyz")
        yield proc
    finally:
        proc.stop()


async def activate(
    http: aiohttp.ClientSession, base: str, key: str, host: str, prefer: str = "wait=30"
) -> tuple[int, dict[str, Any], float]:
    """POST /v1/activations; the status, the JSON body and when the answer arrived."""
    body = orjson.dumps({"activation_key": key, "hostids": [host]})
    headers = {**JSON_HEADERS, "Prefer": prefer}
    async with http.post(f"{base}/v1/activations", data=body, headers=headers) as resp:
        payload = orjson.loads(await resp.read())
        return resp.status, payload, time.time()


async def bounded(jobs: Sequence[Callable[[], Awaitable[T]]], limit: int) -> list[T]:
    """Run ``jobs`` with at most ``limit`` in flight; their results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


# --- 1 and 5: cache hits, bare handler, one and two worker processes --------------------------


async def _populate(env: Env, base: str, count: int) -> list[str]:
    hosts = [hostid("C", i) for i in range(count)]
    jobs = [partial(activate, env.http, base, INSTANT, h) for h in hosts]
    answers = await bounded(jobs, 16)
    failed = [status for status, _, _ in answers if status != 200]
    if failed:
        raise RuntimeError(f"populating the cache: {len(failed)} activations failed: {failed[:5]}")
    return hosts


def _load(target: Process, paths: Path, sizes: Sizes) -> LoadResult:
    return run_load(target.url, paths, AUTH, connections=sizes.connections, duration=sizes.seconds)


def _merge(measured: list[tuple[LoadResult, float]]) -> Result:
    """Requests/s and CPU per request over every round; latency percentiles: the rounds' median."""
    runs = [result for result, _ in measured]
    refused = [r for r in runs if r.non2xx or r.errors]
    if refused:
        # Throughput of error answers would be meaningless: fail the scenario instead.
        bad = refused[0]
        raise RuntimeError(f"{bad.non2xx} non-2xx answers and {bad.errors} errors in a load run")
    requests = sum(r.requests for r in runs)
    seconds = sum(r.duration_s for r in runs)
    return {
        "tool": runs[0].tool,
        "requests": requests,
        "rps": round(requests / seconds, 1),
        # Process CPU time per answered request: steadier than requests/s on a shared machine.
        "cpu_us_per_request": round(sum(cpu for _, cpu in measured) / max(requests, 1) * 1e6, 1),
        "p50_ms": round(statistics.median(r.p50_ms for r in runs), 3),
        "p99_ms": round(statistics.median(r.p99_ms for r in runs), 3),
        "errors": sum(r.errors for r in runs),
        "non2xx": sum(r.non2xx for r in runs),
        "rounds": [r.as_dict() for r in runs],
    }


async def cache_hits(env: Env) -> tuple[Result, Result]:
    """Scenario 1 (gateway vs bare handler, beside nginx proxy_cache) and 5 (two workers vs one)."""
    sizes = env.sizes
    prefix = f"bc{uuid.uuid4().hex[:6]}"
    async with gateway(env, "gateway-1w", prefix) as one:
        hosts = await _populate(env, one.url, sizes.cached)
        paths = env.work / "cache-paths.txt"
        lines = [f"/v1/licenses/{INSTANT}?hostid={quote(h, safe='')}" for h in hosts]
        paths.write_text("\n".join(lines) + "\n")
        health = env.work / "health-paths.txt"
        health.write_text("/healthz\n")
        async with env.http.get(one.url + lines[0], headers={"Authorization": AUTH}) as resp:
            sample = await resp.read()
            if resp.status != 200 or orjson.loads(sample)["source"] != "cache":
                raise RuntimeError(f"cache-hit sample answered {resp.status}")
        body_file = env.work / "bare-body.json"
        body_file.write_bytes(sample)
        bare = start_bare(env.logs, body_file)
        proxy = await _start_nginx(env, hosts) if nginx_available() else None
        try:
            await bare.wait_healthy("/healthz")
            async with gateway(env, "gateway-2w", prefix, LACGW_HTTP__WORKERS="2") as two:
                targets = {
                    "bare": (bare, paths),
                    "gateway": (one, paths),
                    "gateway_2w": (two, paths),
                    "bare_healthz": (bare, health),
                    "gateway_healthz": (one, health),
                }
                if proxy is not None:
                    targets["nginx"] = proxy
                runs = await asyncio.to_thread(_rounds, targets, sizes)
        finally:
            bare.stop()
            if proxy is not None:
                proxy[0].stop()
    bare_r, gw_r, two_r = (_merge(runs[name]) for name in ("bare", "gateway", "gateway_2w"))
    hit = {
        "cached_licenses": len(hosts),
        "body_bytes": len(sample),
        "bare": bare_r,
        "gateway": gw_r,
        "rps_ratio": round(gw_r["rps"] / bare_r["rps"], 3),
        "p99_ratio": round(gw_r["p99_ms"] / bare_r["p99_ms"], 3),
        "cpu_ratio": round(gw_r["cpu_us_per_request"] / bare_r["cpu_us_per_request"], 2),
        "goal": HIT_GOAL,
        "stretch": HIT_STRETCH,
    }
    bare_h, gw_h = _merge(runs["bare_healthz"]), _merge(runs["gateway_healthz"])
    hit["healthz"] = {
        "bare": bare_h,
        "gateway": gw_h,
        "cpu_ratio": round(gw_h["cpu_us_per_request"] / bare_h["cpu_us_per_request"], 2),
    }
    hit["met"] = (
        hit["cpu_ratio"] <= HIT_GOAL["cpu_ratio_max"]
        and hit["p99_ratio"] <= HIT_GOAL["p99_ratio_max"]
        and hit["healthz"]["cpu_ratio"] <= HIT_GOAL["healthz_cpu_ratio_max"]
    )
    if "nginx" in runs:
        hit["nginx"] = nginx_r = _merge(runs["nginx"])
        hit["nginx_cpu_ratio"] = round(
            nginx_r["cpu_us_per_request"] / bare_r["cpu_us_per_request"], 2
        )
    multi = {
        "one_worker": gw_r,
        "two_workers": two_r,
        "rps_ratio": round(two_r["rps"] / gw_r["rps"], 3),
        "goal": {"rps_ratio_min": 1.3},
    }
    multi["met"] = multi["rps_ratio"] >= 1.3
    return hit, multi


async def _start_nginx(env: Env, hosts: list[str]) -> tuple[Process, Path]:
    """nginx proxy_cache before the sandbox's REST licenses, its cache filled with ``hosts``'."""
    proxy = start_nginx(env.logs, env.work / "nginx", env.sandbox.url)
    try:
        await proxy.wait_healthy("/healthz")
        lines = [license_path(INSTANT, h) for h in hosts]
        for line in lines:  # the first read of each fills nginx's cache
            async with env.http.get(proxy.url + line) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"nginx answered {resp.status} for a sandbox license")
    except BaseException:
        proxy.stop()
        raise
    paths = env.work / "nginx-paths.txt"
    paths.write_text("\n".join(lines) + "\n")
    return proxy, paths


Rounds = dict[str, list[tuple[LoadResult, float]]]


def _rounds(targets: dict[str, tuple[Process, Path]], sizes: Sizes) -> Rounds:
    """Each target's load runs over its paths, with the CPU seconds its process(es) spent."""
    warm = Sizes(**{**_asdict(sizes), "seconds": 1.0})
    for target, paths in targets.values():
        _load(target, paths, warm)  # JIT-free Python still warms caches, pools and connections
    runs: Rounds = {name: [] for name in targets}
    for _ in range(sizes.rounds):
        for name, (target, paths) in targets.items():  # interleaved: drift hits all alike
            before = target.cpu_seconds()
            result = _load(target, paths, sizes)
            runs[name].append((result, target.cpu_seconds() - before))
    return runs


def _asdict(sizes: Sizes) -> dict[str, Any]:
    return {name: getattr(sizes, name) for name in Sizes.__slots__}


# --- 3: cold activation overhead ------------------------------------------------------------


async def cold(env: Env, transport: str) -> Result:
    """One activation at a time: the gateway end to end, the floor proxy (``bench.floor``) and
    a direct client, interleaved."""
    prefix = f"cd{uuid.uuid4().hex[:6]}"
    tag = transport[0].upper()
    direct: DirectSoap | DirectRest = (
        DirectSoap(env.http, f"{env.sandbox.url}/soap/type/enduser/version/2")
        if transport == "soap"
        else DirectRest(env.http, f"{env.sandbox.url}/rest/v2")
    )
    via_gw: list[float] = []
    via_floor: list[float] = []
    via_direct: list[float] = []
    warmup = 5
    floor = start_floor(env.logs, env.sandbox.url, env.redis_url, transport)
    try:
        await floor.wait_healthy("/readyz")
        async with gateway(
            env, f"gateway-{transport}", prefix, LACGW_LAC__TRANSPORT=transport
        ) as gw:
            for i in range(warmup + env.sizes.cold):
                took_gw = await _timed_activation(env, gw.url, hostid(f"G{tag}", i))
                took_floor = await _timed_activation(env, floor.url, hostid(f"F{tag}", i))
                started = time.perf_counter()
                await direct.activate(INSTANT, hostid(f"D{tag}", i))
                took_direct = time.perf_counter() - started
                if i >= warmup:
                    via_gw.append(took_gw * 1000)
                    via_floor.append(took_floor * 1000)
                    via_direct.append(took_direct * 1000)
    finally:
        floor.stop()
    gw_p50, direct_p50 = statistics.median(via_gw), statistics.median(via_direct)
    floor_p50 = statistics.median(via_floor)
    result: Result = {
        "activations": len(via_gw),
        "gateway_p50_ms": round(gw_p50, 3),
        "gateway_p99_ms": round(percentile(via_gw, 99), 3),
        "floor_p50_ms": round(floor_p50, 3),
        "direct_p50_ms": round(direct_p50, 3),
        "direct_p99_ms": round(percentile(via_direct, 99), 3),
        "p50_ratio": round(gw_p50 / direct_p50, 3),
        "floor_p50_ratio": round(floor_p50 / direct_p50, 3),
        "goal": {"p50_ratio_max": COLD_GOAL},
        "stretch": {"p50_ratio_max": COLD_STRETCH},
    }
    result["met"] = result["p50_ratio"] <= COLD_GOAL
    return result


async def _timed_activation(env: Env, base: str, host: str) -> float:
    """Seconds one cold activation through ``base`` took; it must come from LAC."""
    started = time.perf_counter()
    status, body, _ = await activate(env.http, base, INSTANT, host)
    took = time.perf_counter() - started
    if status != 200 or body.get("source") != "lac":
        raise RuntimeError(f"cold activation answered {status} {body.get('source')}")
    return took


# --- 2: upstream amplification --------------------------------------------------------------


def schedule(until: float) -> list[float]:
    """Poll times after the create, by the backoff schedule without jitter, up to ``until``."""
    times, at, interval = [0.0], 0.0, FIRST_POLL
    while at < until:
        at += interval
        times.append(at)
        interval = min(interval * BACKOFF, MAX_INTERVAL)
    return times


def straddling_interval(ready: float) -> float:
    """The longest poll interval that, with jitter, can be in force when the license is ready.

    The goal allows one poll interval (+100 ms) from ready to caller: the interval meant is
    the one between the last poll before the license is ready and the first one after it.
    """
    times = schedule(ready / (1 - JITTER))
    return max(
        (b - a for a, b in pairwise(times) if a * (1 - JITTER) <= ready),
        default=FIRST_POLL,
    )


def _ready_at(info: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(info["ready_time"])).timestamp()


async def _sandbox_json(env: Env, method: str, path: str) -> Any:
    async with env.http.request(method, env.sandbox.url + path) as resp:
        return orjson.loads(await resp.read())


async def amplification(env: Env, transport: str) -> Result:
    """Many concurrent activations over few pairs, 2 s generation: one create per pair."""
    sizes = env.sizes
    prefix = f"am{uuid.uuid4().hex[:6]}"
    tag = f"A{transport[0].upper()}"
    pairs = [hostid(tag, j) for j in range(sizes.amp_pairs)]
    async with gateway(
        env, f"gateway-amp-{transport}", prefix, LACGW_LAC__TRANSPORT=transport
    ) as gw:
        await _sandbox_json(env, "DELETE", "/_sandbox/counters")
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            started = time.time()
            answers = await asyncio.gather(
                *(
                    activate(http, gw.url, DELAYED, pairs[i % len(pairs)], "wait=60")
                    for i in range(sizes.amp_requests)
                ),
                return_exceptions=True,
            )
        counters = await _sandbox_json(env, "GET", "/_sandbox/counters")
        infos = {
            h: await _sandbox_json(env, "GET", f"/_sandbox/licenses/{DELAYED}?hostid={quote(h)}")
            for h in pairs
        }
    return _amplification_result(
        transport, pairs=pairs, answers=answers, counters=counters, infos=infos, started=started
    )


def _amplification_result(
    transport: str,
    *,
    pairs: list[str],
    answers: list[Any],
    counters: dict[str, dict[str, int]],
    infos: dict[str, dict[str, Any]],
    started: float,
) -> Result:
    create_op, poll_op = (
        ("CreateLicenseRequest", "GetLicense")
        if transport == "soap"
        else ("PUT /licenses", "GET /license-queue")
    )
    calls = counters.get(transport, {})
    ok = [a for a in answers if isinstance(a, tuple) and a[0] == 200 and a[1].get("license")]
    lateness = [
        answer[2] - _ready_at(infos[pairs[i % len(pairs)]])
        for i, answer in enumerate(answers)
        if isinstance(answer, tuple) and answer[0] == 200 and answer[1].get("license")
    ]
    created = {h: datetime.fromisoformat(str(infos[h]["creation_time"])).timestamp() for h in pairs}
    # Polls the schedule allows per job: every poll up to the first one due at or after the
    # license is ready, with the earliest jitter, plus the one made right after the create.
    allowed = len(schedule(SANDBOX_DELAY / (1 - JITTER)))
    bound = straddling_interval(SANDBOX_DELAY) * (1 + JITTER) + 0.1
    result: Result = {
        "transport": transport,
        "requests": len(answers),
        "pairs": len(pairs),
        "answered_with_license": len(ok),
        "creates": calls.get(create_op, 0),
        "polls": calls.get(poll_op, 0),
        "polls_per_job": round(calls.get(poll_op, 0) / len(pairs), 2),
        "polls_per_job_allowed": allowed,
        "ready_to_caller_p50_s": round(percentile(lateness, 50), 3),
        "ready_to_caller_p99_s": round(percentile(lateness, 99), 3),
        "ready_to_caller_max_s": round(max(lateness, default=0.0), 3),
        "ready_to_caller_bound_s": round(bound, 3),
        "create_spread_s": round(max(created.values()) - min(created.values()), 3),
        "wall_s": round(max((a[2] for a in ok), default=started) - started, 3),
    }
    result["met"] = (
        result["creates"] == len(pairs)
        and result["answered_with_license"] == len(answers)
        and result["polls_per_job"] <= allowed
        and result["ready_to_caller_p99_s"] <= bound
    )
    return result


# --- 4: pending-job scale -------------------------------------------------------------------

SAMPLES_PER_S = 10  # how often the most overdue job is looked at


async def _memory(redis: Redis) -> tuple[int, int, int]:
    """``used_memory`` less the clients' memory, ``used_memory_dataset``, the clients' memory.

    A burst opens connections (the gateway's pool grows with its concurrency) and fills their
    buffers: Redis's memory for its clients, whatever they store. The keys' own memory, the
    keyspace's tables included, is what the jobs cost.
    """
    stats = await redis.memory_stats()
    clients = int(stats["clients.normal"])
    return int(stats["total.allocated"]) - clients, int(stats["dataset.bytes"]), clients


def _cpu_seconds(proc: Process) -> float:
    """CPU time (user + system) used so far by a gateway process and its workers, from /proc."""
    total = 0.0
    for pid in proc.pids():
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def pending_scale(env: Env) -> Result:
    """Many jobs pending at once: Redis bytes per job, gateway RSS growth, poll lateness.

    The gateway's CPU share while the jobs are submitted and while they are watched tells a
    poller that falls behind from a machine that cannot keep up.
    """
    sizes = env.sizes
    prefix = f"pj{uuid.uuid4().hex[:6]}"
    redis = Redis.from_url(env.redis_url)
    due_key = f"{prefix}:{{jobs}}:due"
    try:
        async with gateway(env, "gateway-pending", prefix) as gw:
            # Warm every code path and open the connections a burst needs (Redis counts each
            # client's buffers), so the deltas below are the jobs' own.
            warm = [
                partial(activate, env.http, gw.url, PENDING, hostid("PW", i), "respond-async")
                for i in range(WARM_JOBS)
            ]
            await bounded(warm, 32)
            await asyncio.sleep(1.0)
            rss_before = gw.rss_bytes()
            mem_before, data_before, clients_before = await _memory(redis)
            jobs_before = int(await redis.zcard(due_key))
            jobs = [
                partial(activate, env.http, gw.url, PENDING, hostid("P", i), "respond-async")
                for i in range(sizes.pending)
            ]
            half = len(jobs) // 2
            started, cpu_started = time.monotonic(), _cpu_seconds(gw)
            answers = await bounded(jobs[:half], 32)
            mem_half, _, _ = await _memory(redis)
            answers += await bounded(jobs[half:], 32)
            submit_s = time.monotonic() - started
            cpu_submit = _cpu_seconds(gw) - cpu_started
            accepted = sum(1 for status, _, _ in answers if status == 202)
            mem_after, data_after, clients_after = await _memory(redis)
            jobs_in_redis = int(await redis.zcard(due_key)) - jobs_before
            await _sandbox_json(env, "DELETE", "/_sandbox/counters")
            cpu_started = _cpu_seconds(gw)
            samples = await _watch_lateness(redis, due_key, sizes.observe)
            cpu_observe = _cpu_seconds(gw) - cpu_started
            counters = await _sandbox_json(env, "GET", "/_sandbox/counters")
            rss_after = gw.rss_bytes()
    finally:
        await redis.aclose()
    polls = counters.get("soap", {}).get("GetLicense", 0)
    per_job = (mem_after - mem_before) / max(1, jobs_in_redis)
    result: Result = {
        "jobs": sizes.pending,
        "accepted_202": accepted,
        "jobs_in_redis": jobs_in_redis,
        "submit_s": round(submit_s, 2),
        "submit_rate_per_s": round(sizes.pending / submit_s, 1),
        "redis_bytes_per_job": round(per_job, 1),
        "redis_dataset_bytes_per_job": round((data_after - data_before) / max(1, jobs_in_redis), 1),
        # The second half alone: what one more job costs, without the run's one-off growth.
        "redis_marginal_bytes_per_job": round((mem_after - mem_half) / max(1, len(jobs) - half), 1),
        "redis_clients_growth_mb": round((clients_after - clients_before) / 2**20, 1),
        "gateway_rss_growth_mb": round((rss_after - rss_before) / 2**20, 1),
        "observed_s": sizes.observe,
        "polls_observed": polls,
        "polls_per_s": round(polls / sizes.observe, 1),
        "oldest_overdue_p50_s": round(percentile(samples, 50), 3),
        "oldest_overdue_p99_s": round(percentile(samples, 99), 3),
        "oldest_overdue_max_s": round(max(samples, default=0.0), 3),
        # Each second of the watch on its own: a late start is the submission burst's backlog.
        "oldest_overdue_max_by_second_s": [
            round(max(samples[i : i + SAMPLES_PER_S]), 3)
            for i in range(0, len(samples), SAMPLES_PER_S)
        ],
        "gateway_cpu_submit_pct": round(100 * cpu_submit / submit_s),
        "gateway_cpu_observe_pct": round(100 * cpu_observe / sizes.observe),
        "goal": {"redis_bytes_per_job_max": 1024, "rss_growth_mb_max": 100, "lateness_max_s": 1.0},
    }
    result["met"] = (
        per_job <= 1024
        and result["gateway_rss_growth_mb"] <= 100
        and result["oldest_overdue_max_s"] <= 1.0
        and accepted == sizes.pending
    )
    return result


async def _watch_lateness(redis: Redis, due_key: str, seconds: float) -> list[float]:
    """How overdue the most overdue unclaimed job is, sampled ``SAMPLES_PER_S`` times a second.

    A claimed job's score is its lease end, in the future; so the lowest score below now is the
    job waiting longest past its due time.
    """
    samples: list[float] = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        now = time.time()
        oldest = await redis.zrange(due_key, 0, 0, withscores=True)
        samples.append(max(0.0, now - float(oldest[0][1])) if oldest else 0.0)
        await asyncio.sleep(1 / SAMPLES_PER_S)
    return samples

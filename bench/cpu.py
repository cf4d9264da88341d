"""``python -m bench.cpu``: CPU per request of the gateway, nginx and the bare handler, as ratios.

For a shared machine, where requests/s mean little: each target is one process on loopback,
loaded from a separate load process, and the figure is the process's CPU time (user + system,
from /proc) over the requests it answered, against the bare aiohttp handler measured the same
way, rounds interleaved. Targets: a cache hit of ``GET /v1/licenses/{key}`` (1 worker), the
same through nginx ``proxy_cache`` before the sandbox's REST route, and ``/healthz``.
``--before DIR`` adds the gateway of another checkout (say ``git worktree add /tmp/before
HEAD~1``) on the same Redis and licenses, interleaved with this tree's: a before/after figure.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import uuid
from pathlib import Path
from urllib.parse import quote

import aiohttp

from bench.nginx import available as nginx_available
from bench.procs import Process, gateway_env, start_bare, start_gateway, start_sandbox
from bench.scenarios import INSTANT, Env, Sizes, _load, _populate, _start_nginx, gateway
from lacsandbox.localredis import LocalRedis

BENCH = Path(__file__).resolve().parent


def _cpu_per_request(target: Process, paths: Path, sizes: Sizes) -> tuple[int, float]:
    before = target.cpu_seconds()
    result = _load(target, paths, sizes)
    if result.non2xx or result.errors:
        raise RuntimeError(f"{result.non2xx} non-2xx answers, {result.errors} errors")
    return result.requests, target.cpu_seconds() - before


def measure(targets: dict[str, tuple[Process, Path]], sizes: Sizes) -> dict[str, float]:
    """Microseconds of CPU per request for each target, over interleaved rounds."""
    warm = Sizes(**{**{n: getattr(sizes, n) for n in Sizes.__slots__}, "seconds": 1.0})
    totals = {name: [0, 0.0] for name in targets}
    for target, paths in targets.values():
        _load(target, paths, warm)
    for _ in range(sizes.rounds):
        for name, (target, paths) in targets.items():
            requests, cpu = _cpu_per_request(target, paths, sizes)
            totals[name][0] += requests
            totals[name][1] += cpu
    return {name: cpu / max(int(n), 1) * 1e6 for name, (n, cpu) in totals.items()}


async def run(sizes: Sizes, out: Path, before: Path | None = None) -> dict[str, float]:
    """Start Redis, the sandbox and the targets; CPU per request of each."""
    logs, work = out / "logs", out / "work"
    for folder in (logs, work):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    redis = LocalRedis(work / "redis")
    redis.start()
    sandbox = start_sandbox(logs)
    try:
        await sandbox.wait_healthy("/_sandbox/counters")
        async with aiohttp.ClientSession() as http:
            env = Env(sizes, redis.url, sandbox, logs, work, http)
            return await _targets(env, sizes, before)
    finally:
        sandbox.stop()
        redis.stop()


async def _targets(env: Env, sizes: Sizes, before: Path | None) -> dict[str, float]:
    prefix = f"cpu{uuid.uuid4().hex[:6]}"
    async with gateway(env, "gateway-cpu", prefix) as gw:
        hosts = await _populate(env, gw.url, sizes.cached)
        hits = env.work / "hit-paths.txt"
        hits.write_text(
            "".join(f"/v1/licenses/{INSTANT}?hostid={quote(h, safe='')}\n" for h in hosts)
        )
        health = env.work / "health-paths.txt"
        health.write_text("/healthz\n")
        async with env.http.get(gw.url + hits.read_text().split("\n")[0]) as resp:
            body = env.work / "bare-body.json"
            body.write_bytes(await resp.read())
        bare = start_bare(env.logs, body)
        proxy = await _start_nginx(env, hosts) if nginx_available() else None
        earlier = _start_before(env, prefix, before) if before is not None else None
        try:
            await bare.wait_healthy("/healthz")
            targets = {
                "bare": (bare, hits),
                "gateway_hit": (gw, hits),
                "bare_healthz": (bare, health),
                "gateway_healthz": (gw, health),
            }
            if proxy is not None:
                targets["nginx_hit"] = proxy
            if earlier is not None:
                await earlier.wait_healthy("/readyz")
                targets["before_hit"] = (earlier, hits)
                targets["before_healthz"] = (earlier, health)
            return await asyncio.to_thread(measure, targets, sizes)
        finally:
            bare.stop()
            if earlier is not None:
                earlier.stop()
            if proxy is not None:
                proxy[0].stop()


def _start_before(env: Env, prefix: str, src: Path) -> Process:
    """The gateway of another checkout, on the same Redis prefix (the same cached licenses)."""
    settings = gateway_env(env.redis_url, env.sandbox.url, prefix)
    return start_gateway(env.logs, settings, "gateway-before", src=src)


def main() -> None:
    """Print CPU per request and the ratios against the bare handler."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--cached", type=int, default=200)
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "cpu")
    parser.add_argument("--before", type=Path, help="another checkout's gateway, measured too")
    args = parser.parse_args()
    sizes = Sizes(args.cached, args.rounds, args.seconds, args.connections, 0, 0, 0, 0, 0.0)
    us = asyncio.run(run(sizes, args.out, args.before))
    for name, value in us.items():
        base = us["bare_healthz"] if name.endswith("healthz") else us["bare"]
        print(f"{name:16} {value:8.1f} µs/request  {value / base:5.2f}x bare")


if __name__ == "__main__":
    main()

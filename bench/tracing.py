"""What tracing costs: gateway CPU per cache-hit request with tracing off, on, and before it.

``python -m bench.tracing [--requests N] [--rounds R] [--before DIR]`` starts Redis, the
sandbox, an OTLP/HTTP sink and one gateway process per variant: ``off`` (no ``OTEL_*``),
``on`` (``OTEL_EXPORTER_OTLP_ENDPOINT`` toward the sink, every request sampled) and, with
``--before``, ``before`` (the gateway of another checkout, e.g. ``git archive`` of the commit
before tracing). Each round sends N cache-hit ``GET /v1/licenses/...`` to every variant in
turn and reads the CPU seconds the gateway process spent on them (user + system, from
/proc): on a shared machine steadier than requests/s. Prints the median microseconds per
request of each variant and, per pair of variants, the median of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import aiohttp
from aiohttp import web

from bench.procs import AUTH, Process, gateway_env, start_gateway, start_sandbox
from bench.scenarios import INSTANT, activate, hostid
from lacsandbox.localredis import LocalRedis

CONNECTIONS = 8
HOSTS = 64


@asynccontextmanager
async def otlp_sink() -> AsyncIterator[str]:
    """An OTLP/HTTP endpoint that accepts every export and keeps nothing."""

    async def traces(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=b"", content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def _hits(http: aiohttp.ClientSession, base: str, paths: list[str], count: int) -> None:
    """``count`` cache-hit reads over ``CONNECTIONS`` concurrent clients."""
    queue = [paths[i % len(paths)] for i in range(count)]

    async def client() -> None:
        while queue:
            async with http.get(base + queue.pop(), headers={"Authorization": AUTH}) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"a cache hit answered {resp.status}")

    await asyncio.gather(*(client() for _ in range(CONNECTIONS)))


async def _measure(
    http: aiohttp.ClientSession, gateways: dict[str, Process], paths: list[str], args: Args
) -> dict[str, list[float]]:
    for gw in gateways.values():
        await _hits(http, gw.url, paths, args.requests // 4)  # warm pools and caches
    per_request: dict[str, list[float]] = {name: [] for name in gateways}
    names = list(gateways)
    for round_ in range(args.rounds):
        # Interleaved, and in a turning order: drift on the machine hits every variant alike.
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            gw = gateways[name]
            before = gw.cpu_seconds()
            await _hits(http, gw.url, paths, args.requests)
            per_request[name].append((gw.cpu_seconds() - before) / args.requests * 1e6)
    return per_request


class Args(argparse.Namespace):
    """The command line."""

    requests: int
    rounds: int
    before: Path | None


def _start(logs: Path, env: dict[str, str], name: str, src: Path | None = None) -> Process:
    if src is None:
        return start_gateway(logs, env, name)
    os.environ["BENCH_GATEWAY_SRC"] = str(src)  # read by start_gateway only
    try:
        return start_gateway(logs, env, name)
    finally:
        del os.environ["BENCH_GATEWAY_SRC"]


async def run(args: Args, work: Path) -> dict[str, list[float]]:
    """Every variant's CPU microseconds per request, one figure per round."""
    redis = LocalRedis(work / "redis")
    redis.start()
    sandbox = start_sandbox(work)
    started: list[Process] = []
    try:
        await sandbox.wait_healthy("/")
        async with otlp_sink() as sink, aiohttp.ClientSession() as http:
            base = gateway_env(redis.url, sandbox.url, f"bt{uuid.uuid4().hex[:6]}")
            base = {k: v for k, v in base.items() if not k.startswith("OTEL_")}
            traced = {**base, "OTEL_EXPORTER_OTLP_ENDPOINT": sink}
            variants: dict[str, tuple[dict[str, str], Path | None]] = {
                "off": (base, None),
                "on": (traced, None),
            }
            if args.before is not None:
                variants["before"] = (base, args.before)
            gateways = {n: _start(work, env, f"gw-{n}", src) for n, (env, src) in variants.items()}
            started.extend(gateways.values())
            for gw in started:
                await gw.wait_healthy("/readyz")
            hosts = [hostid("T", i) for i in range(HOSTS)]
            for host in hosts:
                status, _, _ = await activate(http, gateways["off"].url, INSTANT, host)
                if status != 200:
                    raise RuntimeError(f"populating the cache answered {status}")
            paths = [f"/v1/licenses/{INSTANT}?hostid={quote(h, safe='')}" for h in hosts]
            return await _measure(http, gateways, paths, args)
    finally:
        for gw in started:
            gw.stop()
        sandbox.stop()
        redis.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a checkout of the gateway before tracing")
    args = parser.parse_args(argv, namespace=Args())
    with tempfile.TemporaryDirectory(prefix="bench-tracing-") as work:
        figures = asyncio.run(run(args, Path(work)))
    medians = {name: statistics.median(values) for name, values in figures.items()}
    for name, values in figures.items():
        rounds = " ".join(f"{v:.0f}" for v in values)
        print(f"{name:>6}: {medians[name]:7.1f} us CPU/request (rounds: {rounds})")
    for name, base in (("on", "off"), ("off", "before")):
        if name in figures and base in figures:
            print(f"{name}/{base}: {_paired(figures[name], figures[base])}")
    return 0


def _paired(values: list[float], bases: list[float]) -> str:
    """The median of the rounds' ratios (a round's variants ran back to back), and their range."""
    ratios = sorted(v / b for v, b in zip(values, bases, strict=True))
    return f"{statistics.median(ratios):.3f} (rounds {ratios[0]:.3f} to {ratios[-1]:.3f})"


if __name__ == "__main__":
    raise SystemExit(main())
